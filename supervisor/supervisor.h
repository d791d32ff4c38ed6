// The supervisor: every service by name, the order they start and stop in, the starts
// that wait for their `after`, shutdown, and reload-config applied as a diff.
//
// Ordering. A service queued for start (at boot, or added by reload-config) starts once
// each of its `after` dependencies is ready (Service::ready_for_dependents: its `ready`
// check passed, or with ready = "started" its program runs, as systemd's Type=exec) or
// has given up (fatal, exited, stopped): a dependency that failed does not hold its
// dependents back forever. A dependency in backoff is waited for. Shutdown stops a service only once
// every service that is `after` it has no process left, so stops run in reverse order.
//
// Instances. A service with `instances` is N services NAME@0 .. NAME@N-1 here, each with
// its own state machine; `after = ["worker"]` waits for every instance of worker, and a
// stop waits for every instance after it. scale() changes the count as a reload-config
// of the same config at another count would: new instances start (if enabled), surplus
// ones stop (highest numbers first), the others are not touched. restart() and a
// reload-config that changes the template roll through the instances (roll.h).
//
// Like Service, it knows no processes, sockets or clocks. It sits between the services
// and the host: each Service talks to the Supervisor as its ServiceHost, which passes
// everything on to the real host and, after every transition, runs a scheduling pass.
// Tests drive it with the fake host of tests/fakes/.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "supervisor/config.h"
#include "supervisor/reload_plan.h"
#include "supervisor/roll.h"
#include "supervisor/service.h"

namespace superd {

// The host as the supervisor sees it: the services' host, plus the lifecycle of service
// definitions (so the host can hold their pipes and sockets) and two notifications.
class SupervisorHost : public ServiceHost {
 public:
  virtual void attach(Service&) {}  // a new definition, before its first start
  // reload-config gave `service` a new definition (`before` is the old one); the
  // restart, if it was up, comes right after.
  virtual void reconfigure(Service& /*service*/, const ServiceConfig& /*before*/) {}
  virtual void retiring(Service&) {}  // removed by reload-config; stopping
  virtual void detach(Service&) {}    // removed, and nothing of it runs any more
  virtual void changed() {}           // after every transition and its scheduling pass
  virtual void all_stopped() {}       // shutting down, and no process of any service is left
};

enum class Command { start, stop, restart };

class Supervisor : private ServiceHost {
 public:
  using Enabled = std::function<bool(const ServiceConfig&)>;
  Supervisor(SupervisorHost& host, Enabled enabled);
  ~Supervisor() override;

  // The services of `config`, created stopped (each attached to the host).
  void load(const Config& config);
  // Queue every enabled service for start, in `after` order, and start what can.
  void boot();

  Service* find(const std::string& name) const;
  // Every current service in start order.
  const std::vector<Service*>& in_order() const { return ordered_; }
  // Current and retired services alike (retired: removed, still stopping).
  std::vector<Service*> all() const;
  const ServiceTemplate* find_template(const std::string& name) const;
  const std::vector<ServiceTemplate>& templates() const { return templates_; }
  // The current instances of template `name`, by number.
  std::vector<Service*> instances_of(const std::string& name) const;
  // What runs now, as a config: every service's definition in file order (an instance
  // waiting in a roll keeps its previous one), and the templates.
  Config current() const;
  // A removed service of that name still has processes.
  bool retired_running(const std::string& name) const;

  // An operator's command: whatever waited for its `after` is now the operator's to
  // decide. Stops run in reverse start order, starts in start order. A restart is
  // restart(services, 1).
  void command(Command what, std::vector<Service*> services);
  // Restart `services`: the instances of one template, when there are several of them,
  // roll `parallel` at a time (one roll per template); the others restart at once.
  std::vector<RollPtr> restart(const std::vector<Service*>& services, size_t parallel);

  // Apply `next`: removed services stop (in reverse file order: highest instances
  // first), added ones start if enabled, changed ones are redefined and restarted if
  // they were up (instances of one template through a roll, each redefined when its
  // turn comes), unchanged ones are not touched.
  ReloadPlan reload(const Config& next);

  // `superctl scale`: the config with template `name` at `n` instances (with_instances),
  // refused while a removed instance of a name it would add still stops. scale() applies
  // it with reload(). Neither saves the count: that is the caller's (state_dir).
  std::variant<Config, std::vector<ConfigError>> scaled(const std::string& name, int n) const;
  std::variant<ReloadPlan, std::vector<ConfigError>> scale(const std::string& name, int n);

  // Removed services whose processes are all gone are detached from the host and freed.
  // The host calls this where no Service is on the stack (after dispatching reaps).
  void collect_retired();

  // Re-exec: why the supervisor cannot be written down now ("" when it can): a roll
  // or a shutdown under way, a removed service still stopping.
  std::string reexec_busy() const;
  // The new superd: the services were restored as they were; those queued for their
  // `after` wait again, and scheduling goes on.
  void resume(const std::vector<std::string>& pending);

  void begin_shutdown();
  bool shutting_down() const { return shutting_down_; }
  // Every service queued at boot has started, and none is starting or in backoff.
  bool boot_done() const;
  bool pending(const std::string& name) const { return pending_start_.count(name) > 0; }

 private:
  // ServiceHost: everything goes to the real host; transitions also schedule.
  TimePoint now() override { return host_.now(); }
  SpawnResult spawn(Service& s) override { return host_.spawn(s); }
  void signal_process(pid_t pid, int signo) override { host_.signal_process(pid, signo); }
  void signal_group(pid_t pgid, int signo) override { host_.signal_group(pgid, signo); }
  void arm_timer(Service& s, Timer which, Duration after) override {
    host_.arm_timer(s, which, after);
  }
  void cancel_timer(Service& s, Timer which) override { host_.cancel_timer(s, which); }
  void state_changed(Service& service, State from, const std::string& reason) override;
  void begin_ready_check(Service& s) override { host_.begin_ready_check(s); }
  void end_ready_check(Service& s) override { host_.end_ready_check(s); }
  void progressed(Service& s) override;

  Service& add(const ServiceConfig& config);
  void retire(const std::string& name);
  void reorder(const Config& config);
  void schedule();
  void schedule_pass();
  void shutdown_pass();
  bool deps_started(const Service& service) const;
  bool dependents_down(const Service& service);
  void index_dependents();
  bool dep_started(const Service& dep) const;

  // Rolls (supervisor_roll.cc).
  RollPtr begin_roll(const std::string& service, std::vector<Roll::Step> steps, size_t parallel);
  void advance_rolls();
  bool advance(Roll& roll);
  void begin_step(Roll& roll);
  size_t in_flight(const std::string& service) const;

  SupervisorHost& host_;
  Enabled enabled_;
  std::map<std::string, std::unique_ptr<Service>> services_;
  std::vector<Service*> ordered_;                 // start order of services_
  std::vector<std::unique_ptr<Service>> retired_;  // removed definitions still stopping
  std::vector<ServiceTemplate> templates_;
  std::vector<std::shared_ptr<Roll>> rolls_;       // under way (over ones are dropped)
  std::set<std::string> pending_start_;           // waiting for their `after`
  // Who names each service or template in `after`: what a shutdown waits on, looked up
  // per service instead of scanned (a scan of every service for every service, at every
  // event of a shutdown, took minutes at 3,000 services). Rebuilt when stale: the
  // services or their configs changed.
  std::map<std::string, std::vector<Service*>> dependents_;
  bool dependents_stale_ = true;
  bool scheduling_ = false;
  bool reschedule_ = false;
  bool shutting_down_ = false;
  bool all_stopped_sent_ = false;
};

}  // namespace superd
