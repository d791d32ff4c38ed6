#include "supervisor/net_probe.h"

#include <cstring>

#include "base/uv_handle.h"

namespace superd {

class NetProbe : public std::enable_shared_from_this<NetProbe> {
 public:
  NetProbe(uv_loop_t* loop, const ProbeTarget& target, ProbeDone done)
      : loop_(loop), done_(std::move(done)) {
    if (const auto* url = std::get_if<HttpUrl>(&target)) {
      address_ = url->authority;
      http_target_ = url->target;
      http_ = true;
    } else {
      address_ = std::get<HostPort>(target);
    }
  }
  ~NetProbe() { done_ = nullptr; }

  void start(std::chrono::milliseconds timeout) {
    uv_timer_init(loop_, timer_.get());
    timer_.mark_initialized();
    timer_->data = this;
    uv_timer_start(
        timer_.get(),
        [](uv_timer_t* t) {
          if (t->data) static_cast<NetProbe*>(t->data)->finish(false, "timed out");
        },
        static_cast<uint64_t>(timeout.count()), 0);
    uv_tcp_init(loop_, tcp_.get());
    tcp_.mark_initialized();
    tcp_->data = this;
    sockaddr_storage addr{};
    if (address_.address.to_sockaddr(address_.port, &addr) == 0) {
      return finish(false, "host " + address_.host + " was not resolved");  // only without LoadOptions::resolve_hosts
    }
    // Requests live on the heap: libuv completes them (ECANCELED) after the handle is
    // closed, possibly after this probe is gone.
    auto* req = new Request<uv_connect_t>{{}, weak_from_this()};
    req->req.data = req;
    int rc = uv_tcp_connect(&req->req, tcp_.get(), reinterpret_cast<sockaddr*>(&addr),
                            [](uv_connect_t* r, int status) {
                              std::unique_ptr<Request<uv_connect_t>> own(
                                  static_cast<Request<uv_connect_t>*>(r->data));
                              if (auto self = own->probe.lock(); self && status != UV_ECANCELED)
                                self->on_connect(status);
                            });
    if (rc != 0) {
      delete req;
      finish(false, std::string("connect: ") + uv_strerror(rc));
    }
  }

 private:
  void on_connect(int status) {
    if (status != 0) return finish(false, std::string("connect: ") + uv_strerror(status));
    if (!http_) return finish(true, "connected");
    request_ = "GET " + http_target_ + " HTTP/1.0\r\nHost: " + address_.to_string() +
               "\r\nUser-Agent: superd\r\n\r\n";
    auto* req = new Request<uv_write_t>{{}, weak_from_this(), request_};
    req->req.data = req;
    uv_buf_t buf = uv_buf_init(req->payload.data(), static_cast<unsigned>(req->payload.size()));
    int rc = uv_write(&req->req, reinterpret_cast<uv_stream_t*>(tcp_.get()), &buf, 1,
                      [](uv_write_t* r, int status) {
                        std::unique_ptr<Request<uv_write_t>> own(
                            static_cast<Request<uv_write_t>*>(r->data));
                        auto self = own->probe.lock();
                        if (self && status != 0 && status != UV_ECANCELED)
                          self->finish(false, std::string("write: ") + uv_strerror(status));
                      });
    if (rc != 0) {
      delete req;
      return finish(false, std::string("write: ") + uv_strerror(rc));
    }
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(tcp_.get()),
        [](uv_handle_t* h, size_t, uv_buf_t* buf) {
          auto* self = static_cast<NetProbe*>(h->data);
          *buf = self ? uv_buf_init(self->read_buf_, sizeof self->read_buf_) : uv_buf_init(nullptr, 0);
        },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
          auto* self = static_cast<NetProbe*>(s->data);
          if (self) self->on_read(n, buf);
        });
  }

  void on_read(ssize_t n, const uv_buf_t* buf) {
    if (n > 0) response_.append(buf->base, static_cast<size_t>(n));
    auto eol = response_.find("\r\n");
    if (eol == std::string::npos && n >= 0 && response_.size() < 4096) return;
    std::string status_line = response_.substr(0, eol == std::string::npos ? 80 : eol);
    // "HTTP/1.1 200 OK"
    auto sp = status_line.find(' ');
    int code = sp == std::string::npos ? 0 : std::atoi(status_line.c_str() + sp + 1);
    if (code >= 200 && code < 300) return finish(true, status_line);
    finish(false, status_line.empty() ? "no HTTP response" : status_line);
  }

  void finish(bool ok, const std::string& detail) {
    if (!done_) return;
    ProbeDone done = std::move(done_);
    done_ = nullptr;
    timer_.reset();
    tcp_.reset();
    done(ok, detail);  // may destroy this object
  }

  uv_loop_t* loop_;
  HostPort address_;        // where to connect
  bool http_ = false;       // then GET http_target_
  std::string http_target_;
  ProbeDone done_;
  UvHandle<uv_timer_t> timer_;
  UvHandle<uv_tcp_t> tcp_;
  template <typename R>
  struct Request {
    R req;
    std::weak_ptr<NetProbe> probe;
    std::string payload;
  };
  std::string request_, response_;
  char read_buf_[4096];
};

std::shared_ptr<NetProbe> start_net_probe(uv_loop_t* loop, const ProbeTarget& target,
                                          std::chrono::milliseconds timeout, ProbeDone done) {
  auto probe = std::make_shared<NetProbe>(loop, target, std::move(done));
  probe->start(timeout);
  return probe;
}

}  // namespace superd
