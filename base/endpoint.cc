// The address syntax of the config. Every parser is total (the loader is fuzzed): any
// input yields a value or a short reason, never an exception.
#include "base/endpoint.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace superd {
namespace {

constexpr std::string_view kBadPort = "the port must be a number from 1 to 65535";

bool fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

// For functions that return an optional: `return refuse(error, "...")`.
std::nullopt_t refuse(std::string* error, std::string message) {
  fail(error, std::move(message));
  return std::nullopt;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool parse_port(std::string_view text, uint16_t* port, std::string* error) {
  if (text.empty() || text.size() > 5 || !std::all_of(text.begin(), text.end(), is_digit))
    return fail(error, std::string(kBadPort));
  int value = 0;
  for (char c : text) value = value * 10 + (c - '0');
  if (value < 1 || value > 65535) return fail(error, std::string(kBadPort));
  *port = static_cast<uint16_t>(value);
  return true;
}

// RFC 1123 names (and '_', which /etc/hosts and internal DNS zones do use): dot-separated
// labels of 1 to 63 letters, digits, '-' or '_', not starting or ending with '-'; at most
// 253 characters, one trailing dot allowed.
bool is_host_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    std::string_view label = name.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!(is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_'))
        return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// The parts of [HOST]:PORT or HOST:PORT, and whether the host was in brackets. With
// `port_optional` (a URL's authority) the ":PORT" may be left out: *port is then empty.
struct Split {
  std::string_view host;
  std::string_view port;
  bool bracketed = false;
  bool has_port = false;
};

bool split_host_port(std::string_view text, bool port_optional, Split* out, std::string* error) {
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    const bool ends = close != std::string_view::npos && close + 1 == text.size();
    if (close == std::string_view::npos || (!(ends && port_optional) && text.substr(close + 1, 1) != ":"))
      return fail(error, port_optional ? "expected [IPv6] or [IPv6]:PORT" : "expected [IPv6]:PORT");
    *out = {text.substr(1, close - 1), ends ? "" : text.substr(close + 2), true, !ends};
    return true;
  }
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    if (!port_optional) return fail(error, "expected HOST:PORT");
    *out = {text, "", false, false};
    return true;
  }
  *out = {text.substr(0, colon), text.substr(colon + 1), false, true};
  return true;
}

// The host part: an [IPv6] literal, an IPv4 literal, or a name (left unresolved).
bool set_host(HostPort& hp, const Split& split, HostNames names, std::string* error) {
  const std::string host(split.host);
  if (split.bracketed) {
    auto address = IpAddress::parse(host);
    if (!address || address->family() != AF_INET6) return fail(error, "'" + host + "' is not an IPv6 address");
    hp.host = host;
    hp.address = *address;
    return true;
  }
  if (auto address = IpAddress::parse(host); address && address->family() == AF_INET) {
    hp.host = host;
    hp.address = *address;
    return true;
  }
  if (names == HostNames::refused) return fail(error, "the host must be an IPv4 address or an [IPv6] address");
  if (!is_host_name(host)) return fail(error, "the host must be an IPv4 address, an [IPv6] address or a host name");
  // "1.2.3" or "127.0.0.256" are mistyped addresses, not names (and getaddrinfo would
  // read "1.2.3" as 1.2.0.3).
  std::string_view name = split.host;
  if (name.back() == '.') name.remove_suffix(1);  // is_host_name: not empty after this
  const std::string_view last = name.substr(name.rfind('.') + 1);
  if (std::all_of(last.begin(), last.end(), is_digit)) return fail(error, "'" + host + "' is not an IPv4 address");
  hp.host = host;
  return true;
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view literal) {
  if (literal.size() >= INET6_ADDRSTRLEN || literal.find('\0') != std::string_view::npos) return std::nullopt;
  const std::string text(literal);
  IpAddress a;
  if (inet_pton(AF_INET, text.c_str(), a.bytes_.data()) == 1) {
    a.family_ = AF_INET;
  } else if (inet_pton(AF_INET6, text.c_str(), a.bytes_.data()) == 1) {
    a.family_ = AF_INET6;
  } else {
    return std::nullopt;
  }
  return a;
}

std::optional<IpAddress> IpAddress::from_sockaddr(const sockaddr* addr) {
  IpAddress a;
  if (addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    std::memcpy(a.bytes_.data(), &in->sin_addr, sizeof in->sin_addr);
  } else if (addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    std::memcpy(a.bytes_.data(), &in6->sin6_addr, sizeof in6->sin6_addr);
  } else {
    return std::nullopt;
  }
  a.family_ = addr->sa_family;
  return a;
}

std::string IpAddress::to_string() const {
  if (empty()) return "";
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family_, bytes_.data(), buf, sizeof buf);
  return buf;
}

