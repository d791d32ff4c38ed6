// Instances in the supervisor, with the fake host and a fake clock: `after` a template,
// scale up and down without touching the instances that stay, reload of a changed count
// or template, and the rolling restart (order, one at a time, stop on failure, K at once,
// start-new-first).
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <utility>

#include "supervisor/config_load.h"
#include "supervisor/supervisor.h"
#include "tests/fakes/fake_host.h"

namespace superd {
namespace {

using fakes::FakeHost;

const ExitStatus kTermed{true, SIGTERM};

// ready = "notify": the test says when each new process is ready (on_ready).
Config stack(int workers, const std::string& worker_extra = "") {
  const std::string text = "[service.redis]\ncommand = [\"/bin/redis\"]\nstart_seconds = 0\n"
                           "[service.worker]\ncommand = [\"/bin/celery\", \"-n\", \"w{instance}\"]\n"
                           "ready = \"notify\"\nafter = [\"redis\"]\ninstances = " +
                           std::to_string(workers) + "\n" + worker_extra +
                           "[service.flower]\ncommand = [\"/bin/flower\"]\nstart_seconds = 0\nafter = [\"worker\"]\n";
  LoadResult r = load_config_string(text, "t.toml", {.check_system = false, .resolve_hosts = false});
  for (const auto& e : r.errors) ADD_FAILURE() << e.format();
  return r.config.value_or(Config{});
}

struct InstancesTest : ::testing::Test {
  FakeHost host;
  Supervisor sup{host, [](const ServiceConfig&) { return true; }};

