// The address syntax of base/endpoint.h: HOST:PORT, listen endpoints, http:// URLs, and
// resolving a host name (only `localhost`, from /etc/hosts: no DNS in unit tests).
#include "base/endpoint.h"

#include <gtest/gtest.h>

namespace superd {
namespace {

// The parsed value's to_string(), or "error: REASON".
std::string host_port(std::string_view text, HostNames names = HostNames::allowed) {
  std::string why;
  auto hp = parse_host_port(text, names, &why);
  return hp ? hp->to_string() : "error: " + why;
}

std::string listen(std::string_view text, HostNames names = HostNames::refused) {
  std::string why;
  auto e = parse_listen_endpoint(text, names, &why);
  return e ? e->to_string() : "error: " + why;
}

std::string url(std::string_view text) {
  std::string why;
  auto u = parse_http_url(text, &why);
  return u ? u->to_string() + " " + u->authority.host + " " + std::to_string(u->authority.port) + " " + u->target
           : "error: " + why;
}

TEST(IpAddress, ParsesBothFamiliesAndPrintsThemCanonically) {
  EXPECT_EQ(IpAddress::parse("127.0.0.1")->family(), AF_INET);
  EXPECT_EQ(IpAddress::parse("::1")->family(), AF_INET6);
  EXPECT_EQ(IpAddress::parse("0:0::1")->to_string(), "::1");
  EXPECT_EQ(IpAddress::parse("10.0.0.255")->to_string(), "10.0.0.255");
  for (std::string_view bad : std::initializer_list<std::string_view>{"", "localhost", "1.2.3", "256.0.0.1", "[::1]", "::g", "1.2.3.4 ",
                               std::string_view("1.2.3.4\0", 8)}) {
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
  }
  EXPECT_TRUE(IpAddress().empty());
  EXPECT_EQ(IpAddress().to_string(), "");
}

TEST(IpAddress, SocketAddressRoundTrip) {
  sockaddr_storage ss;
  IpAddress v6 = *IpAddress::parse("fe80::1");
  ASSERT_EQ(v6.to_sockaddr(8080, &ss), sizeof(sockaddr_in6));
  EXPECT_EQ(ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port), 8080);
  EXPECT_EQ(*IpAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss)), v6);
  IpAddress v4 = *IpAddress::parse("127.0.0.1");
  ASSERT_EQ(v4.to_sockaddr(80, &ss), sizeof(sockaddr_in));
  EXPECT_EQ(*IpAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss)), v4);
  EXPECT_EQ(IpAddress().to_sockaddr(80, &ss), 0u);
}

TEST(HostPort, Literals) {
  EXPECT_EQ(host_port("127.0.0.1:8000"), "127.0.0.1:8000");
  EXPECT_EQ(host_port("[::1]:8000"), "[::1]:8000");
  EXPECT_EQ(host_port("0.0.0.0:1"), "0.0.0.0:1");
  EXPECT_EQ(host_port("127.0.0.1:065535"), "error: the port must be a number from 1 to 65535");
  EXPECT_EQ(host_port("127.0.0.1:08000"), "127.0.0.1:8000");  // leading zeros: still the number
  auto hp = parse_host_port("[::1]:8000", HostNames::refused, nullptr);
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "::1");
  EXPECT_EQ(hp->address, *IpAddress::parse("::1"));
  EXPECT_FALSE(hp->is_name());
}

TEST(HostPort, BadPorts) {
  for (std::string_view bad : {"127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:", "127.0.0.1:+80", "127.0.0.1:-1",
                               "127.0.0.1:80x", "127.0.0.1: 80", "127.0.0.1:999999", "[::1]:", "[::1]:http"}) {
    EXPECT_EQ(host_port(bad), "error: the port must be a number from 1 to 65535") << bad;
  }
}