socklen_t IpAddress::to_sockaddr(uint16_t port, sockaddr_storage* out) const {
  *out = {};
  if (family_ == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(out);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, bytes_.data(), sizeof in->sin_addr);
    return sizeof *in;
  }
  if (family_ == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(out);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    std::memcpy(&in6->sin6_addr, bytes_.data(), sizeof in6->sin6_addr);
    return sizeof *in6;
  }
  return 0;
}

bool HostPort::is_name() const { return !IpAddress::parse(host).has_value(); }

std::string HostPort::host_text() const {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

std::string HostPort::to_string() const { return host_text() + ":" + std::to_string(port); }

std::optional<HostPort> parse_host_port(std::string_view text, HostNames names, std::string* error) {
  Split split;
  HostPort hp;
  if (!split_host_port(text, /*port_optional=*/false, &split, error)) return std::nullopt;
  if (!set_host(hp, split, names, error)) return std::nullopt;
  if (!parse_port(split.port, &hp.port, error)) return std::nullopt;
  return hp;
}

bool resolve_host(HostPort& hp, std::string* error) {
  if (!hp.address.empty()) return true;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(hp.host.c_str(), nullptr, &hints, &found);
  if (rc != 0) return fail(error, rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> own(found, ::freeaddrinfo);
  std::optional<IpAddress> v4, v6;
  for (const addrinfo* ai = found; ai; ai = ai->ai_next) {
    auto address = ai->ai_addr ? IpAddress::from_sockaddr(ai->ai_addr) : std::nullopt;
    if (address && address->family() == AF_INET && !v4) v4 = address;
    if (address && address->family() == AF_INET6 && !v6) v6 = address;
  }
  if (!v4 && !v6) return fail(error, "no IPv4 or IPv6 address");
  hp.address = v4 ? *v4 : *v6;
  return true;
}

std::string ListenEndpoint::to_string() const {
  return kind == Kind::tcp ? "tcp:" + tcp.to_string() : "unix:" + path;
}

std::string ListenEndpoint::socket_key() const {
  if (kind == Kind::unix_socket || tcp.address.empty()) return to_string();
  HostPort numeric{tcp.address.to_string(), tcp.port, tcp.address};
  return "tcp:" + numeric.to_string();
}

std::optional<ListenEndpoint> parse_listen_endpoint(std::string_view text, HostNames names,
                                                    std::string* error) {
  ListenEndpoint e;
  if (text.substr(0, 4) == "tcp:") {
    auto hp = parse_host_port(text.substr(4), names, error);
    if (!hp) return std::nullopt;
    e.tcp = std::move(*hp);
    return e;
  }
  if (text.substr(0, 5) == "unix:") {
    std::string_view path = text.substr(5);
    if (path.empty() || path.front() != '/') return refuse(error, "the socket path must be absolute");
    if (path.size() > kMaxUnixSocketPath)
      return refuse(error, "the socket path is longer than " + std::to_string(kMaxUnixSocketPath) + " bytes");
    if (path.find('\0') != std::string_view::npos) return refuse(error, "the socket path contains a NUL");
    e.kind = ListenEndpoint::Kind::unix_socket;
    e.path = std::string(path);
    return e;
  }
  return refuse(error, "expected tcp:HOST:PORT or unix:/PATH");
}

std::string HttpUrl::to_string() const {
  return "http://" + (authority.port == 80 ? authority.host_text() : authority.to_string()) + target;
}

std::optional<HttpUrl> parse_http_url(std::string_view url, std::string* error) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) return refuse(error, "only http:// URLs are supported");
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return refuse(error, "the URL contains a space or control character");
  }
  std::string_view rest = url.substr(kScheme.size());
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty()) return refuse(error, "the URL has no host");
  if (authority.find('@') != std::string_view::npos)
    return refuse(error, "a user name or password in the URL is not supported");
  Split split;
  HttpUrl u;
  if (!split_host_port(authority, /*port_optional=*/true, &split, error)) return std::nullopt;
  if (!set_host(u.authority, split, HostNames::allowed, error)) return std::nullopt;
  u.authority.port = 80;
  if (split.has_port && !parse_port(split.port, &u.authority.port, error)) return std::nullopt;
  std::string_view target = rest.substr(authority.size());
  target = target.substr(0, target.find('#'));
  u.target = target.empty() || target.front() != '/' ? "/" + std::string(target) : std::string(target);
  return u;
}

}  // namespace superd
