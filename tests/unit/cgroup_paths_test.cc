// Finding the cgroup hierarchies and superd's place in them from /proc/self/cgroup and
// /proc/self/mountinfo text, choosing the subtree per [supervisor] cgroup, leaf names.
#include <gtest/gtest.h>

#include "proc/cgroup_file.h"
#include "proc/cgroup_host.h"
#include "proc/cgroup_paths.h"
#include "proc/cgroup_tree.h"

namespace superd {
namespace {

// This development host: hybrid, v2 at /sys/fs/cgroup/unified without controllers.
constexpr std::string_view kHybridCgroup =
    "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n"
    "4:memory:/process_api/ef2fec\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n";
constexpr std::string_view kHybridMounts =
    "22 1 0:20 / /sys rw,nosuid - sysfs sysfs rw\n"
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

// Production Debian 12: pure v2 under systemd.
constexpr std::string_view kUnifiedCgroup = "0::/system.slice/superd.service\n";
constexpr std::string_view kUnifiedMounts =
    "25 22 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

TEST(ProcCgroup, ParsesV1AndV2Lines) {
  auto lines = parse_proc_cgroup(kHybridCgroup);
  ASSERT_EQ(lines.size(), 10u);
  EXPECT_EQ(lines[0].hierarchy, 9);
  EXPECT_EQ(lines[0].controllers, std::vector<std::string>{"name=systemd"});
  EXPECT_EQ(lines[5].controllers, std::vector<std::string>{"memory"});
  EXPECT_EQ(lines[5].path, "/process_api/ef2fec");
  EXPECT_EQ(lines[9].hierarchy, 0);
  EXPECT_TRUE(lines[9].controllers.empty());
  EXPECT_EQ(lines[9].path, "/");
}

TEST(ProcCgroup, CoMountedControllersAndColonsInPaths) {
  auto lines = parse_proc_cgroup("3:cpu,cpuacct:/a:b\n0::/x:y/z\n");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_EQ(lines[0].path, "/a:b");
  EXPECT_EQ(lines[1].path, "/x:y/z");
}

TEST(ProcCgroup, SkipsMalformedLines) {
  auto lines = parse_proc_cgroup("garbage\nx::/a\n1:memory\n2:pids:relative\n\n0::/ok\n");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].path, "/ok");
}

TEST(Mountinfo, KeepsOnlyCgroupMounts) {
  auto mounts = parse_cgroup_mounts(kHybridMounts);
  ASSERT_EQ(mounts.size(), 6u);
  EXPECT_EQ(mounts.back().fstype, "cgroup2");
  EXPECT_EQ(mounts.back().mount_point, "/sys/fs/cgroup/unified");
  EXPECT_EQ(mounts[2].super_options, (std::vector<std::string>{"rw", "memory"}));
}

TEST(Mountinfo, OptionalFieldsAndEscapes) {
  auto mounts = parse_cgroup_mounts(
      "25 22 0:22 / /sys/fs/cgroup rw shared:9 master:2 - cgroup2 cgroup2 rw,nsdelegate\n"
      "26 22 0:23 /docker/abc /mnt/my\\040cgroups rw - cgroup cgroup rw,memory\n"
      "27 22 0:24 / /short rw -\n");
  ASSERT_EQ(mounts.size(), 2u);
  EXPECT_EQ(mounts[0].super_options, (std::vector<std::string>{"rw", "nsdelegate"}));
  EXPECT_EQ(mounts[1].mount_point, "/mnt/my cgroups");
  EXPECT_EQ(mounts[1].root, "/docker/abc");
}

TEST(Mountinfo, CgroupDirHonoursTheMountRoot) {
  MountEntry m{"/docker/abc", "/sys/fs/cgroup/memory", "cgroup", {"memory"}};
  EXPECT_EQ(cgroup_dir(m, "/docker/abc"), "/sys/fs/cgroup/memory");
  EXPECT_EQ(cgroup_dir(m, "/docker/abc/x"), "/sys/fs/cgroup/memory/x");
  EXPECT_EQ(cgroup_dir(m, "/docker/abcd"), std::nullopt);
  EXPECT_EQ(cgroup_dir(m, "/other"), std::nullopt);
  MountEntry root{"/", "/sys/fs/cgroup/unified", "cgroup2", {}};
  EXPECT_EQ(cgroup_dir(root, "/"), "/sys/fs/cgroup/unified");
  EXPECT_EQ(cgroup_dir(root, "/a/b"), "/sys/fs/cgroup/unified/a/b");
}

TEST(CgroupHost, HybridHost) {
  CgroupHost host = describe_host(kHybridCgroup, kHybridMounts);
  EXPECT_EQ(host.v2_mount, "/sys/fs/cgroup/unified");
  EXPECT_EQ(host.own_v2, "/");
  EXPECT_EQ(host.own_v2_dir, "/sys/fs/cgroup/unified");
  ASSERT_NE(host.v1_dir("memory"), nullptr);
  EXPECT_EQ(*host.v1_dir("memory"), "/sys/fs/cgroup/memory/process_api/ef2fec");
  ASSERT_NE(host.v1_dir("pids"), nullptr);
  EXPECT_EQ(*host.v1_dir("pids"), "/sys/fs/cgroup/pids");
  ASSERT_NE(host.v1_dir("cpu"), nullptr);
  EXPECT_EQ(*host.v1_dir("cpu"), "/sys/fs/cgroup/cpu");
}

