// The limit writer against directories laid out like a v2 leaf and like v1 leaves (the
// kernel's files are plain files here), and the limits a host cannot enforce.
#include "proc/cgroup_limits.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "proc/cgroup_join.h"
#include "proc/cgroup_usage.h"

namespace superd {
namespace {

namespace fs = std::filesystem;

class FakeLeaf : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/superd-cgroup-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    leaf_.name = "app";
    leaf_.dir = base_ + "/v2/app";
    fs::create_directories(leaf_.dir);
    for (const char* f : {"memory.max", "memory.high", "pids.max", "cpu.weight", "cpu.max"}) {
      put(leaf_.dir, f, "");
    }
  }
  void TearDown() override { fs::remove_all(base_); }

  void add_v1(const std::string& controller) {
    std::string dir = base_ + "/" + controller + "/app";
    fs::create_directories(dir);
    for (const char* f : {"memory.limit_in_bytes", "pids.max", "cpu.shares", "cpu.cfs_period_us",
                          "cpu.cfs_quota_us"}) {
      put(dir, f, "");
    }
    leaf_.v1.push_back({controller, dir});
  }
  static void put(const std::string& dir, const std::string& file, const std::string& text) {
    std::ofstream(dir + "/" + file) << text;
  }
  static std::string get(const std::string& dir, const std::string& file) {
    std::ifstream in(dir + "/" + file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::string base_;
  CgroupLeaf leaf_;
};

constexpr ControllerSites kAllV2{Site::v2, Site::v2, Site::v2};
constexpr ControllerSites kAllV1{Site::v1, Site::v1, Site::v1};

CgroupLimits every_limit() {
  CgroupLimits l;
  l.memory_max = 1000000000;
  l.memory_high = 800000000;
  l.pids_max = 256;
  l.cpu_weight = 200;
  l.cpu_max_percent = 150;
  return l;
}

TEST_F(FakeLeaf, V2FilesGetEveryLimit) {
  auto issues = write_limits(kAllV2, leaf_, every_limit(), nullptr);
  EXPECT_TRUE(issues.empty());
  EXPECT_EQ(get(leaf_.dir, "memory.max"), "1000000000");
  EXPECT_EQ(get(leaf_.dir, "memory.high"), "800000000");
  EXPECT_EQ(get(leaf_.dir, "pids.max"), "256");
  EXPECT_EQ(get(leaf_.dir, "cpu.weight"), "200");
  EXPECT_EQ(get(leaf_.dir, "cpu.max"), "150000 100000");
}

TEST_F(FakeLeaf, NewLeafOnlyGetsWhatIsSet) {
  CgroupLimits l;
  l.pids_max = 20;
  put(leaf_.dir, "memory.max", "untouched");
  EXPECT_TRUE(write_limits(kAllV2, leaf_, l, nullptr).empty());
  EXPECT_EQ(get(leaf_.dir, "pids.max"), "20");
  EXPECT_EQ(get(leaf_.dir, "memory.max"), "untouched");
}

TEST_F(FakeLeaf, ReloadResetsALimitTakenOut) {
  CgroupLimits before = every_limit();
  CgroupLimits now;
  now.memory_max = 50000000;
  EXPECT_TRUE(write_limits(kAllV2, leaf_, now, &before).empty());
  EXPECT_EQ(get(leaf_.dir, "memory.max"), "50000000");
  EXPECT_EQ(get(leaf_.dir, "memory.high"), "max");
  EXPECT_EQ(get(leaf_.dir, "pids.max"), "max");
  EXPECT_EQ(get(leaf_.dir, "cpu.weight"), "100");
  EXPECT_EQ(get(leaf_.dir, "cpu.max"), "max 100000");
}

TEST_F(FakeLeaf, ReloadWritesOnlyWhatChanged) {
  CgroupLimits before = every_limit();
  CgroupLimits now = before;
  now.pids_max = 30;
  put(leaf_.dir, "memory.max", "untouched");
  EXPECT_TRUE(write_limits(kAllV2, leaf_, now, &before).empty());
  EXPECT_EQ(get(leaf_.dir, "pids.max"), "30");
  EXPECT_EQ(get(leaf_.dir, "memory.max"), "untouched");
}

TEST_F(FakeLeaf, V1FilesOfTheSameMeaning) {
  add_v1("memory");
  add_v1("pids");
  add_v1("cpu");
  auto issues = write_limits(kAllV1, leaf_, every_limit(), nullptr);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].key, "memory_high");
  EXPECT_FALSE(issues[0].error);
  EXPECT_NE(issues[0].message.find("no equivalent of memory.high"), std::string::npos);
  EXPECT_EQ(get(*leaf_.v1_dir("memory"), "memory.limit_in_bytes"), "1000000000");
  EXPECT_EQ(get(*leaf_.v1_dir("pids"), "pids.max"), "256");
  EXPECT_EQ(get(*leaf_.v1_dir("cpu"), "cpu.shares"), "2048");
  EXPECT_EQ(get(*leaf_.v1_dir("cpu"), "cpu.cfs_period_us"), "100000");
  EXPECT_EQ(get(*leaf_.v1_dir("cpu"), "cpu.cfs_quota_us"), "150000");
  // Taken out again: the kernel's defaults.
  CgroupLimits before = every_limit();
  EXPECT_TRUE(write_limits(kAllV1, leaf_, CgroupLimits{}, &before).empty());
  EXPECT_EQ(get(*leaf_.v1_dir("memory"), "memory.limit_in_bytes"), "-1");
  EXPECT_EQ(get(*leaf_.v1_dir("pids"), "pids.max"), "max");
  EXPECT_EQ(get(*leaf_.v1_dir("cpu"), "cpu.shares"), "1024");
  EXPECT_EQ(get(*leaf_.v1_dir("cpu"), "cpu.cfs_quota_us"), "-1");
}

