// The names a `sandbox` table uses, resolved the way systemd resolves them:
// capabilities by libcap, system calls by libseccomp, address families from
// <sys/socket.h>'s AF_* names, errnos from glibc's names ("EPERM").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace superd {

// "CAP_NET_BIND_SERVICE" (any case) -> 10. Numbers are not names: nullopt.
std::optional<int> capability_from_name(std::string_view name);
std::string capability_name(int cap);           // 10 -> "CAP_NET_BIND_SERVICE"
std::vector<std::string> capability_names();    // every capability this libcap knows

// "AF_INET" -> 2 (AF_UNSPEC and AF_MAX are not families).
std::optional<int> address_family_from_name(std::string_view name);
std::vector<std::string> address_family_names();

// A system call libseccomp knows on some architecture ("mmap2" too, as systemd accepts it).
bool is_known_syscall(std::string_view name);

// "EPERM" -> 1, "13" -> 13 (0..4095, what seccomp can return).
std::optional<int> errno_from_name(std::string_view name);

}  // namespace superd
