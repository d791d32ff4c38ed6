// Runs a `tcp`, `http` or `exec` check every `interval` and reports each attempt's
// result: readiness ends at the first success, liveness counts failures in a row.
// (`notify` and `log` need no polling: the daemon wires them to their event sources.)
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/uv_handle.h"
#include "supervisor/config.h"
#include "supervisor/net_probe.h"

namespace superd {

class CheckRunner : public std::enable_shared_from_this<CheckRunner> {
 public:
  // Runs argv as the service would run it; calls done once with exit 0 or not.
  using ExecLauncher = std::function<void(const std::vector<std::string>& argv, Duration timeout,
                                          ProbeDone done)>;
  using ResultFn = std::function<void(bool ok, const std::string& detail)>;

  CheckRunner(uv_loop_t* loop, Check check, ExecLauncher exec, ResultFn on_result);
  ~CheckRunner();
  void start(bool probe_now);
  void stop();

 private:
  void attempt();

  uv_loop_t* loop_;
  Check check_;
  ExecLauncher exec_;
  ResultFn on_result_;
  UvHandle<uv_timer_t> timer_;
  std::shared_ptr<NetProbe> probe_;
  bool in_flight_ = false;
  bool running_ = false;
};

}  // namespace superd
