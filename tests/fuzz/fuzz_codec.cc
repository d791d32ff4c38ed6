// Fuzzes the control-protocol codec (ipc/codec.h) the way the server drives it: the input
// is a byte stream from a client, fed to a LineDecoder in random chunk sizes; every line
// goes through parse_request, and every outcome is encoded as the server would answer.
//
// Oracles besides the sanitizers:
//  - the lines, too_large events and the unfinished rest do not depend on how the stream
//    was chunked, and match a byte-at-a-time model of the framing rules in codec.h;
//  - no decoded line holds a '\n' or more than max_line bytes;
//  - encode() never throws, yields exactly one line, and that line parses back as JSON;
//  - a request's args survive encode -> parse unchanged; a log line comes back as it was
//    or, when it was not valid UTF-8, with U+FFFD in it.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ipc/codec.h"
#include "tests/fuzz/fuzz_common.h"

using nlohmann::json;
using superd::fuzz::Rng;
using namespace superd::ipc;

namespace {

struct Event {
  bool too_large;
  std::string text;
  bool operator==(const Event&) const = default;
};

// The framing rules of codec.h, one byte at a time.
// *pending: the bytes of an unfinished last line it holds.
std::vector<Event> model(std::string_view bytes, size_t max_line, size_t* pending) {
  std::vector<Event> out;
  std::string buffer;
  bool discarding = false;
  for (char c : bytes) {
    if (discarding) {
      if (c == '\n') discarding = false;
      continue;
    }
    if (c == '\n') {
      out.push_back({false, buffer});
      buffer.clear();
      continue;
    }
    buffer.push_back(c);
    if (buffer.size() > max_line) {
      out.push_back({true, {}});
      buffer.clear();
      discarding = true;
    }
  }
  *pending = buffer.size();
  return out;
}

std::vector<Event> decode_in_chunks(std::string_view bytes, size_t max_line, Rng& rng,
                                    size_t max_chunk, size_t* pending) {
  LineDecoder decoder(max_line);
  std::vector<Event> out;
  while (!bytes.empty()) {
    size_t n = std::min(bytes.size(), rng.range(1, max_chunk));
    for (auto& line : decoder.feed(bytes.substr(0, n))) {
      FUZZ_CHECK(line.text.find('\n') == std::string::npos);
      FUZZ_CHECK(line.text.size() <= max_line);
      FUZZ_CHECK(!line.too_large || line.text.empty());
      out.push_back({line.too_large, std::move(line.text)});
    }
    FUZZ_CHECK(decoder.pending_bytes() <= max_line);
    bytes.remove_prefix(n);
  }
  *pending = decoder.pending_bytes();
  return out;
}

// encode() must give one parseable line; returns what it parses back to.
json encoded_roundtrip(const json& message) {
  std::string line = encode(message);
  FUZZ_CHECK(!line.empty() && line.back() == '\n');
  FUZZ_CHECK(line.find('\n') == line.size() - 1);
  FUZZ_CHECK(json::accept(line));
  return json::parse(line);
}

void answer(std::string_view line) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;  // server skips
  ParseResult parsed = parse_request(line);
  if (auto* error = std::get_if<RequestError>(&parsed)) {
    FUZZ_CHECK(!error->code.empty());
    json back = encoded_roundtrip(make_error(*error));
    FUZZ_CHECK(back["ok"] == false);
    FUZZ_CHECK(error->id ? back["id"] == *error->id : back["id"].is_null());
    return;
  }
  Request& request = std::get<Request>(parsed);
  FUZZ_CHECK(is_known_command(request.cmd));
  FUZZ_CHECK(request.args.is_object());
  json back = encoded_roundtrip(make_ok(request.id, request.args));
  FUZZ_CHECK(back["id"] == request.id);
  FUZZ_CHECK(back["result"] == request.args);
  // The request itself, as superctl writes it.
  json again = encoded_roundtrip(json{{"id", request.id}, {"cmd", request.cmd}, {"args", request.args}});
  FUZZ_CHECK(again["args"] == request.args);
  // Error replies with a result (failed start).
  encoded_roundtrip(make_error(request.id, "failed", request.cmd, request.args));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Rng rng(data, size);

  // The server's real limit, in chunks up to the server's read size, then a tiny limit
  // so that too_large and the recovery after it are exercised on small inputs.
  size_t pending = 0, model_pending = 0;
  std::vector<Event> lines = decode_in_chunks(bytes, kMaxLineBytes, rng, 64 * 1024, &pending);
  FUZZ_CHECK(lines == model(bytes, kMaxLineBytes, &model_pending));
  FUZZ_CHECK(pending == model_pending);
  std::vector<Event> one_shot = decode_in_chunks(bytes, kMaxLineBytes, rng, size + 1, &pending);
  FUZZ_CHECK(lines == one_shot);
  FUZZ_CHECK(pending == model_pending);

  const size_t small_limit = rng.range(1, 48);
  std::vector<Event> small = decode_in_chunks(bytes, small_limit, rng, rng.range(1, 16), &pending);
  FUZZ_CHECK(small == model(bytes, small_limit, &model_pending));
  FUZZ_CHECK(pending == model_pending);

  // Now and then a stream past the real limit: the input repeated to just over 1 MiB.
  if (size > 0 && rng.range(0, 255) == 0) {
    std::string big;
    while (big.size() <= kMaxLineBytes + 1) big.append(bytes);
    std::vector<Event> big_lines = decode_in_chunks(big, kMaxLineBytes, rng, 64 * 1024, &pending);
    FUZZ_CHECK(big_lines == model(big, kMaxLineBytes, &model_pending));
    FUZZ_CHECK(pending == model_pending);
  }

  for (const Event& event : lines) {
    if (event.too_large) continue;
    answer(event.text);
    // The same text as a service's log line in a follow stream: it comes back as it
    // was, or (invalid UTF-8) with U+FFFD in place of bad bytes.
    json streamed = encoded_roundtrip(make_stream_line(7, event.text));
    FUZZ_CHECK(streamed["line"].is_string());
    const std::string& back = streamed["line"].get_ref<const std::string&>();
    FUZZ_CHECK(back == event.text || back.find("\xEF\xBF\xBD") != std::string::npos);
  }
  // A partial last line: the server never parses it, but the raw bytes may reach an
  // error message; they must still encode.
  encoded_roundtrip(make_error(std::nullopt, "bad_request", bytes.substr(0, 256)));
  return 0;
}