TEST(CgroupHost, UnifiedHost) {
  CgroupHost host = describe_host(kUnifiedCgroup, kUnifiedMounts);
  EXPECT_EQ(host.v2_mount, "/sys/fs/cgroup");
  EXPECT_EQ(host.own_v2_dir, "/sys/fs/cgroup/system.slice/superd.service");
  EXPECT_TRUE(host.v1.empty());
}

TEST(CgroupHost, NoCgroup2) {
  CgroupHost host = describe_host("4:memory:/\n", "34 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
  EXPECT_TRUE(host.v2_mount.empty());
  CgroupRootChoice c = choose_cgroup_root(host, CgroupMode::automatic, "", {});
  EXPECT_TRUE(c.root.empty());
  EXPECT_EQ(c.why_not, "no cgroup2 file system is mounted");
}

TEST(CgroupChoice, OffSaysSo) {
  CgroupHost host = describe_host(kUnifiedCgroup, kUnifiedMounts);
  auto c = choose_cgroup_root(host, CgroupMode::off, "", {});
  EXPECT_TRUE(c.root.empty());
  EXPECT_EQ(c.why_not, "[supervisor] cgroup = \"off\"");
}

TEST(CgroupChoice, AutoNeedsDelegationUnderSystemd) {
  CgroupHost host = describe_host(kUnifiedCgroup, kUnifiedMounts);
  CgroupFacts facts{.pid1 = false, .under_systemd = true, .delegated = false};
  auto c = choose_cgroup_root(host, CgroupMode::automatic, "", facts);
  EXPECT_TRUE(c.root.empty());
  EXPECT_EQ(c.why_not,
            "cgroup /system.slice/superd.service is not delegated to superd (Delegate=yes in superd.service)");
  facts.delegated = true;
  c = choose_cgroup_root(host, CgroupMode::automatic, "", facts);
  EXPECT_EQ(c.root, "/sys/fs/cgroup/system.slice/superd.service");
  EXPECT_FALSE(c.create);
}

TEST(CgroupChoice, AutoNeverTakesTheHostRoot) {
  CgroupHost host = describe_host(kHybridCgroup, kHybridMounts);
  auto c = choose_cgroup_root(host, CgroupMode::automatic, "", {});
  EXPECT_TRUE(c.root.empty());
  EXPECT_NE(c.why_not.find("root cgroup"), std::string::npos) << c.why_not;
  // PID 1 of a container: the root of its cgroup namespace is its own.
  c = choose_cgroup_root(host, CgroupMode::automatic, "", {.pid1 = true});
  EXPECT_EQ(c.root, "/sys/fs/cgroup/unified");
}

TEST(CgroupChoice, PathMustBeOnTheCgroup2Mount) {
  CgroupHost host = describe_host(kHybridCgroup, kHybridMounts);
  auto c = choose_cgroup_root(host, CgroupMode::path, "/sys/fs/cgroup/unified/superd", {});
  EXPECT_EQ(c.root, "/sys/fs/cgroup/unified/superd");
  EXPECT_TRUE(c.create);
  c = choose_cgroup_root(host, CgroupMode::path, "/sys/fs/cgroup/memory/superd", {});
  EXPECT_TRUE(c.root.empty());
  EXPECT_EQ(c.why_not,
            "[supervisor] cgroup = \"/sys/fs/cgroup/memory/superd\" is not below the cgroup2 mount "
            "/sys/fs/cgroup/unified");
  c = choose_cgroup_root(host, CgroupMode::path, "/sys/fs/cgroup/unified", {});
  EXPECT_TRUE(c.root.empty());
}

TEST(CgroupLeafName, EscapesNamesThatLookLikeAttributes) {
  EXPECT_EQ(cgroup_leaf_name("app"), "app");
  EXPECT_EQ(cgroup_leaf_name("worker@1"), "worker@1");
  EXPECT_EQ(cgroup_leaf_name("app", true), "app~swap");
  EXPECT_EQ(cgroup_leaf_name("memory.max"), "_memory.max");
  EXPECT_EQ(cgroup_leaf_name("cgroup.procs"), "_cgroup.procs");
  EXPECT_EQ(cgroup_leaf_name("tasks"), "_tasks");
  EXPECT_EQ(cgroup_leaf_name("supervisor"), "_supervisor");
  EXPECT_EQ(cgroup_leaf_name("_x"), "__x");
  EXPECT_EQ(cgroup_leaf_name("my.app"), "my.app");
}

TEST(CgroupFile, KeyedAndSingleValues) {
  EXPECT_EQ(keyed_value("populated 1\nfrozen 0\n", "populated"), 1u);
  EXPECT_EQ(keyed_value("populated 1\nfrozen 0\n", "frozen"), 0u);
  EXPECT_EQ(keyed_value("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", "oom_kill"), 3u);
  EXPECT_EQ(keyed_value("usage_usec 1234\nuser_usec 1000\n", "usage_usec"), 1234u);
  EXPECT_EQ(keyed_value("usage_usec 1234\n", "usage"), std::nullopt);
  EXPECT_EQ(single_value("52428800\n"), 52428800u);
  EXPECT_EQ(single_value("max\n"), std::nullopt);
  EXPECT_EQ(single_value("99999999999999999999999"), std::nullopt);
}

}  // namespace
}  // namespace superd
