#include "proc/listen.h"

#include <netinet/in.h>
#include <sys/socket.h>
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
                                              uid_t owner, gid_t group, const PathTrust& trust) {
  if (path.empty() || path[0] != '/' || path.size() >= sizeof(sockaddr_un{}.sun_path))
    return "bad unix socket path in " + spec;  // the loader refuses these
  auto [dir_path, name] = split_path(path);
  auto dir = open_safe_dir(dir_path, trust);
  if (auto* problem = std::get_if<PathProblem>(&dir)) return listen_path_problem(spec, path, *problem);
  const SafeDir& safe = std::get<SafeDir>(dir);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return failure("socket", spec);
  // A socket left by an earlier run is replaced; anything else in the way is refused.
  auto stale = remove_stale_socket(safe, name);
  if (auto* problem = std::get_if<PathProblem>(&stale)) return "bind " + spec + ": " + problem->describe(path);
  if (auto problem = bind_safe_socket(safe, name, fd.get(), owner, group, 0660)) {
    return "bind " + spec + ": " + problem->describe(path);
  }
  if (::listen(fd.get(), kBacklog) < 0) return failure("listen", spec);
  return fd;
}

}  // namespace

std::string listen_path_problem(const std::string& spec, const std::string& path,
                                const PathProblem& problem) {
  (void)path;
  return problem.explain("listen", spec, "superd binds and chowns a socket there");
}

std::variant<UniqueFd, std::string> open_listener(const ListenEndpoint& endpoint, uid_t owner,
                                                  gid_t group, const PathTrust& trust) {
  const std::string spec = endpoint.to_string();
  if (endpoint.kind == ListenEndpoint::Kind::tcp) return open_tcp(spec, endpoint.tcp);
  return open_unix(spec, endpoint.path, owner, group, trust);
}

}  // namespace superd
