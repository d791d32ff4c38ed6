#include "proc/listen.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace superd {
namespace {

constexpr int kBacklog = 4096;  // the kernel caps it at net.core.somaxconn

std::string failure(const std::string& what, const std::string& spec) {
  return what + " " + spec + ": " + std::strerror(errno);
}

std::variant<UniqueFd, std::string> open_tcp(const std::string& spec, const std::string& rest) {
  auto colon = rest.rfind(':');
  if (colon == std::string::npos) return "bad address " + spec + ": expected tcp:HOST:PORT";
  std::string host = rest.substr(0, colon);
  int port = std::atoi(rest.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return "bad port in " + spec;
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
    a6->sin6_family = family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a6->sin6_addr) != 1)
      return "bad IPv6 address in " + spec;
    len = sizeof *a6;
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
    a4->sin_family = family = AF_INET;
    a4->sin_port = htons(static_cast<uint16_t>(port));
    if (host == "localhost") host = "127.0.0.1";
    if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) != 1) return "bad IPv4 address in " + spec;
    len = sizeof *a4;
  }
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return failure("socket", spec);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) < 0) return failure("bind", spec);
  if (::listen(fd.get(), kBacklog) < 0) return failure("listen", spec);
  return fd;
}

std::variant<UniqueFd, std::string> open_unix(const std::string& spec, const std::string& path,
                                              uid_t owner, gid_t group) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path[0] != '/' || path.size() >= sizeof addr.sun_path)
    return "bad unix socket path in " + spec;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return failure("socket", spec);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return "bind " + spec + ": a file that is not a socket is in the way";
    ::unlink(path.c_str());  // a stale socket of an earlier run
  }
  // Never exists with wider permissions than intended, even for an instant.
  mode_t old = ::umask(0117);
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (rc < 0) return failure("bind", spec);
  if (::chown(path.c_str(), owner, group) < 0) return failure("chown", spec);
  if (::listen(fd.get(), kBacklog) < 0) return failure("listen", spec);
  return fd;
}

}  // namespace

std::variant<UniqueFd, std::string> open_listener(const std::string& spec, uid_t owner,
                                                  gid_t group) {
  if (spec.rfind("tcp:", 0) == 0) return open_tcp(spec, spec.substr(4));
  if (spec.rfind("unix:", 0) == 0) return open_unix(spec, spec.substr(5), owner, group);
  return "bad listen address " + spec + ": expected tcp:HOST:PORT or unix:PATH";
}

}  // namespace superd
