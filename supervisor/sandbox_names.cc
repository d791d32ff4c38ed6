#include "supervisor/sandbox_names.h"

#include <seccomp.h>
#include <sys/capability.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace superd {
namespace {

struct Family {
  std::string_view name;
  int number;
};

// <sys/socket.h>'s families (aliases included, as systemd's af-list has them).
constexpr Family kFamilies[] = {
    {"AF_UNIX", AF_UNIX},         {"AF_LOCAL", AF_LOCAL},       {"AF_FILE", AF_FILE},
    {"AF_INET", AF_INET},         {"AF_AX25", AF_AX25},         {"AF_IPX", AF_IPX},
    {"AF_APPLETALK", AF_APPLETALK}, {"AF_NETROM", AF_NETROM},   {"AF_BRIDGE", AF_BRIDGE},
    {"AF_ATMPVC", AF_ATMPVC},     {"AF_X25", AF_X25},           {"AF_INET6", AF_INET6},
    {"AF_ROSE", AF_ROSE},         {"AF_DECnet", AF_DECnet},     {"AF_NETBEUI", AF_NETBEUI},
    {"AF_SECURITY", AF_SECURITY}, {"AF_KEY", AF_KEY},           {"AF_NETLINK", AF_NETLINK},
    {"AF_ROUTE", AF_ROUTE},       {"AF_PACKET", AF_PACKET},     {"AF_ASH", AF_ASH},
    {"AF_ECONET", AF_ECONET},     {"AF_ATMSVC", AF_ATMSVC},     {"AF_RDS", AF_RDS},
    {"AF_SNA", AF_SNA},           {"AF_IRDA", AF_IRDA},         {"AF_PPPOX", AF_PPPOX},
    {"AF_WANPIPE", AF_WANPIPE},   {"AF_LLC", AF_LLC},           {"AF_IB", AF_IB},
    {"AF_MPLS", AF_MPLS},         {"AF_CAN", AF_CAN},           {"AF_TIPC", AF_TIPC},
    {"AF_BLUETOOTH", AF_BLUETOOTH}, {"AF_IUCV", AF_IUCV},       {"AF_RXRPC", AF_RXRPC},
    {"AF_ISDN", AF_ISDN},         {"AF_PHONET", AF_PHONET},     {"AF_IEEE802154", AF_IEEE802154},
    {"AF_CAIF", AF_CAIF},         {"AF_ALG", AF_ALG},           {"AF_NFC", AF_NFC},
    {"AF_VSOCK", AF_VSOCK},       {"AF_KCM", AF_KCM},           {"AF_QIPCRTR", AF_QIPCRTR},
    {"AF_SMC", AF_SMC},           {"AF_XDP", AF_XDP},           {"AF_MCTP", AF_MCTP},
};

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::optional<int> capability_from_name(std::string_view name) {
  if (name.size() < 5 || name.size() > 64 || upper(name.substr(0, 4)) != "CAP_") return std::nullopt;
  std::string text(name);
  cap_value_t value = 0;
  if (cap_from_name(text.c_str(), &value) < 0 || value < 0 || value > 63) return std::nullopt;
  return static_cast<int>(value);
}

std::string capability_name(int cap) {
  char* name = cap_to_name(cap);
  std::string out = name ? upper(name) : std::to_string(cap);
  if (name) cap_free(name);
  return out;
}

std::vector<std::string> capability_names() {
  std::vector<std::string> out;
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) out.push_back(capability_name(cap));
  return out;
}

std::optional<int> address_family_from_name(std::string_view name) {
  for (const auto& f : kFamilies) {
    if (f.name == name) return f.number;
  }
  return std::nullopt;
}

std::vector<std::string> address_family_names() {
  std::vector<std::string> out;
  for (const auto& f : kFamilies) out.emplace_back(f.name);
  return out;
}

bool is_known_syscall(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  std::string text(name);
  return seccomp_syscall_resolve_name(text.c_str()) != __NR_SCMP_ERROR;
}

std::optional<int> errno_from_name(std::string_view name) {
  if (all_digits(name)) {
    if (name.size() > 4) return std::nullopt;
    int n = std::stoi(std::string(name));
    return n <= 4095 ? std::optional<int>(n) : std::nullopt;
  }
  for (int e = 1; e < 4096; ++e) {
    const char* known = strerrorname_np(e);
    if (known && name == known) return e;
  }
  return std::nullopt;
}

}  // namespace superd