TEST(HostPort, BadShapesAndTrailingJunk) {
  EXPECT_EQ(host_port("127.0.0.1"), "error: expected HOST:PORT");
  EXPECT_EQ(host_port("[::1:80"), "error: expected [IPv6]:PORT");
  EXPECT_EQ(host_port("[::1]80"), "error: expected [IPv6]:PORT");
  EXPECT_EQ(host_port("[::1]"), "error: expected [IPv6]:PORT");
  EXPECT_EQ(host_port("[::1]:80]"), "error: the port must be a number from 1 to 65535");
  EXPECT_EQ(host_port("[::g]:80"), "error: '::g' is not an IPv6 address");
  EXPECT_EQ(host_port("[127.0.0.1]:80"), "error: '127.0.0.1' is not an IPv6 address");
  EXPECT_EQ(host_port("::1:80"), "error: the host must be an IPv4 address, an [IPv6] address or a host name");
  EXPECT_EQ(host_port(":80"), "error: the host must be an IPv4 address, an [IPv6] address or a host name");
  EXPECT_EQ(host_port("127.0.0.1:80:80"), "error: the host must be an IPv4 address, an [IPv6] address or a host name");
  EXPECT_EQ(host_port("1.2.3:80"), "error: '1.2.3' is not an IPv4 address");
  EXPECT_EQ(host_port("127.0.0.256:80"), "error: '127.0.0.256' is not an IPv4 address");
}

TEST(HostPort, HostNames) {
  EXPECT_EQ(host_port("localhost:8000"), "localhost:8000");
  EXPECT_EQ(host_port("db.internal.example.com.:5432"), "db.internal.example.com.:5432");
  EXPECT_EQ(host_port("my_host-2:80"), "my_host-2:80");
  auto hp = parse_host_port("localhost:80", HostNames::allowed, nullptr);
  ASSERT_TRUE(hp);
  EXPECT_TRUE(hp->is_name());
  EXPECT_TRUE(hp->address.empty());  // until resolved
  for (std::string_view bad : {"-a:80", "a-:80", "a..b:80", ".a:80", "a b:80", "a/b:80", "a@b:80", "h\xc3\xa9:80"}) {
    EXPECT_EQ(host_port(bad), "error: the host must be an IPv4 address, an [IPv6] address or a host name") << bad;
  }
  EXPECT_EQ(host_port(std::string(64, 'a') + ":80"),
            "error: the host must be an IPv4 address, an [IPv6] address or a host name");
  std::string long_name;
  for (int i = 0; i < 4; ++i) long_name += std::string(63, 'a') + ".";
  EXPECT_EQ(host_port(long_name + ":80"),
            "error: the host must be an IPv4 address, an [IPv6] address or a host name");  // 256 > 253
  EXPECT_EQ(host_port("localhost:80", HostNames::refused),
            "error: the host must be an IPv4 address or an [IPv6] address");
}

TEST(HostPort, ResolveKeepsALiteralAndResolvesLocalhost) {
  auto literal = *parse_host_port("[::1]:80", HostNames::allowed, nullptr);
  EXPECT_TRUE(resolve_host(literal, nullptr));
  EXPECT_EQ(literal.address.to_string(), "::1");

  auto name = *parse_host_port("localhost:8000", HostNames::allowed, nullptr);
  std::string why;
  ASSERT_TRUE(resolve_host(name, &why)) << why;
  EXPECT_EQ(name.address.to_string(), "127.0.0.1");  // IPv4 first, as today's probes did
  EXPECT_EQ(name.host, "localhost");
  EXPECT_EQ(name.to_string(), "localhost:8000");
}

