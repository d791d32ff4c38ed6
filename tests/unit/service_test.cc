// The service state machine driven by a fake process layer and a fake clock: every
// state × event pair, backoff schedules and desired-state handling, with no processes
// and no sleeps.
#include "supervisor/service.h"

#include "tests/fakes/fake_host.h"

#include <signal.h>

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace superd {
namespace {

using namespace std::chrono_literals;

using fakes::FakeHost;

ServiceConfig make_config() {
  ServiceConfig c;
  c.name = "app";
  c.command = {"/bin/true"};
  c.start_seconds = 1000ms;
  c.start_retries = 3;
  c.backoff_initial = 100ms;
  c.backoff_max = 1000ms;
  c.stop_timeout = 5000ms;
  return c;
}

struct Fixture : ::testing::Test {
  FakeHost host;
  ServiceConfig config = make_config();
  std::unique_ptr<Service> svc;
  void make() { svc = std::make_unique<Service>(config, host); }
  void SetUp() override { make(); }
  // Bring the service to running.
  void run_up() {
    svc->start();
    ASSERT_EQ(svc->state(), State::starting);
    host.fire(*svc);
    ASSERT_EQ(svc->state(), State::running);
  }
  void exit_main(ExitStatus st, bool group_empty = true) {
    svc->on_exit(svc->pid(), st, group_empty);
  }
  void group_gone() { svc->on_group_empty(svc->pgid()); }
};

const ExitStatus kClean{false, 0};
const ExitStatus kFail{false, 1};
const ExitStatus kTermed{true, SIGTERM};
const ExitStatus kKilled{true, SIGKILL};

// ---- stopped -------------------------------------------------------------------

TEST_F(Fixture, StoppedStartSpawnsAndArmsStartSeconds) {
  svc->start();
  EXPECT_EQ(svc->state(), State::starting);
  EXPECT_EQ(svc->pid(), 100);
  EXPECT_EQ(host.timer_of(*svc), 1000ms);
  EXPECT_TRUE(svc->want_up());
}

TEST_F(Fixture, StoppedStopIsANoop) {
  svc->stop();
  EXPECT_EQ(svc->state(), State::stopped);
  EXPECT_TRUE(host.spawned.empty());
  EXPECT_TRUE(host.log.empty());
}

TEST_F(Fixture, StoppedRestartStarts) {
  svc->restart();
  EXPECT_EQ(svc->state(), State::starting);
  EXPECT_EQ(host.spawned.size(), 1u);
}

TEST_F(Fixture, StoppedIgnoresStrayEvents) {
  svc->on_timer();
  group_gone();
  svc->on_ready();
  svc->on_ready_failed("x");
  exit_main(kFail);
  EXPECT_EQ(svc->state(), State::stopped);
  EXPECT_TRUE(host.log.empty());
}

// ---- starting ------------------------------------------------------------------

TEST_F(Fixture, StartingBecomesRunningAfterStartSeconds) {
  run_up();
  EXPECT_EQ(svc->quick_failures(), 0);
  EXPECT_TRUE(svc->settled());
}

TEST_F(Fixture, StartSecondsZeroIsRunningAtOnce) {
  config.start_seconds = 0ms;
  make();
  svc->start();
  EXPECT_EQ(svc->state(), State::running);
}

TEST_F(Fixture, StartingQuickExitGoesToBackoff) {
  svc->start();
  host.advance(10ms);
  exit_main(kFail);
  EXPECT_EQ(svc->state(), State::backoff);
  EXPECT_EQ(host.timer_of(*svc), 100ms);
  EXPECT_EQ(svc->last_exit(), "exited with status 1");
  EXPECT_EQ(svc->pid(), 0);
}

TEST_F(Fixture, StartingStartIsANoop) {
  svc->start();
  svc->start();
  EXPECT_EQ(host.spawned.size(), 1u);
  EXPECT_EQ(svc->state(), State::starting);
}

TEST_F(Fixture, StartingStopSendsStopSignalToMain) {
  svc->start();
  svc->stop();
  EXPECT_EQ(svc->state(), State::stopping);
  ASSERT_EQ(host.process_signals.size(), 2u);
  EXPECT_EQ(host.process_signals[0], (std::pair<pid_t, int>{100, SIGTERM}));
  EXPECT_EQ(host.process_signals[1], (std::pair<pid_t, int>{100, SIGCONT}));
  EXPECT_EQ(host.timer_of(*svc), 5000ms);
}

TEST_F(Fixture, StartingRestartStopsThenStarts) {
  svc->start();
  svc->restart();
  EXPECT_EQ(svc->state(), State::stopping);
  exit_main(kTermed);
  EXPECT_EQ(svc->state(), State::starting);
  EXPECT_EQ(host.spawned.size(), 2u);
  EXPECT_EQ(svc->quick_failures(), 0);  // our own stop is not a failure
}

TEST_F(Fixture, StartingExitWithLeftoversStopsTheGroupFirst) {
  svc->start();
  exit_main(kKilled, /*group_empty=*/false);
  EXPECT_EQ(svc->state(), State::stopping);
  EXPECT_EQ(svc->pid(), 0);
  EXPECT_EQ(svc->pgid(), 100);
  ASSERT_FALSE(host.group_signals.empty());
  EXPECT_EQ(host.group_signals[0], (std::pair<pid_t, int>{100, SIGTERM}));
  group_gone();
  EXPECT_EQ(svc->state(), State::backoff);  // a quick failure, now that all is gone
  EXPECT_FALSE(svc->has_processes());
}

TEST_F(Fixture, StartingTimerWithReadyCheckIsAFailedStart) {
  config.ready.kind = Check::Kind::tcp;
  config.ready.timeout = 2000ms;
  make();
  svc->start();
  EXPECT_EQ(host.ready_checks_begun, 1);
  EXPECT_EQ(host.timer_of(*svc), 2000ms);
  host.fire(*svc);
  EXPECT_EQ(svc->state(), State::stopping);
  EXPECT_EQ(host.ready_checks_ended, 1);
  exit_main(kTermed);
  EXPECT_EQ(svc->state(), State::backoff);
  EXPECT_EQ(svc->quick_failures(), 1);
  EXPECT_NE(svc->reason().find("not ready after 2s"), std::string::npos) << svc->reason();
}

TEST_F(Fixture, StartingReadyMakesRunning) {
  config.ready.kind = Check::Kind::notify;
  make();
  svc->start();
  svc->on_ready();
  EXPECT_EQ(svc->state(), State::running);
  EXPECT_FALSE(host.timer_of(*svc).has_value());
  EXPECT_EQ(host.ready_checks_ended, 1);
}

TEST_F(Fixture, StartingReadyFailedStopsAndCountsAFailure) {
  config.ready.kind = Check::Kind::http;
  make();
  svc->start();
  svc->on_ready_failed("http 500");
  EXPECT_EQ(svc->state(), State::stopping);
  exit_main(kTermed);
  EXPECT_EQ(svc->state(), State::backoff);
}

TEST_F(Fixture, StartingGroupEmptyAloneChangesNothing) {
  svc->start();
  svc->on_group_empty(svc->pid());  // main still alive: the group cannot be empty; ignore
  EXPECT_EQ(svc->state(), State::starting);
}

// ---- running -------------------------------------------------------------------

TEST_F(Fixture, RunningExitAfterStartSecondsRestartsAtOnce) {
  run_up();
  host.advance(5s);
  exit_main(kKilled);
  EXPECT_EQ(svc->state(), State::starting);
  EXPECT_EQ(host.spawned.size(), 2u);
  EXPECT_EQ(svc->restarts(), 1);
  EXPECT_EQ(svc->last_exit(), "killed by signal KILL");
}

TEST_F(Fixture, RunningStopWithGroupMode) {
  config.stop_mode = StopMode::group;
  config.stop_signal = SIGINT;
  make();
  run_up();
  svc->stop();
  ASSERT_EQ(host.group_signals.size(), 2u);
  EXPECT_EQ(host.group_signals[0], (std::pair<pid_t, int>{100, SIGINT}));
  EXPECT_TRUE(host.process_signals.empty());
}

TEST_F(Fixture, RunningRestart) {
  run_up();
  svc->restart();
  EXPECT_EQ(svc->state(), State::stopping);
  exit_main(kTermed);
  EXPECT_EQ(svc->state(), State::starting);
  EXPECT_EQ(svc->restarts(), 1);
}

TEST_F(Fixture, RunningStartIsANoop) {
  run_up();
  svc->start();
  EXPECT_EQ(host.spawned.size(), 1u);
}

TEST_F(Fixture, RunningStrayTimerAndReadyIgnored) {
  run_up();
  svc->on_timer();
  svc->on_ready();
  svc->on_ready_failed("late");
  EXPECT_EQ(svc->state(), State::running);
}

TEST_F(Fixture, RunningCleanExitUnderOnFailureIsExited) {
  config.restart = RestartPolicy::on_failure;
  make();
  run_up();
  host.advance(3s);
  exit_main(kClean);
  EXPECT_EQ(svc->state(), State::exited);
  EXPECT_TRUE(svc->settled());
}

TEST_F(Fixture, RunningFailureUnderOnFailureRestarts) {
  config.restart = RestartPolicy::on_failure;
  make();
  run_up();
  host.advance(3s);
  exit_main(kFail);
  EXPECT_EQ(svc->state(), State::starting);
}

TEST_F(Fixture, RunningCleanExitUnderNeverIsExited) {
  config.restart = RestartPolicy::never;
  make();
  run_up();
  exit_main(kClean);
  EXPECT_EQ(svc->state(), State::exited);
}

TEST_F(Fixture, RunningFailureUnderNeverIsFatal) {
  config.restart = RestartPolicy::never;
  make();
  run_up();
  exit_main(kFail);
  EXPECT_EQ(svc->state(), State::fatal);
  EXPECT_EQ(svc->reason(), "exited with status 1 (restart = never)");
}

TEST_F(Fixture, RunningKillMinusNineOfMasterStopsWorkersBeforeRespawn) {
  run_up();
  host.advance(5s);
  exit_main(kKilled, /*group_empty=*/false);
  EXPECT_EQ(svc->state(), State::stopping);
  EXPECT_EQ(host.spawned.size(), 1u);  // nothing new while the old workers live
  EXPECT_EQ(host.group_signals.at(0), (std::pair<pid_t, int>{100, SIGTERM}));
  group_gone();
  EXPECT_EQ(svc->state(), State::starting);
  EXPECT_EQ(host.spawned.size(), 2u);
}

// ---- MAINPID hand-over ---------------------------------------------------------

// gunicorn's USR2: the old master (100) forks a new one (150) in its session, which says
// MAINPID=150; the old one then leaves. Its exit is not the service's; the new one's is.
TEST_F(Fixture, MainPidHandOverFollowsTheNewMasterAndKeepsTheGroup) {
  config.stop_mode = StopMode::main;
  make();
  run_up();
  ASSERT_TRUE(svc->on_main_pid(150));
  EXPECT_EQ(svc->pid(), 150);
  EXPECT_EQ(svc->pgid(), 100) << "the process group superd started stays the instance's";
  svc->on_exit(100, kClean, /*group_empty=*/false);  // the old master, after QUIT
  EXPECT_EQ(svc->state(), State::running);
  EXPECT_EQ(host.spawned.size(), 1u) << "not mistaken for a crash";
  svc->stop();
  ASSERT_EQ(host.process_signals.at(0), (std::pair<pid_t, int>{150, SIGTERM})) << "stop_mode main: the new master";
  host.fire(*svc);
  EXPECT_EQ(host.group_signals.back(), (std::pair<pid_t, int>{100, SIGKILL})) << "KILL: the group";
  svc->on_exit(150, kKilled, /*group_empty=*/true);
  EXPECT_EQ(svc->state(), State::stopped);
}

TEST_F(Fixture, TheNewMainPidsExitIsTheServicesAndRestartsIt) {
  run_up();
  host.advance(5s);
  ASSERT_TRUE(svc->on_main_pid(150));
  svc->on_exit(150, kKilled, /*group_empty=*/false);
  EXPECT_EQ(svc->state(), State::stopping) << "its group is stopped first";
  EXPECT_EQ(host.group_signals.at(0), (std::pair<pid_t, int>{100, SIGTERM}));
  svc->on_group_empty(100);
  EXPECT_EQ(svc->state(), State::starting);
  EXPECT_EQ(host.spawned.size(), 2u);
  EXPECT_EQ(svc->pgid(), 101);
}

TEST_F(Fixture, MainPidIsRefusedWhenNothingRunsOrWhileStopping) {
  EXPECT_FALSE(svc->on_main_pid(150));
  run_up();
  svc->stop();
  EXPECT_FALSE(svc->on_main_pid(150));
  EXPECT_EQ(svc->pid(), 100);
}

TEST_F(Fixture, ASnapshotKeepsTheHandedOverMainPidApartFromTheGroup) {
  run_up();
  ASSERT_TRUE(svc->on_main_pid(150));
  const ServiceSnapshot saved = svc->snapshot();
  EXPECT_EQ(saved.pid, 150);
  EXPECT_EQ(saved.pgid, 100);
  Service again(config, host);
  again.restore(saved);
  EXPECT_EQ(again.pid(), 150);
  EXPECT_EQ(again.pgid(), 100);
  ServiceSnapshot older = saved;  // a state written before pgid was saved
  older.pgid = 0;
  again.restore(older);
  EXPECT_EQ(again.pgid(), 150);
}

// ---- stopping ------------------------------------------------------------------

TEST_F(Fixture, StoppingTimeoutKillsTheGroup) {
  run_up();
  svc->stop();
  host.fire(*svc);
  EXPECT_EQ(host.group_signals.back(), (std::pair<pid_t, int>{100, SIGKILL}));
  EXPECT_EQ(svc->state(), State::stopping);
  host.group_signals.clear();
  svc->on_timer();  // a second timer fire does not kill again
  EXPECT_TRUE(host.group_signals.empty());
  exit_main(kKilled);
  EXPECT_EQ(svc->state(), State::stopped);
}

TEST_F(Fixture, StoppingMainModeSignalsLeftoversOnceMainIsGone) {
  run_up();
  svc->stop();
  EXPECT_TRUE(host.group_signals.empty());  // Celery: only the main pid at first
  exit_main(kClean, /*group_empty=*/false);
  EXPECT_EQ(svc->state(), State::stopping);
  ASSERT_FALSE(host.group_signals.empty());
  EXPECT_EQ(host.group_signals[0], (std::pair<pid_t, int>{100, SIGTERM}));
  ASSERT_TRUE(host.timer_of(*svc).has_value());  // the stop_timeout still bounds the rest
  host.fire(*svc);
  EXPECT_EQ(host.group_signals.back(), (std::pair<pid_t, int>{100, SIGKILL}));
  group_gone();
  EXPECT_EQ(svc->state(), State::stopped);
}

TEST_F(Fixture, StoppingStartWantsItBackUp) {
  run_up();
  svc->stop();
  svc->start();
  EXPECT_EQ(svc->state(), State::stopping);
  exit_main(kTermed);
  EXPECT_EQ(svc->state(), State::starting);
}

TEST_F(Fixture, StoppingStopIsANoop) {
  run_up();
  svc->stop();
  auto signals = host.process_signals.size();
  svc->stop();
  EXPECT_EQ(host.process_signals.size(), signals);
}

TEST_F(Fixture, StoppingRestartDuringDrainLaunchesWithoutBackoff) {
  svc->start();
  exit_main(kFail, /*group_empty=*/false);  // quick failure, leftovers draining
  svc->restart();
  group_gone();
  EXPECT_EQ(svc->state(), State::starting);
  EXPECT_EQ(svc->quick_failures(), 0);
}

TEST_F(Fixture, StoppingIgnoresReadyEvents) {
  run_up();
  svc->stop();
  svc->on_ready();
  svc->on_ready_failed("x");
  EXPECT_EQ(svc->state(), State::stopping);
}

// ---- backoff -------------------------------------------------------------------

TEST_F(Fixture, BackoffTimerRelaunches) {
  svc->start();
  exit_main(kFail);
  host.fire(*svc);
  EXPECT_EQ(svc->state(), State::starting);
  EXPECT_EQ(host.spawned.size(), 2u);
}

TEST_F(Fixture, BackoffStopGoesToStopped) {
  svc->start();
  exit_main(kFail);
  svc->stop();
  EXPECT_EQ(svc->state(), State::stopped);
  EXPECT_FALSE(host.timer_of(*svc).has_value());
}

TEST_F(Fixture, BackoffRestartLaunchesNow) {
  svc->start();
  exit_main(kFail);
  svc->restart();
  EXPECT_EQ(svc->state(), State::starting);
  EXPECT_EQ(svc->quick_failures(), 0);
}

TEST_F(Fixture, BackoffStartLaunchesNow) {
  svc->start();
  exit_main(kFail);
  svc->start();
  EXPECT_EQ(svc->state(), State::starting);
}

TEST_F(Fixture, BackoffIgnoresExitAndReadyEvents) {
  svc->start();
  exit_main(kFail);
  exit_main(kFail);
  group_gone();
  svc->on_ready();
  EXPECT_EQ(svc->state(), State::backoff);
}

TEST_F(Fixture, BackoffDoublesThenFatalAfterStartRetries) {
  config.start_retries = 5;
  config.backoff_initial = 100ms;
  config.backoff_max = 300ms;
  make();
  svc->start();
  std::vector<Duration> delays;
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(svc->state(), State::starting);
    host.advance(5ms);
    exit_main(kFail);
    if (svc->state() == State::backoff) {
      delays.push_back(*host.timer_of(*svc));
      host.fire(*svc);
    }
  }
  EXPECT_EQ(delays, (std::vector<Duration>{100ms, 200ms, 300ms, 300ms}));
  EXPECT_EQ(svc->state(), State::fatal);
  EXPECT_NE(svc->reason().find("5 quick failures in a row"), std::string::npos);
  EXPECT_EQ(host.spawned.size(), 5u);
}

TEST_F(Fixture, RunningResetsTheBackoff) {
  svc->start();
  exit_main(kFail);
  host.fire(*svc);
  EXPECT_EQ(svc->quick_failures(), 1);
  host.fire(*svc);  // start_seconds passed: running
  EXPECT_EQ(svc->state(), State::running);
  EXPECT_EQ(svc->quick_failures(), 0);
  host.advance(1ms);
  exit_main(kFail);  // before start_seconds of this process? no: it reached running
  EXPECT_EQ(svc->state(), State::starting);
}

TEST_F(Fixture, ExitSoonAfterRunningStillCountsAsQuick) {
  config.ready.kind = Check::Kind::notify;
  make();
  svc->start();
  svc->on_ready();  // ready at once, but dies within start_seconds
  host.advance(100ms);
  exit_main(kFail);
  EXPECT_EQ(svc->state(), State::backoff);
}

// ---- fatal ---------------------------------------------------------------------

TEST_F(Fixture, ExecFailureIsFatalWithTheReason) {
  svc->start();
  svc->on_exit(svc->pid(), ExitStatus{false, 127}, true,
               SpawnFailure{"exec /usr/bin/gunicornx: No such file or directory", false});
  EXPECT_EQ(svc->state(), State::fatal);
  EXPECT_EQ(svc->reason(), "exec /usr/bin/gunicornx: No such file or directory");
  EXPECT_EQ(svc->last_exit(), "exec /usr/bin/gunicornx: No such file or directory");
}

TEST_F(Fixture, TransientExecFailureBacksOff) {
  svc->start();
  svc->on_exit(svc->pid(), ExitStatus{false, 127}, true, SpawnFailure{"exec x: Text file busy", true});
  EXPECT_EQ(svc->state(), State::backoff);
}

TEST_F(Fixture, SpawnFailureBeforeForkIsFatal) {
  host.spawn_failures.push_back({"user 'ghost' does not exist", false});
  svc->start();
  EXPECT_EQ(svc->state(), State::fatal);
  EXPECT_EQ(svc->reason(), "user 'ghost' does not exist");
  EXPECT_TRUE(svc->settled());
}

TEST_F(Fixture, ForkEagainIsRetriedWithBackoff) {
  host.spawn_failures.push_back({"fork: Resource temporarily unavailable", true});
  svc->start();
  EXPECT_EQ(svc->state(), State::backoff);
  host.fire(*svc);
  EXPECT_EQ(svc->state(), State::starting);
}

TEST_F(Fixture, FatalStartTriesAgainWithFreshCount) {
  host.spawn_failures.push_back({"user 'ghost' does not exist", false});
  svc->start();
  svc->start();
  EXPECT_EQ(svc->state(), State::starting);
}

TEST_F(Fixture, FatalStopGoesToStopped) {
  host.spawn_failures.push_back({"boom", false});
  svc->start();
  svc->stop();
  EXPECT_EQ(svc->state(), State::stopped);
}

TEST_F(Fixture, FatalRestartLaunches) {
  host.spawn_failures.push_back({"boom", false});
  svc->start();
  svc->restart();
  EXPECT_EQ(svc->state(), State::starting);
}

TEST_F(Fixture, FatalIgnoresStrayEvents) {
  host.spawn_failures.push_back({"boom", false});
  svc->start();
  svc->on_timer();
  group_gone();
  exit_main(kFail);
  svc->on_ready();
  EXPECT_EQ(svc->state(), State::fatal);
}

TEST_F(Fixture, StartRetriesZeroMeansFirstQuickFailureIsFatal) {
  config.start_retries = 0;
  make();
  svc->start();
  exit_main(kFail);
  EXPECT_EQ(svc->state(), State::fatal);
}

// ---- exited --------------------------------------------------------------------

TEST_F(Fixture, ExitedStartRunsAgain) {
  config.restart = RestartPolicy::never;
  make();
  run_up();
  exit_main(kClean);
  ASSERT_EQ(svc->state(), State::exited);
  svc->start();
  EXPECT_EQ(svc->state(), State::starting);
}

TEST_F(Fixture, ExitedStopGoesToStopped) {
  config.restart = RestartPolicy::never;
  make();
  run_up();
  exit_main(kClean);
  svc->stop();
  EXPECT_EQ(svc->state(), State::stopped);
}

TEST_F(Fixture, ExitedRestartRunsAgain) {
  config.restart = RestartPolicy::never;
  make();
  run_up();
  exit_main(kClean);
  svc->restart();
  EXPECT_EQ(svc->state(), State::starting);
}

TEST_F(Fixture, ExitedIgnoresStrayEvents) {
  config.restart = RestartPolicy::never;
  make();
  run_up();
  exit_main(kClean);
  svc->on_timer();
  group_gone();
  svc->on_ready();
  EXPECT_EQ(svc->state(), State::exited);
}

// ---- start-new-first restart ----------------------------------------------------

struct SwapFixture : Fixture {
  void SetUp() override {
    config.listen = {*parse_listen_endpoint("tcp:127.0.0.1:8000", HostNames::refused, nullptr)};
    config.ready.kind = Check::Kind::notify;
    config.ready.timeout = 3000ms;
    make();
    svc->start();
    svc->on_ready();
    ASSERT_EQ(svc->state(), State::running);
    host.advance(10s);
    host.process_signals.clear();
  }
};

TEST_F(SwapFixture, NewInstanceStartsBesideTheOldOneThenTheOldOneStops) {
  ASSERT_TRUE(svc->can_swap());
  svc->restart();
  EXPECT_EQ(svc->state(), State::starting);
  EXPECT_EQ(svc->pid(), 101);
  EXPECT_EQ(svc->old_pid(), 100);
  EXPECT_TRUE(host.process_signals.empty()) << "the old instance serves until the new is ready";
  EXPECT_FALSE(svc->settled());
  svc->on_ready();
  EXPECT_EQ(svc->state(), State::running);
  ASSERT_EQ(host.process_signals.size(), 2u);
  EXPECT_EQ(host.process_signals[0], (std::pair<pid_t, int>{100, SIGTERM}));
  EXPECT_EQ(host.timer_of(*svc, Timer::old), 5000ms);
  EXPECT_FALSE(svc->settled()) << "restart is over when the old instance is gone";
  svc->on_exit(100, kTermed, true);
  EXPECT_EQ(svc->old_pid(), 0);
  EXPECT_FALSE(host.timer_of(*svc, Timer::old).has_value());
  EXPECT_TRUE(svc->settled());
  EXPECT_EQ(svc->pid(), 101);
  EXPECT_TRUE(svc->restart_failure().empty());
}

TEST_F(SwapFixture, OldInstanceThatIgnoresTermIsKilledAfterStopTimeout) {
  svc->restart();
  svc->on_ready();
  svc->on_timer(Timer::old);
  EXPECT_EQ(host.group_signals.back(), (std::pair<pid_t, int>{100, SIGKILL}));
  svc->on_exit(100, kKilled, false);  // workers still draining
  EXPECT_FALSE(svc->settled());
  svc->on_group_empty(100);
  EXPECT_TRUE(svc->settled());
  EXPECT_EQ(svc->state(), State::running);
}

TEST_F(SwapFixture, NewInstanceThatDiesLeavesTheOldOneServing) {
  svc->restart();
  svc->on_exit(101, kFail, true);
  EXPECT_EQ(svc->state(), State::running);
  EXPECT_EQ(svc->pid(), 100);
  EXPECT_EQ(svc->old_pid(), 0);
  EXPECT_TRUE(host.process_signals.empty()) << "the old instance was never asked to stop";
  EXPECT_EQ(svc->restart_failure(), "new instance exited with status 1");
  EXPECT_TRUE(svc->settled());
}

TEST_F(SwapFixture, NewInstanceNeverReadyIsStoppedAndTheOldOneKeepsServing) {
  svc->restart();
  host.fire(*svc);  // ready timeout
  EXPECT_EQ(svc->state(), State::stopping);
  EXPECT_EQ(host.process_signals.at(0), (std::pair<pid_t, int>{101, SIGTERM}));
  svc->on_exit(101, kTermed, true);
  EXPECT_EQ(svc->state(), State::running);
  EXPECT_EQ(svc->pid(), 100);
  EXPECT_EQ(svc->restart_failure(), "new instance not ready after 3s");
}

TEST_F(SwapFixture, StopDuringTheSwapStopsBothAndEndsStoppedWhenBothAreGone) {
  svc->restart();
  svc->stop();
  EXPECT_EQ(svc->state(), State::stopping);
  std::set<pid_t> signalled;
  for (auto [pid, sig] : host.process_signals) signalled.insert(pid);
  EXPECT_EQ(signalled, (std::set<pid_t>{100, 101}));
  svc->on_exit(101, kTermed, true);
  EXPECT_EQ(svc->state(), State::stopping);
  svc->on_exit(100, kTermed, true);
  EXPECT_EQ(svc->state(), State::stopped);
  EXPECT_FALSE(svc->has_processes());
}

TEST_F(SwapFixture, SpawnFailureOfTheNewInstanceKeepsTheOldOne) {
  host.spawn_failures.push_back({"fork: Resource temporarily unavailable", true});
  svc->restart();
  EXPECT_EQ(svc->state(), State::running);
  EXPECT_EQ(svc->pid(), 100);
  EXPECT_EQ(svc->restart_failure(), "fork: Resource temporarily unavailable");
}

TEST_F(SwapFixture, WithoutListenRestartIsStopThenStart) {
  config.listen.clear();
  make();
  svc->start();
  svc->on_ready();
  svc->restart();
  EXPECT_EQ(svc->state(), State::stopping);
  EXPECT_EQ(svc->old_pid(), 0);
}

// ---- logging of reasons ----------------------------------------------------------

TEST_F(Fixture, EveryTransitionIsReportedWithItsReason) {
  run_up();
  host.advance(2s);
  exit_main(kKilled);
  ASSERT_GE(host.log.size(), 3u);
  EXPECT_EQ(host.log[0], "stopped->starting: started pid 100");
  EXPECT_EQ(host.log[1], "starting->running: up for 1s");
  EXPECT_EQ(host.log[2], "running->starting: killed by signal KILL; started pid 101");
}

// ---- what dependents wait for -------------------------------------------------------

TEST_F(Fixture, WithReadyStartedTheProgramRunningIsEnoughForDependents) {
  svc->start();
  EXPECT_FALSE(svc->ready_for_dependents());  // forked, not yet exec'd
  svc->on_exec_succeeded(999);                // not its pid
  EXPECT_FALSE(svc->ready_for_dependents());
  EXPECT_EQ(host.progress_reports, 0);
  svc->on_exec_succeeded(100);
  EXPECT_TRUE(svc->ready_for_dependents());
  EXPECT_EQ(svc->state(), State::starting);  // running still takes start_seconds
  EXPECT_EQ(host.progress_reports, 1);
  svc->on_exec_succeeded(100);  // said once
  EXPECT_EQ(host.progress_reports, 1);
  exit_main(kFail);  // a quick failure: backoff, and no longer ready
  EXPECT_FALSE(svc->ready_for_dependents());
}

TEST_F(Fixture, WithAReadyCheckOnlyTheCheckMakesItReadyForDependents) {
  config.ready.kind = Check::Kind::notify;
  make();
  svc->start();
  svc->on_exec_succeeded(100);
  EXPECT_FALSE(svc->ready_for_dependents());
  svc->on_ready();
  EXPECT_TRUE(svc->ready_for_dependents());
}

TEST(ExitStatusTest, Describe) {
  EXPECT_EQ(ExitStatus::from_wait_status(0x0100).describe(), "exited with status 1");
  EXPECT_EQ(ExitStatus::from_wait_status(SIGKILL).describe(), "killed by signal KILL");
  EXPECT_TRUE(ExitStatus::from_wait_status(0).clean());
}

}  // namespace
}  // namespace superd
