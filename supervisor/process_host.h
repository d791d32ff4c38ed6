// The services' host over real processes and libuv: a Slot per service definition
// (timers, capture pipes, held sockets), fork/exec through proc/, signals, libuv timers,
// and reaping dispatched back to the state machines. It also keeps running.json, the
// record a later superd uses to find what a killed one left behind.
//
// The supervisor (supervisor.h) decides what to do; this file only does it.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "proc/reaper.h"
#include "supervisor/fd_store.h"
#include "supervisor/config.h"
#include "supervisor/log_outputs.h"
#include "supervisor/readiness.h"
#include "supervisor/reexec_state.h"
#include "supervisor/run_records.h"
#include "supervisor/slot.h"
#include "supervisor/supervisor.h"

namespace superd {

class ProcessHost : public SupervisorHost {
 public:
  struct Events {
    std::function<void()> changed;                      // after every transition
    std::function<void()> all_stopped;                  // shutdown is complete
    std::function<void(const std::string&)> retiring;   // a definition is going away
    std::function<void(const std::string&)> outputs_replaced;  // its log pipes changed
    std::function<void(Service&)> critical_failed;  // a `critical` service went fatal
    std::function<void()> reaped;                   // a batch of children was reaped
  };
  ProcessHost(uv_loop_t* loop, const SupervisorConfig& settings, Events events);
  ~ProcessHost() override;

  // Become the subreaper and start reaping; false with *error. A re-exec reaps only
  // once the services are restored (reap_now()).
  bool start(std::string* error, bool reap_at_once = true);
  void set_supervisor(Supervisor* supervisor) { supervisor_ = supervisor; }
  // Before the first attach: services then run in cgroups (null or unused: groups).
  void set_cgroups(Cgroups* cgroups) { cgroups_ = cgroups; }
  const Cgroups* cgroups() const { return cgroups_; }
  // Before the first attach: the consoles and the journal of non-file outputs.
  void set_log_outputs(LogOutputs* outputs) { log_outputs_ = outputs; }
  // Every log file closed and opened again by path (reopen-logs, SIGUSR1); how many.
  size_t reopen_logs();
  // A log sink of the service's writes the file at `path`, checked with `trust`, and its
  // last open did not fail (reload-config need not check it again: the sink checks the
  // path at every open).
  bool writes_log(const Service& service, const std::string& path, const PathTrust& trust) const;

  Slot* slot(const Service& service) const;
  uv_loop_t* loop() const { return loop_; }
  // The running record on disk now, if a change waits for the loop (records_changed):
  // before a reply names a pid, so that a crash right after it cannot lose the pid.
  void flush_records() {
    if (records_dirty_) save_records();
  }
  // Who besides root may have made the directories superd opens ([supervisor]
  // allow_group_writable); reload-config may change it.
  const PathTrust& path_trust() const { return trust_; }
  void set_path_trust(PathTrust trust);
  // The checked state_dir, once the daemon has opened it (running.json goes there).
  void set_state_dir(const SafeDir* dir) { state_dir_ = dir; }
  // Close every handle of every slot (shutdown), once nothing runs. May run inside the
  // reaper's own callback, so the reaper stays (unreferenced) until release().
  void close_all();
  // Free what close_all() had to keep: call from outside any callback, before the
  // loop's last run.
  void release();

  // Re-exec (process_host_reexec.cc). The old superd: whether something is in flight
  // that a state cannot carry (*why says what); every output pipe stops being read and
  // its sink finishes what it holds; each service's part of the state. The new one,
  // before the supervisor loads: the previous superd's state, whose pipes and sockets
  // attach() takes over; then restore() of each service that was saved.
  bool reexec_busy(std::string* why) const;
  void quiesce_outputs();
  void resume_outputs();
  bool outputs_idle() const;
  SavedService save(const Service& service) const;
  void set_inherited(const SavedState* state) { inherited_ = state; }
  // After a crash under systemd: `listen` sockets the fd store gave back for services it
  // did not adopt (adoption.h); each service's first open_listeners() takes its own.
  void set_handed_listeners(std::map<std::string, std::vector<int>> fds) { handed_listeners_ = std::move(fds); }
  void restore(Service& service, const SavedService& saved);
  // After the first reap of the new superd: a restored main process that is neither
  // running nor was reaped (it is not this superd's child any more) has ended, with an
  // exit status nobody can know. Then running.json is written, once for all of them.
  void check_restored();
  // A helper process of superd's own (not a service's): `done` gets its wait status
  // when it is reaped.
  void watch_child(pid_t pid, std::function<void(int wstatus)> done) { helpers_[pid] = std::move(done); }
  void reap_now() {
    if (reaper_) reaper_->reap_now();
  }

