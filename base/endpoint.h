// Network addresses as a config writes them, parsed once into typed values: HOST:PORT
// (a tcp check), a listen endpoint ("tcp:HOST:PORT" or "unix:/PATH") and an http:// URL.
// The config loader parses them, proc/listen.cc binds a ListenEndpoint and the daemon's
// probes connect to a HostPort or an HttpUrl; nobody parses the text a second time.
//
// A host is an IPv4 literal, an [IPv6] literal or (where the caller allows it) a host
// name. A literal is its own address. A name is looked up once, by resolve_host, when
// the config is loaded: a name that does not resolve is an error of `superd --check`,
// not a probe that fails forever, and no probe ever waits on a name lookup.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace superd {

// A numeric IPv4 or IPv6 address; empty (AF_UNSPEC) until set.
class IpAddress {
 public:
  IpAddress() = default;
  // "127.0.0.1" or "::1" (no brackets); nullopt for anything else.
  static std::optional<IpAddress> parse(std::string_view literal);
  // An AF_INET or AF_INET6 socket address (the port is ignored); nullopt otherwise.
  static std::optional<IpAddress> from_sockaddr(const sockaddr* addr);

  bool empty() const { return family_ == AF_UNSPEC; }
  int family() const { return family_; }
  std::string to_string() const;  // "127.0.0.1", "::1"; "" when empty
  // Fills *out with this address and `port`; returns its length (0 when empty).
  socklen_t to_sockaddr(uint16_t port, sockaddr_storage* out) const;

  bool operator==(const IpAddress&) const = default;

 private:
  int family_ = AF_UNSPEC;
  std::array<unsigned char, 16> bytes_{};
};

// HOST:PORT: the host as written (without brackets), the port, and the numeric address:
// the literal itself, or what resolve_host found for a name (empty until then).
struct HostPort {
  std::string host;
  uint16_t port = 0;
  IpAddress address;

  bool is_name() const;            // the host is a name, not an IP literal
  std::string host_text() const;   // "127.0.0.1", "[::1]", "localhost"
  std::string to_string() const;   // "127.0.0.1:8000", "[::1]:8000", "localhost:8000"
  bool operator==(const HostPort&) const = default;
};

// Whether a host may be a name (resolved later) or must be an IP literal.
enum class HostNames { refused, allowed };

// "127.0.0.1:8000", "[::1]:8000" or, with HostNames::allowed, "localhost:8000". On bad
// input nullopt and *error is a short reason ("the port must be a number from 1 to
// 65535", "expected HOST:PORT", ...).
std::optional<HostPort> parse_host_port(std::string_view text, HostNames names, std::string* error);

// Sets hp.address for a name: getaddrinfo, then its first IPv4 address, else its first
// IPv6 one (so "localhost" is 127.0.0.1, as a gunicorn --bind localhost listens). A
// literal already has its address. False, with *error the resolver's reason ("Name or
// service not known"), when the name has no address. Blocks on the name service.
bool resolve_host(HostPort& hp, std::string* error);

// The longest path a unix socket address can hold (sun_path minus its NUL).
inline constexpr size_t kMaxUnixSocketPath = sizeof(sockaddr_un{}.sun_path) - 1;

// A socket superd listens on for a service: tcp HOST:PORT or an absolute unix path.
struct ListenEndpoint {
  enum class Kind { tcp, unix_socket };
  Kind kind = Kind::tcp;
  HostPort tcp;      // Kind::tcp
  std::string path;  // Kind::unix_socket: absolute, at most kMaxUnixSocketPath bytes

  // "tcp:127.0.0.1:8000", "tcp:[::1]:8000", "unix:/run/app.sock", with the host as
  // written and the port as a plain number.
  std::string to_string() const;
  // The socket it binds ("tcp:ADDRESS:PORT" with the numeric address): two endpoints
  // with the same key cannot both be held.
  std::string socket_key() const;
  bool operator==(const ListenEndpoint&) const = default;
};

// "tcp:HOST:PORT" or "unix:/PATH"; the tcp host follows `names`.
std::optional<ListenEndpoint> parse_listen_endpoint(std::string_view text, HostNames names,
                                                    std::string* error);

// http://HOST[:PORT][/PATH][?QUERY] (a #fragment is dropped: it is never sent). HOST may
// be a name; PORT defaults to 80, the request target to "/".
struct HttpUrl {
  HostPort authority;
  std::string target = "/";  // path and query, as sent in the request line

  std::string to_string() const;  // "http://127.0.0.1:8000/health"
  bool operator==(const HttpUrl&) const = default;
};

std::optional<HttpUrl> parse_http_url(std::string_view text, std::string* error);

}  // namespace superd
