// The daemon's side of the control protocol: each command of ipc/protocol.h applied to
// the services. start/stop/restart/scale reply only when the transition has finished, so
// a waiter is kept per request and checked after every state change; a rolling restart
// (roll.h) is over when its last instance is ready or one failed.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/log_time.h"
#include "ipc/codec.h"
#include "ipc/server.h"
#include "supervisor/enable_store.h"
#include "supervisor/process_host.h"
#include "supervisor/scale_store.h"
#include "supervisor/supervisor.h"

namespace superd {

class Control {
 public:
  struct Daemon {  // what the commands need of the daemon itself
    std::function<nlohmann::json()> reload_config;
    std::function<void(const std::string& why)> shutdown;
    // `reexec`: the daemon answers (a refusal, or just before the exec).
    std::function<void(const std::shared_ptr<ipc::Connection>&, int64_t id)> reexec;
    std::function<int()> reexecs;  // how many times this superd has re-executed
  };
  Control(Supervisor& supervisor, ProcessHost& host, EnableStore& enable_store,
          ScaleStore& scale_store, Daemon daemon)
      : supervisor_(supervisor), host_(host), enable_store_(enable_store),
        scale_store_(scale_store), daemon_(std::move(daemon)) {}

  void handle(const std::shared_ptr<ipc::Connection>& conn, ipc::Request request);
  // After every state change: answer the start/stop/restart requests that are done.
  void check_waiters();
  // Shutdown is complete: answer every waiter now, done or not.
  void finish() {
    finished_ = true;
    check_waiters();
  }
  // `log -f` clients of `service` end (its pipes were replaced or it was removed).
  void end_followers(const std::string& service);
  // `log -f` clients no longer authorized (socket_group changed) end.
  void end_unauthorized_followers();
  // Connections still open that follow a log, `except` aside (a reexec cuts them;
  // superctl then exits). One connection following twice counts once.
  size_t open_followers(const ipc::Connection* except) const;
  // Back on the loop once a `log` request's files are read (control_log.cc).
  void finish_log(const std::shared_ptr<ipc::Connection>& conn, int64_t id,
                  const std::string& service, bool follow_too, std::vector<std::string> lines,
                  bool truncated, const std::string& error, const std::string& note);
  bool effective_enabled(const ServiceConfig& service) const;

 private:
  using Conn = std::shared_ptr<ipc::Connection>;
  nlohmann::json service_status(const Service& service) const;
  nlohmann::json groups_of(const std::vector<Service*>& services, const nlohmann::json& names) const;
  void add_cgroup_status(nlohmann::json::object_t& row, const Service& service, const Slot* slot) const;
  std::string unknown_service(const std::string& name) const;
  std::optional<std::vector<Service*>> resolve_names(const nlohmann::json& args,
                                                     const Conn& conn, int64_t id,
                                                     bool allow_all);
  void cmd_status(const Conn& conn, const ipc::Request& req);
  void cmd_lifecycle(const Conn& conn, const ipc::Request& req);
  void cmd_signal(const Conn& conn, const ipc::Request& req);
  void cmd_enable(const Conn& conn, const ipc::Request& req);
  void cmd_log(const Conn& conn, const ipc::Request& req);
  void cmd_log_range(const Conn& conn, const ipc::Request& req, Service& service);
  // The one service `log` reads (an only instance stands for its template); nullptr
  // once a refusal is sent.
  Service* log_service(const Conn& conn, const ipc::Request& req);
  bool read_time_bound(const Conn& conn, const ipc::Request& req, const char* key,
                       std::optional<UnixMicros>* out);
  std::string log_note(const Service& service) const;
  std::vector<std::string> tail_between(const Service& service, size_t count, UnixMicros since,
                                        UnixMicros until) const;
  void cmd_reopen_logs(const Conn& conn, const ipc::Request& req);
  void cmd_scale(const Conn& conn, const ipc::Request& req);
  void cmd_security(const Conn& conn, const ipc::Request& req);  // control_security.cc
  void follow(const Conn& conn, int64_t id, Slot& slot);
  void wait_for(const Conn& conn, int64_t id, std::string cmd, std::vector<Service*> services,
                std::vector<RollPtr> rolls = {});

  struct Waiter {
    std::weak_ptr<ipc::Connection> conn;
    int64_t id;
    std::string cmd;
    std::vector<std::string> names;
    std::vector<RollPtr> rolls;        // restart: the rolls of its instances
    std::vector<std::string> removed;  // scale: instances that must be gone
    nlohmann::json extra;              // scale: added to the result
  };
  bool waiter_done(const Waiter& w) const;
  void answer(ipc::Connection& conn, const Waiter& w);

  Supervisor& supervisor_;
  ProcessHost& host_;
  EnableStore& enable_store_;
  ScaleStore& scale_store_;
  Daemon daemon_;
  std::vector<Waiter> waiters_;
  // `log -f` clients, by service: ended when their service's output pipes are replaced
  // or removed by reload-config (superctl then exits; a new `log -f` follows the new file).
  std::vector<std::pair<std::string, std::weak_ptr<ipc::Connection>>> followers_;
  bool finished_ = false;
  // Expires with the Control: a log read finishing on the pool after it is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace superd
