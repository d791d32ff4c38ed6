// One control connection: reading and framing, the per-connection limits, writing, and
// the close sequence. See server.h for the rules and the ownership story.
#include <sys/ioctl.h>

#include <string>
#include <utility>

#include "ipc/peer_auth.h"
#include "ipc/server.h"
#include "ipc/server_core.h"

namespace superd::ipc {
namespace {

struct WriteRequest {
  uv_write_t req;
  std::string data;  // must outlive the write
};

Connection* owner(uv_handle_t* handle) { return static_cast<Connection*>(handle->data); }

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

}  // namespace

Connection::Connection(Private, ServerCore* server, Peer peer, bool counted)
    : read_buffer_(server->read_buffer()),
      server_(server),
      peer_(peer),
      counted_(counted),
      max_output_bytes_(server->options().max_output_bytes),
      idle_timeout_(server->options().idle_timeout) {}

Connection::~Connection() = default;

bool Connection::start(uv_stream_t* listener) {
  self_ = shared_from_this();
  pipe_ = new uv_pipe_t;
  uv_pipe_init(server_->loop(), pipe_, 0);
  pipe_->data = this;
  timer_ = new uv_timer_t;
  uv_timer_init(server_->loop(), timer_);
  timer_->data = this;
  handles_open_ = 2;
  open_ = true;

  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(pipe_)) != 0) {
    close();
    return false;
  }
  if (!counted_) {
    // Over max_connections: say so and go, without looking the peer up.
    finish_with(make_error(std::nullopt, err::busy, "too many connections; try again"));
    return true;
  }
  uv_os_fd_t fd = -1;
  const auto creds = uv_fileno(reinterpret_cast<uv_handle_t*>(pipe_), &fd) == 0
                         ? peer_credentials(fd)
                         : std::nullopt;
  if (!creds) {
    close();  // cannot tell who it is: not worth an answer
    return false;
  }
  peer_ = Peer{creds->uid, creds->gid, creds->pid,
               is_authorized(*creds, server_->options().group)};

  const int rc = uv_read_start(
      reinterpret_cast<uv_stream_t*>(pipe_),
      [](uv_handle_t* handle, size_t, uv_buf_t* buf) {
        *buf = uv_buf_init(owner(handle)->read_buffer_.get(), ServerCore::kReadBufferBytes);
      },
      [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
        owner(reinterpret_cast<uv_handle_t*>(stream))->on_read(nread, buf);
      });
  if (rc != 0) {
    close();
    return false;
  }
  // The first request must arrive within idle_timeout of connecting, like any line.
  arm_timer(idle_timeout_);
  line_clock_running_ = true;
  return true;
}

void Connection::on_read(ssize_t nread, const uv_buf_t* buf) {
  if (!open_ || finishing_ || input_ended_ || nread == 0) return;  // 0: EAGAIN
  if (nread == UV_EOF) {
    // The client is done sending: deliver what it is owed (written replies, and replies
    // still to come), then close.
    input_ended_ = true;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(pipe_));
    if (writes_pending_ > 0) {
      arm_timer(idle_timeout_);  // it must still read them
    } else {
      uv_timer_stop(timer_);  // a deferred answer may take as long as the service does
      close_if_done();
    }
    return;
  }
  if (nread < 0) {  // ECONNRESET and friends
    close();
    return;
  }
  spoken_ = true;  // anything at all: it is not an idle connection holding a slot
  std::vector<DecodedLine> lines =
      decoder_.feed(std::string_view(buf->base, static_cast<std::size_t>(nread)));
  const bool completed_a_line = !lines.empty();
  on_lines(std::move(lines));
  if (!open_ || finishing_) return;
  // The idle clock runs from the first byte of a line, not from the last byte received:
  // a client trickling one byte at a time must still finish within idle_timeout.
  if (!decoder_.mid_line()) {
    uv_timer_stop(timer_);
    line_clock_running_ = false;
  } else if (completed_a_line || !line_clock_running_) {
    arm_timer(idle_timeout_);
    line_clock_running_ = true;
  }
}

void Connection::on_lines(std::vector<DecodedLine> lines) {
  // The handler may close us (or the whole server) in the middle of a batch.
  auto keep = shared_from_this();
  for (DecodedLine& line : lines) {
    if (!open_ || finishing_) return;
    if (line.too_large) {
      finish_with(make_error(std::nullopt, err::too_large,
                             "request line longer than " + std::to_string(kMaxLineBytes) +
                                 " bytes"));
      return;
    }
    handle_line(line.text);
  }
}

void Connection::handle_line(std::string_view line) {
  if (is_blank(line)) return;  // an operator typing into socat hits enter twice
  ParseResult parsed = parse_request(line);
  if (auto* error = std::get_if<RequestError>(&parsed)) {
    send(make_error(*error));
    return;
  }
  Request& request = std::get<Request>(parsed);
  if (!peer_.authorized && request.cmd != cmd::hello) {
    send(make_error(request.id, err::permission_denied, server_->denied_message(peer_)));
    return;
  }
  server_->dispatch(shared_from_this(), std::move(request));
}

