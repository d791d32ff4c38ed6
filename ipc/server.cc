// The listening side: the socket, accepting, the connection limit, and handing requests
// to the daemon's handler. Connections do the rest (connection.cc).
#include <fcntl.h>
#include <malloc.h>

#include <exception>
#include <vector>

#include "ipc/peer_auth.h"
#include "ipc/server.h"
#include "ipc/server_core.h"

namespace superd::ipc {

ServerCore::ServerCore(uv_loop_t* loop, ServerOptions options, RequestHandler handler)
    : loop_(loop), options_(std::move(options)), handler_(std::move(handler)) {
  if (options_.group) group_label_ = group_label(*options_.group);
}

ServerCore::~ServerCore() { close(); }

std::optional<std::string> ServerCore::listen() {
  if (listener_) return options_.path + ": already listening";
  auto created = options_.inherited_fd >= 0
                     ? SocketFile::adopt(options_.path, options_.trust, UniqueFd(options_.inherited_fd),
                                         UniqueFd(options_.inherited_lock_fd))
                     : SocketFile::create(options_.path, options_.group, options_.trust);
  options_.inherited_fd = options_.inherited_lock_fd = -1;
  if (auto* error = std::get_if<std::string>(&created)) return *error;
  socket_.emplace(std::move(std::get<SocketFile>(created)));

  return listen_on(socket_->release_listen_fd());
}

std::optional<std::string> ServerCore::listen_on(int fd) {
  listener_ = new uv_pipe_t;
  uv_pipe_init(loop_, listener_, 0);
  listener_->data = this;
  int rc = uv_pipe_open(listener_, fd);
  if (rc != 0) ::close(fd);  // not adopted by libuv
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener_), 128, on_connection);
  if (rc != 0) {
    close();  // also removes the socket file
    return options_.path + ": listen: " + uv_strerror(rc);
  }
  return std::nullopt;
}

void ServerCore::close() {
  if (listener_) {
    // The callback frees the handle and nothing else: the core may be gone by then.
    uv_close(reinterpret_cast<uv_handle_t*>(listener_),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_pipe_t*>(handle); });
    listener_ = nullptr;
  }
  // close() removes each connection from the set: iterate over a copy.
  const std::vector<Connection*> open(connections_.begin(), connections_.end());
  for (Connection* connection : open) connection->close();
  connections_.clear();
  socket_.reset();  // unlinks the socket if it is still ours, releases the lock
}

void ServerCore::trim_heap_soon() {
  if (!trim_timer_.initialized()) {
    if (uv_timer_init(loop_, trim_timer_.get()) != 0) return;
    trim_timer_.mark_initialized();
  }
  uv_timer_start(trim_timer_.get(), [](uv_timer_t*) { ::malloc_trim(0); }, kTrimDelayMs, 0);
}

std::optional<HandedOver> ServerCore::hand_over() {
  if (!listener_ || !socket_) return std::nullopt;
  uv_os_fd_t fd = -1;
  uv_fileno(reinterpret_cast<uv_handle_t*>(listener_), &fd);
  // A second descriptor of the same listening socket outlives the handle's.
  const int kept = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (kept < 0) return std::nullopt;
  uv_close(reinterpret_cast<uv_handle_t*>(listener_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_pipe_t*>(handle); });
  listener_ = nullptr;
  return HandedOver{kept, socket_->lock_fd()};
}

std::optional<std::string> ServerCore::set_group(std::optional<gid_t> group) {
  if (socket_) {
    if (auto error = socket_->set_group(group)) return error;
  }
  options_.group = group;
  group_label_ = group ? group_label(*group) : std::string();
  for (Connection* connection : connections_) {
    Peer& peer = connection->peer_;
    if (!connection->counted_ || !connection->is_open()) continue;
    peer.authorized = is_authorized(PeerCredentials{peer.uid, peer.gid, peer.pid}, group);
  }
  return std::nullopt;
}

void ServerCore::on_connection(uv_stream_t* listener, int status) {
  // A failed accept (status < 0) has nothing to clean up; libuv already handles EMFILE
  // by accepting and dropping the connection.
  if (status == 0) static_cast<ServerCore*>(listener->data)->accept_one();
}

void ServerCore::accept_one() {
  std::size_t counted = 0;
  Connection* oldest_silent = nullptr;
  for (Connection* connection : connections_) {
    if (!connection->counted_) continue;
    ++counted;
    // Silent for a moment at least: a client that just connected gets to speak.
    if (connection->is_open() && !connection->has_spoken() &&
        uv_now(loop_) - connection->accepted_at_ >= 250 &&
        (!oldest_silent || connection->serial_ < oldest_silent->serial_)) {
      oldest_silent = connection;
    }
  }
  // At the limit, a connection that has not said a word yields its place: idle
  // connections must not lock out a client that has something to ask.
  if (counted >= options_.max_connections && oldest_silent) {
    oldest_silent->close();
    --counted;
  }
  const bool within_limit = counted < options_.max_connections;
  auto connection =
      std::make_shared<Connection>(Connection::Private{}, this, Peer{}, within_limit);
  connection->serial_ = next_serial_++;
  connection->accepted_at_ = uv_now(loop_);
  connections_.insert(connection.get());
  connection->start(reinterpret_cast<uv_stream_t*>(listener_));
  // From here on the connection keeps itself alive until its handles are closed.
}

void ServerCore::dispatch(const std::shared_ptr<Connection>& connection, Request request) {
  const std::int64_t id = request.id;
  if (!handler_) {
    connection->send(make_error(id, err::failed, "superd is not ready for requests"));
    return;
  }
  try {
    handler_(connection, std::move(request));
  } catch (const std::exception& e) {
    // A handler bug must cost one request, not the daemon.
    connection->send(make_error(id, err::failed, std::string("internal error: ") + e.what()));
  } catch (...) {
    connection->send(make_error(id, err::failed, "internal error"));
  }
}

std::string ServerCore::denied_message(const Peer& peer) const {
  std::string message = "uid " + std::to_string(peer.uid) + " is not root";
  if (options_.group) message += " or in group '" + group_label_ + "'";
  return message;
}

Server::Server(uv_loop_t* loop, ServerOptions options, RequestHandler handler)
    : core_(std::make_unique<ServerCore>(loop, std::move(options), std::move(handler))) {}

Server::~Server() = default;

std::optional<std::string> Server::listen() { return core_->listen(); }
std::optional<HandedOver> Server::hand_over() { return core_->hand_over(); }
std::optional<std::string> Server::take_back(const HandedOver& fds) { return core_->listen_on(fds.listen_fd); }

void Server::close() { core_->close(); }

std::optional<std::string> Server::set_group(std::optional<gid_t> group) {
  return core_->set_group(group);
}

std::size_t Server::connection_count() const { return core_->connection_count(); }

}  // namespace superd::ipc
