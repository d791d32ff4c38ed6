// Internal to the server: the state behind Server, shared with Connection. Not for
// other modules; include ipc/server.h.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <cstdint>
#include <unordered_set>

#include "ipc/server.h"
#include "ipc/socket_file.h"

namespace superd::ipc {

class ServerCore {
 public:
  ServerCore(uv_loop_t* loop, ServerOptions options, RequestHandler handler);
  ~ServerCore();

  std::optional<std::string> listen();
  void close();
  std::optional<HandedOver> hand_over();
  std::optional<std::string> listen_on(int fd);  // a listening socket, from now on the loop's
  std::optional<std::string> set_group(std::optional<gid_t> group);
  std::size_t connection_count() const { return connections_.size(); }

  // For Connection.
  uv_loop_t* loop() const { return loop_; }
  const ServerOptions& options() const { return options_; }
  void dispatch(const std::shared_ptr<Connection>& connection, Request request);
  void forget(Connection* connection) {
    connections_.erase(connection);
  }
  std::string denied_message(const Peer& peer) const;

 private:
  static void on_connection(uv_stream_t* listener, int status);
  void accept_one();

  uv_loop_t* loop_;
  ServerOptions options_;
  RequestHandler handler_;
  std::string group_label_;
  std::optional<SocketFile> socket_;
  uv_pipe_t* listener_ = nullptr;  // freed in its close callback
  std::uint64_t next_serial_ = 0;
  std::unordered_set<Connection*> connections_;  // open ones; each removes itself on close
};

}  // namespace superd::ipc
