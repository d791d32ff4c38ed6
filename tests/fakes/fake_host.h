// A fake world for the state machine and the supervisor: a clock that moves only when a
// test says so, spawns that hand out pids, signals and timers that are only recorded.
// No processes, no sleeps. Driving one service takes a few lines:
//
//   FakeHost host;
//   Service svc(config, host);
//   svc.start();                         // spawned pid 100, start_seconds armed
//   host.fire(svc);                      // the deadline passes: running
//   svc.on_exit(100, {false, 1}, true);  // it dies: backoff
//
// Several services (through a Supervisor) keep their timers apart; fire_next() fires
// whichever deadline comes first.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "supervisor/service.h"
#include "supervisor/supervisor.h"

namespace superd::fakes {

class FakeHost : public SupervisorHost {
 public:
  TimePoint clock{};
  pid_t next_pid = 100;
  std::vector<SpawnFailure> spawn_failures;  // consumed one per spawn, front first
  std::vector<pid_t> spawned;
  std::vector<std::string> spawned_names;  // the service of each spawn, in order
  std::map<pid_t, Service*> by_pid;        // every pid spawned, and whose
  std::vector<std::pair<pid_t, int>> process_signals, group_signals;
  std::vector<std::string> log;  // "from->to: reason", or "NAME: from->to: reason"
  bool log_names = false;        // prefix each line with the service's name
  int ready_checks_begun = 0, ready_checks_ended = 0;
  std::vector<std::string> attached, reconfigured, retired, detached;
  int changes = 0, progress_reports = 0;
  int all_stopped_calls = 0;

  TimePoint now() override { return clock; }
  SpawnResult spawn(Service& s) override {
    if (!spawn_failures.empty()) {
      SpawnFailure f = spawn_failures.front();
      spawn_failures.erase(spawn_failures.begin());
      return {0, f};
    }
    spawned.push_back(next_pid);
    spawned_names.push_back(s.name());
    by_pid[next_pid] = &s;
    return {next_pid++, std::nullopt};
  }
  void signal_process(pid_t pid, int signo) override { process_signals.emplace_back(pid, signo); }
  void signal_group(pid_t pgid, int signo) override { group_signals.emplace_back(pgid, signo); }
  void arm_timer(Service& s, Timer which, Duration after) override {
    timers_[{&s, which}] = clock + after;
    armed_for_[{&s, which}] = after;
  }
  void cancel_timer(Service& s, Timer which) override {
    timers_.erase({&s, which});
    armed_for_.erase({&s, which});
  }
  void state_changed(Service& s, State from, const std::string& reason) override {
    log.push_back((log_names ? s.name() + ": " : "") + state_name(from) + "->" +
                  state_name(s.state()) + ": " + reason);
  }
  void begin_ready_check(Service&) override { ++ready_checks_begun; }
  void end_ready_check(Service&) override { ++ready_checks_ended; }
  void attach(Service& s) override { attached.push_back(s.name()); }
  void reconfigure(Service& s, const ServiceConfig&) override { reconfigured.push_back(s.name()); }
  void retiring(Service& s) override { retired.push_back(s.name()); }
  void detach(Service& s) override {
    detached.push_back(s.name());
    for (auto it = timers_.begin(); it != timers_.end();) {
      it = it->first.first == &s ? timers_.erase(it) : std::next(it);
    }
  }
  void changed() override { ++changes; }
  void progressed(Service&) override { ++progress_reports; }
  void all_stopped() override { ++all_stopped_calls; }

  // The armed timer of `s`, as the duration it was armed for; nullopt when none.
  std::optional<Duration> timer_of(const Service& s, Timer which = Timer::current) const {
    auto it = armed_for_.find({const_cast<Service*>(&s), which});
    if (it == armed_for_.end()) return std::nullopt;
    return it->second;
  }
  // Advance the clock to the armed deadline of `s` and fire it.
  void fire(Service& s, Timer which = Timer::current) {
    auto it = timers_.find({&s, which});
    ASSERT_TRUE(it != timers_.end()) << "no timer armed for " << s.name();
    clock = it->second;
    timers_.erase(it);
    armed_for_.erase({&s, which});
    s.on_timer(which);
  }
  // Fire the earliest armed deadline of any service; false when none is armed.
  bool fire_next() {
    if (timers_.empty()) return false;
    auto first = timers_.begin();
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (it->second < first->second) first = it;
    }
    auto [service, which] = first->first;
    fire(*service, which);
    return true;
  }
  void advance(Duration d) { clock += d; }
  // The program of `pid` runs: its exec succeeded.
  void exec_ok(pid_t pid) {
    auto it = by_pid.find(pid);
    ASSERT_TRUE(it != by_pid.end()) << "pid " << pid << " was never spawned";
    it->second->on_exec_succeeded(pid);
  }
  // The main process `pid` ends (its whole group with it unless `group_empty` is false).
  void exit(pid_t pid, ExitStatus status, bool group_empty = true) {
    auto it = by_pid.find(pid);
    ASSERT_TRUE(it != by_pid.end()) << "pid " << pid << " was never spawned";
    it->second->on_exit(pid, status, group_empty);
  }

 private:
  using Key = std::pair<Service*, Timer>;
  std::map<Key, TimePoint> timers_;
  std::map<Key, Duration> armed_for_;
};

inline ServiceConfig service_config(const std::string& name,
                                    std::vector<std::string> after = {}) {
  ServiceConfig c;
  c.name = name;
  c.command = {"/bin/true"};
  c.after = std::move(after);
  return c;
}

}  // namespace superd::fakes
