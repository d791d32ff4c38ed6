#include "ipc/codec.h"

#include <algorithm>
#include <limits>

namespace superd::ipc {

using nlohmann::json;

std::vector<DecodedLine> LineDecoder::feed(std::string_view bytes) {
  std::vector<DecodedLine> out;
  while (!bytes.empty()) {
    const std::size_t nl = bytes.find('\n');
    const bool ends_line = nl != std::string_view::npos;
    const std::string_view chunk = ends_line ? bytes.substr(0, nl) : bytes;
    bytes = ends_line ? bytes.substr(nl + 1) : std::string_view{};

    if (discarding_) {
      discarding_ = !ends_line;
      continue;
    }
    if (chunk.size() > max_line_ - buffer_.size()) {
      // Report at once instead of at the '\n': the point is to never hold more than
      // max_line bytes for a peer, whatever it sends.
      out.push_back(DecodedLine{true, {}});
      buffer_.clear();
      buffer_.shrink_to_fit();
      discarding_ = !ends_line;
      continue;
    }
    buffer_.append(chunk);
    if (ends_line) {
      out.push_back(DecodedLine{false, std::move(buffer_)});
      buffer_.clear();
    }
  }
  return out;
}

bool is_known_command(std::string_view cmd) {
  return std::find(std::begin(cmd::all), std::end(cmd::all), cmd) != std::end(cmd::all);
}

namespace {

// True when brackets nest deeper than `limit` outside strings. Only exact for valid
// JSON, which is all that matters: anything else fails to parse anyway.
bool too_deep(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

// nlohmann's what() is "[json.exception.parse_error.101] parse error at ...": keep the
// part after the tag, and not all of it: "last read" may quote a megabyte of input.
std::string describe_parse_error(const std::exception& e) {
  std::string_view text = e.what();
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find("] ");
    if (close != std::string_view::npos) text.remove_prefix(close + 2);
  }
  constexpr std::size_t kMaxMessage = 200;
  std::string message = "invalid JSON: ";
  message.append(text.substr(0, kMaxMessage));
  if (text.size() > kMaxMessage) message.append("...");
  return message;
}

RequestError bad(std::optional<std::int64_t> id, std::string message) {
  return RequestError{id, std::string(err::bad_request), std::move(message)};
}

// The id must be a JSON integer that fits int64 (7, not 7.0, "7" or 2^63).
std::optional<std::int64_t> read_id(const json& doc) {
  const auto it = doc.find("id");
  if (it == doc.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned()) {
    const auto value = it->get<std::uint64_t>();
    if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return std::nullopt;
    return static_cast<std::int64_t>(value);
  }
  return it->get<std::int64_t>();
}

}  // namespace

ParseResult parse_request(std::string_view line) {
  if (too_deep(line, kMaxNestingDepth))
    return bad(std::nullopt, "JSON nested deeper than " + std::to_string(kMaxNestingDepth));

  json doc;
  try {
    doc = json::parse(line.begin(), line.end());
  } catch (const std::exception& e) {  // parse_error; out_of_range for huge numbers
    return bad(std::nullopt, describe_parse_error(e));
  }
  if (!doc.is_object()) return bad(std::nullopt, "a request must be a JSON object");

  const std::optional<std::int64_t> id = read_id(doc);
  if (!id) return bad(std::nullopt, "\"id\" must be an integer");

  const auto cmd = doc.find("cmd");
  if (cmd == doc.end()) return bad(id, "\"cmd\" is missing");
  if (!cmd->is_string()) return bad(id, "\"cmd\" must be a string");
  Request request;
  request.id = *id;
  request.cmd = cmd->get<std::string>();
  if (!is_known_command(request.cmd)) {
    // Quoted back, but bounded: the name could be most of a megabyte.
    std::string shown = request.cmd.substr(0, 64);
    if (request.cmd.size() > shown.size()) shown += "...";
    return RequestError{id, std::string(err::unknown_command), "unknown command '" + shown + "'"};
  }

  const auto args = doc.find("args");
  if (args != doc.end()) {
    if (!args->is_object()) return bad(id, "\"args\" must be an object");
    request.args = std::move(*args);
  }
  return request;
}

std::string encode(const json& message) {
  std::string line = message.dump(-1, ' ', false, json::error_handler_t::replace);
  line.push_back('\n');
  return line;
}

json make_ok(std::int64_t id, json result) {
  return json{{"id", id}, {"ok", true}, {"result", std::move(result)}};
}

json make_error(std::optional<std::int64_t> id, std::string_view code, std::string_view message) {
  return json{{"id", id ? json(*id) : json(nullptr)},
              {"ok", false},
              {"error", {{"code", code}, {"message", message}}}};
}

json make_error(std::optional<std::int64_t> id, std::string_view code, std::string_view message,
                json result) {
  json reply = make_error(id, code, message);
  reply["result"] = std::move(result);
  return reply;
}

json make_error(const RequestError& error) {
  return make_error(error.id, error.code, error.message);
}

json make_stream_line(std::int64_t id, std::string_view line) {
  return json{{"id", id}, {"line", line}};
}

}  // namespace superd::ipc
