// The value languages of the config: durations, sizes, signals, umask, rlimit names.
#include "base/values.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>

namespace superd {
namespace {

using std::chrono::milliseconds;

std::optional<Duration> duration(std::string_view text) {
  std::string error;
  return parse_duration(text, &error);
}

std::string duration_error(std::string_view text) {
  std::string error;
  EXPECT_FALSE(parse_duration(text, &error)) << text;
  return error;
}

TEST(ParseDuration, Units) {
  EXPECT_EQ(duration("100ms"), milliseconds(100));
  EXPECT_EQ(duration("1s"), milliseconds(1000));
  EXPECT_EQ(duration("5m"), milliseconds(5 * 60 * 1000));
  EXPECT_EQ(duration("2h"), milliseconds(2 * 3600 * 1000));
  EXPECT_EQ(duration("0s"), milliseconds(0));
  EXPECT_EQ(duration("0"), milliseconds(0));
}

TEST(ParseDuration, BareNumberIsSeconds) {
  EXPECT_EQ(duration("30"), milliseconds(30000));
  EXPECT_EQ(duration("1.5"), milliseconds(1500));
}

TEST(ParseDuration, Decimals) {
  EXPECT_EQ(duration("1.5s"), milliseconds(1500));
  EXPECT_EQ(duration("0.25s"), milliseconds(250));
  EXPECT_EQ(duration("0.5m"), milliseconds(30000));
  EXPECT_EQ(duration("1.25h"), milliseconds(4500000));
  EXPECT_EQ(duration("2.000s"), milliseconds(2000));
  EXPECT_EQ(duration("1.50000000000000000000000s"), milliseconds(1500));  // trailing zeros
}

TEST(ParseDuration, SurroundingAndInnerBlanks) {
  EXPECT_EQ(duration(" 1s "), milliseconds(1000));
  EXPECT_EQ(duration("1 s"), milliseconds(1000));
}

TEST(ParseDuration, RejectsFractionsOfAMillisecond) {
  EXPECT_EQ(duration_error("1.5ms"), "not a whole number of milliseconds");
  EXPECT_EQ(duration_error("0.0001s"), "not a whole number of milliseconds");
}

TEST(ParseDuration, RejectsGarbage) {
  EXPECT_EQ(duration_error(""), "empty value");
  EXPECT_EQ(duration_error("   "), "empty value");
  EXPECT_EQ(duration_error("-1s"), "must not be negative");
  EXPECT_EQ(duration_error("s"), "expected a number");
  EXPECT_EQ(duration_error(".5s"), "expected a number");
  EXPECT_EQ(duration_error("1.s"), "expected digits after '.'");
  EXPECT_EQ(duration_error("5x"), "unknown unit 'x' (use ms, s, m or h)");
  EXPECT_EQ(duration_error("5S"), "unknown unit 'S' (use ms, s, m or h)");
  EXPECT_EQ(duration_error("1m30s"), "unknown unit 'm30s' (use ms, s, m or h)");
  EXPECT_EQ(duration_error("1e3s"), "unknown unit 'e3s' (use ms, s, m or h)");
  EXPECT_EQ(duration_error("+1s"), "expected a number");
}

TEST(ParseDuration, RejectsOverflow) {
  EXPECT_EQ(duration_error("9223372036854775807s"), "too large");
  EXPECT_EQ(duration_error("99999999999999999999999999ms"), "too large");
  EXPECT_EQ(duration_error("9223372036854775807.9h"), "too large");
  EXPECT_EQ(duration("9223372036854775807ms"), milliseconds(INT64_MAX));
  EXPECT_EQ(duration_error("1.0000000000000000001s"), "too many decimals");
}

TEST(ParseDuration, NullErrorPointerIsAllowed) { EXPECT_FALSE(parse_duration("x", nullptr)); }

TEST(FormatDuration, PicksTheLargestExactUnit) {
  EXPECT_EQ(format_duration(milliseconds(0)), "0s");
  EXPECT_EQ(format_duration(milliseconds(100)), "100ms");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(format_duration(milliseconds(1250)), "1.25s");
  EXPECT_EQ(format_duration(milliseconds(1001)), "1.001s");
  EXPECT_EQ(format_duration(milliseconds(30000)), "30s");
  EXPECT_EQ(format_duration(milliseconds(90000)), "90s");
  EXPECT_EQ(format_duration(milliseconds(120000)), "2m");
  EXPECT_EQ(format_duration(milliseconds(7200000)), "2h");
  EXPECT_EQ(format_duration(milliseconds(-1500)), "-1.5s");
  EXPECT_EQ(format_duration(milliseconds(INT64_MIN)), "-9223372036854775.808s");
}

TEST(FormatDuration, RoundTripsThroughParse) {
  for (int64_t ms : {1LL, 999LL, 1000LL, 1001LL, 61000LL, 3600000LL, 3600001LL, 86400000LL * 3650}) {
    EXPECT_EQ(duration(format_duration(milliseconds(ms))), milliseconds(ms)) << ms;
  }
}

std::optional<uint64_t> size(std::string_view text) {
  std::string error;
  return parse_size(text, &error);
}

std::string size_error(std::string_view text) {
  std::string error;
  EXPECT_FALSE(parse_size(text, &error)) << text;
  return error;
}

TEST(ParseSize, DecimalAndBinaryUnits) {
  EXPECT_EQ(size("512"), 512u);
  EXPECT_EQ(size("512B"), 512u);
  EXPECT_EQ(size("10KB"), 10000u);
  EXPECT_EQ(size("50MB"), 50000000u);
  EXPECT_EQ(size("1GB"), 1000000000u);
  EXPECT_EQ(size("2TB"), 2000000000000u);
  EXPECT_EQ(size("1KiB"), 1024u);
  EXPECT_EQ(size("1MiB"), 1048576u);
  EXPECT_EQ(size("1GiB"), 1073741824u);
  EXPECT_EQ(size("1TiB"), 1099511627776u);
  EXPECT_EQ(size("1.5MB"), 1500000u);
  EXPECT_EQ(size("0.5KiB"), 512u);
}

TEST(ParseSize, UnitsIgnoreCase) {
  EXPECT_EQ(size("50mb"), 50000000u);
  EXPECT_EQ(size("1kib"), 1024u);
  EXPECT_EQ(size("1 MB"), 1000000u);
}

TEST(ParseSize, RejectsGarbage) {
  EXPECT_EQ(size_error(""), "empty value");
  EXPECT_EQ(size_error("-1MB"), "must not be negative");
  EXPECT_EQ(size_error("MB"), "expected a number");
  EXPECT_EQ(size_error("10XB"), "unknown unit 'XB' (use B, KB, MB, GB, KiB, MiB or GiB)");
  EXPECT_EQ(size_error("1.5B"), "not a whole number of bytes");
  EXPECT_EQ(size_error("99999999999GB"), "too large");
  EXPECT_EQ(size_error("9223372036854775808"), "too large");
}

std::optional<int> signal(std::string_view text) {
  std::string error;
  return parse_signal(text, &error);
}

TEST(ParseSignal, NamesWithAndWithoutPrefixInAnyCase) {
  EXPECT_EQ(signal("TERM"), SIGTERM);
  EXPECT_EQ(signal("SIGTERM"), SIGTERM);
  EXPECT_EQ(signal("term"), SIGTERM);
  EXPECT_EQ(signal("sigTerm"), SIGTERM);
  EXPECT_EQ(signal("HUP"), SIGHUP);
  EXPECT_EQ(signal("INT"), SIGINT);
  EXPECT_EQ(signal("QUIT"), SIGQUIT);
  EXPECT_EQ(signal("KILL"), SIGKILL);
  EXPECT_EQ(signal("USR1"), SIGUSR1);
  EXPECT_EQ(signal("USR2"), SIGUSR2);
  EXPECT_EQ(signal("WINCH"), SIGWINCH);
  EXPECT_EQ(signal("CHLD"), SIGCHLD);
  EXPECT_EQ(signal("IOT"), SIGABRT);  // alias
}

TEST(ParseSignal, Numbers) {
  EXPECT_EQ(signal("1"), 1);
  EXPECT_EQ(signal("15"), 15);
  EXPECT_EQ(signal("64"), 64);
  EXPECT_EQ(signal("SIG42"), 42);  // what signal_name prints for realtime signals
}

TEST(ParseSignal, RejectsGarbage) {
  std::string error;
  EXPECT_FALSE(parse_signal("0", &error));
  EXPECT_EQ(error, "signal numbers are 1 to 64");
  EXPECT_FALSE(parse_signal("65", &error));
  EXPECT_FALSE(parse_signal("99999999999999999999", &error));
  EXPECT_EQ(error, "signal numbers are 1 to 64");
  EXPECT_FALSE(parse_signal("15x", &error));
  EXPECT_FALSE(parse_signal("TERMINATE", &error));
  EXPECT_EQ(error, "unknown signal");
  EXPECT_FALSE(parse_signal("SIG", &error));
  EXPECT_FALSE(parse_signal("", &error));
  EXPECT_EQ(error, "empty signal name");
  EXPECT_FALSE(parse_signal("-15", &error));
  EXPECT_FALSE(parse_signal(" TERM", &error));
}

TEST(SignalName, CanonicalNamesAndFallback) {
  EXPECT_EQ(signal_name(15), "TERM");
  EXPECT_EQ(signal_name(SIGHUP), "HUP");
  EXPECT_EQ(signal_name(SIGKILL), "KILL");
  EXPECT_EQ(signal_name(SIGABRT), "ABRT");  // not the alias IOT
  EXPECT_EQ(signal_name(SIGIO), "IO");
  EXPECT_EQ(signal_name(42), "SIG42");
  for (int signo = 1; signo <= 64; ++signo) EXPECT_EQ(signal(signal_name(signo)), signo) << signo;
}

TEST(ParseUmask, OctalStrings) {
  std::string error;
  EXPECT_EQ(parse_umask("022", &error), 022u);
  EXPECT_EQ(parse_umask("0027", &error), 027u);
  EXPECT_EQ(parse_umask("77", &error), 077u);
  EXPECT_EQ(parse_umask("0", &error), 0u);
  EXPECT_EQ(parse_umask("777", &error), 0777u);
}

TEST(ParseUmask, RejectsGarbage) {
  std::string error;
  EXPECT_FALSE(parse_umask("", &error));
  EXPECT_EQ(error, "empty umask");
  EXPECT_FALSE(parse_umask("089", &error));
  EXPECT_EQ(error, "expected octal digits");
  EXPECT_FALSE(parse_umask("1777", &error));
  EXPECT_EQ(error, "at most 0777");
  EXPECT_FALSE(parse_umask("00022", &error));
  EXPECT_EQ(error, "at most 4 octal digits");
  EXPECT_FALSE(parse_umask("0o22", &error));
  EXPECT_FALSE(parse_umask("-22", &error));
}

TEST(ParseRlimitName, SystemdNames) {
  EXPECT_EQ(parse_rlimit_name("nofile"), RLIMIT_NOFILE);
  EXPECT_EQ(parse_rlimit_name("nproc"), RLIMIT_NPROC);
  EXPECT_EQ(parse_rlimit_name("core"), RLIMIT_CORE);
  EXPECT_EQ(parse_rlimit_name("memlock"), RLIMIT_MEMLOCK);
  EXPECT_EQ(parse_rlimit_name("as"), RLIMIT_AS);
  EXPECT_EQ(parse_rlimit_name("fsize"), RLIMIT_FSIZE);
  EXPECT_EQ(parse_rlimit_name("stack"), RLIMIT_STACK);
  EXPECT_EQ(parse_rlimit_name("cpu"), RLIMIT_CPU);
  EXPECT_EQ(parse_rlimit_name("data"), RLIMIT_DATA);
  EXPECT_EQ(parse_rlimit_name("rss"), RLIMIT_RSS);
  EXPECT_EQ(parse_rlimit_name("msgqueue"), RLIMIT_MSGQUEUE);
  EXPECT_EQ(parse_rlimit_name("nice"), RLIMIT_NICE);
  EXPECT_EQ(parse_rlimit_name("rtprio"), RLIMIT_RTPRIO);
  EXPECT_EQ(parse_rlimit_name("sigpending"), RLIMIT_SIGPENDING);
  EXPECT_EQ(parse_rlimit_name("locks"), RLIMIT_LOCKS);
  EXPECT_EQ(parse_rlimit_name("rttime"), RLIMIT_RTTIME);
  EXPECT_EQ(parse_rlimit_name("NOFILE"), RLIMIT_NOFILE);  // as in LimitNOFILE=
  EXPECT_FALSE(parse_rlimit_name("files"));
  EXPECT_FALSE(parse_rlimit_name(""));
}

}  // namespace
}  // namespace superd
