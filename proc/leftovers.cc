#include "proc/leftovers.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/fd.h"

namespace superd {
namespace {

struct Stat {
  char state;
  pid_t pgrp;
  uint64_t start_time;
};

std::optional<Stat> read_stat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(text.substr(close + 2));
  Stat st{};
  std::string skip;
  pid_t ppid;
  rest >> st.state >> ppid >> st.pgrp;
  // Fields 6..21, then starttime (22): 16 fields to skip after pgrp (5).
  for (int i = 6; i <= 21; ++i) rest >> skip;
  rest >> st.start_time;
  if (!rest) return std::nullopt;
  return st;
}

std::vector<pid_t> group_members(pid_t pgid) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  while (dirent* e = d ? ::readdir(d) : nullptr) {
    pid_t pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    if (auto st = read_stat(pid); st && st->pgrp == pgid && st->state != 'Z') out.push_back(pid);
  }
  if (d) ::closedir(d);
  return out;
}

// Wait until none of `pids` lives, or the deadline; true when all are gone.
bool wait_gone(const std::vector<pid_t>& pids, std::chrono::steady_clock::time_point deadline) {
  std::vector<UniqueFd> fds;
  std::vector<pollfd> polls;
  for (pid_t pid : pids) {
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) continue;  // already gone
    fds.emplace_back(fd);
    polls.push_back({fd, POLLIN, 0});
  }
  size_t alive = polls.size();
  while (alive > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    int n = ::poll(polls.data(), polls.size(), static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) return false;
    alive = 0;
    for (auto& p : polls) {
      if (p.fd >= 0 && (p.revents & POLLIN)) p.fd = -1;  // poll ignores negative fds
      if (p.fd >= 0) ++alive;
    }
  }
  return true;
}

}  // namespace

std::optional<uint64_t> process_start_time(pid_t pid) {
  auto st = read_stat(pid);
  if (!st || st->state == 'Z') return std::nullopt;
  return st->start_time;
}

std::vector<std::string> stop_leftovers(const std::vector<Leftover>& leftovers) {
  using Clock = std::chrono::steady_clock;
  std::vector<std::string> report;
  std::chrono::milliseconds longest{0};
  std::vector<pid_t> mains;
  // 1. stop_signal as the service's stop_mode asks (main pid only for Celery).
  for (const auto& l : leftovers) {
    pid_t target = l.signal_group_first ? -l.pid : l.pid;
    ::kill(target, l.stop_signal);
    ::kill(target, SIGCONT);
    mains.push_back(l.pid);
    longest = std::max(longest, l.stop_timeout);
  }
  const auto deadline = Clock::now() + longest;
  wait_gone(mains, deadline);
  // 2. Whatever is left of each group gets the stop signal too, within the same deadline.
  std::vector<pid_t> rest;
  for (const auto& l : leftovers) {
    auto members = group_members(l.pid);
    if (!members.empty()) ::kill(-l.pid, l.stop_signal);
    rest.insert(rest.end(), members.begin(), members.end());
  }
  wait_gone(rest, deadline);
  // 3. KILL to the groups that outlived their stop_timeout.
  for (const auto& l : leftovers) {
    auto members = group_members(l.pid);
    if (members.empty()) {
      report.push_back(l.service + ": stopped the leftover process group " +
                       std::to_string(l.pid) + " of a previous superd");
      continue;
    }
    ::kill(-l.pid, SIGKILL);
    wait_gone(members, Clock::now() + std::chrono::seconds(5));
    report.push_back(l.service + ": killed the leftover process group " +
                     std::to_string(l.pid) + " of a previous superd (" +
                     std::to_string(members.size()) + " processes outlived stop_timeout)");
  }
  return report;
}

}  // namespace superd