TEST_F(FakeLeaf, AWriteThatFailsIsAnError) {
  fs::remove(leaf_.dir + "/pids.max");
  fs::create_directory(leaf_.dir + "/pids.max");  // cannot be opened for writing
  CgroupLimits l;
  l.pids_max = 20;
  auto issues = write_limits(kAllV2, leaf_, l, nullptr);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_TRUE(issues[0].error);
  EXPECT_EQ(issues[0].message, "pids_max: cgroup: open " + leaf_.dir + "/pids.max: Is a directory");
}

TEST(Limits, HostWithoutAControllerWarns) {
  ControllerSites sites{Site::v1, Site::none, Site::v2};
  auto issues = unenforceable_limits(sites, every_limit());
  ASSERT_EQ(issues.size(), 2u);
  EXPECT_EQ(issues[0].key, "memory_high");
  EXPECT_EQ(issues[1].key, "pids_max");
  EXPECT_EQ(issues[1].message,
            "pids_max: this host has no pids controller (neither in cgroup v2 nor as a v1 hierarchy "
            "superd may use); not enforced");
  EXPECT_FALSE(issues[1].error);
}

TEST(Limits, SitesFromTheRootsControllers) {
  CgroupHost host;
  host.v1.push_back({"pids", "/sys/fs/cgroup/pids"});
  auto sites = sites_of(host, "cpuset cpu io memory\n");
  EXPECT_EQ(sites.memory, Site::v2);
  EXPECT_EQ(sites.cpu, Site::v2);
  EXPECT_EQ(sites.pids, Site::v1);
}

TEST(Limits, CpuWeightToSharesAsSystemd) {
  EXPECT_EQ(cpu_weight_to_shares(100), 1024u);
  EXPECT_EQ(cpu_weight_to_shares(1), 10u);
  EXPECT_EQ(cpu_weight_to_shares(10000), 102400u);
}

