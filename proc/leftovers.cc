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
  pid_t session;
  uint64_t start_time;
};

// /proc/PID/stat; nullopt when the process is gone (or goes while it is read).
std::optional<Stat> read_stat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 > text.size()) return std::nullopt;
  std::istringstream rest(text.substr(close + 2));
  Stat st{};
  std::string skip;
  pid_t ppid;
  rest >> st.state >> ppid >> st.pgrp >> st.session;
  // Fields 7..21, then starttime (22): 15 fields to skip after session (6).
  for (int i = 7; i <= 21; ++i) rest >> skip;
  rest >> st.start_time;
  if (!rest) return std::nullopt;
  return st;
}

// A live process found in /proc, held by a pidfd.
struct Member {
  pid_t pid;
  UniqueFd pidfd;
};

// The live processes of session `sid` started no earlier than `since`, each with a
// pidfd opened after it was found and checked again on the pidfd's process.
std::vector<Member> session_members(pid_t sid, uint64_t since) {
  std::vector<Member> out;
  DIR* d = ::opendir("/proc");
  while (dirent* e = d ? ::readdir(d) : nullptr) {
    const pid_t pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    auto st = read_stat(pid);  // nullopt: it ended since readdir saw it
    if (!st || st->session != sid || st->state == 'Z' || st->start_time < since) continue;
    UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!fd) continue;  // gone meanwhile
    auto again = read_stat(pid);
    if (!again || again->session != sid || again->start_time != st->start_time) continue;
    out.push_back({pid, std::move(fd)});
  }
  if (d) ::closedir(d);
  return out;
}

bool send_signal(const Member& m, int signo) {
  return ::syscall(SYS_pidfd_send_signal, m.pidfd.get(), signo, nullptr, 0) == 0;
}

// Not yet exited. A pidfd turns readable when its process exits, zombie or not: a
// leftover's orphans may be zombies of a parent that has not reaped them yet, and those
// are gone for all that stopping is concerned (a signal to them still "succeeds").
bool still_running(const Member& m) {
  pollfd p{m.pidfd.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

// Wait until none of `fds` lives, or the deadline; true when all are gone.
bool wait_gone(const std::vector<int>& fds, std::chrono::steady_clock::time_point deadline) {
  std::vector<pollfd> polls;
  for (int fd : fds) polls.push_back({fd, POLLIN, 0});
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

std::vector<int> fds_of(const std::vector<Member>& members) {
  std::vector<int> out;
  for (const auto& m : members) out.push_back(m.pidfd.get());
  return out;
}

}  // namespace

std::optional<uint64_t> process_start_time(pid_t pid) {
  auto st = read_stat(pid);
  if (!st || st->state == 'Z') return std::nullopt;
  return st->start_time;
}

bool session_alive(pid_t sid) { return !session_members(sid, 0).empty(); }

LeftoverKind find_leftover(pid_t pid, uint64_t start_time) {
  auto st = read_stat(pid);
  if (st && st->state != 'Z') {
    return st->start_time == start_time ? LeftoverKind::running : LeftoverKind::none;
  }
  // The main process is gone (or a zombie nobody has reaped yet): while anything of its
  // session lives, its pid cannot have been given to another process.
  return session_members(pid, start_time).empty() ? LeftoverKind::none : LeftoverKind::orphans;
}

std::vector<std::string> stop_leftovers(const std::vector<Leftover>& leftovers) {
  using Clock = std::chrono::steady_clock;
  std::vector<std::string> report;
  std::chrono::milliseconds longest{0};
  std::vector<Member> mains;
  // 1. stop_signal as the service's stop_mode asks (main pid only for Celery); a main
  //    process that already died has nothing to pass on.
  for (const auto& l : leftovers) {
    longest = std::max(longest, l.stop_timeout);
    if (!l.main_alive) continue;
    UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, l.pid, 0)));
    if (!fd) continue;
    if (l.signal_group_first) {
      ::kill(-l.pid, l.stop_signal);  // the group's id is in use while the main lives
      ::kill(-l.pid, SIGCONT);
    } else {
      ::syscall(SYS_pidfd_send_signal, fd.get(), l.stop_signal, nullptr, 0);
      ::syscall(SYS_pidfd_send_signal, fd.get(), SIGCONT, nullptr, 0);
    }
    mains.push_back({l.pid, std::move(fd)});
  }
  const auto deadline = Clock::now() + longest;
  wait_gone(fds_of(mains), deadline);
  // 2. Whatever is left of each session gets the stop signal too, within the same deadline.
  std::vector<std::vector<Member>> rest;
  std::vector<int> rest_fds;
  for (const auto& l : leftovers) {
    rest.push_back(session_members(l.pid, 0));
    for (const auto& m : rest.back()) {
      send_signal(m, l.stop_signal);
      send_signal(m, SIGCONT);
      rest_fds.push_back(m.pidfd.get());
    }
  }
  wait_gone(rest_fds, deadline);
  // 3. KILL to the sessions that outlived their stop_timeout.
  for (size_t i = 0; i < leftovers.size(); ++i) {
    const Leftover& l = leftovers[i];
    const std::string what = l.main_alive ? "process group" : "session";
    const std::string dead = l.main_alive ? "" : " (its main process had already ended)";
    std::vector<int> alive;
    for (const auto& m : rest[i]) {
      if (still_running(m)) alive.push_back(m.pidfd.get());
    }
    if (alive.empty()) {
      report.push_back(l.service + ": stopped the leftover " + what + " " + std::to_string(l.pid) +
                       " of a previous superd" + dead);
      continue;
    }
    for (const auto& m : rest[i]) send_signal(m, SIGKILL);
    // Anything forked since the list was made, too.
    for (const auto& m : session_members(l.pid, 0)) send_signal(m, SIGKILL);
    wait_gone(alive, Clock::now() + std::chrono::seconds(5));
    report.push_back(l.service + ": killed the leftover " + what + " " + std::to_string(l.pid) +
                     " of a previous superd" + dead + " (" + std::to_string(alive.size()) +
                     " processes outlived stop_timeout)");
  }
  return report;
}

}  // namespace superd
