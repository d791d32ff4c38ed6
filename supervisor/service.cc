#include "supervisor/service.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>

#include "base/values.h"

namespace superd {

const char* state_name(State s) {
  switch (s) {
    case State::stopped: return "stopped";
    case State::starting: return "starting";
    case State::running: return "running";
    case State::stopping: return "stopping";
    case State::backoff: return "backoff";
    case State::fatal: return "fatal";
    case State::exited: return "exited";
  }
  return "unknown";
}

Service::Service(ServiceConfig config, ServiceHost& host)
    : config_(std::move(config)), host_(host), since_(host.now()) {}

bool Service::can_swap() const {
  return !config_.listen.empty() && config_.ready.kind != Check::Kind::started;
}

bool Service::settled() const {
  if (old_) return false;  // a restart is not over until the old instance is gone
  switch (state_) {
    case State::running:
    case State::stopped:
    case State::fatal:
    case State::exited:
      return true;
    case State::starting:
    case State::stopping:
    case State::backoff:
      return false;
  }
  return true;
}

// ---- commands ------------------------------------------------------------------

void Service::start() {
  want_up_ = true;
  switch (state_) {
    case State::stopped:
    case State::exited:
    case State::fatal:
    case State::backoff:  // an operator asking now deserves a try now
      quick_failures_ = 0;
      launch();
      break;
    case State::starting:
    case State::running:
      break;
    case State::stopping:
      // settle() launches once the old process is gone, because it is wanted up. A
      // spontaneous exit being drained must not then wait out a backoff.
      stop_sent_ = true;
      break;
  }
}

void Service::stop() {
  want_up_ = false;
  if (old_) stop_old("stop requested");
  switch (state_) {
    case State::starting:
    case State::running:
      begin_stop("stop requested");
      break;
    case State::backoff:
      host_.cancel_timer(*this);
      enter(State::stopped, "stop requested during backoff");
      break;
    case State::fatal:
    case State::exited:
      enter(State::stopped, "stop requested");
      break;
    case State::stopping:
    case State::stopped:
      break;
  }
}

void Service::restart() {
  want_up_ = true;
  if (old_) return;  // a start-new-first restart is already under way
  restart_failure_.clear();
  switch (state_) {
    case State::running:
      if (can_swap()) return begin_swap();
      begin_stop("restart requested");
      break;
    case State::starting:
      begin_stop("restart requested");
      break;
    case State::stopping:
      stop_sent_ = true;  // launch at once when the old process is gone
      break;
    case State::backoff:
    case State::stopped:
    case State::exited:
    case State::fatal:
      host_.cancel_timer(*this);
      quick_failures_ = 0;
      launch();
      break;
  }
}

// ---- events --------------------------------------------------------------------

void Service::on_exit(pid_t pid, const ExitStatus& status, bool group_empty,
                      const std::optional<SpawnFailure>& exec_failure) {
  if (old_ && old_->main_alive && pid == old_->pid) return on_old_exit(status, group_empty);
  if (!main_alive_ || pid != pid_) return;  // not ours; the host should not have called
  main_alive_ = false;
  group_alive_ = !group_empty;
  exit_ = status;
  exec_failure_ = exec_failure;
  last_exit_ = exec_failure ? exec_failure->reason : status.describe();
  if (state_ == State::starting) host_.end_ready_check(*this);

  switch (state_) {
    case State::starting:
    case State::running:
      was_running_ = state_ == State::running;
      if (!group_alive_) return settle();
      // Whatever the main process left in its group is stopped the same way a stop
      // would, before anything starts again.
      host_.cancel_timer(*this);
      enter(State::stopping, "main process " + last_exit_ + "; stopping the rest of its group");
      host_.signal_group(pid_, config_.stop_signal);
      host_.signal_group(pid_, SIGCONT);
      host_.arm_timer(*this, config_.stop_timeout);
      break;
    case State::stopping:
      if (!group_alive_) return settle();
      // With stop_mode = main only the main pid was signalled (Celery's warm shutdown);
      // now that it is gone, its leftovers get the stop signal too. The stop_timeout
      // deadline already armed still bounds the whole stop.
      if (config_.stop_mode == StopMode::main && !kill_sent_) {
        host_.signal_group(pid_, config_.stop_signal);
        host_.signal_group(pid_, SIGCONT);
      }
      break;
    case State::stopped:
    case State::backoff:
    case State::fatal:
    case State::exited:
      break;  // unreachable: no process is alive in these states
  }
}

void Service::on_group_empty(pid_t pgid) {
  if (old_ && !old_->main_alive && old_->group_alive && pgid == old_->pid) {
    old_->group_alive = false;
    return old_gone();
  }
  if (!group_alive_ || main_alive_ || pgid != pid_) return;
  group_alive_ = false;
  if (!main_alive_ && state_ == State::stopping) settle();
}

void Service::on_timer() {
  switch (state_) {
    case State::starting:
      if (config_.ready.kind == Check::Kind::started) {
        quick_failures_ = 0;
        enter(State::running, "up for " + format_duration(config_.start_seconds));
      } else {
        on_ready_failed("not ready after " + format_duration(config_.ready.timeout));
      }
      break;
    case State::backoff:
      launch();
      break;
    case State::stopping:
      if (!kill_sent_ && (main_alive_ || group_alive_)) {
        kill_sent_ = true;
        reason_ = "stop_timeout (" + format_duration(config_.stop_timeout) +
                  ") passed; sent KILL to the process group";
        host_.signal_group(pid_, SIGKILL);
        host_.state_changed(*this, state_, reason_);
      }
      break;
    case State::running:
    case State::stopped:
    case State::fatal:
    case State::exited:
      break;  // a stale timer: nothing is timed in these states
  }
}

void Service::on_ready() {
  if (state_ != State::starting) return;
  host_.end_ready_check(*this);
  host_.cancel_timer(*this);
  quick_failures_ = 0;
  enter(State::running, "ready");
  if (old_) stop_old("new instance pid " + std::to_string(pid_) + " is ready");
}

void Service::on_ready_failed(const std::string& reason) {
  if (state_ != State::starting) return;
  ready_failed_ = reason;
  begin_stop("start failed: " + reason);
}

// ---- transitions ---------------------------------------------------------------

void Service::launch(const std::string& why) {
  host_.cancel_timer(*this);
  exit_.reset();
  exec_failure_.reset();
  ready_failed_.reset();
  stop_sent_ = kill_sent_ = was_running_ = false;
  if (launched_before_) ++restarts_;
  launched_before_ = true;

  SpawnResult result = host_.spawn(*this);
  if (result.failure) {
    if (old_ && old_->main_alive) return abandon_swap(result.failure->reason);
    last_exit_ = result.failure->reason;
    if (result.failure->transient) return quick_failure(result.failure->reason);
    return enter(State::fatal, result.failure->reason);
  }
  pid_ = result.pid;
  main_alive_ = group_alive_ = true;
  spawned_at_ = host_.now();
  enter(State::starting, (why.empty() ? "" : why + "; ") + "started pid " + std::to_string(pid_));
  if (config_.ready.kind == Check::Kind::started) {
    if (config_.start_seconds.count() == 0) {
      enter(State::running, "started (start_seconds = 0)");
    } else {
      host_.arm_timer(*this, config_.start_seconds);
    }
  } else {
    host_.begin_ready_check(*this);
    host_.arm_timer(*this, config_.ready.timeout);
  }
}

void Service::begin_stop(const std::string& why) {
  if (state_ == State::starting) host_.end_ready_check(*this);
  host_.cancel_timer(*this);
  stop_sent_ = true;
  enter(State::stopping, why);
  if (config_.stop_mode == StopMode::main) {
    host_.signal_process(pid_, config_.stop_signal);
    host_.signal_process(pid_, SIGCONT);  // a stopped process cannot act on the signal
  } else {
    host_.signal_group(pid_, config_.stop_signal);
    host_.signal_group(pid_, SIGCONT);
  }
  host_.arm_timer(*this, config_.stop_timeout);
}

// The process and its whole group are gone: decide what comes next from what is wanted
// and how it ended.
void Service::settle() {
  host_.cancel_timer(*this);
  const bool requested = stop_sent_ && !ready_failed_;
  const ExitStatus status = exit_.value_or(ExitStatus{});

  if (old_) {
    if (want_up_ && old_->main_alive) {
      // The new instance of a start-new-first restart failed: the old one keeps serving.
      return abandon_swap("new instance " + (ready_failed_ ? *ready_failed_ : last_exit_));
    }
    if (!want_up_) {  // stopped during the swap: done once the old instance is gone too
      return enter(State::stopping, "waiting for the old instance pid " +
                                        std::to_string(old_->pid) + " to end");
    }
  }

  if (!want_up_) {
    return enter(State::stopped, requested ? "stopped (" + last_exit_ + ")" : last_exit_);
  }
  if (exec_failure_ && !exec_failure_->transient) {
    return enter(State::fatal, exec_failure_->reason);
  }
  if (requested) {  // restart, or start while stopping
    quick_failures_ = 0;
    return launch("previous process " + last_exit_);
  }
  if (ready_failed_) return quick_failure(*ready_failed_);
  if (exec_failure_) return quick_failure(exec_failure_->reason);
  if (!restart_allowed(status)) {
    if (status.clean()) return enter(State::exited, last_exit_);
    return enter(State::fatal, last_exit_ + " (restart = never)");
  }
  // Reaching running through start_seconds proves the run was long enough; a ready
  // check may pass sooner, and a death soon after that is still a failed start.
  const bool quick = !was_running_ || (config_.ready.kind != Check::Kind::started &&
                                       host_.now() - spawned_at_ < config_.start_seconds);
  if (quick) return quick_failure(last_exit_);
  launch(last_exit_);
}

void Service::quick_failure(const std::string& why) {
  ++quick_failures_;
  if (quick_failures_ >= config_.start_retries) {
    return enter(State::fatal, why + "; " + std::to_string(quick_failures_) +
                                   " quick failures in a row, giving up");
  }
  const Duration delay = next_backoff();
  enter(State::backoff, why + "; retrying in " + format_duration(delay));
  host_.arm_timer(*this, delay);
}

Duration Service::next_backoff() const {
  Duration delay = config_.backoff_initial;
  for (int i = 1; i < quick_failures_ && delay < config_.backoff_max; ++i) delay *= 2;
  return std::min(delay, config_.backoff_max);
}

bool Service::restart_allowed(const ExitStatus& status) const {
  switch (config_.restart) {
    case RestartPolicy::always: return true;
    case RestartPolicy::on_failure: return !status.clean();
    case RestartPolicy::never: return false;
  }
  return false;
}

void Service::enter(State next, const std::string& reason) {
  const State from = state_;
  state_ = next;
  since_ = host_.now();
  reason_ = reason;
  host_.state_changed(*this, from, reason);
}

}  // namespace superd