TEST_F(FakeLeaf, UsageFromV2Files) {
  put(leaf_.dir, "memory.current", "1048576\n");
  put(leaf_.dir, "memory.peak", "2097152\n");
  put(leaf_.dir, "memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n");
  put(leaf_.dir, "cpu.stat", "usage_usec 5000\nuser_usec 4000\nsystem_usec 1000\n");
  put(leaf_.dir, "pids.current", "7\n");
  CgroupUsage u = read_cgroup_usage(leaf_);
  EXPECT_EQ(u.memory_current, 1048576u);
  EXPECT_EQ(u.memory_peak, 2097152u);
  EXPECT_EQ(u.oom_kills, 2u);
  EXPECT_EQ(u.cpu_usage_usec, 5000u);
  EXPECT_EQ(u.pids_current, 7u);
}

TEST_F(FakeLeaf, UsageFromV1FilesOnAHybridHost) {
  add_v1("memory");
  put(*leaf_.v1_dir("memory"), "memory.usage_in_bytes", "4096\n");
  put(*leaf_.v1_dir("memory"), "memory.max_usage_in_bytes", "8192\n");
  put(*leaf_.v1_dir("memory"), "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
  put(leaf_.dir, "cpu.stat", "usage_usec 10\n");
  put(leaf_.dir, "cgroup.threads", "100\n101\n102\n");
  CgroupUsage u = read_cgroup_usage(leaf_);
  EXPECT_EQ(u.memory_current, 4096u);
  EXPECT_EQ(u.memory_peak, 8192u);
  EXPECT_EQ(u.oom_kills, 1u);
  EXPECT_EQ(u.pids_current, 3u);
}

// ---------------------------------------------------------------------------------------
// Which v1 leaves the child joins before exec (cgroup_join.h): those of the controllers
// the service limits; the others are joined after the spawn, which spares the spawn the
// grace period a v1 join waits for.

class FakeJoin : public FakeLeaf {
 protected:
  void SetUp() override {
    FakeLeaf::SetUp();
    put(leaf_.dir, "cgroup.procs", "");
    for (const char* c : {"memory", "pids", "cpu"}) {
      add_v1(c);
      put(leaf_.v1.back().own_dir, "cgroup.procs", "");
    }
  }
  std::string v1(const std::string& controller) const {
    for (const auto& v : leaf_.v1) {
      if (v.controller == controller) return v.own_dir;
    }
    return "";
  }
  static int v1_fds(const CgroupJoin& join) {
    int n = 0;
    for (int fd : join.v1_procs_fds) n += fd >= 0;
    return n;
  }
};

TEST_F(FakeJoin, WithoutLimitsEveryV1LeafIsJoinedAfterTheSpawn) {
  CgroupJoinFds fds;
  std::string error;
  ASSERT_TRUE(fds.open(leaf_, CgroupLimits{}, &error)) << error;
  EXPECT_EQ(v1_fds(fds.view()), 0);
  EXPECT_GE(fds.view().dir_fd, 0);
  EXPECT_EQ(fds.deferred(), (std::vector<std::string>{v1("memory"), v1("pids"), v1("cpu")}));
}

TEST_F(FakeJoin, ALimitedControllerIsJoinedByTheChild) {
  CgroupLimits memory;
  memory.memory_high = 1 << 20;
  CgroupJoinFds fds;
  std::string error;
  ASSERT_TRUE(fds.open(leaf_, memory, &error)) << error;
  EXPECT_EQ(v1_fds(fds.view()), 1);
  EXPECT_EQ(fds.deferred(), (std::vector<std::string>{v1("pids"), v1("cpu")}));

  CgroupLimits pids_and_cpu;
  pids_and_cpu.pids_max = 10;
  pids_and_cpu.cpu_weight = 100;
  ASSERT_TRUE(fds.open(leaf_, pids_and_cpu, &error)) << error;
  EXPECT_EQ(v1_fds(fds.view()), 2);
  EXPECT_EQ(fds.deferred(), std::vector<std::string>{v1("memory")});
}

TEST_F(FakeJoin, WithoutLimitsGivenTheChildJoinsEveryLeaf) {
  CgroupJoinFds fds;
  std::string error;
  ASSERT_TRUE(fds.open(leaf_, &error)) << error;
  EXPECT_EQ(v1_fds(fds.view()), 3);
  EXPECT_TRUE(fds.deferred().empty());
}

}  // namespace
}  // namespace superd
