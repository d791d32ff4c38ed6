// The supervisor with the fake host and a fake clock: start order along `after`,
// shutdown in reverse, and reload-config as a diff that touches only what changed.
#include "supervisor/supervisor.h"

#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <utility>

#include "tests/fakes/fake_host.h"

namespace superd {
namespace {

using namespace std::chrono_literals;
using fakes::FakeHost;
using fakes::service_config;

const ExitStatus kTermed{true, SIGTERM};

struct SupervisorTest : ::testing::Test {
  FakeHost host;
  std::map<std::string, bool> enabled;  // missing: enabled
  Supervisor sup{host, [this](const ServiceConfig& c) {
                   auto it = enabled.find(c.name);
                   return it == enabled.end() || it->second;
                 }};

  // redis <- app, worker <- flower: the blog's stack.
  static Config stack() {
    Config c;
    c.services = {service_config("flower", {"worker"}), service_config("app", {"redis"}),
                  service_config("worker", {"redis"}), service_config("redis")};
    return c;
  }
  Service& svc(const std::string& name) { return *sup.find(name); }
  // Every main process spawned so far ends, as it would after a stop signal.
  void end_all_signalled() {
    const auto signals = std::exchange(host.process_signals, {});
    for (auto [pid, sig] : signals) {
      if (sig == SIGCONT) continue;
      Service* s = host.by_pid.at(pid);
      if (s->pid() == pid) host.exit(pid, kTermed);
    }
  }
  // Start-up: fire start_seconds deadlines until nothing is armed any more.
  void settle_timers(int bound = 20) {
    while (bound-- > 0 && host.fire_next()) {
    }
  }
};

TEST_F(SupervisorTest, StartsInAfterOrderAndADependentWaitsForItsDependency) {
  sup.load(stack());
  sup.boot();
  // Only redis can start: every other service is after it, directly or not.
  EXPECT_EQ(host.spawned_names, std::vector<std::string>{"redis"});
  EXPECT_EQ(svc("app").state(), State::stopped);
  EXPECT_TRUE(sup.pending("app"));
  host.fire(svc("redis"));  // redis is up: app and worker start, flower still waits
  EXPECT_EQ(host.spawned_names, (std::vector<std::string>{"redis", "app", "worker"}));
  EXPECT_TRUE(sup.pending("flower"));
  host.fire(svc("worker"));
  EXPECT_EQ(host.spawned_names.back(), "flower");
  EXPECT_FALSE(sup.boot_done());  // app and flower are still starting
  settle_timers();
  EXPECT_TRUE(sup.boot_done());
}

TEST_F(SupervisorTest, WithReadyStartedADependentStartsOnceTheProgramRuns) {
  // systemd's Type=exec: no waiting out start_seconds for the order's sake.
  sup.load(stack());
  sup.boot();
  ASSERT_EQ(host.spawned_names, std::vector<std::string>{"redis"});
  host.exec_ok(svc("redis").pid());
  EXPECT_EQ(svc("redis").state(), State::starting);  // start_seconds still decides "running"
  EXPECT_EQ(host.spawned_names, (std::vector<std::string>{"redis", "app", "worker"}));
  host.exec_ok(svc("worker").pid());
  EXPECT_EQ(host.spawned_names.back(), "flower");
  EXPECT_FALSE(sup.boot_done());  // READY=1 to systemd still waits for every start
}

TEST_F(SupervisorTest, AnExplicitReadyCheckIsWaitedForNotTheExec) {
  Config c = stack();
  for (auto& s : c.services) {
    if (s.name == "redis") s.ready.kind = Check::Kind::tcp;
  }
  sup.load(c);
  sup.boot();
  host.exec_ok(svc("redis").pid());
  EXPECT_EQ(host.spawned_names, std::vector<std::string>{"redis"});
  svc("redis").on_ready();
  EXPECT_EQ(host.spawned_names, (std::vector<std::string>{"redis", "app", "worker"}));
}

TEST_F(SupervisorTest, ADependencyInBackoffHoldsItsDependents) {
  sup.load(stack());
  sup.boot();
  host.exit(svc("redis").pid(), ExitStatus{false, 1});  // a quick failure: backoff
  ASSERT_EQ(svc("redis").state(), State::backoff);
  EXPECT_EQ(host.spawned_names, std::vector<std::string>{"redis"});
  host.fire(svc("redis"));  // the retry
  host.exec_ok(svc("redis").pid());
  EXPECT_EQ(host.spawned_names.size(), 4u);  // redis twice, app, worker
}

TEST_F(SupervisorTest, ADependencyThatFailsDoesNotHoldItsDependentsForever) {
  sup.load(stack());
  host.spawn_failures = {SpawnFailure{"exec /x: No such file or directory", false}};
  sup.boot();
  EXPECT_EQ(svc("redis").state(), State::fatal);
  EXPECT_EQ(host.spawned_names, (std::vector<std::string>{"app", "worker"}));
}

TEST_F(SupervisorTest, DisabledServicesAreNotStartedAndDoNotBlockOthers) {
  enabled["worker"] = false;
  sup.load(stack());
  sup.boot();
  settle_timers();
  EXPECT_EQ(svc("worker").state(), State::stopped);
  // flower is after worker, which is not queued: it starts anyway.
  EXPECT_EQ(svc("flower").state(), State::running);
  EXPECT_TRUE(sup.boot_done());
}

TEST_F(SupervisorTest, ShutdownStopsDependentsFirstThenTheirDependencies) {
  sup.load(stack());
  sup.boot();
  settle_timers();
  host.log_names = true;
  sup.begin_shutdown();
  // Only the leaves (app and flower) are asked first: redis and worker have dependents up.
  auto asked = [&] {
    std::vector<std::string> names;
    for (auto [pid, sig] : host.process_signals) {
      if (sig == SIGTERM) names.push_back(host.by_pid.at(pid)->name());
    }
    std::sort(names.begin(), names.end());
    return names;
  };
  EXPECT_EQ(asked(), (std::vector<std::string>{"app", "flower"}));
  end_all_signalled();
  EXPECT_EQ(asked(), std::vector<std::string>{"worker"});  // app gone; redis waits for worker
  end_all_signalled();
  EXPECT_EQ(asked(), std::vector<std::string>{"redis"});
  EXPECT_EQ(host.all_stopped_calls, 0);
  end_all_signalled();
  EXPECT_EQ(host.all_stopped_calls, 1);
  for (const char* n : {"redis", "app", "worker", "flower"}) {
    EXPECT_EQ(svc(n).state(), State::stopped) << n;
  }
}

TEST_F(SupervisorTest, ShutdownWithNothingRunningIsDoneAtOnce) {
  sup.load(stack());
  sup.begin_shutdown();
  EXPECT_EQ(host.all_stopped_calls, 1);
  EXPECT_TRUE(host.spawned.empty());
}

TEST_F(SupervisorTest, ReloadTouchesOnlyWhatChanged) {
  sup.load(stack());
  sup.boot();
  settle_timers();
  const pid_t redis_pid = svc("redis").pid();
  const pid_t worker_pid = svc("worker").pid();
  const pid_t app_pid = svc("app").pid();

  Config next = stack();
  next.services.erase(std::remove_if(next.services.begin(), next.services.end(),
                                     [](const auto& s) { return s.name == "flower"; }),
                      next.services.end());
  for (auto& s : next.services) {
    if (s.name == "app") s.command = {"/bin/false"};  // changed
  }
  next.services.push_back(service_config("beat", {"redis"}));  // added
  host.process_signals.clear();
  host.group_signals.clear();
  const size_t spawned_before = host.spawned.size();

  ReloadPlan plan = sup.reload(next);
  EXPECT_EQ(plan.added, std::vector<std::string>{"beat"});
  EXPECT_EQ(plan.removed, std::vector<std::string>{"flower"});
  EXPECT_EQ(plan.changed, std::vector<std::string>{"app"});
  EXPECT_EQ(plan.unchanged, (std::vector<std::string>{"worker", "redis"}));
  EXPECT_EQ(host.reconfigured, std::vector<std::string>{"app"});
  EXPECT_EQ(host.retired, std::vector<std::string>{"flower"});
  EXPECT_EQ(sup.find("flower"), nullptr);

  // Unchanged services are not signalled and keep their pids.
  for (auto [pid, sig] : host.process_signals) {
    EXPECT_NE(pid, redis_pid);
    EXPECT_NE(pid, worker_pid);
  }
  EXPECT_EQ(svc("redis").pid(), redis_pid);
  EXPECT_EQ(svc("worker").pid(), worker_pid);
  // The changed one is being restarted, the removed one stopped, the added one started
  // (its dependency is up).
  EXPECT_EQ(svc("app").state(), State::stopping);
  EXPECT_EQ(host.spawned.size(), spawned_before + 1);
  EXPECT_EQ(host.spawned_names.back(), "beat");

  end_all_signalled();  // app's and flower's old processes end
  EXPECT_EQ(svc("app").state(), State::starting);
  EXPECT_NE(svc("app").pid(), app_pid);
  EXPECT_TRUE(host.detached.empty());  // collected where no Service is on the stack
  sup.collect_retired();
  EXPECT_EQ(host.detached, std::vector<std::string>{"flower"});
}

TEST_F(SupervisorTest, ReloadOfAStoppedChangedServiceDoesNotStartIt) {
  enabled["app"] = false;
  sup.load(stack());
  sup.boot();
  settle_timers();
  Config next = stack();
  for (auto& s : next.services) {
    if (s.name == "app") s.stop_signal = SIGINT;
  }
  const size_t spawned_before = host.spawned.size();
  ReloadPlan plan = sup.reload(next);
  EXPECT_EQ(plan.changed, std::vector<std::string>{"app"});
  EXPECT_EQ(host.spawned.size(), spawned_before);
  EXPECT_EQ(svc("app").state(), State::stopped);
  EXPECT_EQ(svc("app").config().stop_signal, SIGINT);
}

TEST_F(SupervisorTest, ReloadWithOnlyResourcesChangedRedefinesWithoutARestart) {
  sup.load(stack());
  sup.boot();
  settle_timers();
  const pid_t worker_pid = svc("worker").pid();
  Config next = stack();
  for (auto& s : next.services) {
    if (s.name == "worker") s.resources.memory_max = 1000000000;
  }
  ReloadPlan plan = sup.reload(next);
  EXPECT_TRUE(plan.changed.empty());
  EXPECT_EQ(plan.resources_changed, std::vector<std::string>{"worker"});
  EXPECT_EQ(host.reconfigured, std::vector<std::string>{"worker"});
  EXPECT_EQ(svc("worker").pid(), worker_pid);
  EXPECT_EQ(svc("worker").state(), State::running);
  EXPECT_EQ(svc("worker").config().resources.memory_max, 1000000000u);
}

TEST_F(SupervisorTest, AnOperatorsStartOverridesTheWaitForAfter) {
  sup.load(stack());
  sup.boot();
  ASSERT_TRUE(sup.pending("flower"));
  sup.command(Command::start, {&svc("flower")});
  EXPECT_FALSE(sup.pending("flower"));
  EXPECT_EQ(svc("flower").state(), State::starting);
}

TEST_F(SupervisorTest, AStopCommandRunsInReverseOfTheGivenOrder) {
  sup.load(stack());
  sup.boot();
  settle_timers();
  host.process_signals.clear();
  sup.command(Command::stop, {&svc("redis"), &svc("app")});
  ASSERT_GE(host.process_signals.size(), 2u);
  EXPECT_EQ(host.by_pid.at(host.process_signals.front().first)->name(), "app");
}

}  // namespace
}  // namespace superd
