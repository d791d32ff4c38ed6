// plan_sandbox() in the parent: the order mounts are applied in, what gets deduplicated,
// what the filters compile to. The child's side is tested from inside real processes
// (tests/integration/sandbox_test.cc).
#include <gtest/gtest.h>

#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <filesystem>

#include "proc/sandbox_plan.h"
#include "proc/sandbox_seccomp.h"

namespace superd {
namespace {

using Mode = SandboxSpec::PathMode;
using Op = SandboxMountStep::Op;

std::vector<std::string> paths(const SandboxPlan& p) {
  std::vector<std::string> out;
  for (const auto& m : p.mounts) out.push_back(m.path);
  return out;
}

TEST(SandboxPlan, NothingAskedNothingDone) {
  SandboxPlan plan;
  EXPECT_FALSE(plan_sandbox(SandboxSpec{}, {}, plan));
  EXPECT_FALSE(plan.active);
}

TEST(SandboxPlan, ParentsFirstAndTheStrongerRuleForOnePathWins) {
  SandboxSpec spec;
  spec.paths = {{"/usr/share/x-nonexistent", Mode::read_write, true},
                {"/usr", Mode::read_only},
                {"/", Mode::read_only},
                {"/usr", Mode::read_write_implicit},
                {"/proc", Mode::read_write_implicit},
                {"/proc/sys", Mode::read_only}};
  SandboxPlan plan;
  ASSERT_FALSE(plan_sandbox(spec, {}, plan));
  EXPECT_EQ(paths(plan), (std::vector<std::string>{"/", "/proc", "/proc/sys", "/usr", "/usr/share/x-nonexistent"}));
  EXPECT_EQ(plan.mounts[3].op, Op::read_only);
  EXPECT_EQ(plan.mounts[1].op, Op::read_write);
  EXPECT_TRUE(plan.mounts[4].ignore_missing);
  EXPECT_EQ(plan.labels[plan.mounts[4].label], "mount /usr/share/x-nonexistent");
  EXPECT_TRUE(plan.unshare_flags & CLONE_NEWNS);
}

TEST(SandboxPlan, NothingIsMountedBelowAnInaccessiblePath) {
  SandboxSpec spec;
  spec.inaccessible_dir = std::filesystem::temp_directory_path() / ("superd-plan-test-" + std::to_string(::getpid()));
  spec.paths = {{"/srv/hidden", Mode::inaccessible, true}, {"/srv/hidden/data", Mode::read_write, true}};
  SandboxPlan plan;
  ASSERT_FALSE(plan_sandbox(spec, {}, plan));
  EXPECT_EQ(paths(plan), std::vector<std::string>{"/srv/hidden"});
  struct stat st {};
  ASSERT_EQ(::stat((spec.inaccessible_dir + "/dir").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0u);
  ASSERT_EQ(::stat((spec.inaccessible_dir + "/file").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0u);
  std::filesystem::remove_all(spec.inaccessible_dir);
}

TEST(SandboxPlan, SymbolicLinksAreFollowedBeforeOrdering) {
  std::string dir = std::filesystem::temp_directory_path() / ("superd-plan-link-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir + "/real");
  std::filesystem::create_symlink(dir + "/real", dir + "/link");
  SandboxSpec spec;
  spec.paths = {{dir + "/link", Mode::read_write}, {dir, Mode::read_only}};
  SandboxPlan plan;
  ASSERT_FALSE(plan_sandbox(spec, {}, plan));
  EXPECT_EQ(paths(plan), (std::vector<std::string>{dir, dir + "/real"}));
  std::filesystem::remove_all(dir);
}

TEST(SandboxPlan, KeptSocketsGetTheirParentsListed) {
  SandboxSpec spec;
  spec.paths = {{"/tmp", Mode::private_tmp}};
  SandboxPlan plan;
  ASSERT_FALSE(plan_sandbox(spec, {"/tmp/a/b.sock", "@abstract"}, plan));
  ASSERT_EQ(plan.keep.size(), 1u);
  EXPECT_EQ(plan.keep[0].parents, (std::vector<std::string>{"/tmp", "/tmp/a"}));
}

TEST(SandboxPlan, CapabilitiesAndTheirChecks) {
  SandboxSpec spec;
  spec.bounding = uint64_t{1} << CAP_NET_BIND_SERVICE;
  spec.ambient = uint64_t{1} << CAP_NET_BIND_SERVICE;
  SandboxPlan plan;
  ASSERT_FALSE(plan_sandbox(spec, {}, plan));
  EXPECT_TRUE(plan.drop_bounding);
  ASSERT_EQ(plan.ambient_labels.size(), 1u);
  EXPECT_EQ(plan.labels[plan.ambient_labels[0]], "ambient capability CAP_NET_BIND_SERVICE");
  spec.ambient |= uint64_t{1} << CAP_CHOWN;
  auto failure = plan_sandbox(spec, {}, plan);
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->reason, "sandbox: ambient capabilities outside the bounding set: CAP_CHOWN");
}

TEST(SandboxPlan, EveryFilterCompilesToBpfThatEndsInAReturn) {
  SandboxSpec spec;
  spec.syscall_filter = SandboxSpec::SyscallFilter{true, {{"read"}, {"write"}, {"execve"}, {"mmap2"}}, EPERM};
  spec.deny_syscalls = {"syslog", "init_module"};
  spec.address_families = SandboxSpec::AddressFamilies{true, {AF_UNIX, AF_INET}};
  spec.memory_deny_write_execute = spec.lock_personality = spec.restrict_realtime = true;
  spec.restrict_suid_sgid = true;
  spec.allowed_namespaces = 0;
  std::vector<CompiledFilter> filters;
  std::string error;
  ASSERT_TRUE(compile_seccomp(spec, filters, &error)) << error;
  ASSERT_EQ(filters.size(), 8u);
  EXPECT_EQ(filters.back().what, "system_call_filter");  // the operator's list last
  for (const auto& f : filters) {
    SCOPED_TRACE(f.what);
    ASSERT_FALSE(f.code.empty());
    EXPECT_LT(f.code.size(), 4096u);
    EXPECT_EQ(BPF_CLASS(f.code.back().code), BPF_RET);
  }
  SandboxPlan plan;
  ASSERT_FALSE(plan_sandbox(spec, {}, plan));
  EXPECT_EQ(plan.seccomp.size(), 8u);
  EXPECT_TRUE(plan.no_new_privileges_unless_sys_admin);
}

}  // namespace
}  // namespace superd
