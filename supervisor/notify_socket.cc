#include "supervisor/notify_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace superd {

std::unique_ptr<NotifySocket> NotifySocket::open(uv_loop_t* loop, const std::string& path,
                                                 MessageFn on_message, std::string* error) {
  std::unique_ptr<NotifySocket> self(new NotifySocket);
  self->path_ = path;
  self->on_message_ = std::move(on_message);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    *error = "notify socket path too long: " + path;
    return nullptr;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  self->fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!self->fd_) {
    *error = std::string("socket: ") + std::strerror(errno);
    return nullptr;
  }
  ::unlink(path.c_str());
  if (::bind(self->fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    *error = "bind " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  // Any local process may send (services run as other users); who sent is checked.
  ::chmod(path.c_str(), 0666);
  int one = 1;
  ::setsockopt(self->fd_.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
  uv_poll_init(loop, self->poll_.get(), self->fd_.get());
  self->poll_.mark_initialized();
  self->poll_->data = self.get();
  uv_poll_start(self->poll_.get(), UV_READABLE, [](uv_poll_t* h, int status, int) {
    if (h->data && status == 0) static_cast<NotifySocket*>(h->data)->on_readable();
  });
  return self;
}

NotifySocket::~NotifySocket() {
  poll_.reset();  // before the fd closes
  if (!path_.empty()) ::unlink(path_.c_str());
}

void NotifySocket::on_readable() {
  for (int i = 0; i < 64; ++i) {  // bounded: the next poll wakeup reads the rest
    char data[4096];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    iovec iov{data, sizeof data - 1};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) return;
    pid_t sender = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
        ucred cred;
        std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
        sender = cred.pid;
      }
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        // Nobody may park fds in superd: close whatever was passed.
        int count = static_cast<int>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int k = 0; k < count; ++k) {
          int fd;
          std::memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof fd);
          ::close(fd);
        }
      }
    }
    on_message_(sender, std::string(data, static_cast<size_t>(n)));
  }
}

pid_t session_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(text.substr(close + 2));
  char state;
  pid_t ppid, pgrp, session = 0;
  rest >> state >> ppid >> pgrp >> session;
  return session;
}

}  // namespace superd