namespace superd {

// ---- start-new-first restart -----------------------------------------------------

void Service::begin_swap() {
  const pid_t old_pid = pid_;
  old_ = OldInstance{pid_, main_alive_, group_alive_};
  main_alive_ = group_alive_ = false;
  host_.cancel_timer(*this);
  launch("restart: starting a new instance beside pid " + std::to_string(old_pid));
}

void Service::stop_old(const std::string& why) {
  if (!old_ || old_->stop_sent) return;
  old_->stop_sent = true;
  if (old_->main_alive) {
    if (config_.stop_mode == StopMode::main) {
      host_.signal_process(old_->pid, config_.stop_signal);
      host_.signal_process(old_->pid, SIGCONT);
    } else {
      host_.signal_group(old_->pid, config_.stop_signal);
      host_.signal_group(old_->pid, SIGCONT);
    }
  } else {
    host_.signal_group(old_->pid, config_.stop_signal);
    host_.signal_group(old_->pid, SIGCONT);
  }
  host_.arm_old_timer(*this, config_.stop_timeout);
  host_.state_changed(*this, state_, "stopping the old instance pid " +
                                         std::to_string(old_->pid) + ": " + why);
}

void Service::on_old_timer() {
  if (!old_ || old_->kill_sent) return;
  old_->kill_sent = true;
  host_.signal_group(old_->pid, SIGKILL);
  host_.state_changed(*this, state_, "old instance pid " + std::to_string(old_->pid) +
                                         ": stop_timeout passed; sent KILL to its group");
}

void Service::on_old_exit(const ExitStatus& status, bool group_empty) {
  old_->main_alive = false;
  old_->group_alive = !group_empty;
  if (!old_->group_alive) return old_gone();
  if (!old_->kill_sent) {
    host_.signal_group(old_->pid, config_.stop_signal);
    host_.signal_group(old_->pid, SIGCONT);
  }
  if (!old_->stop_sent) {  // it died on its own during the swap
    old_->stop_sent = true;
    host_.arm_old_timer(*this, config_.stop_timeout);
  }
  host_.state_changed(*this, state_, "old instance pid " + std::to_string(old_->pid) + " " +
                                         status.describe() + "; stopping the rest of its group");
}

void Service::old_gone() {
  host_.cancel_old_timer(*this);
  const pid_t pid = old_->pid;
  old_.reset();
  if (state_ == State::stopping && !main_alive_ && !group_alive_) return settle();
  host_.state_changed(*this, state_, "old instance pid " + std::to_string(pid) + " is gone");
}

// The new instance could not take over; the old one, still alive, is current again.
void Service::abandon_swap(const std::string& why) {
  host_.cancel_timer(*this);
  host_.cancel_old_timer(*this);
  pid_ = old_->pid;
  main_alive_ = old_->main_alive;
  group_alive_ = old_->group_alive;
  const bool old_stopping = old_->stop_sent;
  old_.reset();
  stop_sent_ = kill_sent_ = false;
  was_running_ = true;
  exit_.reset();
  exec_failure_.reset();
  ready_failed_.reset();
  restart_failure_ = why;
  enter(State::running, "restart failed: " + why + "; pid " + std::to_string(pid_) +
                            " keeps serving");
  if (old_stopping) begin_stop("it was already being stopped");
}

}  // namespace superd
