#include "ipc/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

namespace superd::ipc {

using nlohmann::json;

std::string describe_connect_error(int error) {
  switch (error) {
    case ENOENT:
      return "no such socket";
    case ECONNREFUSED:
      return "connection refused (is superd running?)";
    case EACCES:
    case EPERM:
      return "permission denied";
    case ENOTSOCK:
      return "not a socket";
    default:
      return std::strerror(error);
  }
}

std::optional<std::string> Client::connect(const std::string& path) {
  path_ = path;
  at_eof_ = false;
  decoder_ = LineDecoder{kMaxReplyBytes};
  ready_.clear();
  next_ready_ = 0;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty()) return "empty socket path";
  if (path.size() >= sizeof addr.sun_path) return "socket path too long";
  std::memcpy(addr.sun_path, path.data(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return std::string("socket: ") + std::strerror(errno);
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return describe_connect_error(errno);
  fd_ = std::move(fd);
  at_eof_ = false;
  decoder_ = LineDecoder(kMaxReplyBytes);
  ready_.clear();
  next_ready_ = 0;
  return std::nullopt;
}

std::optional<std::string> Client::send_raw(std::string_view bytes) {
  if (!fd_) return "not connected";
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::string("cannot send: ") + std::strerror(errno);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return std::nullopt;
}

std::optional<json> Client::read_message(std::string* error) {
  std::string ignored;
  if (!error) error = &ignored;
  if (!fd_) {
    *error = "not connected";
    return std::nullopt;
  }
  const auto deadline = timeout_ ? std::chrono::steady_clock::now() + *timeout_
                                 : std::chrono::steady_clock::time_point::max();
  while (next_ready_ == ready_.size()) {
    ready_.clear();
    next_ready_ = 0;
    if (timeout_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd pfd{fd_.get(), POLLIN, 0};
      const int rc = ::poll(&pfd, 1, static_cast<int>(std::max<long long>(left.count(), 0)));
      if (rc < 0 && errno == EINTR) continue;
      if (rc == 0) {
        *error = "timed out waiting for superd";
        return std::nullopt;
      }
    }
    char buffer[64 * 1024];
    const ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = std::string("cannot read: ") + std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) {
      at_eof_ = true;
      *error = "connection closed";
      return std::nullopt;
    }
    for (DecodedLine& line : decoder_.feed(std::string_view(buffer, static_cast<std::size_t>(n)))) {
      if (line.too_large) {
        *error = "reply longer than " + std::to_string(kMaxReplyBytes) + " bytes";
        return std::nullopt;
      }
      ready_.push_back(std::move(line.text));
    }
  }
  const std::string line = std::move(ready_[next_ready_++]);
  json message = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded() || !message.is_object()) {
    *error = "invalid reply from superd";
    return std::nullopt;
  }
  return message;
}

namespace {

bool has_id(const json& message, std::int64_t id) {
  const auto it = message.find("id");
  return it != message.end() && it->is_number_integer() && it->get<std::int64_t>() == id;
}

bool is_reply(const json& message) { return message.contains("ok"); }

}  // namespace

std::variant<json, std::string> Client::request(std::string_view cmd, json args,
                                                const StreamCallback& on_stream) {
  // superd answers `busy` to a connection over its limit (idle connections yield their
  // place after a moment): reconnect and ask again, for about a second at most.
  auto reply = request_once(cmd, args, on_stream);
  for (int attempt = 0; attempt < 8 && !path_.empty(); ++attempt) {
    auto* json_reply = std::get_if<json>(&reply);
    if (!json_reply || !json_reply->contains("error") || !(*json_reply)["error"].is_object() ||
        (*json_reply)["error"].value("code", "") != err::busy) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10 << std::min(attempt, 4)));
    fd_.reset();
    if (connect(path_)) break;
    reply = request_once(cmd, args, on_stream);
  }
  return reply;
}

std::variant<json, std::string> Client::request_once(std::string_view cmd, const json& args,
                                                     const StreamCallback& on_stream) {
  current_id_ = next_id_++;
  const json message = {{"id", current_id_}, {"cmd", cmd}, {"args", args}};
  if (auto error = send_raw(encode(message))) {
    // superd may have turned the connection away (busy) and closed it before the request
    // went out (EPIPE): its answer is still there to read, and request() retries on it.
    std::string ignored;
    if (auto early = read_message(&ignored); early && is_reply(*early)) return std::move(*early);
    return *error;
  }
  for (;;) {
    std::string error;
    std::optional<json> reply = read_message(&error);
    if (!reply) {
      if (at_eof_) return std::string("superd closed the connection before replying");
      return error;
    }
    const bool ours = has_id(*reply, current_id_);
    if (is_reply(*reply) && (ours || (reply->contains("id") && (*reply)["id"].is_null())))
      return std::move(*reply);
    if (ours && on_stream) on_stream(*reply);
  }
}

std::optional<std::string> Client::follow(const StreamCallback& on_stream) {
  for (;;) {
    std::string error;
    std::optional<json> message = read_message(&error);
    if (!message) {
      if (at_eof_) return std::nullopt;
      return error;
    }
    if (has_id(*message, current_id_) && !is_reply(*message) && on_stream) on_stream(*message);
  }
}

}  // namespace superd::ipc
