#include "proc/cgroup_leftovers.h"

#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>

#include <algorithm>
#include <cstring>

#include "base/fd.h"
#include "proc/cgroup_file.h"
#include "proc/cgroup_kill.h"

namespace superd {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kKillGrace{5000};

bool populated(const CgroupLeaf& leaf) {
  std::string ignored;
  return cgroup_populated(leaf.dir, &ignored).value_or(false);
}

// Waits until none of `leaves` is populated or `deadline`; true when all are empty.
bool wait_empty(int inotify_fd, const std::vector<const CgroupLeaf*>& leaves, Clock::time_point deadline) {
  // Each pass either sees every leaf empty, or sleeps in poll() until a cgroup.events
  // changes or the deadline; it cannot spin.
  while (true) {
    bool any = std::any_of(leaves.begin(), leaves.end(), [](const CgroupLeaf* l) { return populated(*l); });
    if (!any) return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{inotify_fd, POLLIN, 0};
    int rc = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 60000)));
    if (rc > 0) {
      char buf[4096];
      while (::read(inotify_fd, buf, sizeof buf) > 0) {
      }
    }
  }
}

}  // namespace

std::vector<std::string> stop_cgroup_leftovers(CgroupTree& tree,
                                               const std::vector<CgroupLeftover>& leftovers) {
  std::vector<std::string> lines;
  UniqueFd inotify(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  std::vector<const CgroupLeaf*> busy;
  std::vector<size_t> counts;
  std::chrono::milliseconds longest{0};
  for (const auto& l : leftovers) {
    if (!populated(l.leaf)) continue;
    if (inotify) {
      ::inotify_add_watch(inotify.get(), cgroup_file_path(l.leaf.dir, "cgroup.events").c_str(), IN_MODIFY);
    }
    std::string ignored;
    auto pids = cgroup_pids(l.leaf.dir, &ignored);
    counts.push_back(pids ? pids->size() : 0);
    signal_cgroup(l.leaf.dir, l.stop_signal);
    signal_cgroup(l.leaf.dir, SIGCONT);  // a stopped process could not act on the signal
    busy.push_back(&l.leaf);
    longest = std::max(longest, l.stop_timeout);
  }
  if (!busy.empty() && inotify) {
    if (!wait_empty(inotify.get(), busy, Clock::now() + longest)) {
      for (const CgroupLeaf* leaf : busy) {
        std::string why;
        if (populated(*leaf) && !kill_cgroup(leaf->dir, &why)) lines.push_back(leaf->name + ": " + why);
      }
      wait_empty(inotify.get(), busy, Clock::now() + kKillGrace);
    }
  }
  for (size_t i = 0; i < busy.size(); ++i) {
    lines.push_back(busy[i]->name + ": " +
                    (populated(*busy[i]) ? "could not stop the processes left by the previous superd"
                                         : "stopped " + std::to_string(counts[i]) +
                                               " processes left by the previous superd"));
  }
  for (const auto& l : leftovers) {
    std::string why;
    if (!populated(l.leaf) && !tree.remove_leaf(l.leaf, &why)) lines.push_back(l.leaf.name + ": " + why);
  }
  return lines;
}

}  // namespace superd
