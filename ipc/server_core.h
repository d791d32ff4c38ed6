// Internal to the server: the state behind Server, shared with Connection. Not for
// other modules; include ipc/server.h.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <cstdint>
#include <unordered_set>

#include "base/uv_handle.h"
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
  // Every connection reads into this one buffer: libuv hands it to one stream's read at a
  // time on the loop's thread, and the line decoder copies what it keeps. One buffer for
  // all instead of 64 KiB each: a connection costs no page faults to set up.
  static constexpr std::size_t kReadBufferBytes = 64 * 1024;
  std::shared_ptr<char[]> read_buffer() const { return read_buffer_; }
  uv_loop_t* loop() const { return loop_; }
  const ServerOptions& options() const { return options_; }
  void dispatch(const std::shared_ptr<Connection>& connection, Request request);
  void forget(Connection* connection) {
    connections_.erase(connection);
  }
  // A connection ended: give the heap a burst of requests left behind back to the
  // system, once, when the burst is over (kTrimDelayMs after the last connection ended).
  // Trimming after each one made every request fault its pages in again.
  void trim_heap_soon();
  static constexpr uint64_t kTrimDelayMs = 1000;
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
  std::shared_ptr<char[]> read_buffer_{new char[kReadBufferBytes]};
  UvHandle<uv_timer_t> trim_timer_;  // initialized at the first trim_heap_soon()
};

}  // namespace superd::ipc
