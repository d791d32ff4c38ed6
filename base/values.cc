// The small value languages of the config. Every parser here is total: any input either
// yields a value or a short reason, never an exception or an overflowed number, because
// the config loader is fuzzed and passes user text straight through.
#include "base/values.h"

#include <sys/resource.h>

#include <array>
#include <csignal>
#include <cstdint>
#include <limits>

#include "base/text.h"

namespace superd {
namespace {

void set_error(std::string* error, std::string message) {
  if (error) *error = std::move(message);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }


struct Unit {
  std::string_view suffix;
  int64_t factor;
};

// A number as written: digits, an optional fraction, an optional unit suffix.
struct Number {
  std::string_view whole;
  std::string_view fraction;
  std::string_view suffix;
};

std::optional<Number> split_number(std::string_view text, std::string* error) {
  text = trim(text, kBlanks);
  if (text.empty()) {
    set_error(error, "empty value");
    return std::nullopt;
  }
  if (text.front() == '-') {
    set_error(error, "must not be negative");
    return std::nullopt;
  }
  Number n;
  size_t i = 0;
  while (i < text.size() && is_digit(text[i])) ++i;
  n.whole = text.substr(0, i);
  if (i < text.size() && text[i] == '.') {
    size_t start = ++i;
    while (i < text.size() && is_digit(text[i])) ++i;
    n.fraction = text.substr(start, i - start);
    if (n.fraction.empty()) {
      set_error(error, "expected digits after '.'");
      return std::nullopt;
    }
  }
  if (n.whole.empty()) {
    set_error(error, "expected a number");
    return std::nullopt;
  }
  n.suffix = trim(text.substr(i), kBlanks);
  return n;
}

struct Units {
  const Unit* units;
  size_t count;
  int64_t bare_factor;          // the factor of a number without a suffix
  bool ignore_case;
  std::string_view names;       // "ms, s, m or h", for the error
  std::string_view smallest;    // "milliseconds", for the error
};

std::optional<int64_t> factor_of(std::string_view suffix, const Units& u, std::string* error) {
  if (suffix.empty()) return u.bare_factor;
  for (size_t i = 0; i < u.count; ++i) {
    if (u.ignore_case ? iequals(suffix, u.units[i].suffix) : suffix == u.units[i].suffix) {
      return u.units[i].factor;
    }
  }
  set_error(error, "unknown unit '" + std::string(suffix) + "' (use " + std::string(u.names) + ")");
  return std::nullopt;
}

// fraction x factor, which must come out whole; nullopt with *error when it does not.
std::optional<int64_t> scaled_fraction(std::string_view fraction, int64_t factor,
                                       std::string_view smallest, std::string* error) {
  // Trailing zeros of the fraction change nothing; after dropping them, more than 18
  // digits can never scale to a whole number with any of our factors.
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  if (fraction.size() > 18) {
    set_error(error, "too many decimals");
    return std::nullopt;
  }
  int64_t numerator = 0;
  int64_t denominator = 1;
  for (char c : fraction) {
    numerator = numerator * 10 + (c - '0');  // at most 18 digits: fits
    denominator *= 10;
  }
  // factor is at most 2^40 and numerator below 10^18, so compute in 128 bits.
  unsigned __int128 scaled = static_cast<unsigned __int128>(numerator) * static_cast<uint64_t>(factor);
  if (scaled % static_cast<uint64_t>(denominator) != 0) {
    set_error(error, "not a whole number of " + std::string(smallest));
    return std::nullopt;
  }
  return static_cast<int64_t>(scaled / static_cast<uint64_t>(denominator));
}

// A decimal number with an optional unit suffix, scaled to an integer count of the
// smallest unit. The fraction must come out whole ("1.5s" is 1500ms, "0.0001s" is
// refused rather than silently rounded). Shared by durations and sizes so both accept
// the same number syntax and report the same mistakes.
std::optional<int64_t> parse_scaled(std::string_view text, const Units& units, std::string* error) {
  auto n = split_number(text, error);
  if (!n) return std::nullopt;
  auto factor = factor_of(n->suffix, units, error);
  if (!factor) return std::nullopt;
  int64_t value = 0;
  bool overflow = false;
  for (char c : n->whole) {
    overflow = overflow || __builtin_mul_overflow(value, 10, &value) ||
               __builtin_add_overflow(value, c - '0', &value);
  }
  overflow = overflow || __builtin_mul_overflow(value, *factor, &value);
  if (!overflow && !n->fraction.empty()) {
    auto part = scaled_fraction(n->fraction, *factor, units.smallest, error);
    if (!part) return std::nullopt;
    overflow = __builtin_add_overflow(value, *part, &value);
  }
  if (overflow) {
    set_error(error, "too large");
    return std::nullopt;
  }
  return value;
}

constexpr Unit kDurationUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 60 * 60 * 1000}};

