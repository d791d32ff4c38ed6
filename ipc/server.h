// The control socket server: accepts superctl connections on a Unix stream socket,
// decides who may do what, frames requests, and keeps every client on a short leash so
// that none of them can stall the loop the whole daemon runs on.
//
// Ownership. Every libuv handle lives on the heap and is freed only in its uv_close
// callback. A Connection owns its pipe and timer handles and holds a reference to
// itself while they are open, so callbacks always find it alive; once closed it may
// live on (handlers keep shared_ptrs to answer later) with is_open() false and send()
// a no-op. The Server only tracks open connections; it may be destroyed while their
// close callbacks are still pending, which never touch it.
//
// Limits, per connection:
// - input: a line over kMaxLineBytes is answered too_large, then the connection closes.
// - a line must arrive whole within idle_timeout of its first byte, else the
//   connection closes. A connection with no partial line is never timed out: it may
//   be waiting for a slow restart, or following a log.
// - output: when the client does not read and more than max_output_bytes wait to be
//   written, send() closes the connection (a `log -f` that never reads is dropped).
//   A single message is accepted whatever its size when nothing is waiting.
// - max_connections open at once; a client over that gets one busy error and is closed.
// - on EOF from the client, what is already queued is flushed and the connection
//   closes; replies produced later are dropped. Clients keep their side open until
//   they have their answer (superctl does).
// Bad JSON and unknown commands are answered and the connection stays open; blank
// lines are ignored.
//
// Authorization. SO_PEERCRED at accept: uid 0, superd's own euid, or a uid whose
// primary or supplementary groups in the user database include `group`. Unauthorized
// peers may send hello (passed to the handler with peer().authorized false); anything
// else is answered permission_denied here and never reaches the handler.
//
// SIGPIPE. libuv writes with write(2), which raises SIGPIPE on a vanished peer. The
// server relies on the daemon setting SIGPIPE to SIG_IGN before it listens (a library
// must not change dispositions that children inherit; spawn resets it to SIG_DFL in
// the child). EPIPE is then an ordinary write error that closes the connection.
//
// The socket. listen() creates the directory if missing (mode 0755, owned by superd's
// euid) and refuses one that base/safe_path.h refuses: owned by another user, a symlink
// of another user's on the way, writable by group or others (sticky or not), unless
// the operator allowed its group (ServerOptions::trust). It takes an flock on
// "PATH.lock" for as long as the server lives, so two daemons starting at once cannot
// both replace the socket. An existing socket that refuses connections is stale and
// replaced; one that accepts belongs to a running superd and listen() fails. The socket
// is bound under umask 0177 (never wider than 0600), then chowned to euid:group and
// made 0660 (0600 with no group) through a descriptor of the new inode. close()
// unlinks the path only if it is still the inode bound here. (umask is per process:
// listen() belongs at startup, before threads create files.)
//
// set_group() applies a changed socket_group: the socket is chowned and chmod'ed again,
// and every open connection is authorized anew; one that no longer is may send hello
// only (the daemon ends its `log -f` streams).
//
// The handler may send, keep the connection for later, close it, or close the server;
// it must not destroy the Server from inside the call.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/safe_path.h"
#include "ipc/codec.h"

namespace superd::ipc {

struct Peer {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
  bool authorized = false;
};

class ServerCore;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const Peer& peer() const { return peer_; }
  bool is_open() const { return open_; }

  // Queue one message; if the client is not reading and the queued output exceeds the
  // bound, the connection is closed and false is returned. Never blocks.
  bool send(const nlohmann::json& message);
  void close();

  // A reply the handler sends later (a `restart` that waits for the service). Until
  // deferred_reply_sent(), a client that has finished sending (shut down its write
  // side, as `echo ... | nc -U` does) keeps the connection and gets its answer.
  void defer_reply() { ++deferred_replies_; }
  void deferred_reply_sent();

