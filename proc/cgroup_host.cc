#include "proc/cgroup_host.h"

#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/file_read.h"
#include "proc/cgroup_file.h"
#include "proc/cgroup_paths.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

namespace superd {
namespace {

bool has(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

bool under(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() + 1 && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

std::string parent_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

// Empty when `path` is writable for superd, else why not.
std::string not_writable(const std::string& path) {
  if (::access(path.c_str(), W_OK) == 0) return "";
  return path + " is not writable: " + std::strerror(errno);
}

}  // namespace

const std::string* CgroupHost::v1_dir(std::string_view controller) const {
  for (const auto& v : v1) {
    if (v.controller == controller) return &v.own_dir;
  }
  return nullptr;
}

CgroupHost describe_host(std::string_view proc_self_cgroup, std::string_view mountinfo) {
  CgroupHost host;
  const auto lines = parse_proc_cgroup(proc_self_cgroup);
  const auto mounts = parse_cgroup_mounts(mountinfo);
  for (const auto& m : mounts) {
    if (m.fstype != "cgroup2") continue;
    // The first one, in mount order, is what processes see (later ones are usually
    // bind mounts of the same tree elsewhere).
    host.v2_mount = m.mount_point;
    for (const auto& line : lines) {
      if (line.hierarchy != 0 || !line.controllers.empty()) continue;
      host.own_v2 = line.path;
      host.own_v2_dir = cgroup_dir(m, line.path).value_or("");
    }
    break;
  }
  for (auto controller : kCgroupControllers) {
    for (const auto& m : mounts) {
      if (m.fstype != "cgroup" || !has(m.super_options, controller)) continue;
      for (const auto& line : lines) {
        if (line.hierarchy == 0 || !has(line.controllers, controller)) continue;
        if (auto dir = cgroup_dir(m, line.path)) {
          host.v1.push_back({std::string(controller), *dir});
        }
      }
      break;
    }
  }
  return host;
}

std::optional<CgroupHost> read_cgroup_host(std::string* error) {
  std::string why;
  auto cgroup = read_small_file("/proc/self/cgroup", &why);
  if (!cgroup) {
    *error = "/proc/self/cgroup " + why;
    return std::nullopt;
  }
  auto mountinfo = read_small_file("/proc/self/mountinfo", &why);
  if (!mountinfo) {
    *error = "/proc/self/mountinfo " + why;
    return std::nullopt;
  }
  return describe_host(*cgroup, *mountinfo);
}

CgroupFacts read_cgroup_facts(const CgroupHost& host) {
  CgroupFacts facts;
  facts.pid1 = ::getpid() == 1;
  struct stat st {};
  facts.under_systemd = ::lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
  if (!host.own_v2_dir.empty()) {
    // systemd (v251 and later) marks a cgroup it delegated: trusted.delegate as root,
    // user.delegate for a user's manager.
    for (const char* name : {"trusted.delegate", "user.delegate"}) {
      char value[8] = {};
      ssize_t n = ::getxattr(host.own_v2_dir.c_str(), name, value, sizeof value - 1);
      if (n > 0 && value[0] == '1') facts.delegated = true;
    }
  }
  return facts;
}

CgroupRootChoice choose_cgroup_root(const CgroupHost& host, CgroupMode mode,
                                    const std::string& path, const CgroupFacts& facts) {
  CgroupRootChoice choice;
  if (mode == CgroupMode::off) {
    choice.why_not = "[supervisor] cgroup = \"off\"";
    return choice;
  }
  if (host.v2_mount.empty()) {
    choice.why_not = "no cgroup2 file system is mounted";
    return choice;
  }
  if (mode == CgroupMode::path) {
    if (!under(path, host.v2_mount)) {
      choice.why_not = "[supervisor] cgroup = \"" + path + "\" is not below the cgroup2 mount " +
                       host.v2_mount;
      return choice;
    }
    choice.root = path;
    choice.create = true;
    return choice;
  }
  if (host.own_v2_dir.empty()) {
    choice.why_not = "superd's cgroup " + host.own_v2 + " is not visible under " + host.v2_mount;
    return choice;
  }
  if (host.own_v2 == "/" && !facts.pid1) {
    choice.why_not =
        "superd runs in the root cgroup, which is not delegated to it (run it with "
        "Delegate=yes, or set [supervisor] cgroup to a path)";
    return choice;
  }
  if (facts.under_systemd && !facts.delegated && !facts.pid1) {
    choice.why_not = "cgroup " + host.own_v2 +
                     " is not delegated to superd (Delegate=yes in superd.service)";
    return choice;
  }
  choice.root = host.own_v2_dir;
  return choice;
}

std::string probe_cgroup_root(const std::string& root, bool create) {
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0) {
    if (errno != ENOENT || !create) return "cgroup " + root + ": " + std::strerror(errno);
    const std::string parent = parent_of(root);
    struct statfs fs {};
    if (::statfs(parent.c_str(), &fs) != 0) return "cgroup " + parent + ": " + std::strerror(errno);
    if (fs.f_type != CGROUP2_SUPER_MAGIC) return parent + " is not on the cgroup2 file system";
    return not_writable(parent);
  }
  struct statfs fs {};
  if (::statfs(root.c_str(), &fs) != 0) return "cgroup " + root + ": " + std::strerror(errno);
  if (fs.f_type != CGROUP2_SUPER_MAGIC) return root + " is not on the cgroup2 file system";
  for (const char* name : {"", "cgroup.procs", "cgroup.subtree_control"}) {
    std::string why = not_writable(*name ? cgroup_file_path(root, name) : root);
    if (!why.empty()) return why;
  }
  return "";
}

}  // namespace superd
