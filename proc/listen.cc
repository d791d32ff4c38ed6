#include "proc/listen.h"

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

std::variant<UniqueFd, std::string> open_tcp(const std::string& spec, const HostPort& tcp) {
  sockaddr_storage addr{};
  const socklen_t len = tcp.address.to_sockaddr(tcp.port, &addr);
  if (len == 0) return "bad address " + spec + ": the host was not resolved";
  const int family = tcp.address.family();
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
    return "bad unix socket path in " + spec;  // the loader refuses these
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

std::variant<UniqueFd, std::string> open_listener(const ListenEndpoint& endpoint, uid_t owner,
                                                  gid_t group) {
  const std::string spec = endpoint.to_string();
  if (endpoint.kind == ListenEndpoint::Kind::tcp) return open_tcp(spec, endpoint.tcp);
  return open_unix(spec, endpoint.path, owner, group);
}

}  // namespace superd