  // Called once, when the connection ends (handler cleanup), from a libuv callback
  // after the handles are closed; never from inside send() or close(). Cleared after
  // the call, so a lambda that captures the connection does not keep it alive.
  std::function<void()> on_close;

 private:
  friend class ServerCore;
  struct Private {};

 public:
  // For the server only (make_shared needs a public constructor).
  Connection(Private, ServerCore* server, Peer peer, bool counted);

 private:
  bool start(uv_stream_t* listener);
  void on_read(ssize_t nread, const uv_buf_t* buf);
  void on_lines(std::vector<DecodedLine> lines);
  void handle_line(std::string_view line);
  void on_write_done(int status);
  bool start_write(std::string data);
  void on_handle_closed();
  // Reply with one message, then close once it is written (or after a grace period).
  void finish_with(const nlohmann::json& message);
  void arm_timer(std::chrono::milliseconds after);
  void on_timer();
  void close_if_done();  // after the last write, once nothing more is owed
  // The client has sent something, read yet or not: bytes waiting in the socket count
  // too, or a loop slower than its client would take it for an idle one.
  bool has_spoken() const;

  // The server's one read buffer (ServerCore::read_buffer), held so that it outlives a
  // server closed before this connection.
  std::shared_ptr<char[]> read_buffer_;
  ServerCore* server_;  // null once closed (the server only knows open connections)
  Peer peer_;
  bool counted_;        // false for the connection turned away with busy
  std::size_t max_output_bytes_;
  std::chrono::milliseconds idle_timeout_;
  bool open_ = false;
  bool finishing_ = false;           // last answer queued; close once it is written
  bool input_ended_ = false;         // the client sent EOF: answer what is owed, then close
  int deferred_replies_ = 0;
  bool line_clock_running_ = false;  // the timer is timing a half-sent line
  bool spoken_ = false;              // the client has sent something
  std::uint64_t serial_ = 0;         // accept order
  std::uint64_t accepted_at_ = 0;    // loop time (ms)
  int handles_open_ = 0;
  int writes_pending_ = 0;
  std::string backlog_;  // encoded messages waiting for the write in flight
  uv_pipe_t* pipe_ = nullptr;
  uv_timer_t* timer_ = nullptr;
  std::shared_ptr<Connection> self_;  // held while handles are open
  LineDecoder decoder_;
};

struct ServerOptions {
  std::string path;
  std::optional<gid_t> group;
  PathTrust trust;  // directories allowed to be group-writable
  std::size_t max_connections = 128;
  std::size_t max_output_bytes = 4 << 20;
  std::chrono::milliseconds idle_timeout{10000};
  // Re-exec: the listening socket and its lock, from the superd this one replaced; the
  // socket is not bound again (its backlog keeps the clients that connected meanwhile).
  int inherited_fd = -1;
  int inherited_lock_fd = -1;
};

// What a re-exec hands to the next superd: the listening socket (still listening) and
// its lock, no longer watched by this one.
struct HandedOver {
  int listen_fd = -1;
  int lock_fd = -1;
};

using RequestHandler = std::function<void(const std::shared_ptr<Connection>&, Request)>;

class Server {
 public:
  Server(uv_loop_t* loop, ServerOptions options, RequestHandler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Error text on failure, e.g. "/run/super/super.sock: another superd is listening".
  std::optional<std::string> listen();
  // Stops listening and closes every connection (async, via uv_close callbacks).
  void close();
  // Re-exec: stop accepting, keep the socket: connections wait in its backlog for the
  // next superd. The fds stay open (and the socket file in place) until the exec.
  std::optional<HandedOver> hand_over();
  // The exec did not happen: accept on the handed-over socket again.
  std::optional<std::string> take_back(const HandedOver& fds);
  // A new socket_group (nullopt: root only), as the header says; error text on failure,
  // and nothing changed then.
  std::optional<std::string> set_group(std::optional<gid_t> group);

  std::size_t connection_count() const;

 private:
  std::unique_ptr<ServerCore> core_;
};

}  // namespace superd::ipc
