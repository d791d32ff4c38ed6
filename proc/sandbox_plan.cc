#include "proc/sandbox_plan.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "base/fd.h"
#include "proc/sandbox_seccomp.h"

namespace superd {
namespace {

using Mode = SandboxSpec::PathMode;

std::string errno_text() { return std::strerror(errno); }

// Parents before children ("/a" < "/a/b" < "/ab"), then by mode: '/' compares below
// every other byte.
bool path_before(const std::string& a, const std::string& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto rank = [](char c) { return c == '/' ? 0 : static_cast<unsigned char>(c) + 1; };
    return rank(x) < rank(y);
  });
}

bool is_below(const std::string& path, const std::string& parent) {
  if (parent == "/") return path != "/";
  return path.size() > parent.size() && path.compare(0, parent.size(), parent) == 0 &&
         path[parent.size()] == '/';
}

// Where the path really is, so that ordering and "below" hold for /var/run -> /run.
// A path that does not exist stays as written; the child decides what that means.
std::string resolved(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf)) return buf;
  return path;
}

// systemd's rules, in its order: sorted, the first rule for a path wins, and nothing is
// mounted below an inaccessible path.
std::vector<SandboxSpec::PathRule> ordered_rules(const std::vector<SandboxSpec::PathRule>& in) {
  std::vector<SandboxSpec::PathRule> rules = in;
  for (auto& r : rules) r.path = resolved(r.path);
  std::stable_sort(rules.begin(), rules.end(), [](const auto& a, const auto& b) {
    if (a.path != b.path) return path_before(a.path, b.path);
    return a.mode < b.mode;
  });
  std::vector<SandboxSpec::PathRule> out;
  for (auto& r : rules) {
    if (!out.empty() && out.back().path == r.path) continue;
    bool hidden = std::any_of(out.begin(), out.end(), [&](const auto& kept) {
      return kept.mode == Mode::inaccessible && is_below(r.path, kept.path);
    });
    if (!hidden) out.push_back(std::move(r));
  }
  return out;
}

SandboxMountStep step_for(const SandboxSpec::PathRule& rule) {
  SandboxMountStep step;
  step.path = rule.path;
  step.ignore_missing = rule.ignore_missing;
  switch (rule.mode) {
    case Mode::inaccessible: step.op = SandboxMountStep::Op::inaccessible; break;
    case Mode::private_tmp:
      step.op = SandboxMountStep::Op::tmpfs;
      step.flags = MS_NOSUID | MS_NODEV | MS_STRICTATIME;
      step.options = "mode=1777";
      break;
    case Mode::private_dev: step.op = SandboxMountStep::Op::private_dev; break;
    case Mode::read_only: step.op = SandboxMountStep::Op::read_only; break;
    case Mode::read_write:
    case Mode::read_write_implicit: step.op = SandboxMountStep::Op::read_write; break;
    case Mode::tmpfs_read_only:
      step.op = SandboxMountStep::Op::tmpfs;
      step.flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_STRICTATIME;
      step.options = "mode=" + rule.tmpfs_mode;
      break;
  }
  return step;
}

// The host's API devices, copied into a private /dev; physical devices never are.
std::vector<SandboxDevice> private_devices() {
  std::vector<SandboxDevice> out;
  for (const char* name : {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
                           "/dev/tty"}) {
    struct stat st {};
    if (::stat(name, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev == 0) continue;
    out.push_back({SandboxDevice::Kind::node, name, st.st_mode, st.st_rdev, ""});
  }
  struct stat st {};
  if (::lstat("/dev/ptmx", &st) == 0 && S_ISCHR(st.st_mode)) {
    out.push_back({SandboxDevice::Kind::node, "/dev/ptmx", st.st_mode, st.st_rdev, ""});
  } else {
    out.push_back({SandboxDevice::Kind::symlink, "/dev/ptmx", 0, 0, "pts/ptmx"});
  }
  for (const char* dir : {"/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/hugepages"}) {
    if (::stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
      out.push_back({SandboxDevice::Kind::directory_bind, dir, 0, 0, ""});
    }
  }
  out.push_back({SandboxDevice::Kind::symlink, "/dev/fd", 0, 0, "/proc/self/fd"});
  out.push_back({SandboxDevice::Kind::symlink, "/dev/stdin", 0, 0, "/proc/self/fd/0"});
  out.push_back({SandboxDevice::Kind::symlink, "/dev/stdout", 0, 0, "/proc/self/fd/1"});
  out.push_back({SandboxDevice::Kind::symlink, "/dev/stderr", 0, 0, "/proc/self/fd/2"});
  char target[PATH_MAX];
  ssize_t n = ::readlink("/dev/log", target, sizeof target - 1);
  if (n > 0) out.push_back({SandboxDevice::Kind::symlink, "/dev/log", 0, 0, std::string(target, n)});
  return out;
}

bool make_dirs(const std::string& path, std::string* error) {
  for (size_t at = 1; at <= path.size(); ++at) {
    if (at != path.size() && path[at] != '/') continue;
    std::string prefix = path.substr(0, at);
    if (::mkdir(prefix.c_str(), 0755) < 0 && errno != EEXIST) {
      *error = prefix + ": " + errno_text();
      return false;
    }
  }
  return true;
}

// An empty directory and an empty file, mode 0000, owned by superd: what an inaccessible
// path shows (systemd's /run/systemd/inaccessible). Made once; checked every time.
bool stage_inaccessible_nodes(const std::string& dir, std::string* error) {
  if (!make_dirs(dir, error)) return false;
  const std::string d = dir + "/dir", f = dir + "/file";
  if (::mkdir(d.c_str(), 0) < 0 && errno != EEXIST) {
    *error = d + ": " + errno_text();
    return false;
  }
  UniqueFd file(::open(f.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0));
  if (!file) {
    *error = f + ": " + errno_text();
    return false;
  }
  for (const auto& [path, is_dir] : {std::pair{d, true}, std::pair{f, false}}) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) < 0) {
      *error = path + ": " + errno_text();
      return false;
    }
    if ((is_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) || st.st_uid != ::geteuid() ||
        (is_dir ? false : st.st_size != 0)) {
      *error = path + ": not an empty " + (is_dir ? "directory" : "file") + " of superd's own";
      return false;
    }
    if ((st.st_mode & 07777) != 0 && ::chmod(path.c_str(), 0) < 0) {
      *error = path + ": " + errno_text();
      return false;
    }
  }
  return true;
}

