// proc/'s cgroup pieces on this host's real hierarchies: spawning into a v2 leaf from the
// first instruction (clone3) and by joining (the fork fallback), exec failures still
// reported, the populated watch, cgroup.kill of a double-forked setsid'd process that
// ignores TERM, the v1 memory and pids limits, usage, and crash leftovers stopped by
// leaf. Each test makes a private parent (/sys/fs/cgroup/unified/superd-test-XXXXXX on
// this host) and removes it, and its v1 leaves below this process's own v1 cgroups.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include "harness.h"
#include "proc/cgroup_file.h"
#include "proc/cgroup_host.h"
#include "proc/cgroup_join.h"
#include "proc/cgroup_kill.h"
#include "proc/cgroup_leftovers.h"
#include "proc/cgroup_limits.h"
#include "proc/cgroup_tree.h"
#include "proc/cgroup_usage.h"
#include "proc/cgroup_watch.h"
#include "proc/clone_into_cgroup.h"
#include "proc/launch_plan.h"
#include "proc/spawn.h"

namespace superd {
namespace {

using namespace std::chrono_literals;
using test::testprog;
using test::wait_until;
using test::v1_cgroup_of;

std::string own_cgroup_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return "";
}

// Reaps `pid` within the deadline (killing it at the end); its wait status.
int reap(pid_t pid, std::chrono::milliseconds timeout = 10s) {
  int status = 0;
  bool done = wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, timeout);
  if (!done) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  return status;
}

class RealCgroups : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    auto host = read_cgroup_host(&error);
    ASSERT_TRUE(host) << error;
    host_ = *host;
    if (host_.v2_mount.empty()) GTEST_SKIP() << "no cgroup2 mount on this host";
    std::mt19937_64 rng(std::random_device{}());
    parent_ = host_.v2_mount + "/superd-test-" + std::to_string(rng() % 1000000000);
    CgroupRootChoice choice{parent_, "", true};
    tree_ = CgroupTree::setup(host_, choice, &error, /*move_superd=*/false);
    ASSERT_TRUE(tree_) << error;
  }

  void TearDown() override {
    if (!tree_) return;
    for (const auto& leaf : tree_->existing_leaves()) {
      std::string ignored;
      kill_cgroup(leaf.dir, &ignored);
      wait_until([&] { return !cgroup_populated(leaf.dir, &ignored).value_or(false); }, 5s);
      tree_->remove_leaf(leaf, &ignored);
    }
    ::rmdir((parent_ + "/supervisor").c_str());
    ::rmdir(parent_.c_str());
    for (auto c : kCgroupControllers) {
      if (const std::string* base = tree_->v1_base(c)) ::rmdir(base->c_str());
    }
  }

  // Spawns testprog ARGS into `leaf`; returns the pid (and the exec status fd).
  Spawned spawn_in(const CgroupLeaf& leaf, const std::vector<std::string>& args,
                   const std::string& directory = "") {
    std::string error;
    EXPECT_TRUE(join_fds_.open(leaf, &error)) << error;
    SpawnSpec spec;
    spec.command = {testprog()};
    spec.command.insert(spec.command.end(), args.begin(), args.end());
    spec.directory = directory;
    spec.cgroup = join_fds_.view();
    out_.reset(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    spec.stdout_fd = out_.get();
    spec.stderr_fd = out_.get();
    auto planned = plan_launch(spec);
    EXPECT_TRUE(std::holds_alternative<LaunchPlan>(planned));
    auto spawned = spawn_process(std::get<LaunchPlan>(planned));
    EXPECT_TRUE(std::holds_alternative<Spawned>(spawned));
    return std::move(std::get<Spawned>(spawned));
  }

  // `--daemonize`'s grandchild writes its pidfile before the child between them exits:
  // true once only the main process and the daemon are left in the leaf.
  static bool only_main_and_daemon_left(const CgroupLeaf& leaf) {
    return wait_until([&] {
      const std::string procs = test::read_file(leaf.dir + "/cgroup.procs");
      return std::count(procs.begin(), procs.end(), '\n') == 2;
    }, 5s);
  }

  std::string relative(const CgroupLeaf& leaf) const { return leaf.dir.substr(host_.v2_mount.size()); }

  CgroupHost host_;
  std::string parent_;
  std::unique_ptr<CgroupTree> tree_;
  CgroupJoinFds join_fds_;
  UniqueFd out_;
};

