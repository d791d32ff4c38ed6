// What superd does as a container's init (PID 1 of its PID namespace, or `--init` under
// another init such as tini) beyond supervising its services:
//
// - shutdown has one budget, [supervisor] shutdown_timeout, for the whole stack: the
//   services stop in reverse `after` order as usual, and when the budget runs out
//   whatever still runs is swept;
// - once the services are down (or the budget is gone), every process left (see
//   proc/sweep.h) gets TERM, and KILL a grace period later; superd exits once none is
//   left, or right after the KILL (as PID 1, its exit takes the namespace with it).
//
// Every orphan of the namespace is reaped anyway: the reaper waits for any child, and
// as PID 1 (or a child subreaper) every orphan becomes superd's child.
#pragma once

#include <uv.h>

#include <functional>

#include "base/uv_handle.h"
#include "base/values.h"

namespace superd {

class InitDuties {
 public:
  static constexpr Duration kGrace{2000};  // between the sweep's TERM and its KILL

  // `finish` ends the daemon (it is called once).
  InitDuties(uv_loop_t* loop, bool pid1, Duration budget, std::function<void()> finish);

  void shutdown_begun();    // the budget starts
  void services_stopped();  // every service is down: sweep what is left, then finish
  void reaped();            // something was reaped: a sweep may be over

 private:
  void begin_sweep(const char* why);
  void kill_sweep();
  void done();
  UvHandle<uv_timer_t>& timer();

  uv_loop_t* loop_;
  bool pid1_;
  Duration budget_;
  std::function<void()> finish_;
  UvHandle<uv_timer_t> timer_;
  enum class Phase { idle, stopping, terminating, killing, done } phase_ = Phase::idle;
};

}  // namespace superd
