// Fuzzes the env_file parser (supervisor/env_file.h): KEY=VALUE lines, comments, quotes,
// escapes and continuations, as systemd's EnvironmentFile= reads them.
//
// Oracles besides the sanitizers: every variable has a valid name (letters, digits,
// '_', not starting with a digit) and a value without NUL; error line numbers lie within
// the file; parsing is deterministic; a file written back from the parsed variables
// (single-quoted values, since a single quote cannot appear inside one, values that
// contain one are skipped) parses to the same variables without error.
#include <string>
#include <string_view>

#include "base/env_file.h"
#include "tests/fuzz/fuzz_common.h"

using namespace superd;

namespace {

bool valid_name(const std::string& name) {
  if (name.empty()) return false;
  auto start = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (!start(name.front())) return false;
  for (char c : name) {
    if (!start(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const EnvFileResult result = parse_env_file(text);

  size_t lines = 1;
  for (char c : text) lines += c == '\n';
  for (const auto& [name, value] : result.vars) {
    FUZZ_CHECK(valid_name(name));
    FUZZ_CHECK(value.find('\0') == std::string::npos);
  }
  for (const EnvFileError& e : result.errors) {
    FUZZ_CHECK(e.line >= 1 && static_cast<size_t>(e.line) <= lines);
    FUZZ_CHECK(!e.message.empty());
  }

  const EnvFileResult again = parse_env_file(text);
  FUZZ_CHECK(again.vars == result.vars);
  FUZZ_CHECK(again.errors.size() == result.errors.size());

  std::string written;
  std::vector<std::pair<std::string, std::string>> expected;
  for (const auto& [name, value] : result.vars) {
    if (value.find('\'') != std::string::npos) continue;
    // The parser drops "\r" before "\n" (CRLF files) everywhere, quotes included.
    if (value.find("\r\n") != std::string::npos) continue;
    written += name + "='" + value + "'\n";
    expected.emplace_back(name, value);
  }
  const EnvFileResult reparsed = parse_env_file(written);
  FUZZ_CHECK(reparsed.errors.empty());
  FUZZ_CHECK(reparsed.vars == expected);
  return 0;
}
