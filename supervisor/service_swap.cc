// The start-new-first restart of a Service (service.h explains when it is used): the
// current instance becomes the old one, a new one starts beside it, and whichever way
// the new one ends (ready, failed, stopped) the old one is stopped or kept.
#include <string>

#include "supervisor/service.h"

namespace superd {

void Service::begin_swap() {
  const pid_t old_pid = current_.pid;
  old_ = current_;
  current_ = Instance{};
  host_.cancel_timer(*this, Timer::current);
  launch("restart: starting a new instance beside pid " + std::to_string(old_pid));
}

void Service::stop_old(const std::string& why) {
  if (!old_ || old_->stop_sent) return;
  send_stop(*old_, Target::as_configured);
  host_.arm_timer(*this, Timer::old, config_.stop_timeout);
  host_.state_changed(*this, state_, "stopping the old instance pid " +
                                         std::to_string(old_->pid) + ": " + why);
}

void Service::on_old_timer() {
  if (!old_ || old_->kill_sent) return;
  send_kill(*old_);
  host_.state_changed(*this, state_, "old instance pid " + std::to_string(old_->pid) +
                                         ": stop_timeout passed; sent KILL to its group");
}

void Service::on_old_exit(const ExitStatus& status, bool group_empty) {
  old_->main_alive = false;
  old_->group_alive = !group_empty;
  if (!old_->group_alive) return old_gone();
  const bool stopping_already = old_->stop_sent;
  if (!old_->kill_sent) send_stop(*old_, Target::group);
  if (!stopping_already) {  // it died on its own during the swap
    host_.arm_timer(*this, Timer::old, config_.stop_timeout);
  }
  host_.state_changed(*this, state_, "old instance pid " + std::to_string(old_->pid) + " " +
                                         status.describe() + "; stopping the rest of its group");
}

void Service::old_gone() {
  host_.cancel_timer(*this, Timer::old);
  const pid_t pid = old_->pid;
  old_.reset();
  if (state_ == State::stopping && !current_.alive()) return settle();
  host_.state_changed(*this, state_, "old instance pid " + std::to_string(pid) + " is gone");
}

// The new instance could not take over; the old one, still alive, is current again.
void Service::abandon_swap(const std::string& why) {
  host_.cancel_timer(*this, Timer::current);
  host_.cancel_timer(*this, Timer::old);
  const bool old_stopping = old_->stop_sent;
  current_ = *old_;
  current_.stop_sent = current_.kill_sent = false;
  old_.reset();
  exit_requested_ = false;
  was_running_ = true;
  exit_.reset();
  exec_failure_.reset();
  ready_failed_.reset();
  restart_failure_ = why;
  enter(State::running, "restart failed: " + why + "; pid " + std::to_string(current_.pid) +
                            " keeps serving");
  if (old_stopping) begin_stop("it was already being stopped");
}

}  // namespace superd