  // SupervisorHost.
  TimePoint now() override;
  SpawnResult spawn(Service& service) override;
  void signal_process(pid_t pid, int signo) override;
  void signal_group(pid_t pgid, int signo) override;
  void arm_timer(Service& service, Timer which, Duration after) override;
  void cancel_timer(Service& service, Timer which) override;
  void state_changed(Service& service, State from, const std::string& reason) override;
  void begin_ready_check(Service& service) override;
  void end_ready_check(Service& service) override;
  void attach(Service& service) override;
  void reconfigure(Service& service, const ServiceConfig& before) override;
  void retiring(Service& service) override;
  void detach(Service& service) override;
  void changed() override;
  void all_stopped() override;

 private:
  // The capture pipes and their targets (process_outputs.cc).
  bool open_outputs(Slot& slot, std::string* error);
  std::optional<OutputTarget> target_of(const ServiceConfig& c, bool is_stderr, std::string* error);
  static bool outputs_differ(const ServiceConfig& a, const ServiceConfig& b);
  void set_writer_pid(Slot& slot, pid_t pid);
  bool fresh_pipes(Slot& slot, std::string* error);
  void open_listeners(Slot& slot);
  void watch_exec(Slot& slot);
  // spawn()'s steps (process_host_spawn.cc): what the child writes to and listens on,
  // checked before anything starts; and the child's records once it exists.
  std::optional<SpawnFailure> prepare_io(Slot& slot, const Service& service);
  void adopt_child(Slot& slot, const Service& service, Spawned& child);
  void on_reaped(const Reaper::Ended& ended);
  void end_main(Slot& slot, pid_t pid, const ExitStatus& status, std::string cause = "");
  // MAINPID= (process_host_mainpid.cc): `main` becomes the service's main process when it
  // is one of the service's; a main that is not superd's child is watched by pidfd.
  void hand_over_main(Slot& slot, pid_t sender, pid_t main);
  bool belongs_to(Slot& slot, pid_t pid);
  void watch_main(Slot& slot, pid_t pid, UniqueFd pidfd);
  void main_watch_fired(Slot& slot, pid_t pid);
  void check_groups();
  void arm_recheck();  // check_groups() again in 100 ms (adopted groups without a cgroup)
  // No process of `owner`'s instance is left: its cgroup, or its process group.
  bool gone(Slot& slot, pid_t owner);
  void on_cgroup_empty(Slot& slot, pid_t owner);
  void release_leaves(Slot& slot);
  // running_ changed: written once, before the loop next waits (a boot of thousands of
  // services rewrote the whole file at each spawn: quadratic). save_records() writes now.
  void records_changed();
  void save_records();
  const SavedService* inherited(const std::string& name) const;
  void adopt_io(Slot& slot, const SavedService& saved);
  // What the slot holds, in systemd's fd store when there is one (fd_store.h).
  void store_fds(const Slot& slot);

  uv_loop_t* loop_;
  SupervisorConfig settings_;
  Events events_;
  Supervisor* supervisor_ = nullptr;
  Cgroups* cgroups_ = nullptr;
  LogOutputs* log_outputs_ = nullptr;
  std::unique_ptr<Reaper> reaper_;
  Readiness readiness_;
  std::unordered_map<const Service*, std::unique_ptr<Slot>> slots_;
  std::unordered_map<pid_t, Slot*> by_pid_;  // main processes not yet reaped
  std::map<pid_t, RunningRecord> running_;   // running.json, by the instance's process group
  PathTrust trust_;
  const SafeDir* state_dir_ = nullptr;
  const SavedState* inherited_ = nullptr;  // re-exec, until the supervisor has loaded
  std::unordered_map<pid_t, std::function<void(int)>> helpers_;  // watch_child()
  FdStore fd_store_;
  UvHandle<uv_timer_t> recheck_timer_;
  UvHandle<uv_prepare_t> records_prepare_;  // records_changed(): the write before the wait
  bool records_dirty_ = false;
  std::map<std::string, std::vector<int>> handed_listeners_;
};

}  // namespace superd
