#include "supervisor/check_runner.h"

namespace superd {

CheckRunner::CheckRunner(uv_loop_t* loop, Check check, ExecLauncher exec, ResultFn on_result)
    : loop_(loop), check_(std::move(check)), exec_(std::move(exec)), on_result_(std::move(on_result)) {
  uv_timer_init(loop_, timer_.get());
  timer_.mark_initialized();
  timer_->data = this;
}

CheckRunner::~CheckRunner() { stop(); }

void CheckRunner::start(bool probe_now) {
  running_ = true;
  const uint64_t interval = static_cast<uint64_t>(std::max<int64_t>(check_.interval.count(), 1));
  uv_timer_start(
      timer_.get(),
      [](uv_timer_t* t) {
        if (t->data) static_cast<CheckRunner*>(t->data)->attempt();
      },
      probe_now ? 0 : interval, interval);
}

void CheckRunner::stop() {
  running_ = false;
  if (timer_.initialized()) uv_timer_stop(timer_.get());
  probe_.reset();  // cancels a connect in flight; its callback never runs
  in_flight_ = false;
}

void CheckRunner::attempt() {
  if (in_flight_ || !running_) return;  // a slow probe is not stacked up
  in_flight_ = true;
  // One attempt may take at most an interval (and never more than the ready timeout).
  const Duration limit = std::min(check_.interval, check_.timeout);
  std::weak_ptr<CheckRunner> weak = weak_from_this();
  auto done = [weak](bool ok, const std::string& detail) {
    auto self = weak.lock();
    if (!self || !self->running_) return;
    self->in_flight_ = false;
    self->on_result_(ok, detail);
  };
  switch (check_.kind) {
    case Check::Kind::tcp:
      probe_ = start_net_probe(loop_, check_.tcp, limit, done);
      break;
    case Check::Kind::http:
      probe_ = start_net_probe(loop_, check_.http, limit, done);
      break;
    case Check::Kind::exec:
      exec_(check_.argv, limit, done);
      break;
    case Check::Kind::started:
    case Check::Kind::notify:
    case Check::Kind::log:
      in_flight_ = false;
      break;
  }
}

}  // namespace superd
