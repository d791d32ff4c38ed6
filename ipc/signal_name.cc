#include "ipc/signal_name.h"

#include <cctype>
#include <charconv>
#include <csignal>
#include <cstring>

namespace superd::ipc {
namespace {
constexpr int kLastStandardSignal = 31;
}

std::optional<int> parse_signal(std::string_view text) {
  if (text.empty() || text.size() > 16) return std::nullopt;
  int number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec == std::errc() && end == text.data() + text.size()) {
    if (number >= 1 && number <= kLastStandardSignal) return number;
    return std::nullopt;
  }
  std::string upper;
  for (const char c : text) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  std::string_view name = upper;
  if (name.substr(0, 3) == "SIG") name.remove_prefix(3);
  for (int signo = 1; signo <= kLastStandardSignal; ++signo) {
    const char* abbrev = ::sigabbrev_np(signo);
    if (abbrev != nullptr && name == abbrev) return signo;
  }
  return std::nullopt;
}

std::string signal_name(int signo) {
  const char* abbrev = ::sigabbrev_np(signo);
  return abbrev != nullptr ? std::string(abbrev) : std::to_string(signo);
}

}  // namespace superd::ipc