bool Connection::send(const nlohmann::json& message) {
  if (!open_ || finishing_) return false;
  std::string data;
  try {
    data = encode(message);
  } catch (...) {  // only bad_alloc is left; do not take the daemon down for one reply
    return false;
  }
  auto* stream = reinterpret_cast<uv_stream_t*>(pipe_);
  const std::size_t unwritten = uv_stream_get_write_queue_size(stream);
  const std::size_t queued = unwritten + backlog_.size();
  if (queued > 0 && queued + data.size() > max_output_bytes_) {
    close();  // the client does not read: a follower that stalled, or a vanished one
    return false;
  }
  if (queued > 0) {
    // The client is behind: later messages wait as bytes in one buffer until the write
    // in flight completes, so a slow reader costs its output bound, not a request
    // object per line.
    backlog_ += data;
    return true;
  }
  return start_write(std::move(data));
}

bool Connection::start_write(std::string data) {
  auto* write = new WriteRequest;
  write->data = std::move(data);
  write->req.data = this;
  const uv_buf_t buf = uv_buf_init(write->data.data(), static_cast<unsigned>(write->data.size()));
  const int rc = uv_write(&write->req, reinterpret_cast<uv_stream_t*>(pipe_), &buf, 1,
                          [](uv_write_t* req, int status) {
                            auto* done = reinterpret_cast<WriteRequest*>(req);
                            Connection* self = static_cast<Connection*>(done->req.data);
                            delete done;
                            self->on_write_done(status);
                          });
  if (rc != 0) {
    delete write;
    close();
    return false;
  }
  ++writes_pending_;
  return true;
}

void Connection::on_write_done(int status) {
  --writes_pending_;
  if (!open_) return;  // UV_ECANCELED after close(): nothing to do
  if (status < 0) {    // EPIPE, ECONNRESET: the client is gone
    close();
    return;
  }
  if (!backlog_.empty()) {
    std::string next;
    next.swap(backlog_);
    start_write(std::move(next));
    return;
  }
  if (writes_pending_ == 0 && input_ended_ && !finishing_) uv_timer_stop(timer_);
  close_if_done();
}

void Connection::close_if_done() {
  if (!open_ || writes_pending_ > 0) return;
  if (finishing_ || (input_ended_ && deferred_replies_ == 0)) close();
}

void Connection::deferred_reply_sent() {
  if (deferred_replies_ > 0) --deferred_replies_;
  close_if_done();
}

void Connection::finish_with(const nlohmann::json& message) {
  if (!open_ || finishing_) return;
  send(message);
  if (!open_) return;
  finishing_ = true;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(pipe_));
  // A client that does not read even its last answer gets idle_timeout, then is cut.
  arm_timer(idle_timeout_);
}

void Connection::arm_timer(std::chrono::milliseconds after) {
  uv_timer_start(
      timer_, [](uv_timer_t* timer) { owner(reinterpret_cast<uv_handle_t*>(timer))->on_timer(); },
      static_cast<uint64_t>(after.count()), 0);
}

void Connection::on_timer() { close(); }

void Connection::close() {
  if (!open_) return;
  open_ = false;
  if (server_) {
    // What the client's requests and replies left on the heap goes back to the system
    // once the burst it belongs to is over.
    server_->trim_heap_soon();
    server_->forget(this);
    server_ = nullptr;
  }
  // Each handle is deleted in its own callback; the last one lets go of self_.
  uv_close(reinterpret_cast<uv_handle_t*>(pipe_), [](uv_handle_t* handle) {
    Connection* self = owner(handle);
    delete reinterpret_cast<uv_pipe_t*>(handle);
    self->on_handle_closed();
  });
  uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* handle) {
    Connection* self = owner(handle);
    delete reinterpret_cast<uv_timer_t*>(handle);
    self->on_handle_closed();
  });
}

void Connection::on_handle_closed() {
  if (--handles_open_ > 0) return;
  pipe_ = nullptr;
  timer_ = nullptr;
  // Moved out first: the callback may drop the last other reference, and a lambda that
  // captured this connection would otherwise keep it alive forever.
  std::function<void()> callback = std::move(on_close);
  on_close = nullptr;
  {
    std::shared_ptr<Connection> keep = std::move(self_);
    if (callback) callback();
  }  // `keep` may destroy this connection here, after the last use of a member
}

bool Connection::has_spoken() const {
  if (spoken_) return true;
  uv_os_fd_t fd;
  int pending = 0;
  return open_ && pipe_ && uv_fileno(reinterpret_cast<const uv_handle_t*>(pipe_), &fd) == 0 &&
         ::ioctl(fd, FIONREAD, &pending) == 0 && pending > 0;
}

}  // namespace superd::ipc