std::string capability_name(int cap) {
  char* name = cap_to_name(cap);
  std::string out = name ? name : std::to_string(cap);
  if (name) cap_free(name);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

int add_label(SandboxPlan& plan, std::string text) {
  plan.labels.push_back(std::move(text));
  return static_cast<int>(plan.labels.size() - 1);
}

SpawnFailure failure(const std::string& what) { return SpawnFailure{"sandbox: " + what, false}; }

std::optional<SpawnFailure> plan_namespaces(const SandboxSpec& spec, const std::vector<std::string>& keep_paths,
                                            SandboxPlan& plan) {
  const bool mount_ns = spec.mount_namespace || !spec.paths.empty();
  if (mount_ns) plan.unshare_flags |= CLONE_NEWNS;
  if (spec.uts_namespace) plan.unshare_flags |= CLONE_NEWUTS;
  if (plan.unshare_flags) {
    plan.namespace_label = add_label(plan, mount_ns && spec.uts_namespace ? "new mount and UTS namespaces"
                                           : mount_ns                     ? "new mount namespace"
                                                                          : "new UTS namespace");
  }
  bool inaccessible = false;
  for (const auto& rule : ordered_rules(spec.paths)) {
    SandboxMountStep step = step_for(rule);
    step.label = add_label(plan, "mount " + rule.path);
    if (step.op == SandboxMountStep::Op::inaccessible) inaccessible = true;
    if (step.op == SandboxMountStep::Op::private_dev) plan.devices = private_devices();
    plan.mounts.push_back(std::move(step));
  }
  if (inaccessible) {
    std::string error;
    if (!stage_inaccessible_nodes(spec.inaccessible_dir, &error)) return failure(error);
    plan.inaccessible_dir = spec.inaccessible_dir;
    plan.inaccessible_dir_node = spec.inaccessible_dir + "/dir";
    plan.inaccessible_file_node = spec.inaccessible_dir + "/file";
  }
  if (!mount_ns) return std::nullopt;
  for (const auto& path : keep_paths) {
    if (path.empty() || path.front() != '/') continue;  // an abstract socket: no path to hide
    SandboxKeepPath keep{path, {}, add_label(plan, "keep " + path + " reachable")};
    for (size_t at = path.find('/', 1); at != std::string::npos; at = path.find('/', at + 1)) {
      keep.parents.push_back(path.substr(0, at));
    }
    plan.keep.push_back(std::move(keep));
  }
  return std::nullopt;
}

std::optional<SpawnFailure> plan_capabilities(const SandboxSpec& spec, SandboxPlan& plan) {
  if (spec.bounding) {
    plan.drop_bounding = true;
    plan.bounding = *spec.bounding;
    plan.bounding_label = add_label(plan, "capability bounding set");
  }
  // An ambient capability outside the bounding set could never be raised: say so now
  // rather than as an EPERM from the child.
  if (uint64_t lost = spec.ambient & ~plan.bounding) {
    std::string names;
    for (int cap = 0; cap < 64; ++cap) {
      if (lost & (uint64_t{1} << cap)) names += (names.empty() ? "" : ", ") + capability_name(cap);
    }
    return failure("ambient capabilities outside the bounding set: " + names);
  }
  plan.ambient = spec.ambient;
  if (plan.ambient) {
    plan.ambient_label = add_label(plan, "ambient capabilities");
    for (int cap = 0; cap < 64; ++cap) {
      if (plan.ambient & (uint64_t{1} << cap)) {
        plan.ambient_labels.push_back(add_label(plan, "ambient capability " + capability_name(cap)));
      }
    }
  }
  plan.no_new_privileges = spec.no_new_privileges;
  // seccomp(2) needs no_new_privs or CAP_SYS_ADMIN.
  plan.no_new_privileges_unless_sys_admin = spec.no_new_privileges_unless_sys_admin || spec.has_seccomp();
  plan.no_new_privileges_label = add_label(plan, "no_new_privileges");
  return std::nullopt;
}

std::optional<SpawnFailure> plan_seccomp(const SandboxSpec& spec, SandboxPlan& plan) {
  std::vector<CompiledFilter> filters;
  std::string error;
  if (!compile_seccomp(spec, filters, &error)) return failure(error);
  for (auto& f : filters) {
    plan.seccomp.push_back({std::move(f.code), add_label(plan, "seccomp filter for " + f.what)});
  }
  return std::nullopt;
}

}  // namespace

std::optional<SpawnFailure> plan_sandbox(const SandboxSpec& spec, const std::vector<std::string>& keep_paths,
                                         SandboxPlan& plan) {
  plan = SandboxPlan{};
  if (spec.empty()) return std::nullopt;
  plan.active = true;
  if (auto f = plan_namespaces(spec, keep_paths, plan)) return f;
  if (auto f = plan_capabilities(spec, plan)) return f;
  return plan_seccomp(spec, plan);
}

}  // namespace superd
