#include "supervisor/init_duties.h"

#include <signal.h>

#include <spdlog/spdlog.h>

#include "proc/sweep.h"

namespace superd {

InitDuties::InitDuties(uv_loop_t* loop, bool pid1, Duration budget, std::function<void()> finish)
    : loop_(loop), pid1_(pid1), budget_(budget), finish_(std::move(finish)) {}

UvHandle<uv_timer_t>& InitDuties::timer() {
  if (!timer_.initialized()) {
    uv_timer_init(loop_, timer_.get());
    timer_.mark_initialized();
    timer_->data = this;
  }
  return timer_;
}

void InitDuties::shutdown_begun() {
  if (phase_ != Phase::idle) return;
  phase_ = Phase::stopping;
  uv_update_time(loop_);
  uv_timer_start(
      timer().get(),
      [](uv_timer_t* t) {
        if (t->data) static_cast<InitDuties*>(t->data)->begin_sweep("shutdown_timeout passed");
      },
      static_cast<uint64_t>(budget_.count()), 0);
}

void InitDuties::services_stopped() {
  if (phase_ == Phase::idle || phase_ == Phase::stopping) begin_sweep("every service is down");
}

void InitDuties::begin_sweep(const char* why) {
  if (phase_ != Phase::idle && phase_ != Phase::stopping) return;
  phase_ = Phase::terminating;
  const int count = sweep(pid1_, SIGTERM);
  if (count == 0) return done();
  spdlog::info("{}: sent TERM to {} process{} left", why, count, count == 1 ? "" : "es");
  sweep(pid1_, SIGCONT);
  uv_update_time(loop_);
  uv_timer_start(
      timer().get(),
      [](uv_timer_t* t) {
        if (t->data) static_cast<InitDuties*>(t->data)->kill_sweep();
      },
      static_cast<uint64_t>(kGrace.count()), 0);
}

void InitDuties::kill_sweep() {
  if (phase_ != Phase::terminating) return;
  phase_ = Phase::killing;
  const int count = sweep(pid1_, SIGKILL);
  if (count > 0) {
    spdlog::warn("{} process{} ignored TERM for {}: sent KILL", count, count == 1 ? "" : "es",
                 format_duration(kGrace));
  }
  // KILL cannot be refused; a process in uninterruptible sleep is the kernel's. Wait a
  // moment for the reaping, then go: as PID 1 superd's exit ends the namespace.
  uv_timer_start(
      timer().get(),
      [](uv_timer_t* t) {
        if (t->data) static_cast<InitDuties*>(t->data)->done();
      },
      count > 0 ? 500 : 0, 0);
}

void InitDuties::reaped() {
  if (phase_ != Phase::terminating && phase_ != Phase::killing) return;
  if (sweep_targets(pid1_).empty()) done();
}

void InitDuties::done() {
  if (phase_ == Phase::done) return;
  phase_ = Phase::done;
  timer_.reset();
  finish_();
}

}  // namespace superd
