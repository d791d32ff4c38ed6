// A small blocking client of the control socket, for superctl and tests: one request
// at a time, its reply, and for `log -f` the stream that follows it.
//
// Replies may be longer than requests (a `log -n 5000` answer), so the client accepts
// lines up to kMaxReplyBytes. Writes use MSG_NOSIGNAL: a daemon that goes away makes a
// request fail with an error, it does not kill superctl with SIGPIPE.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "ipc/codec.h"
#include "base/fd.h"

namespace superd::ipc {

inline constexpr std::size_t kMaxReplyBytes = 16u << 20;

// A stream message ({"id", "line"}) of the current request.
using StreamCallback = std::function<void(const nlohmann::json& message)>;

class Client {
 public:
  // Error text for `superctl: cannot connect to PATH: TEXT`: "no such socket",
  // "connection refused (is superd running?)", "permission denied", else strerror.
  std::optional<std::string> connect(const std::string& path);

  // Sends {"id", "cmd", "args"} and reads until the reply with that id (or id null: the
  // daemon could not read ours). Stream messages of this request that come before the
  // reply go to on_stream; other messages are skipped. On failure: the error text.
  std::variant<nlohmann::json, std::string> request(std::string_view cmd,
                                                    nlohmann::json args = nlohmann::json::object(),
                                                    const StreamCallback& on_stream = {});

  // After a request that opened a stream: hands every stream message of it to on_stream
  // until the daemon closes the connection (nullopt) or something fails (the text).
  std::optional<std::string> follow(const StreamCallback& on_stream);

  // Bounds every wait for input; none by default (a restart may take minutes).
  void set_timeout(std::optional<std::chrono::milliseconds> timeout) { timeout_ = timeout; }

  // Sends raw bytes as they are (tests of the server's framing).
  std::optional<std::string> send_raw(std::string_view bytes);
  // Reads one message, whatever its id. nullopt plus `error` set on failure or EOF
  // ("connection closed" for a clean EOF).
  std::optional<nlohmann::json> read_message(std::string* error);

  // The daemon closed the connection (the last read_message saw EOF).
  bool at_eof() const { return at_eof_; }
  int fd() const { return fd_.get(); }
  void close() { fd_.reset(); }

 private:
  std::variant<nlohmann::json, std::string> request_once(std::string_view cmd,
                                                         const nlohmann::json& args,
                                                         const StreamCallback& on_stream);
  std::string path_;
  UniqueFd fd_;
  LineDecoder decoder_{kMaxReplyBytes};
  std::vector<std::string> ready_;  // decoded lines not yet consumed
  std::size_t next_ready_ = 0;
  std::int64_t next_id_ = 1;
  std::int64_t current_id_ = 0;
  bool at_eof_ = false;
  std::optional<std::chrono::milliseconds> timeout_;
};

// Error text for a connect() errno, shared with tests.
std::string describe_connect_error(int error);

}  // namespace superd::ipc