TEST_F(RealCgroups, SetupMovesSuperdIntoTheSupervisorLeaf) {
  // In a child process, so the test itself stays where it is.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    std::string error;
    CgroupRootChoice choice{parent_, "", true};
    auto tree = CgroupTree::setup(host_, choice, &error);
    std::string where = tree ? own_cgroup_of(::getpid()) : "error: " + error;
    [[maybe_unused]] auto n = ::write(fds[1], where.data(), where.size());
    // Back to where the test runs, so the parent can remove the tree.
    std::ofstream(host_.v2_mount + own_cgroup_of(::getppid()) + "/cgroup.procs") << ::getpid();
    ::_exit(0);
  }
  ::close(fds[1]);
  reap(pid);
  char buf[512] = {};
  [[maybe_unused]] auto n = ::read(fds[0], buf, sizeof buf - 1);
  ::close(fds[0]);
  EXPECT_EQ(std::string(buf), parent_.substr(host_.v2_mount.size()) + "/supervisor");
}

TEST_F(RealCgroups, ChildStartsInItsLeaf) {
  std::string error;
  auto leaf = tree_->make_leaf(cgroup_leaf_name("app"), false, &error);
  ASSERT_TRUE(leaf) << error;
  auto spawned = spawn_in(*leaf, {"--pause"});
  ASSERT_TRUE(wait_until([&] { return own_cgroup_of(spawned.pid) == relative(*leaf); }, 5s))
      << own_cgroup_of(spawned.pid);
  EXPECT_TRUE(test::process_alive(test::proc_key(spawned.pid)));
  // v1 leaves too (this host: memory and pids as v1), joined by the child before exec.
  for (const auto& v1 : leaf->v1) {
    auto want = v1.own_dir.substr(v1.own_dir.find('/', std::string("/sys/fs/cgroup/").size()));
    EXPECT_TRUE(wait_until([&] { return v1_cgroup_of(spawned.pid, v1.controller) == want; }, 5s))
        << v1.controller << ": " << v1_cgroup_of(spawned.pid, v1.controller) << " not " << want;
  }
  RecordProperty("clone3_refused", clone_into_cgroup_refused() ? "yes" : "no");
  EXPECT_FALSE(clone_into_cgroup_refused()) << "this kernel (6.x) has CLONE_INTO_CGROUP";
  ::kill(spawned.pid, SIGKILL);
  reap(spawned.pid);
}

TEST_F(RealCgroups, ForkFallbackJoinsBeforeExec) {
  std::string error;
  auto leaf = tree_->make_leaf(cgroup_leaf_name("fallback"), false, &error);
  ASSERT_TRUE(leaf) << error;
  ASSERT_TRUE(join_fds_.open(*leaf, &error)) << error;
  CgroupJoin join = join_fds_.view();
  join.placed = false;  // as after a refused clone3
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!join_cgroups(join)) ::_exit(120);
    ::execl(testprog().c_str(), "testprog", "--pause", nullptr);
    ::_exit(121);
  }
  ASSERT_TRUE(wait_until([&] { return own_cgroup_of(pid) == relative(*leaf); }, 5s));
  ::kill(pid, SIGKILL);
  reap(pid);
}

TEST_F(RealCgroups, ExecFailureIsStillReported) {
  std::string error;
  auto leaf = tree_->make_leaf(cgroup_leaf_name("broken"), false, &error);
  ASSERT_TRUE(leaf) << error;
  auto spawned = spawn_in(*leaf, {"--pause"}, "/nonexistent-directory");
  reap(spawned.pid);
  auto outcome = read_exec_outcome(spawned.exec_status.get(), spawned.context);
  auto failure = outcome.failure;
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->reason, "chdir /nonexistent-directory: No such file or directory");
}

// The populated watch runs on a loop; the test turns it for at most `timeout`.
bool run_until(uv_loop_t* loop, const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < deadline) uv_run(loop, UV_RUN_NOWAIT), std::this_thread::sleep_for(1ms);
  return done();
}

