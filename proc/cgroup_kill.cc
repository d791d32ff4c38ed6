#include "proc/cgroup_kill.h"

#include <sched.h>
#include <signal.h>


#include "proc/cgroup_file.h"

namespace superd {
namespace {

constexpr int kKillRounds = 50;

}  // namespace

std::optional<std::vector<pid_t>> cgroup_pids(const std::string& dir, std::string* error) {
  auto text = read_cgroup_file(dir, "cgroup.procs", error);
  if (!text) return std::nullopt;
  std::vector<pid_t> pids;
  pid_t value = 0;
  bool digits = false;
  for (char c : *text) {
    if (c >= '0' && c <= '9') {
      value = value * 10 + (c - '0');
      digits = true;
    } else {
      if (digits && value > 0) pids.push_back(value);
      value = 0;
      digits = false;
    }
  }
  if (digits && value > 0) pids.push_back(value);
  return pids;
}

int signal_cgroup(const std::string& dir, int signo) {
  std::string ignored;
  auto pids = cgroup_pids(dir, &ignored);
  if (!pids) return 0;
  int n = 0;
  for (pid_t pid : *pids) n += ::kill(pid, signo) == 0;
  return n;
}

bool kill_cgroup(const std::string& dir, std::string* error) {
  std::string why;
  if (write_cgroup_file(dir, "cgroup.kill", "1", &why)) return true;
  // Before 5.14: freezing stops forks, so each round catches up with the leaf. Killed
  // processes stay listed until they have exited; the rounds end when none is left or
  // after kKillRounds, and the populated watch tells when the leaf is empty.
  std::string ignored;
  const bool frozen = write_cgroup_file(dir, "cgroup.freeze", "1", &ignored);
  bool listed = false;
  for (int round = 0; round < kKillRounds; ++round) {
    auto pids = cgroup_pids(dir, &why);
    if (!pids || pids->empty()) break;
    listed = true;
    for (pid_t pid : *pids) ::kill(pid, SIGKILL);
    ::sched_yield();
  }
  if (frozen) write_cgroup_file(dir, "cgroup.freeze", "0", &ignored);
  if (!listed && !why.empty()) {
    *error = why;
    return false;
  }
  return true;
}

std::optional<bool> cgroup_populated(const std::string& dir, std::string* error) {
  auto text = read_cgroup_file(dir, "cgroup.events", error);
  if (!text) return std::nullopt;
  auto v = keyed_value(*text, "populated");
  if (!v) {
    *error = "cgroup: " + dir + "/cgroup.events has no populated line";
    return std::nullopt;
  }
  return *v != 0;
}

}  // namespace superd
