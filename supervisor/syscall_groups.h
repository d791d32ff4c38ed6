// systemd's system call groups ("@system-service", "@privileged", ...), with systemd's
// membership: the table (syscall_groups_table.cc) is generated from the systemd of the
// target distribution (Debian 12: systemd 252) by tests/tools/gen_syscall_groups.py, so
// `system_call_filter = ["@system-service"]` means under superd what
// `SystemCallFilter=@system-service` means in Debian's own units.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace superd {

struct SyscallGroup {
  std::string_view name;         // "@system-service"
  std::string_view description;  // "General system service operations"
  std::string_view members;      // space-separated system call and "@group" names
};

extern const SyscallGroup kSyscallGroups[];
extern const size_t kSyscallGroupCount;
extern const std::string_view kSyscallGroupsSystemdVersion;  // "252"

const SyscallGroup* find_syscall_group(std::string_view name);

// The group's system call names, the groups it names expanded: sorted, each once.
std::vector<std::string> syscall_group_members(const SyscallGroup& group);

}  // namespace superd
