// The system call groups are systemd's: the same names, the same members. The table was
// generated from systemd 252 (tests/tools/gen_syscall_groups.py); where that systemd is
// installed, this compares the two group by group.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <sstream>

#include "supervisor/syscall_groups.h"

namespace superd {
namespace {

std::string output_of(const char* command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command, "r"), ::pclose);
  if (!pipe) return "";
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe.get())) > 0) out.append(buf, n);
  return out;
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

TEST(SyscallGroups, TheGroupsTheIssueNames) {
  for (const char* name : {"@system-service", "@privileged", "@resources", "@mount", "@clock", "@module",
                           "@raw-io", "@reboot", "@swap", "@obsolete", "@debug", "@cpu-emulation",
                           "@keyring", "@setuid", "@chown", "@network-io", "@ipc", "@process",
                           "@file-system", "@io-event", "@signal", "@timer", "@sync", "@memlock",
                           "@basic-io", "@aio", "@pkey", "@default", "@known"}) {
    EXPECT_TRUE(find_syscall_group(name)) << name;
  }
  EXPECT_FALSE(find_syscall_group("@nope"));
}

TEST(SyscallGroups, MembersExpandNestedGroups) {
  auto service = syscall_group_members(*find_syscall_group("@system-service"));
  auto has = [&](const char* n) { return std::count(service.begin(), service.end(), n) == 1; };
  EXPECT_TRUE(has("read"));      // via @basic-io
  EXPECT_TRUE(has("execve"));    // via @default
  EXPECT_TRUE(has("socket"));    // via @network-io
  EXPECT_FALSE(has("mount"));
  EXPECT_FALSE(has("reboot"));
  EXPECT_TRUE(std::is_sorted(service.begin(), service.end()));
  auto privileged = syscall_group_members(*find_syscall_group("@privileged"));
  EXPECT_TRUE(std::count(privileged.begin(), privileged.end(), "chown"));  // via @chown
  EXPECT_TRUE(std::count(privileged.begin(), privileged.end(), "reboot"));  // via @reboot
}

TEST(SyscallGroups, SameMembershipAsTheInstalledSystemd) {
  std::string version = output_of("systemd-analyze --version 2>/dev/null");
  std::vector<std::string> v = words(version);
  if (v.size() < 2 || v[1] != kSyscallGroupsSystemdVersion) {
    GTEST_SKIP() << "systemd " << kSyscallGroupsSystemdVersion << " is not installed";
  }
  std::map<std::string, std::vector<std::string>> theirs;
  std::string current;
  std::istringstream in(output_of("systemd-analyze syscall-filter 2>/dev/null"));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] == '@') {
      current = line;
      theirs[current];
    } else if (!current.empty() && line.rfind("    ", 0) == 0 && line.find('#') == std::string::npos) {
      theirs[current].push_back(line.substr(4));
    }
  }
  ASSERT_EQ(theirs.size(), kSyscallGroupCount);
  for (size_t i = 0; i < kSyscallGroupCount; ++i) {
    const SyscallGroup& g = kSyscallGroups[i];
    SCOPED_TRACE(std::string(g.name));
    EXPECT_EQ(words(g.members), theirs[std::string(g.name)]);
  }
}

}  // namespace
}  // namespace superd