TEST_F(RealCgroups, KillReachesADoubleForkedSessionThatIgnoresTerm) {
  test::TempDir tmp;
  std::string error;
  auto leaf = tree_->make_leaf(cgroup_leaf_name("daemonizer"), false, &error);
  ASSERT_TRUE(leaf) << error;
  const std::string pidfile = tmp / "daemon.pid";
  auto spawned = spawn_in(*leaf, {"--daemonize", pidfile, "--pause"});
  ASSERT_TRUE(wait_until([&] { return !test::read_file(pidfile).empty(); }, 5s));
  const auto daemon = test::proc_key(std::stoi(test::read_file(pidfile)));
  ASSERT_TRUE(only_main_and_daemon_left(*leaf)) << test::read_file(leaf->dir + "/cgroup.procs");
  EXPECT_NE(::getsid(daemon.pid), spawned.pid) << "it left the session";
  EXPECT_EQ(own_cgroup_of(daemon.pid), relative(*leaf)) << "but not the cgroup";

  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    CgroupWatch watch;
    bool emptied = false;
    ASSERT_TRUE(watch.start(&loop, leaf->dir, [&](bool populated) { emptied = !populated; }, &error)) << error;
    EXPECT_TRUE(watch.populated());
    EXPECT_EQ(signal_cgroup(leaf->dir, SIGTERM), 2);  // both; the daemon ignores it
    reap(spawned.pid);
    EXPECT_TRUE(test::process_alive(daemon));
    EXPECT_TRUE(watch.populated(/*refresh=*/true));
    ASSERT_TRUE(kill_cgroup(leaf->dir, &error)) << error;
    EXPECT_TRUE(run_until(&loop, [&] { return emptied; }, 5s)) << "populated 0 was not seen";
    EXPECT_FALSE(test::process_alive(daemon));
  }
  uv_run(&loop, UV_RUN_NOWAIT);
  uv_loop_close(&loop);
  EXPECT_TRUE(tree_->remove_leaf(*leaf, &error)) << error;
}

TEST_F(RealCgroups, MemoryLimitOnV1KillsTheToucherAndCountsIt) {
  std::string error;
  auto leaf = tree_->make_leaf(cgroup_leaf_name("toucher"), false, &error);
  ASSERT_TRUE(leaf) << error;
  auto sites = sites_of(*tree_);
  if (sites.memory == Site::none) GTEST_SKIP() << "no memory controller here";
  CgroupLimits limits;
  limits.memory_max = 50'000'000;
  auto issues = write_limits(sites, *leaf, limits, nullptr);
  EXPECT_TRUE(issues.empty()) << issues[0].message;
  auto before = read_oom_kills(*leaf).value_or(0);
  auto spawned = spawn_in(*leaf, {"--alloc", "200", "--pause"});
  int status = reap(spawned.pid, 20s);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_GT(read_oom_kills(*leaf).value_or(0), before);
}

TEST_F(RealCgroups, PidsLimitContainsAForkLoop) {
  std::string error;
  auto leaf = tree_->make_leaf(cgroup_leaf_name("forker"), false, &error);
  ASSERT_TRUE(leaf) << error;
  auto sites = sites_of(*tree_);
  if (sites.pids == Site::none) GTEST_SKIP() << "no pids controller here";
  CgroupLimits limits;
  limits.pids_max = 20;
  EXPECT_TRUE(write_limits(sites, *leaf, limits, nullptr).empty());
  test::TempDir tmp;
  auto spawned = spawn_in(*leaf, {"--fork-loop", "1000", "--pause"});
  ASSERT_TRUE(wait_until([&] { return read_cgroup_usage(*leaf).pids_current.value_or(0) >= 20; }, 10s));
  std::this_thread::sleep_for(200ms);  // let the loop hit the limit and give up
  EXPECT_EQ(read_cgroup_usage(*leaf).pids_current, 20u);
  ASSERT_TRUE(kill_cgroup(leaf->dir, &error)) << error;
  reap(spawned.pid);
}

