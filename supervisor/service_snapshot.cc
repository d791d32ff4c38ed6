// Service::snapshot() and restore(): the machine written down for a re-exec and taken up
// again by the new superd (service.h, reexec_state.h).
#include "supervisor/service.h"

namespace superd {

ServiceSnapshot Service::snapshot() const {
  ServiceSnapshot s;
  s.state = state_;
  s.want_up = want_up_;
  s.since = since_;
  s.reason = reason_;
  s.last_exit = last_exit_;
  s.pid = current_.pid;
  s.pgid = current_.pgid;
  s.main_alive = current_.main_alive;
  s.group_alive = current_.group_alive;
  s.stop_sent = current_.stop_sent;
  s.kill_sent = current_.kill_sent;
  s.exec_ok = current_.exec_ok;
  s.spawned_at = current_.spawned_at;
  s.exit_requested = exit_requested_;
  s.was_running = was_running_;
  s.launched_before = launched_before_;
  s.ready_failed = ready_failed_;
  s.exit = exit_;
  s.restart_failure = restart_failure_;
  s.quick_failures = quick_failures_;
  s.restarts = restarts_;
  return s;
}

void Service::restore(const ServiceSnapshot& s) {
  state_ = s.state;
  want_up_ = s.want_up;
  since_ = s.since;
  reason_ = s.reason;
  last_exit_ = s.last_exit;
  current_ = Instance{};
  current_.pid = s.pid;
  current_.pgid = s.pgid != 0 ? s.pgid : s.pid;
  current_.main_alive = s.main_alive;
  current_.group_alive = s.group_alive;
  current_.stop_sent = s.stop_sent;
  current_.kill_sent = s.kill_sent;
  current_.exec_ok = s.exec_ok;
  current_.spawned_at = s.spawned_at;
  old_.reset();
  exit_requested_ = s.exit_requested;
  was_running_ = s.was_running;
  launched_before_ = s.launched_before;
  ready_failed_ = s.ready_failed;
  exit_ = s.exit;
  exec_failure_.reset();
  restart_failure_ = s.restart_failure;
  quick_failures_ = s.quick_failures;
  restarts_ = s.restarts;
}

}  // namespace superd