constexpr Unit kSizeUnits[] = {
    {"B", 1},
    {"KB", 1000},
    {"MB", 1000 * 1000},
    {"GB", 1000 * 1000 * 1000},
    {"TB", 1000ll * 1000 * 1000 * 1000},
    {"KiB", 1024},
    {"MiB", 1024 * 1024},
    {"GiB", 1024 * 1024 * 1024},
    {"TiB", 1024ll * 1024 * 1024 * 1024},
};

struct SignalName {
  std::string_view name;
  int number;
};

// Linux numbers come from <signal.h>, not from a hand-typed table. Aliases follow the
// canonical name so signal_name() finds the canonical one first.
constexpr SignalName kSignals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},       {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},     {"BUS", SIGBUS},       {"FPE", SIGFPE},
    {"KILL", SIGKILL},     {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},     {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},     {"TERM", SIGTERM},     {"STKFLT", SIGSTKFLT},
    {"CHLD", SIGCHLD},     {"CONT", SIGCONT},     {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},     {"URG", SIGURG},       {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},     {"WINCH", SIGWINCH},
    {"IO", SIGIO},         {"PWR", SIGPWR},       {"SYS", SIGSYS},
    // Aliases.
    {"IOT", SIGABRT},      {"POLL", SIGIO},       {"CLD", SIGCHLD},
};

constexpr int kMaxSignal = 64;

struct RlimitName {
  std::string_view name;
  int resource;
};

constexpr RlimitName kRlimits[] = {
    {"nofile", RLIMIT_NOFILE},   {"nproc", RLIMIT_NPROC},       {"core", RLIMIT_CORE},
    {"memlock", RLIMIT_MEMLOCK}, {"as", RLIMIT_AS},             {"fsize", RLIMIT_FSIZE},
    {"stack", RLIMIT_STACK},     {"cpu", RLIMIT_CPU},           {"data", RLIMIT_DATA},
    {"rss", RLIMIT_RSS},         {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"rtprio", RLIMIT_RTPRIO},   {"sigpending", RLIMIT_SIGPENDING},
    {"locks", RLIMIT_LOCKS},     {"rttime", RLIMIT_RTTIME},
};

