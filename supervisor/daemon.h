// The daemon: wires the service state machines to real processes (proc/), libuv timers
// and signals, the control socket (ipc/) and systemd's notify socket. One thread runs the
// loop; nothing here polls: every wakeup is a signal, a timer, a pipe or a client.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "ipc/codec.h"
#include "ipc/server.h"
#include "proc/capture.h"
#include "base/fd.h"
#include "proc/leftovers.h"
#include "proc/reaper.h"
#include "proc/spawn.h"
#include "base/uv_handle.h"
#include "supervisor/check_runner.h"
#include "supervisor/config.h"
#include "supervisor/enable_store.h"
#include "supervisor/notify_socket.h"
#include "supervisor/run_records.h"
#include "supervisor/service.h"

namespace superd {

class Daemon : public ServiceHost {
 public:
  explicit Daemon(Config config);
  ~Daemon() override;
  // Runs until shutdown; returns the process exit code.
  int run();

  // ServiceHost
  TimePoint now() override;
  SpawnResult spawn(Service& service) override;
  void signal_process(pid_t pid, int signo) override;
  void signal_group(pid_t pgid, int signo) override;
  void arm_timer(Service& service, Duration after) override;
  void cancel_timer(Service& service) override;
  void arm_old_timer(Service& service, Duration after) override;
  void cancel_old_timer(Service& service) override;
  void state_changed(Service& service, State from, const std::string& reason) override;
  void begin_ready_check(Service& service) override;
  void end_ready_check(Service& service) override;

 private:
  // Everything superd holds for one service definition.
  struct Slot {
    std::unique_ptr<Service> service;
    UvHandle<uv_timer_t> timer;
    UvHandle<uv_timer_t> old_timer;  // stop_timeout of the instance being replaced
    std::unique_ptr<OutputPipe> out;
    std::unique_ptr<OutputPipe> err;  // null when stderr goes to stdout's file
    UniqueFd exec_status;             // of the newest main process, until it is reaped
    pid_t exec_status_pid = 0;
    ExecContext exec_context;
    bool retiring = false;            // removed from the config; erased once it is down
    // `listen` sockets, held for the life of the definition (fds 3.. of each process).
    std::vector<UniqueFd> listeners;
    std::vector<ListenEndpoint> listen_specs;  // what `listeners` were opened for
    std::string listen_error;               // why they could not be opened
    std::unique_ptr<NotifySocket> notify;   // ready = "notify"
    std::string status_text;                // last STATUS= from the service
    std::shared_ptr<CheckRunner> ready_runner;
    std::shared_ptr<CheckRunner> health_runner;
    int health_failures = 0;
    std::vector<std::pair<OutputPipe*, int>> log_watch;  // ready = { log = ... } listeners
    // Pipes replaced (reload-config changed the log settings, or a start-new-first
    // restart gave the new instance its own), kept while the process group that writes
    // into them (the pid they belong to) lives.
    std::vector<std::pair<pid_t, std::unique_ptr<OutputPipe>>> old_outputs;
    void retire_outputs(pid_t owner);
  };

  // Start-up.
  bool prepare(std::string* error);
  bool setup_signals(std::string* error);
  std::unique_ptr<Slot> make_slot(const ServiceConfig& config, std::string* error);
  bool open_outputs(Slot& slot, std::string* error);
  bool fresh_pipes(Slot& slot, std::string* error);
  bool effective_enabled(const ServiceConfig& service) const;
  void open_listeners(Slot& slot);
  void open_notify(Slot& slot);
  void on_notify(Slot& slot, pid_t sender, const std::string& text);
  void start_health(Slot& slot);
  void launch_exec_probe(Slot& slot, const std::vector<std::string>& argv, Duration timeout,
                         ProbeDone done);
  void stop_log_watch(Slot& slot);

  // Ordering: start in `after` order, stop in reverse.
  void schedule();
  void schedule_pass();
  bool deps_started(const Service& service) const;
  bool dependents_down(const std::string& name) const;

  // Events.
  void on_reaped(const Reaper::Ended& ended);
  void check_groups();
  void begin_shutdown(const std::string& why);
  void finish_shutdown();
  void update_notify();
  void stop_leftovers_of_previous_run();
  void save_running_records();

  // Control plane (control.cc).
  void handle_request(const std::shared_ptr<ipc::Connection>& conn, ipc::Request request);
  nlohmann::json service_status(const Slot& slot) const;
  std::optional<std::vector<Slot*>> resolve_names(const nlohmann::json& args,
                                                 const std::shared_ptr<ipc::Connection>& conn,
                                                 int64_t id, bool allow_all);
  void cmd_lifecycle(const std::shared_ptr<ipc::Connection>& conn, const ipc::Request& req);
  void cmd_signal(const std::shared_ptr<ipc::Connection>& conn, const ipc::Request& req);
  void cmd_enable(const std::shared_ptr<ipc::Connection>& conn, const ipc::Request& req);
  void cmd_log(const std::shared_ptr<ipc::Connection>& conn, const ipc::Request& req);
  void cmd_reload_config(const std::shared_ptr<ipc::Connection>& conn, const ipc::Request& req);
  nlohmann::json reload_config();  // throws nothing; returns the reply
  void check_waiters();

  struct Waiter {
    std::weak_ptr<ipc::Connection> conn;
    int64_t id;
    std::string cmd;
    std::vector<std::string> names;
  };

  Config config_;
  uv_loop_t loop_{};
  std::map<std::string, std::unique_ptr<Slot>> slots_;
  std::vector<std::string> start_order_;  // of config_, computed once per (re)load
  std::vector<std::unique_ptr<Slot>> retired_;  // removed definitions still stopping
  std::unordered_map<pid_t, Slot*> by_pid_;
  std::map<pid_t, RunningRecord> running_;  // what state_dir/running.json says
  struct ExecProbe {
    ProbeDone done;
    std::unique_ptr<UvHandle<uv_timer_t>> deadline;
  };
  std::unordered_map<pid_t, ExecProbe> probes_;  // running `exec` checks, by pid
  std::unordered_map<const Service*, Slot*> by_service_;
  std::set<std::string> pending_start_;  // enabled at boot, waiting for their `after`
  std::vector<Waiter> waiters_;
  // `log -f` clients, by service: ended when their service's output pipes are replaced
  // or removed by reload-config (superctl then exits; a new `log -f` follows the new file).
  std::vector<std::pair<std::string, std::weak_ptr<ipc::Connection>>> followers_;
  void end_followers(const std::string& service);
  EnableStore enable_store_;

  std::unique_ptr<Reaper> reaper_;
  std::unique_ptr<ipc::Server> server_;
  UvHandle<uv_signal_t> sigterm_, sigint_, sighup_;
  StateLock lock_;

  bool scheduling_ = false;
  bool reschedule_ = false;
  bool shutting_down_ = false;
  bool finished_ = false;
  bool ready_sent_ = false;
  std::string last_notify_status_;
  int exit_code_ = 0;
};

}  // namespace superd
