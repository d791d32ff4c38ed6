// The service lifecycle: one explicit state machine per service.
//
//   stopped ──start──▶ starting ──ready / start_seconds──▶ running
//      ▲                 │  ▲                                │
//      │            quick exit                            exit (restart allowed)
//      │                 ▼  │backoff timer                   │
//      │              backoff ◀──────────────────────────────┘ (straight to starting)
//      │                 │ start_retries quick exits in a row
//      │                 ▼
//      │               fatal            exited: a clean end under restart = never/on-failure
//      │
//   stopping ◀──stop── starting | running       (stop_signal, then KILL after stop_timeout)
//
// Two ideas keep it small (both from dinit):
// - The desired state (`want_up_`) is kept apart from the current state. "Stop while
//   starting", "start while stopping" and "restart while in backoff" are not special
//   cases: a command only changes what is wanted and, if nothing is in flight, acts.
//   When the process is gone, settle() looks at what is wanted and what happened.
// - A process is only "gone" when its whole process group is: after the main pid exits,
//   leftovers of the group (gunicorn workers, Celery pool children) are signalled and
//   waited for before the service may start again, so a new master never finds its port
//   held by the old one's workers.
//
// Start-new-first restart: a service with `listen` sockets (held by superd, so both
// instances accept on the same socket) and a readiness check other than `started` is
// restarted by starting a new instance beside the old one; once the new one is ready the
// old one is stopped (stop_signal, stop_timeout, KILL). If the new one fails, the old one
// keeps serving and the restart reports why. The old instance has its own timer.
//
// Both the current process and the old one of such a restart are an `Instance`: a main
// pid, whether it and the rest of its group still live, and whether stop and KILL were
// sent. One send_stop() and one timer per instance serve both.
//
// The machine knows no fork, no libuv and no wall clock: it asks a ServiceHost to
// spawn, signal and arm a timer, and is told what happened through the on_* events.
// Tests drive it with the fake host of tests/fakes/ and a fake clock.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include "base/exit_status.h"
#include "supervisor/config.h"

namespace superd {

enum class State { stopped, starting, running, stopping, backoff, fatal, exited };
const char* state_name(State s);

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

struct SpawnResult {
  pid_t pid = 0;  // > 0 on success; the process group id is the same
  std::optional<SpawnFailure> failure;
};

// Each instance has one timer: the current one's start_seconds, ready timeout, backoff
// or stop_timeout; the old one's stop_timeout during a start-new-first restart.
enum class Timer { current, old };

class Service;

// Everything of one state machine that a re-executed superd needs to go on where this one
// stopped (supervisor/reexec_state.h writes it down). Times are steady_clock, which is
// CLOCK_MONOTONIC: the same clock before and after an exec. Only a machine without an
// old instance (no start-new-first restart under way) is saved.
struct ServiceSnapshot {
  State state = State::stopped;
  bool want_up = false;
  TimePoint since{};
  std::string reason;
  std::string last_exit;
  pid_t pid = 0;
  pid_t pgid = 0;  // the process group and session; 0 in an older state: the same as pid
  bool main_alive = false;
  bool group_alive = false;
  bool stop_sent = false;
  bool kill_sent = false;
  bool exec_ok = false;
  TimePoint spawned_at{};
  bool exit_requested = false;
  bool was_running = false;
  bool launched_before = false;
  std::optional<std::string> ready_failed;
  std::optional<ExitStatus> exit;
  std::string restart_failure;
  int quick_failures = 0;
  int restarts = 0;
};

// What the state machine asks of the world.
class ServiceHost {
 public:
  virtual ~ServiceHost() = default;
  virtual TimePoint now() = 0;
  virtual SpawnResult spawn(Service& service) = 0;
  virtual void signal_process(pid_t pid, int signo) = 0;
  virtual void signal_group(pid_t pgid, int signo) = 0;
  // Arming replaces any earlier deadline of the same timer.
  virtual void arm_timer(Service& service, Timer which, Duration after) = 0;
  virtual void cancel_timer(Service& service, Timer which) = 0;
  // Called after every transition, with the reason it happened.
  virtual void state_changed(Service& service, State from, const std::string& reason) = 0;
  // Readiness checks other than `started` (notify, tcp, http, ...): begin watching; the
  // host reports back with on_ready() or on_ready_failed(). Default: nothing to do.
  virtual void begin_ready_check(Service&) {}
  virtual void end_ready_check(Service&) {}
  // Something a dependent may wait for happened without a transition (the program of
  // a `ready = "started"` service is running: its exec succeeded).
  virtual void progressed(Service&) {}
};

class Service {
 public:
  Service(ServiceConfig config, ServiceHost& host);

  // Commands.
  void start();    // want up; launch unless something is in flight
  void stop();     // want down; stop whatever runs
  void restart();  // want up; stop what runs (if anything), then launch