// "RTMIN", "RTMIN+3", "RTMAX-2" as glibc numbers them for programs (RTMIN is 34).
std::optional<int> parse_realtime_signal(std::string_view name) {
  struct Base {
    std::string_view prefix;
    int origin;
    char sign;
  };
  for (Base b : {Base{"RTMIN", 34, '+'}, Base{"RTMAX", kMaxSignal, '-'}}) {
    if (name.size() < b.prefix.size() || !iequals(name.substr(0, b.prefix.size()), b.prefix)) {
      continue;
    }
    std::string_view rest = name.substr(b.prefix.size());
    int offset = 0;
    if (!rest.empty()) {
      if (rest[0] != b.sign || rest.size() < 2 || rest.size() > 3) return std::nullopt;
      for (char c : rest.substr(1)) {
        if (!is_digit(c)) return std::nullopt;
        offset = offset * 10 + (c - '0');
      }
    }
    const int n = b.origin + (b.sign == '+' ? offset : -offset);
    if (n < 34 || n > kMaxSignal) return std::nullopt;
    return n;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text, std::string* error) {
  const Units units{kDurationUnits, std::size(kDurationUnits), 1000, false, "ms, s, m or h",
                    "milliseconds"};
  auto ms = parse_scaled(text, units, error);
  if (!ms) return std::nullopt;
  return Duration(*ms);
}

std::optional<uint64_t> parse_size(std::string_view text, std::string* error) {
  // Sizes are case-insensitive ("50mb"): there is no bit unit to confuse them with.
  const Units units{kSizeUnits, std::size(kSizeUnits), 1, true, "B, KB, MB, GB, KiB, MiB or GiB",
                    "bytes"};
  auto bytes = parse_scaled(text, units, error);
  if (!bytes) return std::nullopt;
  return static_cast<uint64_t>(*bytes);
}

std::optional<int> parse_signal(std::string_view text, std::string* error) {
  std::string_view name = text;
  if (name.size() > 3 && iequals(name.substr(0, 3), "SIG")) name.remove_prefix(3);
  if (name.empty()) {
    set_error(error, "empty signal name");
    return std::nullopt;
  }
  if (is_digit(name.front())) {
    int number = 0;
    for (char c : name) {
      if (!is_digit(c) || number > kMaxSignal) {
        set_error(error, "signal numbers are 1 to 64");
        return std::nullopt;
      }
      number = number * 10 + (c - '0');
    }
    if (number < 1 || number > kMaxSignal) {
      set_error(error, "signal numbers are 1 to 64");
      return std::nullopt;
    }
    return number;
  }
  for (const auto& s : kSignals) {
    if (iequals(name, s.name)) return s.number;
  }
  if (auto n = parse_realtime_signal(name)) return n;
  set_error(error, "unknown signal");
  return std::nullopt;
}

std::string signal_name(int signo) {
  for (const auto& s : kSignals) {
    if (s.number == signo) return std::string(s.name);
  }
  return "SIG" + std::to_string(signo);
}

std::optional<mode_t> parse_umask(std::string_view text, std::string* error) {
  if (text.empty()) {
    set_error(error, "empty umask");
    return std::nullopt;
  }
  if (text.size() > 4) {
    set_error(error, "at most 4 octal digits");
    return std::nullopt;
  }
  mode_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '7') {
      set_error(error, "expected octal digits");
      return std::nullopt;
    }
    value = value * 8 + static_cast<mode_t>(c - '0');
  }
  if (value > 0777) {
    set_error(error, "at most 0777");
    return std::nullopt;
  }
  return value;
}

std::optional<int> parse_rlimit_name(std::string_view text) {
  for (const auto& r : kRlimits) {
    if (iequals(text, r.name)) return r.resource;
  }
  return std::nullopt;
}

std::string format_duration(Duration d) {
  // Work on the magnitude in unsigned arithmetic so even the most negative count formats.
  int64_t count = d.count();
  std::string sign = count < 0 ? "-" : "";
  uint64_t ms = count < 0 ? 0 - static_cast<uint64_t>(count) : static_cast<uint64_t>(count);
  if (ms == 0) return "0s";
  if (ms % (60 * 60 * 1000) == 0) return sign + std::to_string(ms / (60 * 60 * 1000)) + "h";
  if (ms % (60 * 1000) == 0) return sign + std::to_string(ms / (60 * 1000)) + "m";
  if (ms % 1000 == 0) return sign + std::to_string(ms / 1000) + "s";
  if (ms < 1000) return sign + std::to_string(ms) + "ms";
  // Seconds with the millisecond fraction, trailing zeros dropped: "1.5s", "2.25s".
  std::string fraction = std::to_string(ms % 1000);
  fraction.insert(0, 3 - fraction.size(), '0');
  while (fraction.back() == '0') fraction.pop_back();
  return sign + std::to_string(ms / 1000) + "." + fraction + "s";
}

}  // namespace superd
