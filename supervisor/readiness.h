// Readiness and liveness wired to the state machine: the notify socket (READY=1,
// STATUS=, MAINPID= from the service's own processes only), `log` lines matched as they
// are captured, and `tcp`/`http`/`exec` checks run by a CheckRunner (an `exec` check is a
// process of its own, run as the service runs, reaped like any other).
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/safe_path.h"
#include "base/uv_handle.h"
#include "supervisor/net_probe.h"
#include "supervisor/slot.h"

namespace superd {

class Readiness {
 public:
  explicit Readiness(uv_loop_t* loop) : loop_(loop) {}
  // Where notify sockets are made (beside the control socket), and who besides root may
  // have made the directories on the way (allow_group_writable).
  void set_notify_dir(std::string dir) { notify_dir_ = std::move(dir); }
  void set_path_trust(PathTrust trust) { trust_ = std::move(trust); }
  // Who acts on `MAINPID=N` from a process of the slot's service (the process host).
  using MainPidFn = std::function<void(Slot& slot, pid_t sender, pid_t main)>;
  void on_main_pid(MainPidFn fn) { main_pid_ = std::move(fn); }

  // The slot's notify socket when its service has `ready = "notify"` (opened once),
  // none otherwise.
  void open_notify(Slot& slot, UniqueFd inherited = {});
  void begin(Slot& slot);  // the service is starting: watch for its readiness
  void end(Slot& slot);    // it is ready, failed, or stopping: stop watching
  void start_health(Slot& slot);
  void stop_health(Slot& slot);

  // The completion of a running `exec` check, when `pid` is one; the caller reaped it.
  std::optional<ProbeDone> take_probe(pid_t pid);
  void clear() { probes_.clear(); }

 private:
  void on_notify(Slot& slot, pid_t sender, const std::string& text);
  void watch_log(Slot& slot);
  void launch_exec_probe(Slot& slot, const std::vector<std::string>& argv, Duration timeout,
                         ProbeDone done);

  struct ExecProbe {
    ProbeDone done;
    std::unique_ptr<UvHandle<uv_timer_t>> deadline;
  };
  uv_loop_t* loop_;
  std::string notify_dir_;
  PathTrust trust_;
  std::unordered_map<pid_t, ExecProbe> probes_;  // running `exec` checks, by pid
  MainPidFn main_pid_;
};

}  // namespace superd