  // Events from the process layer and the clock.
  // A main process ended. `group_empty`: no other process of its group remains.
  // `cause`: how it ended when the host knows better than the wait status ("killed by
  // the OOM killer (memory_max 1GB)"); empty: status.describe().
  void on_exit(pid_t pid, const ExitStatus& status, bool group_empty,
               const std::optional<SpawnFailure>& exec_failure = std::nullopt,
               const std::string& cause = "");
  // The rest of an instance whose main process ended is gone (its group, or cgroup).
  void on_group_empty(pid_t pgid);
  void on_timer(Timer which = Timer::current);
  void on_ready();
  void on_ready_failed(const std::string& reason);
  // The exec of main process `pid` succeeded (its status pipe closed without a report).
  void on_exec_succeeded(pid_t pid);
  // The service named another process of its own as its main process (MAINPID= on its
  // notify socket; the host checked that `pid` is in its session or cgroup): from now on
  // that pid's exit is the service's, and the one superd started may end unnoticed. Only
  // while starting or running; false (nothing changes) otherwise.
  bool on_main_pid(pid_t pid);

  // Re-exec: what this machine is now, and the same machine again in a new superd. A
  // restore calls nothing of the host: the host re-arms timers and checks itself.
  ServiceSnapshot snapshot() const;
  void restore(const ServiceSnapshot& saved);

  // Replace the definition (reload-config of a changed service). The caller restarts.
  void set_config(ServiceConfig config) { config_ = std::move(config); }

  const ServiceConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  State state() const { return state_; }
  bool want_up() const { return want_up_; }
  pid_t pid() const { return current_.main_alive ? current_.pid : 0; }
  // The process group (and session) superd started; the main pid unless MAINPID moved it.
  pid_t pgid() const { return current_.group_alive ? current_.pgid : 0; }
  // True while a process of this service may still exist.
  bool has_processes() const { return current_.alive() || old_.has_value(); }
  // The instance being replaced by a start-new-first restart, if any.
  pid_t old_pid() const { return old_ && old_->main_alive ? old_->pid : 0; }
  pid_t old_pgid() const { return old_ && old_->group_alive ? old_->pgid : 0; }
  // Why the last restart failed while the old instance kept serving ("" when it did not).
  const std::string& restart_failure() const { return restart_failure_; }
  bool can_swap() const;
  TimePoint since() const { return since_; }
  TimePoint process_started() const { return current_.spawned_at; }
  int restarts() const { return restarts_; }
  int quick_failures() const { return quick_failures_; }
  const std::string& last_exit() const { return last_exit_; }
  // How the last main process ended, when one ran and ended (a spawn that failed before
  // exec has none).
  const std::optional<ExitStatus>& last_status() const { return exit_; }
  const std::string& reason() const { return reason_; }
  // Settled states are where a start/stop/restart command's wait ends.
  bool settled() const;
  // What a service `after` this one waits for: its `ready` check passed (running); with
  // ready = "started", as systemd's Type=exec, as soon as its program runs.
  bool ready_for_dependents() const;

 private:
  // One process group this service started: its main process and whatever it forked.
  struct Instance {
    pid_t pid = 0;   // the main process: the one started, or the one MAINPID named
    pid_t pgid = 0;  // the process group and session of the one started (its pid)
    bool main_alive = false;
    bool group_alive = false;  // a process of the group (or cgroup) may remain
    bool stop_sent = false;    // stop_signal went to it
    bool kill_sent = false;    // stop_timeout passed and KILL went to its group
    bool exec_ok = false;      // its program runs (exec succeeded)
    TimePoint spawned_at{};
    bool alive() const { return main_alive || group_alive; }
  };
  enum class Target { as_configured, group };  // stop_mode's choice, or the whole group

  void launch(const std::string& why = "");
  void begin_stop(const std::string& why);
  void settle();
  void quick_failure(const std::string& why);
  void enter(State next, const std::string& reason);
  Duration next_backoff() const;
  bool restart_allowed(const ExitStatus& status) const;
  // stop_signal (then SIGCONT: a stopped process cannot act on it) to the main pid when
  // stop_mode = "main" and it lives, else to the whole group.
  void send_stop(Instance& instance, Target target);
  void send_kill(Instance& instance);

  // Start-new-first restart (service_swap.cc).
  void begin_swap();
  void stop_old(const std::string& why);
  void on_old_exit(const ExitStatus& status, bool group_empty);
  void on_old_timer();
  void old_gone();
  void abandon_swap(const std::string& why);

  ServiceConfig config_;
  ServiceHost& host_;

  State state_ = State::stopped;
  bool want_up_ = false;
  TimePoint since_{};
  std::string reason_;     // why we are in state_ (fatal reason, failure text)
  std::string last_exit_;  // how the last process ended

  Instance current_;
  std::optional<Instance> old_;  // the instance a start-new-first restart replaces
  // The current process's end is one the operator asked for (stop, restart, or a start
  // while it was stopping), so it is not a failure and is not followed by a backoff.
  bool exit_requested_ = false;
  bool was_running_ = false;  // the process reached `running` before it ended
  bool launched_before_ = false;
  std::optional<std::string> ready_failed_;   // why the readiness check gave up
  std::optional<ExitStatus> exit_;            // of the process being settled
  std::optional<SpawnFailure> exec_failure_;  // ditto, when exec itself failed
  std::string restart_failure_;

  int quick_failures_ = 0;  // quick exits in a row
  int restarts_ = 0;        // launches after the first one
};

}  // namespace superd
