// Fuzzes the small value parsers of the config (base/values.h): durations, sizes,
// signals, umask and rlimit names. The whole input is offered to every parser, then each
// line of it separately, so a seed file may hold one value or a few.
//
// Oracles besides the sanitizers (which catch the overflows these parsers guard against):
//  - a value and an error are exclusive: a failure always says why;
//  - durations are non-negative and survive format_duration -> parse_duration;
//  - a size scaled from a number and a unit is consistent: "N" + "KB" is 1000 * N bytes
//    when no overflow was reported;
//  - signals are 1..64, and signal_name() of one parses back to the same number;
//  - umask is at most 0777; its octal text parses back.
#include <string>
#include <string_view>

#include "base/values.h"
#include "tests/fuzz/fuzz_common.h"

using namespace superd;

namespace {

void one(std::string_view text) {
  std::string error;
  if (auto d = parse_duration(text, &error)) {
    FUZZ_CHECK(error.empty());
    FUZZ_CHECK(d->count() >= 0);
    std::string formatted = format_duration(*d);
    std::string e2;
    auto back = parse_duration(formatted, &e2);
    FUZZ_CHECK(back && *back == *d);
  } else {
    FUZZ_CHECK(!error.empty());
  }

  error.clear();
  if (auto bytes = parse_size(text, &error)) {
    FUZZ_CHECK(error.empty());
    FUZZ_CHECK(*bytes <= static_cast<uint64_t>(INT64_MAX));
    // The same number in KB is 1000 times as many bytes, unless that overflows.
    if (text.find_first_not_of("0123456789") == std::string_view::npos) {
      std::string e2;
      auto kb = parse_size(std::string(text) + "KB", &e2);
      if (*bytes <= static_cast<uint64_t>(INT64_MAX) / 1000) {
        FUZZ_CHECK(kb && *kb == *bytes * 1000);
      } else {
        FUZZ_CHECK(!kb && !e2.empty());
      }
    }
  } else {
    FUZZ_CHECK(!error.empty());
  }

  error.clear();
  if (auto sig = parse_signal(text, &error)) {
    FUZZ_CHECK(error.empty());
    FUZZ_CHECK(*sig >= 1 && *sig <= 64);
    std::string name = signal_name(*sig);
    std::string e2;
    auto back = parse_signal(name, &e2);
    FUZZ_CHECK(back && *back == *sig);
  } else {
    FUZZ_CHECK(!error.empty());
  }

  error.clear();
  if (auto mask = parse_umask(text, &error)) {
    FUZZ_CHECK(error.empty());
    FUZZ_CHECK(*mask <= 0777);
    char octal[8];
    std::snprintf(octal, sizeof octal, "%03o", static_cast<unsigned>(*mask));
    std::string e2;
    auto back = parse_umask(octal, &e2);
    FUZZ_CHECK(back && *back == *mask);
  } else {
    FUZZ_CHECK(!error.empty());
  }

  (void)parse_rlimit_name(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  one(text);
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    one(rest.substr(0, nl));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  // Every signal number formats and parses back.
  for (int signo = 1; signo <= 64 && size == 0; ++signo) {
    std::string e;
    auto back = parse_signal(signal_name(signo), &e);
    FUZZ_CHECK(back && *back == signo);
  }
  return 0;
}
