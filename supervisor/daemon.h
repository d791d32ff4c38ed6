// The daemon: one libuv loop that wires the supervisor (supervisor.h) to real processes
// (process_host.h), the control socket (ipc/, control.h), signals and systemd's notify
// socket. Nothing here polls: every wakeup is a signal, a timer, a pipe or a client.
#pragma once

#include <signal.h>
#include <uv.h>

#include <memory>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/uv_handle.h"
#include "ipc/server.h"
#include "supervisor/cgroups.h"
#include "supervisor/config.h"
#include "supervisor/control.h"
#include "supervisor/enable_store.h"
#include "supervisor/init_duties.h"
#include "supervisor/log_outputs.h"
#include "supervisor/process_host.h"
#include "supervisor/reexec_check.h"
#include "supervisor/reexec_state.h"
#include "supervisor/run_records.h"
#include "supervisor/scale_store.h"
#include "supervisor/supervisor.h"

namespace superd {

// The signals the daemon watches (TERM, INT, HUP, QUIT, USR1).
sigset_t handled_signals();

struct DaemonOptions {
  // The duties of a container's init (init_duties.h). Always on as PID 1; `--init`
  // asks for them under another init (tini, dumb-init).
  bool init = false;
  // The binary superd runs from, for `superctl reexec` ("" : reexec is refused).
  std::string exe;
  // Re-exec: the state the previous superd of this process wrote (reexec_state.h).
  // After a crash under systemd: the adopted services (adoption.h), set by the daemon.
  std::optional<SavedState> state;
  // What systemd's fd store handed back (LISTEN_FDNAMES), by name.
  std::map<std::string, int> stored_fds;
};

class Daemon {
 public:
  explicit Daemon(Config config, DaemonOptions options = {});
  ~Daemon();
  // Runs until shutdown; returns the process exit code.
  int run();

 private:
  bool prepare(std::string* error);
  bool setup_signals(std::string* error);
  bool open_control_socket(std::string* error);
  void begin_shutdown(const std::string& why);
  void finish_shutdown();
  nlohmann::json reload_config();  // throws nothing; returns the reply
  // `loaded` at the counts `superctl scale` saved, where the file has not changed them
  // since; saved counts the file has overruled are forgotten.
  Config with_saved_counts(Config loaded);
  std::optional<gid_t> socket_gid(const std::string& group, std::string* error) const;
  void stop_leftovers_of_previous_run();
  // After a crash under systemd (daemon_adopt.cc): options_.state becomes the services
  // the fd store lets this superd adopt; those are then no leftovers.
  void adopt_after_crash();
  bool adopted(const std::string& service) const;
  bool adopted_leaf(const std::string& leaf) const;
  void stop_cgroup_leftovers_of_previous_run();
  void setup_cgroups_before_first_spawn();
  void update_notify();  // READY=1 once boot is done, STATUS= as counts change
  void on_all_stopped();
  void on_critical_failure(Service& service);

  bool apply_socket_group(const SupervisorConfig& next, std::string* error);

  // `superctl reexec` (daemon_reexec.cc): refused, checked, quiesced, then the exec; and
  // in the new superd, the state taken up again.
  void reexec(const std::shared_ptr<ipc::Connection>& conn, int64_t id);
  std::string reexec_refusal();
  void reexec_tick();
  void reexec_fail(const std::string& why);
  size_t unanswered_connections() const;
  std::string exec_with_state();  // returns only if the exec failed: why
  SavedState saved_state(const ipc::HandedOver& control);
  void restore_services();
  struct ReexecJob {
    std::weak_ptr<ipc::Connection> conn;
    int64_t id = 0;
    std::unique_ptr<ReexecCheck> check;
    // From the check on: the control socket no longer accepts (clients queue in its
    // backlog for the new superd) and is given back if the reexec fails.
    std::optional<ipc::HandedOver> control;
    TimePoint deadline{};
    bool connections_done = false;  // the accepted ones are answered (or cut)
    bool waiting_logged = false;
    UvHandle<uv_timer_t> tick;
  };

  Config config_;
  DaemonOptions options_;
  uv_loop_t loop_{};
  SafeDir state_dir_;  // checked and held from prepare() on (base/safe_path.h)
  EnableStore enable_store_;
  ScaleStore scale_store_;
  StateLock lock_;
  Cgroups cgroups_;  // before host_: the slots' leaves use the tree until they go
  LogOutputs outputs_;  // before host_: console and journal services write through it
  ProcessHost host_;
  Supervisor supervisor_;
  Control control_;
  std::unique_ptr<ipc::Server> server_;
  UvHandle<uv_signal_t> sigterm_, sigint_, sighup_, sigquit_, sigusr1_;
  std::unique_ptr<InitDuties> init_;  // PID 1, or --init
  std::unique_ptr<ReexecJob> reexec_;  // a `superctl reexec` under way

  // What a reload-config leaves to free (the parsed file, the drafts, the old config):
  // freed on the next turn of the loop, once the reply has gone out.
  void free_after_reply(std::shared_ptr<void> garbage);
  std::vector<std::shared_ptr<void>> after_reply_;
  UvHandle<uv_timer_t> after_reply_timer_;

  bool finished_ = false;
  bool ready_sent_ = false;
  std::string last_notify_status_;
  int exit_code_ = 0;
};

}  // namespace superd
