#include "supervisor/notify_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

namespace superd {

std::unique_ptr<NotifySocket> NotifySocket::open(uv_loop_t* loop, const SafeDir& dir,
                                                 const std::string& name, gid_t group,
                                                 MessageFn on_message, std::string* error,
                                                 UniqueFd inherited) {
  std::unique_ptr<NotifySocket> self(new NotifySocket);
  self->path_ = dir.path_of(name);
  self->name_ = name;
  self->on_message_ = std::move(on_message);
  self->dir_fd_.reset(::fcntl(dir.fd(), F_DUPFD_CLOEXEC, 3));
  if (!self->dir_fd_) {
    *error = std::string("dup: ") + std::strerror(errno);
    return nullptr;
  }
  if (inherited) {
    self->fd_ = std::move(inherited);  // re-exec: bound by the previous superd, still there
  } else if (!self->bind_new(dir, group, error)) {
    return nullptr;
  }
  struct stat st {};
  if (::fstatat(dir.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    self->dev_ = st.st_dev;
    self->ino_ = st.st_ino;
  }
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

bool NotifySocket::bind_new(const SafeDir& dir, gid_t group, std::string* error) {
  fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd_) {
    *error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  // A socket of an earlier run is replaced; anything else in the way is refused.
  auto stale = remove_stale_socket(dir, name_);
  if (auto* problem = std::get_if<PathProblem>(&stale)) {
    *error = problem->describe(path_);
    return false;
  }
  if (auto problem = bind_safe_socket(dir, name_, fd_.get(), ::geteuid(), group, 0660)) {
    *error = problem->describe(path_);
    return false;
  }
  return true;
}

NotifySocket::~NotifySocket() {
  poll_.reset();  // before the fd closes
  // Only the inode bound here: a later superd (or a restart) may have replaced it.
  struct stat st {};
  if (dir_fd_ && ino_ != 0 &&
      ::fstatat(dir_fd_.get(), name_.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      st.st_dev == dev_ && st.st_ino == ino_) {
    ::unlinkat(dir_fd_.get(), name_.c_str(), 0);
  }
}

std::optional<uint64_t> NotifySocket::foreign_warning_due() {
  const auto now = std::chrono::steady_clock::now();
  if (last_warning_ && now - *last_warning_ < kForeignWarningEvery) {
    ++held_back_;
    return std::nullopt;
  }
  last_warning_ = now;
  return std::exchange(held_back_, 0);
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