TEST_F(RealCgroups, UsageIsCloseToWhatProcSays) {
  std::string error;
  auto leaf = tree_->make_leaf(cgroup_leaf_name("burner"), false, &error);
  ASSERT_TRUE(leaf) << error;
  auto spawned = spawn_in(*leaf, {"--alloc", "64", "--burn", "300", "--pause"});
  ASSERT_TRUE(wait_until([&] { return read_cgroup_usage(*leaf).cpu_usage_usec.value_or(0) >= 300000; }, 10s));
  auto usage = read_cgroup_usage(*leaf);
  // /proc: utime + stime in clock ticks.
  std::ifstream stat("/proc/" + std::to_string(spawned.pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string f;
  std::vector<std::string> v;
  while (fields >> f) v.push_back(f);
  double proc_usec = (std::stod(v[11]) + std::stod(v[12])) * 1e6 / ::sysconf(_SC_CLK_TCK);
  EXPECT_NEAR(static_cast<double>(*usage.cpu_usage_usec), proc_usec, 50000 + proc_usec * 0.1);
  if (usage.memory_current) {
    // /proc: the resident set (the cgroup also counts a little page cache and kernel
    // memory).
    std::ifstream status("/proc/" + std::to_string(spawned.pid) + "/status");
    std::string line;
    double rss = 0;
    while (std::getline(status, line)) {
      if (line.rfind("VmRSS:", 0) == 0) rss = std::stod(line.substr(6)) * 1024;
    }
    EXPECT_NEAR(static_cast<double>(*usage.memory_current), rss, rss * 0.2);
    EXPECT_GE(usage.memory_peak.value_or(0), *usage.memory_current);
  }
  EXPECT_EQ(usage.pids_current, 1u);
  ::kill(spawned.pid, SIGKILL);
  reap(spawned.pid);
}

TEST_F(RealCgroups, LeftoversAreStoppedByLeaf) {
  test::TempDir tmp;
  std::string error;
  auto leaf = tree_->make_leaf(cgroup_leaf_name("left"), false, &error);
  ASSERT_TRUE(leaf) << error;
  const std::string pidfile = tmp / "daemon.pid";
  auto spawned = spawn_in(*leaf, {"--daemonize", pidfile, "--pause"});
  ASSERT_TRUE(wait_until([&] { return !test::read_file(pidfile).empty(); }, 5s));
  const auto daemon = test::proc_key(std::stoi(test::read_file(pidfile)));
  ASSERT_TRUE(only_main_and_daemon_left(*leaf)) << test::read_file(leaf->dir + "/cgroup.procs");
  // As a new superd sees it: leaves found below the root.
  auto found = tree_->existing_leaves();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].name, "left");
  std::thread reaper([&] { reap(spawned.pid); });
  auto lines = stop_cgroup_leftovers(*tree_, {{found[0], SIGTERM, 300ms}});
  reaper.join();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "left: stopped 2 processes left by the previous superd");
  EXPECT_FALSE(test::process_alive(daemon));
  EXPECT_TRUE(tree_->existing_leaves().empty()) << "the empty leaf is removed";
}

}  // namespace
}  // namespace superd

namespace superd {
namespace {

// On this host's kernel (6.18) a child clone3'd with CLONE_INTO_CGROUP into a leaf that
// once had cgroup.kill written is killed at birth (the kill sequence it is checked
// against is not the leaf's). superd therefore makes such a leaf anew before the next
// spawn (supervisor/cgroups.cc); this is what it relies on.
TEST_F(RealCgroups, ALeafOnceKilledIsMadeAnewForTheNextProcess) {
  std::string error;
  auto leaf = tree_->make_leaf(cgroup_leaf_name("again"), false, &error);
  ASSERT_TRUE(leaf) << error;
  auto first = spawn_in(*leaf, {"--pause"});
  ASSERT_TRUE(kill_cgroup(leaf->dir, &error)) << error;
  reap(first.pid);
  ASSERT_TRUE(wait_until([&] { return !cgroup_populated(leaf->dir, &error).value_or(true); }, 5s));
  ASSERT_TRUE(tree_->remove_leaf(*leaf, &error)) << error;
  leaf = tree_->make_leaf(cgroup_leaf_name("again"), false, &error);
  ASSERT_TRUE(leaf) << error;
  auto second = spawn_in(*leaf, {"--pause"});
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(test::process_alive(test::proc_key(second.pid)));
  ::kill(second.pid, SIGKILL);
  reap(second.pid);
}

}  // namespace
}  // namespace superd