  Service& svc(const std::string& name) {
    Service* s = sup.find(name);
    EXPECT_NE(s, nullptr) << name;
    return *s;
  }
  void ready(const std::string& name) { svc(name).on_ready(); }
  // Boot the stack with every worker ready.
  void boot(int workers, const std::string& extra = "") {
    sup.load(stack(workers, extra));
    sup.boot();
    for (Service* w : sup.instances_of("worker")) w->on_ready();
  }
  std::vector<pid_t> pids(const std::string& family) {
    std::vector<pid_t> out;
    for (Service* s : sup.instances_of(family)) out.push_back(s->pid());
    return out;
  }
  int running(const std::string& family) {
    int n = 0;
    for (Service* s : sup.instances_of(family)) n += s->state() == State::running;
    return n;
  }
  // The services that got a TERM since the last call, in order.
  std::vector<std::string> termed() {
    std::vector<std::string> out;
    for (auto [pid, sig] : std::exchange(host.process_signals, {})) {
      if (sig == SIGTERM) out.push_back(host.by_pid.at(pid)->name());
    }
    return out;
  }
  // The old process of `name` ends as a stop would have it end.
  void old_ends(const std::string& /*name*/, pid_t pid) { host.exit(pid, kTermed); }
};

TEST_F(InstancesTest, AfterATemplateWaitsForEveryInstance) {
  sup.load(stack(2));
  sup.boot();
  EXPECT_EQ(host.spawned_names, (std::vector<std::string>{"redis", "worker@0", "worker@1"}));
  ready("worker@0");
  EXPECT_EQ(svc("flower").state(), State::stopped);  // worker@1 is still starting
  ready("worker@1");
  EXPECT_EQ(svc("flower").state(), State::running);
  // Shutdown: flower first, then both workers, then redis.
  sup.begin_shutdown();
  EXPECT_EQ(termed(), std::vector<std::string>{"flower"});
  host.exit(svc("flower").pid(), kTermed);
  auto t = termed();
  std::sort(t.begin(), t.end());
  EXPECT_EQ(t, (std::vector<std::string>{"worker@0", "worker@1"}));
  host.exit(svc("worker@0").pid(), kTermed);
  EXPECT_TRUE(termed().empty());  // redis waits for worker@1 too
  host.exit(svc("worker@1").pid(), kTermed);
  EXPECT_EQ(termed(), std::vector<std::string>{"redis"});
}

TEST_F(InstancesTest, ScaleUpAndDownTouchesOnlyTheDifference) {
  boot(3);
  const std::vector<pid_t> before = pids("worker");
  termed();
  auto up = sup.scale("worker", 5);
  ASSERT_TRUE(std::holds_alternative<ReloadPlan>(up));
  EXPECT_EQ(std::get<ReloadPlan>(up).added, (std::vector<std::string>{"worker@3", "worker@4"}));
  EXPECT_TRUE(std::get<ReloadPlan>(up).changed.empty());
  EXPECT_EQ(svc("worker@3").state(), State::starting);
  EXPECT_EQ(host.spawned_names.back(), "worker@4");
  ready("worker@3");
  ready("worker@4");
  std::vector<pid_t> now = pids("worker");
  EXPECT_TRUE(std::equal(before.begin(), before.end(), now.begin()));
  EXPECT_TRUE(termed().empty());

  auto down = sup.scale("worker", 2);
  ASSERT_TRUE(std::holds_alternative<ReloadPlan>(down));
  EXPECT_EQ(std::get<ReloadPlan>(down).removed, (std::vector<std::string>{"worker@2", "worker@3", "worker@4"}));
  EXPECT_EQ(termed(), (std::vector<std::string>{"worker@4", "worker@3", "worker@2"}));  // highest first
  EXPECT_EQ(pids("worker"), std::vector<pid_t>(before.begin(), before.begin() + 2));
  EXPECT_TRUE(sup.retired_running("worker@4"));
  // Up again while worker@2 still stops: refused, nothing changes.
  auto again = sup.scale("worker", 3);
  ASSERT_TRUE(std::holds_alternative<std::vector<ConfigError>>(again));
  EXPECT_EQ(std::get<std::vector<ConfigError>>(again).front().message,
            "worker@2 is still stopping (removed by an earlier scale); scale again once it is gone");
  EXPECT_EQ(svc("flower").state(), State::running);  // a dependent is not restarted either
}

TEST_F(InstancesTest, ScaleToZeroAndAPlainServiceCannotScale) {
  boot(2);
  ASSERT_TRUE(std::holds_alternative<ReloadPlan>(sup.scale("worker", 0)));
  EXPECT_TRUE(sup.instances_of("worker").empty());
  EXPECT_NE(sup.find_template("worker"), nullptr);
  auto plain = sup.scale("redis", 2);
  ASSERT_TRUE(std::holds_alternative<std::vector<ConfigError>>(plain));
}

TEST_F(InstancesTest, ReloadOfAHigherCountStartsOnlyTheNewInstance) {
  boot(3);
  const std::vector<pid_t> before = pids("worker");
  const size_t spawned = host.spawned.size();
  termed();
  ReloadPlan plan = sup.reload(stack(4));
  EXPECT_EQ(plan.added, std::vector<std::string>{"worker@3"});
  EXPECT_TRUE(plan.changed.empty());
  EXPECT_EQ(host.spawned.size(), spawned + 1);
  EXPECT_EQ(host.spawned_names.back(), "worker@3");
  EXPECT_TRUE(termed().empty());
  std::vector<pid_t> now = pids("worker");
  EXPECT_TRUE(std::equal(before.begin(), before.end(), now.begin()));
}

TEST_F(InstancesTest, RestartRollsOneAtATimeEachWaitingForTheNewOneToBeReady) {
  boot(3);
  termed();
  auto rolls = sup.restart(sup.instances_of("worker"), 1);
  ASSERT_EQ(rolls.size(), 1u);
  const RollPtr roll = rolls[0];
  for (const char* name : {"worker@0", "worker@1", "worker@2"}) {
    SCOPED_TRACE(name);
    // Only this one is asked to stop; the others serve on.
    EXPECT_EQ(termed(), std::vector<std::string>{name});
    EXPECT_EQ(running("worker"), 2);
    old_ends(name, svc(name).pid());
    EXPECT_EQ(svc(name).state(), State::starting);  // the new process, not ready yet
    EXPECT_EQ(running("worker"), 2);
    EXPECT_TRUE(termed().empty());  // the next one waits for it
    ready(name);
  }
  EXPECT_TRUE(roll->over());
  EXPECT_EQ(roll->outcome(), "");
  EXPECT_EQ(roll->restarted, (std::vector<std::string>{"worker@0", "worker@1", "worker@2"}));
  EXPECT_EQ(running("worker"), 3);
}

TEST_F(InstancesTest, ANewInstanceThatFailsStopsTheRoll) {
  boot(3);
  const pid_t last = svc("worker@2").pid();
  termed();
  const RollPtr roll = sup.restart(sup.instances_of("worker"), 1).at(0);
  old_ends("worker@0", svc("worker@0").pid());
  ready("worker@0");
  EXPECT_EQ(termed(), (std::vector<std::string>{"worker@0", "worker@1"}));
  old_ends("worker@1", svc("worker@1").pid());
  svc("worker@1").on_ready_failed("not ready after 60s");  // stopped, then a backoff
  EXPECT_EQ(termed(), std::vector<std::string>{"worker@1"});
  host.exit(svc("worker@1").pid(), kTermed);
  EXPECT_EQ(svc("worker@1").state(), State::backoff);
  EXPECT_TRUE(roll->over());
  EXPECT_EQ(roll->failure, "worker@1: backoff: not ready after 60s; retrying in 100ms");
  EXPECT_EQ(roll->untouched, std::vector<std::string>{"worker@2"});
  EXPECT_EQ(roll->outcome(),
            "worker@1: backoff: not ready after 60s; retrying in 100ms; worker@2 not restarted");
  EXPECT_EQ(svc("worker@2").pid(), last);  // not touched
  EXPECT_EQ(svc("worker@2").state(), State::running);
  EXPECT_TRUE(termed().empty());
}

TEST_F(InstancesTest, ParallelLetsKRestartAtOnce) {
  boot(5);
  termed();
  const RollPtr roll = sup.restart(sup.instances_of("worker"), 2).at(0);
  EXPECT_EQ(termed(), (std::vector<std::string>{"worker@0", "worker@1"}));
  old_ends("worker@0", svc("worker@0").pid());
  ready("worker@0");
  EXPECT_EQ(termed(), std::vector<std::string>{"worker@2"});  // one done: one more begins
  old_ends("worker@1", svc("worker@1").pid());
  old_ends("worker@2", svc("worker@2").pid());
  ready("worker@1");
  ready("worker@2");
  EXPECT_EQ(termed(), (std::vector<std::string>{"worker@3", "worker@4"}));
  for (const char* n : {"worker@3", "worker@4"}) {
    old_ends(n, svc(n).pid());
    ready(n);
  }
  EXPECT_TRUE(roll->over());
  EXPECT_EQ(roll->restarted.size(), 5u);
}

TEST_F(InstancesTest, StartNewFirstKeepsEveryInstanceServing) {
  boot(3, "listen = [\"tcp:127.0.0.1:900{instance}\"]\n");
  termed();
  const RollPtr roll = sup.restart(sup.instances_of("worker"), 1).at(0);
  for (const char* name : {"worker@0", "worker@1", "worker@2"}) {
    SCOPED_TRACE(name);
    Service& s = svc(name);
    const pid_t old = s.old_pid();
    ASSERT_NE(old, 0);  // a new process beside the old one
    EXPECT_TRUE(termed().empty());
    ready(name);
    EXPECT_EQ(termed(), std::vector<std::string>{name});  // the old one, now
    old_ends(name, old);
  }
  EXPECT_TRUE(roll->over());
  EXPECT_EQ(roll->outcome(), "");
}

TEST_F(InstancesTest, ReloadOfAChangedTemplateRollsWithEachDefinitionAppliedInTurn) {
  boot(3);
  termed();
  Config next = stack(3, "stop_timeout = \"5s\"\n");
  ReloadPlan plan = sup.reload(next);
  EXPECT_EQ(plan.changed, (std::vector<std::string>{"worker@0", "worker@1", "worker@2"}));
  EXPECT_EQ(termed(), std::vector<std::string>{"worker@0"});
  EXPECT_EQ(svc("worker@0").config().stop_timeout, std::chrono::seconds(5));
  EXPECT_EQ(svc("worker@1").config().stop_timeout, std::chrono::seconds(30));  // its turn has not come
  old_ends("worker@0", svc("worker@0").pid());
  ready("worker@0");
  EXPECT_EQ(termed(), std::vector<std::string>{"worker@1"});
  EXPECT_EQ(svc("worker@1").config().stop_timeout, std::chrono::seconds(5));
  // Another reload meanwhile (now with a 4th): the new roll takes over; @3 starts at once.
  ReloadPlan again = sup.reload(stack(4, "stop_timeout = \"7s\"\n"));
  EXPECT_EQ(again.added, std::vector<std::string>{"worker@3"});
  EXPECT_TRUE(termed().empty());  // worker@1 still restarts: one at a time
  old_ends("worker@1", svc("worker@1").pid());
  ready("worker@1");
  ready("worker@3");
  EXPECT_EQ(termed(), std::vector<std::string>{"worker@0"});
  EXPECT_EQ(svc("worker@0").config().stop_timeout, std::chrono::seconds(7));
}

TEST_F(InstancesTest, RestartOfOneInstanceOrOfPlainServicesIsNoRoll) {
  boot(3);
  termed();
  EXPECT_TRUE(sup.restart({&svc("worker@1"), &svc("redis")}, 1).empty());
  auto t = termed();
  std::sort(t.begin(), t.end());
  EXPECT_EQ(t, (std::vector<std::string>{"redis", "worker@1"}));
}

}  // namespace
}  // namespace superd
