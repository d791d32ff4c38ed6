// systemd as superd's tests play it: a NOTIFY_SOCKET listener that keeps what superd
// stores in the fd store (FDSTORE=1 with FDNAME=, FDSTOREREMOVE=1), so a test can hand
// it to the next superd (Superd::set_listen_fds) as systemd would after a crash.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/fd.h"

namespace superd::test {

class FakeSystemd {
 public:
  explicit FakeSystemd(const std::string& path) : path_(path) {
    sock_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    bound_ = ::bind(sock_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    int one = 1;
    ::setsockopt(sock_.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) == 0) {
      wake_r_.reset(fds[0]);
      wake_w_.reset(fds[1]);
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~FakeSystemd() {
    if (wake_w_) (void)!::write(wake_w_.get(), "x", 1);
    thread_.join();
    ::unlink(path_.c_str());
  }
  bool bound() const { return bound_; }
  std::string env() const { return "NOTIFY_SOCKET=" + path_; }
  // The store's names and fds, as systemd would pass them on.
  std::vector<std::pair<std::string, int>> stored() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::pair<std::string, int>> out;
    for (const auto& [name, fd] : store_) out.emplace_back(name, fd.get());
    return out;
  }
  size_t count(const std::string& prefix) const {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = 0;
    for (const auto& [name, fd] : store_) n += name.rfind(prefix, 0) == 0;
    return n;
  }

 private:
  void loop() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p[2] = {{sock_.get(), POLLIN, 0}, {wake_r_.get(), POLLIN, 0}};
      if (::poll(p, 2, 1000) < 0 || (p[1].revents & POLLIN)) return;
      if (p[0].revents & POLLIN) receive();
    }
  }
  void receive() {
    char text[4096];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 16) + CMSG_SPACE(sizeof(ucred))];
    iovec iov{text, sizeof text - 1};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(sock_.get(), &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) return;
    std::vector<UniqueFd> fds;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) fds.emplace_back(reinterpret_cast<int*>(CMSG_DATA(c))[i]);
    }
    const std::string message(text, static_cast<size_t>(n));
    std::string name;
    if (size_t at = message.find("FDNAME="); at != std::string::npos) {
      name = message.substr(at + 7, message.find('\n', at) - at - 7);
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (message.find("FDSTOREREMOVE=1") != std::string::npos) {
      store_.erase(name);
    } else if (message.find("FDSTORE=1") != std::string::npos && fds.size() == 1 && !name.empty()) {
      store_[name] = std::move(fds[0]);
    }
  }

  std::string path_;
  UniqueFd sock_, wake_r_, wake_w_;
  bool bound_ = false;
  mutable std::mutex mu_;
  std::map<std::string, UniqueFd> store_;
  std::thread thread_;
};

}  // namespace superd::test