TEST(ListenEndpoint, TcpAndUnix) {
  EXPECT_EQ(listen("tcp:127.0.0.1:8000"), "tcp:127.0.0.1:8000");
  EXPECT_EQ(listen("tcp:[::]:8001"), "tcp:[::]:8001");
  EXPECT_EQ(listen("unix:/run/app.sock"), "unix:/run/app.sock");
  EXPECT_EQ(listen("127.0.0.1:8000"), "error: expected tcp:HOST:PORT or unix:/PATH");
  EXPECT_EQ(listen("udp:127.0.0.1:8000"), "error: expected tcp:HOST:PORT or unix:/PATH");
  EXPECT_EQ(listen("tcp:localhost:8000"), "error: the host must be an IPv4 address or an [IPv6] address");
  EXPECT_EQ(listen("tcp:localhost:8000", HostNames::allowed), "tcp:localhost:8000");
  EXPECT_EQ(listen("unix:run/app.sock"), "error: the socket path must be absolute");
  EXPECT_EQ(listen("unix:"), "error: the socket path must be absolute");
  EXPECT_EQ(listen("unix:/" + std::string(107, 'x')), "error: the socket path is longer than 107 bytes");
  EXPECT_EQ(listen("unix:/" + std::string(106, 'x')), "unix:/" + std::string(106, 'x'));
}

TEST(ListenEndpoint, SocketKeyIsTheNumericAddress) {
  auto a = *parse_listen_endpoint("tcp:[::1]:80", HostNames::refused, nullptr);
  auto b = *parse_listen_endpoint("tcp:[0:0::1]:0080", HostNames::refused, nullptr);
  EXPECT_EQ(a.socket_key(), b.socket_key());
  EXPECT_EQ(a.socket_key(), "tcp:[::1]:80");
  EXPECT_NE(a, b);  // written differently: a different definition for reload-config
  auto u = *parse_listen_endpoint("unix:/run/a.sock", HostNames::refused, nullptr);
  EXPECT_EQ(u.socket_key(), "unix:/run/a.sock");
}

TEST(HttpUrl, Parts) {
  EXPECT_EQ(url("http://127.0.0.1:8000/health"), "http://127.0.0.1:8000/health 127.0.0.1 8000 /health");
  EXPECT_EQ(url("http://127.0.0.1/"), "http://127.0.0.1/ 127.0.0.1 80 /");
  EXPECT_EQ(url("http://127.0.0.1"), "http://127.0.0.1/ 127.0.0.1 80 /");
  EXPECT_EQ(url("http://[::1]:8000/a?b=c"), "http://[::1]:8000/a?b=c ::1 8000 /a?b=c");
  EXPECT_EQ(url("http://[::1]/"), "http://[::1]/ ::1 80 /");
  EXPECT_EQ(url("http://localhost:8000?ready"), "http://localhost:8000/?ready localhost 8000 /?ready");
  EXPECT_EQ(url("http://localhost/a#frag"), "http://localhost/a localhost 80 /a");
}

TEST(HttpUrl, Errors) {
  EXPECT_EQ(url("https://127.0.0.1/"), "error: only http:// URLs are supported");
  EXPECT_EQ(url("127.0.0.1:8000/"), "error: only http:// URLs are supported");
  EXPECT_EQ(url("http://127.0.0.1/a b"), "error: the URL contains a space or control character");
  EXPECT_EQ(url("http:///path"), "error: the URL has no host");
  EXPECT_EQ(url("http://?x"), "error: the URL has no host");
  EXPECT_EQ(url("http://user:pw@127.0.0.1/"), "error: a user name or password in the URL is not supported");
  EXPECT_EQ(url("http://127.0.0.1:0/"), "error: the port must be a number from 1 to 65535");
  EXPECT_EQ(url("http://127.0.0.1:/"), "error: the port must be a number from 1 to 65535");
  EXPECT_EQ(url("http://127.0.0.1:80x/"), "error: the port must be a number from 1 to 65535");
  EXPECT_EQ(url("http://[::1/"), "error: expected [IPv6] or [IPv6]:PORT");
  EXPECT_EQ(url("http://[::1]x/"), "error: expected [IPv6] or [IPv6]:PORT");
  EXPECT_EQ(url("http://ex ample/"), "error: the URL contains a space or control character");
  EXPECT_EQ(url("http://-bad-/"), "error: the host must be an IPv4 address, an [IPv6] address or a host name");
  EXPECT_EQ(url("http://999.1.1.1/"), "error: '999.1.1.1' is not an IPv4 address");
}

}  // namespace
}  // namespace superd
