#include "supervisor/service.h"

#include <signal.h>

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

bool Service::ready_for_dependents() const {
  if (state_ == State::running) return true;
  return state_ == State::starting && config_.ready.kind == Check::Kind::started &&
         current_.main_alive && current_.exec_ok;
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
      exit_requested_ = true;
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
      host_.cancel_timer(*this, Timer::current);
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
      exit_requested_ = true;  // launch at once when the old process is gone
      break;
    case State::backoff:
    case State::stopped:
    case State::exited:
    case State::fatal:
      host_.cancel_timer(*this, Timer::current);
      quick_failures_ = 0;
      launch();
      break;
  }
}

// ---- events --------------------------------------------------------------------

void Service::on_exit(pid_t pid, const ExitStatus& status, bool group_empty,
                      const std::optional<SpawnFailure>& exec_failure, const std::string& cause) {
  if (old_ && old_->main_alive && pid == old_->pid) return on_old_exit(status, group_empty);
  if (!current_.main_alive || pid != current_.pid) return;  // not ours
  current_.main_alive = false;
  current_.group_alive = !group_empty;
  exit_ = status;
  exec_failure_ = exec_failure;
  last_exit_ = exec_failure ? exec_failure->reason : !cause.empty() ? cause : status.describe();
  if (state_ == State::starting) host_.end_ready_check(*this);

  switch (state_) {
    case State::starting:
    case State::running:
      was_running_ = state_ == State::running;
      if (!current_.group_alive) return settle();
      // Whatever the main process left in its group is stopped the same way a stop
      // would, before anything starts again.
      host_.cancel_timer(*this, Timer::current);
      enter(State::stopping, "main process " + last_exit_ + "; stopping the rest of its group");
      send_stop(current_, Target::group);
      host_.arm_timer(*this, Timer::current, config_.stop_timeout);
      break;
    case State::stopping:
      if (!current_.group_alive) return settle();
      // With stop_mode = main only the main pid was signalled (Celery's warm shutdown);
      // now that it is gone, its leftovers get the stop signal too. The stop_timeout
      // deadline already armed still bounds the whole stop.
      if (config_.stop_mode == StopMode::main && !current_.kill_sent) {
        send_stop(current_, Target::group);
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
  if (old_ && !old_->main_alive && old_->group_alive && pgid == old_->pgid) {
    old_->group_alive = false;
    return old_gone();
  }
  if (!current_.group_alive || current_.main_alive || pgid != current_.pgid) return;
  current_.group_alive = false;
  if (state_ == State::stopping) settle();
}

void Service::on_timer(Timer which) {
  if (which == Timer::old) return on_old_timer();
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
      if (!current_.kill_sent && current_.alive()) {
        send_kill(current_);
        reason_ = "stop_timeout (" + format_duration(config_.stop_timeout) +
                  ") passed; sent KILL to the process group";
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
  host_.cancel_timer(*this, Timer::current);
  quick_failures_ = 0;
  enter(State::running, "ready");
  if (old_) stop_old("new instance pid " + std::to_string(current_.pid) + " is ready");
}

void Service::on_exec_succeeded(pid_t pid) {
  if (!current_.main_alive || pid != current_.pid || current_.exec_ok) return;
  current_.exec_ok = true;
  host_.progressed(*this);
}

bool Service::on_main_pid(pid_t pid) {
  if (!current_.main_alive || pid <= 0 || (state_ != State::starting && state_ != State::running)) return false;
  current_.pid = pid;
  return true;
}

void Service::on_ready_failed(const std::string& reason) {
  if (state_ != State::starting) return;
  ready_failed_ = reason;
  begin_stop("start failed: " + reason);
}

// ---- transitions ---------------------------------------------------------------

void Service::send_stop(Instance& instance, Target target) {
  instance.stop_sent = true;
  if (target == Target::as_configured && config_.stop_mode == StopMode::main &&
      instance.main_alive) {
    host_.signal_process(instance.pid, config_.stop_signal);
    host_.signal_process(instance.pid, SIGCONT);
  } else {
    host_.signal_group(instance.pgid, config_.stop_signal);
    host_.signal_group(instance.pgid, SIGCONT);
  }
}

void Service::send_kill(Instance& instance) {
  instance.kill_sent = true;
  host_.signal_group(instance.pgid, SIGKILL);
}

void Service::launch(const std::string& why) {
  host_.cancel_timer(*this, Timer::current);
  exit_.reset();
  exec_failure_.reset();
  ready_failed_.reset();
  exit_requested_ = was_running_ = false;
  if (launched_before_) ++restarts_;
  launched_before_ = true;

  SpawnResult result = host_.spawn(*this);
  if (result.failure) {
    if (old_ && old_->main_alive) return abandon_swap(result.failure->reason);
    last_exit_ = result.failure->reason;
    if (result.failure->transient) return quick_failure(result.failure->reason);
    return enter(State::fatal, result.failure->reason);
  }
  current_ = Instance{.pid = result.pid,
                      .pgid = result.pid,
                      .main_alive = true,
                      .group_alive = true,
                      .spawned_at = host_.now()};
  enter(State::starting,
        (why.empty() ? "" : why + "; ") + "started pid " + std::to_string(current_.pid));
  if (config_.ready.kind == Check::Kind::started) {
    if (config_.start_seconds.count() == 0) {
      enter(State::running, "started (start_seconds = 0)");
    } else {
      host_.arm_timer(*this, Timer::current, config_.start_seconds);
    }
  } else {
    host_.begin_ready_check(*this);
    host_.arm_timer(*this, Timer::current, config_.ready.timeout);
  }
}

void Service::begin_stop(const std::string& why) {
  if (state_ == State::starting) host_.end_ready_check(*this);
  host_.cancel_timer(*this, Timer::current);
  exit_requested_ = true;
  enter(State::stopping, why);
  send_stop(current_, Target::as_configured);
  host_.arm_timer(*this, Timer::current, config_.stop_timeout);
}

// The process and its whole group are gone: decide what comes next from what is wanted
// and how it ended.
void Service::settle() {
  host_.cancel_timer(*this, Timer::current);
  const bool requested = exit_requested_ && !ready_failed_;
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
  const bool quick =
      !was_running_ || (config_.ready.kind != Check::Kind::started &&
                        host_.now() - current_.spawned_at < config_.start_seconds);
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
  host_.arm_timer(*this, Timer::current, delay);
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
