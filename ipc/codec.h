// The wire codec: framing of newline-delimited JSON and the checks that turn one line
// into a Request. Pure: no sockets, no clock, no allocation beyond the line itself, so
// it can be unit tested byte by byte and fuzzed.
//
// Framing. LineDecoder cuts a byte stream into lines at '\n' (the '\n' is not part of
// the line; a "\r\n" leaves a '\r' the JSON parser takes as whitespace). A line may be
// exactly max_line bytes long. As soon as a line grows past that, without waiting for
// its end, the decoder reports one too_large event, forgets what it had, and discards
// input up to and including the next '\n'; then it decodes normally again. The server
// does not rely on that recovery: it replies too_large and closes the connection,
// because a client that sent an oversized line cannot know which of its requests were
// lost.
//
// Parsing. parse_request() checks, in this order: valid JSON (nlohmann's lexer rejects
// ill-formed UTF-8 and lone surrogates), nesting depth, an object, an integer "id",
// a string "cmd", a known command, an object "args" (absent means {}). Errors found
// before the id is known carry no id; the reply then has "id": null.
//
// Encoding. encode() never throws on content: strings that are not valid UTF-8 (a
// service's log lines can be anything) are dumped with U+FFFD in place of bad bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "ipc/protocol.h"

namespace superd::ipc {

// Deeper documents are refused before they are parsed: nlohmann's copy, compare and dump
// recurse, so a megabyte of '[' would overflow the stack of whoever touched it later.
inline constexpr int kMaxNestingDepth = 64;

struct DecodedLine {
  bool too_large = false;  // the line went past max_line; `text` is empty
  std::string text;        // the line without its '\n'
};

class LineDecoder {
 public:
  explicit LineDecoder(std::size_t max_line = kMaxLineBytes) : max_line_(max_line) {}

  // Accumulates `bytes`; returns every line completed by them, in order, and at most
  // one too_large event per oversized line.
  std::vector<DecodedLine> feed(std::string_view bytes);

  // Bytes of an unfinished line held (the server times out half-sent lines).
  std::size_t pending_bytes() const { return buffer_.size(); }
  // True while the rest of an oversized line is being skipped.
  bool discarding() const { return discarding_; }
  // In the middle of a line, either buffering or discarding.
  bool mid_line() const { return discarding_ || !buffer_.empty(); }

 private:
  std::size_t max_line_;
  std::string buffer_;
  bool discarding_ = false;
};

struct Request {
  std::int64_t id = 0;
  std::string cmd;
  nlohmann::json args = nlohmann::json::object();
};

struct RequestError {
  std::optional<std::int64_t> id;  // set when the id was readable
  std::string code;                // one of err::*
  std::string message;
};

using ParseResult = std::variant<Request, RequestError>;

ParseResult parse_request(std::string_view line);

bool is_known_command(std::string_view cmd);

// One message as one line, '\n' included. Invalid UTF-8 is replaced, never thrown on.
std::string encode(const nlohmann::json& message);

// Reply builders. An absent id is sent as null.
nlohmann::json make_ok(std::int64_t id, nlohmann::json result = nlohmann::json::object());
nlohmann::json make_error(std::optional<std::int64_t> id, std::string_view code,
                          std::string_view message);
// An error that still carries a result (a failed start/restart with every status).
nlohmann::json make_error(std::optional<std::int64_t> id, std::string_view code,
                          std::string_view message, nlohmann::json result);
nlohmann::json make_error(const RequestError& error);
// One line of a stream (log follow), tagged with the id of the request that opened it.
nlohmann::json make_stream_line(std::int64_t id, std::string_view line);

}  // namespace superd::ipc
