#include "proc/cgroup_join.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace superd {
namespace {

UniqueFd open_procs(const std::string& dir, std::string* error) {
  const std::string path = dir + "/cgroup.procs";
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) *error = "cgroup: open " + path + ": " + std::strerror(errno);
  return fd;
}

bool write_self(int fd) {
  if (fd < 0) return true;
  ssize_t n;
  do {
    n = ::write(fd, "0", 1);
  } while (n < 0 && errno == EINTR);
  return n == 1;
}

}  // namespace

bool CgroupJoinFds::open(const CgroupLeaf& leaf, std::string* error) { return open_v1(leaf, nullptr, error); }

bool CgroupJoinFds::open(const CgroupLeaf& leaf, const CgroupLimits& limits, std::string* error) {
  return open_v1(leaf, &limits, error);
}

bool CgroupJoinFds::open_v1(const CgroupLeaf& leaf, const CgroupLimits* limits, std::string* error) {
  dir_ = leaf.dir;
  deferred_.clear();
  dir_fd_.reset(::open(leaf.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd_) {
    *error = "cgroup: open " + leaf.dir + ": " + std::strerror(errno);
    return false;
  }
  procs_fd_ = open_procs(leaf.dir, error);
  if (!procs_fd_) return false;
  int i = 0;
  for (const auto& v1 : leaf.v1) {
    if (limits && !limits->uses(v1.controller)) {
      deferred_.push_back(v1.own_dir);
      continue;
    }
    if (i == kMaxV1Joins) break;
    v1_procs_[i] = open_procs(v1.own_dir, error);
    if (!v1_procs_[i]) return false;
    ++i;
  }
  return true;
}

CgroupJoin CgroupJoinFds::view() const {
  CgroupJoin join;
  join.dir = dir_;
  join.dir_fd = dir_fd_.get();
  join.procs_fd = procs_fd_.get();
  for (int i = 0; i < kMaxV1Joins; ++i) join.v1_procs_fds[i] = v1_procs_[i].get();
  return join;
}

bool join_cgroups(const CgroupJoin& join) {
  if (!join.active()) return true;
  if (!join.placed && !write_self(join.procs_fd)) return false;
  for (int fd : join.v1_procs_fds) {
    if (!write_self(fd)) return false;
  }
  return true;
}

}  // namespace superd
