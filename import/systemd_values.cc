// Values of systemd directives that need more than a word: limits, kill lines, and the
// families of keys superd reports together.
#include <filesystem>

#include "import/systemd_service.h"

namespace superd::importer {

std::string what(const Entry& e) { return e.key + "=" + shorten(e.value); }

// Keys of whole families that superd does not do, with the reason said once for all.
std::string family_reason(std::string_view key) {
  static constexpr std::string_view kSandbox[] = {
      "Private", "Protect", "Restrict", "ReadOnly", "ReadWrite", "Inaccessible", "NoExec", "Exec",
      "Capability", "AmbientCapabilities", "NoNewPrivileges", "SystemCall", "MemoryDeny",
      "LockPersonality", "DynamicUser", "RootDirectory", "RootImage", "BindPaths", "BindReadOnly",
      "TemporaryFileSystem", "IPAddress", "DevicePolicy", "DeviceAllow", "KeyringMode", "RemoveIPC"};
  static constexpr std::string_view kCgroup[] = {"Memory", "CPU", "IO", "Tasks", "Startup", "Allowed",
                                                 "Delegate", "Slice", "BlockIO", "ManagedOOM", "OOM"};
  static constexpr std::string_view kDirs[] = {"RuntimeDirectory", "StateDirectory", "CacheDirectory",
                                               "LogsDirectory", "ConfigurationDirectory"};
  for (auto p : kDirs) {
    if (key.substr(0, p.size()) == p) return "superd does not create directories: create it at deploy time";
  }
  for (auto p : kSandbox) {
    if (key.substr(0, p.size()) == p) return "no such key in superd's `sandbox` table";
  }
  for (auto p : kCgroup) {
    if (key.substr(0, p.size()) == p) return "superd does not manage cgroup resources";
  }
  if (key.substr(0, 9) == "Condition" || key.substr(0, 6) == "Assert") return "superd has no start conditions";
  return {};
}

// Parses a Limit*= value: "65536", "infinity", "1024:4096", "8M" (byte limits), "1h" (CPU).
std::optional<std::string> limit_value(std::string_view name, std::string_view text) {
  text = trim(text);
  if (text == "infinity") return std::string("infinity");
  static constexpr std::string_view kBytes[] = {"fsize", "data", "stack", "core", "rss", "as", "memlock",
                                                "msgqueue"};
  auto digits = [](std::string_view s) { return !s.empty() && s.find_first_not_of("0123456789") == s.npos; };
  if (std::find(std::begin(kBytes), std::end(kBytes), name) != std::end(kBytes)) {
    static constexpr std::string_view kSuffixes = "BKMGTPE";
    size_t end = text.find_first_not_of("0123456789");
    std::string_view number = text.substr(0, end);
    std::string_view suffix = end == text.npos ? std::string_view{} : text.substr(end);
    if (!digits(number) || number.size() > 18 || suffix.size() > 1) return std::nullopt;
    unsigned __int128 value = std::stoull(std::string(number));
    if (!suffix.empty()) {
      size_t k = kSuffixes.find(suffix[0]);
      if (k == kSuffixes.npos) return std::nullopt;
      for (size_t i = 0; i < k; ++i) value *= 1024;
    }
    if (value > static_cast<unsigned __int128>(INT64_MAX)) return std::nullopt;
    return std::to_string(static_cast<uint64_t>(value));
  }
  if (name == "cpu" || name == "rttime") {
    if (digits(text)) return text.size() > 18 ? std::nullopt : std::optional<std::string>(text);  // s, or µs
    auto us = parse_timespan_us(text);
    if (!us) return std::nullopt;
    if (name == "rttime") return std::to_string(*us);
    return std::to_string(*us / 1000000 + (*us % 1000000 ? 1 : 0));
  }
  if (name == "nice" && !text.empty() && (text[0] == '+' || text[0] == '-')) {
    if (!digits(text.substr(1)) || text.size() > 3) return std::nullopt;
    int nice = std::stoi(std::string(text));
    if (nice < -20 || nice > 19) return std::nullopt;
    return std::to_string(20 - nice);
  }
  if (!digits(text) || text.size() > 18) return std::nullopt;
  return std::string(text);
}

// "/bin/kill -s HUP $MAINPID" (or -HUP, -SIGHUP, --signal HUP, no signal: TERM) -> "HUP".
std::optional<std::string> kill_mainpid_signal(std::vector<std::string> argv) {
  if (argv.empty() || std::filesystem::path(argv[0]).filename() != "kill") return std::nullopt;
  if (argv.back() != "$MAINPID" && argv.back() != "${MAINPID}") return std::nullopt;
  if (argv.size() == 2) return std::string("TERM");
  if (argv.size() == 3 && argv[1].size() > 1 && argv[1][0] == '-') return normalize_signal(argv[1].substr(1));
  if (argv.size() == 4 && (argv[1] == "-s" || argv[1] == "--signal")) return normalize_signal(argv[2]);
  return std::nullopt;
}

// ---- One service unit ----------------------------------------------------------------------

}  // namespace superd::importer
