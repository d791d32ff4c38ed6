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

#include <nlohmann/json.hpp>

#include "proc/fd.h"

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

bool save_running(const std::string& path, const std::vector<RunningRecord>& records,
                  std::string* error) {
  nlohmann::json doc = nlohmann::json::array();
  for (const auto& r : records) {
    doc.push_back({{"service", r.service}, {"pid", r.pid}, {"start_time", r.start_time}});
  }
  const std::string text = doc.dump() + "\n";
  const std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd) {
    *error = tmp + ": " + std::strerror(errno);
    return false;
  }
  const ssize_t n = ::write(fd.get(), text.data(), text.size());
  if (n != static_cast<ssize_t>(text.size())) {
    *error = tmp + ": " + std::strerror(n < 0 ? errno : ENOSPC);  // short: the disk is full
    ::unlink(tmp.c_str());  // the old record stays, and nothing half-written lies about
    return false;
  }
  fd.reset();
  // No fsync: this record matters when superd dies, not the machine (after a machine
  // crash no leftover can exist), and it is written at every spawn.
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    *error = "rename to " + path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

std::vector<RunningRecord> load_running(const std::string& path, std::string* problem) {
  std::vector<RunningRecord> out;
  std::ifstream in(path);
  if (!in) return out;
  std::stringstream text;
  text << in.rdbuf();
  auto doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (!doc.is_array()) {
    if (problem) *problem = path + ": not a list of records";
    return out;
  }
  int malformed = 0;
  for (const auto& r : doc) {
    if (!r.is_object() || !r.value("pid", nlohmann::json()).is_number_integer() ||
        !r.value("start_time", nlohmann::json()).is_number_unsigned() ||
        !r.value("service", nlohmann::json()).is_string()) {
      ++malformed;
      continue;
    }
    RunningRecord rec{r["service"].get<std::string>(), r["pid"].get<pid_t>(),
                      r["start_time"].get<uint64_t>()};
    if (rec.pid > 1) out.push_back(rec);
  }
  if (malformed > 0 && problem) {
    *problem = path + ": ignored " + std::to_string(malformed) + " malformed records";
  }
  return out;
}

std::vector<std::string> stop_leftovers(const std::vector<Leftover>& leftovers) {
  using Clock = std::chrono::steady_clock;
  std::vector<std::string> report;
  std::chrono::milliseconds longest{0};
  std::vector<pid_t> mains;
  // 1. stop_signal as the service's stop_mode asks (main pid only for Celery).
  for (const auto& l : leftovers) {
    pid_t target = l.signal_group_first ? -l.record.pid : l.record.pid;
    ::kill(target, l.stop_signal);
    ::kill(target, SIGCONT);
    mains.push_back(l.record.pid);
    longest = std::max(longest, l.stop_timeout);
  }
  const auto deadline = Clock::now() + longest;
  wait_gone(mains, deadline);
  // 2. Whatever is left of each group gets the stop signal too, within the same deadline.
  std::vector<pid_t> rest;
  for (const auto& l : leftovers) {
    auto members = group_members(l.record.pid);
    if (!members.empty()) ::kill(-l.record.pid, l.stop_signal);
    rest.insert(rest.end(), members.begin(), members.end());
  }
  wait_gone(rest, deadline);
  // 3. KILL to the groups that outlived their stop_timeout.
  for (const auto& l : leftovers) {
    auto members = group_members(l.record.pid);
    if (members.empty()) {
      report.push_back(l.record.service + ": stopped the leftover process group " +
                       std::to_string(l.record.pid) + " of a previous superd");
      continue;
    }
    ::kill(-l.record.pid, SIGKILL);
    wait_gone(members, Clock::now() + std::chrono::seconds(5));
    report.push_back(l.record.service + ": killed the leftover process group " +
                     std::to_string(l.record.pid) + " of a previous superd (" +
                     std::to_string(members.size()) + " processes outlived stop_timeout)");
  }
  return report;
}

}  // namespace superd
