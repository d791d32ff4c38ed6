#include "proc/sweep.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "base/fd.h"

namespace superd {
namespace {

struct ProcStat {
  pid_t ppid = 0;
  char state = '?';
};

// Fields 3 (state) and 4 (ppid) of /proc/PID/stat; false when the process is gone.
bool read_stat(pid_t pid, ProcStat* out) {
  char path[32];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  char buf[512];
  const ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return false;
  buf[n] = '\0';
  const char* close = std::strrchr(buf, ')');  // the name may contain spaces and ')'
  if (!close || close[1] != ' ') return false;
  out->state = close[2];
  out->ppid = static_cast<pid_t>(std::strtol(close + 4, nullptr, 10));
  return true;
}

std::map<pid_t, ProcStat> all_processes() {
  std::map<pid_t, ProcStat> out;
  DIR* dir = ::opendir("/proc");
  if (!dir) return out;
  while (dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    ProcStat st;
    if (read_stat(static_cast<pid_t>(pid), &st)) out.emplace(static_cast<pid_t>(pid), st);
  }
  ::closedir(dir);
  return out;
}

// A /proc mounted for another PID namespace (unshare --pid without --mount-proc) shows
// processes that are not ours: then only superd's descendants are known to be.
bool proc_is_this_namespace() {
  char link[32] = {};
  const ssize_t n = ::readlink("/proc/self", link, sizeof link - 1);
  return n > 0 && std::strtol(link, nullptr, 10) == ::getpid();
}

}  // namespace

std::vector<pid_t> sweep_targets(bool pid1) {
  pid1 = pid1 && proc_is_this_namespace();
  const pid_t self = ::getpid();
  const auto procs = all_processes();
  std::vector<pid_t> out;
  for (const auto& [pid, st] : procs) {
    if (pid == self || st.state == 'Z') continue;
    if (pid1) {
      out.push_back(pid);
      continue;
    }
    // A descendant: walk up the parents (bounded: a cycle cannot exist, but the table is
    // a snapshot taken while processes come and go).
    pid_t p = st.ppid;
    for (int depth = 0; depth < 4096 && p > 1; ++depth) {
      if (p == self) {
        out.push_back(pid);
        break;
      }
      auto it = procs.find(p);
      if (it == procs.end()) break;
      p = it->second.ppid;
    }
  }
  return out;
}

int sweep(bool pid1, int signo) {
  const std::vector<pid_t> targets = sweep_targets(pid1);
  if (pid1 && !targets.empty()) {
    // As PID 1, kill(-1) reaches every other process of the namespace at once, including
    // any that appeared after the listing.
    ::kill(-1, signo);
    return static_cast<int>(targets.size());
  }
  int signalled = 0;
  for (pid_t pid : targets) {
    if (::kill(pid, signo) == 0) ++signalled;
  }
  return signalled;
}

}  // namespace superd
