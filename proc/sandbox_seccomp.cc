#include "proc/sandbox_seccomp.h"

#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>

#include "base/fd.h"

namespace superd {
namespace {

uint32_t action_for(int error) {
  if (error == SandboxSpec::kKill) return SCMP_ACT_KILL_PROCESS;
  return SCMP_ACT_ERRNO(static_cast<uint16_t>(error));
}

// One libseccomp filter being built, for one directive.
class Builder {
 public:
  Builder(std::string what, uint32_t default_action)
      : what_(std::move(what)), ctx_(seccomp_init(default_action), seccomp_release) {
    if (!ctx_) {
      error_ = "out of memory";
      return;
    }
    // libseccomp would set no_new_privs itself on load; the child decides that (and
    // loads the BPF with seccomp(2)), so the attribute only keeps the export honest.
    seccomp_attr_set(ctx_.get(), SCMP_FLTATR_CTL_NNP, 0);
    // A binary tree instead of a chain of comparisons: an allow list of 400 calls costs
    // a few comparisons per syscall, not 400.
    seccomp_attr_set(ctx_.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
  }

  // A rule for the syscall `name`. A name this architecture does not have is skipped, as
  // systemd skips it (@system-service names calls of other architectures too).
  void rule(uint32_t action, const char* name, std::initializer_list<scmp_arg_cmp> args = {}) {
    if (!error_.empty()) return;
    int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_NATIVE, name);
    if (nr < 0) return;
    int rc = seccomp_rule_add_array(ctx_.get(), action, nr, static_cast<unsigned>(args.size()),
                                    args.size() ? std::data(args) : nullptr);
    // -EEXIST: the same call twice with the same action (a group listed twice).
    if (rc < 0 && rc != -EEXIST) error_ = std::string(name) + ": " + std::strerror(-rc);
  }

  bool finish(std::vector<CompiledFilter>& out, std::string* error) {
    if (error_.empty()) export_bpf(out);
    if (!error_.empty()) {
      *error = "seccomp filter for " + what_ + ": " + error_;
      return false;
    }
    return true;
  }

 private:
  void export_bpf(std::vector<CompiledFilter>& out) {
    UniqueFd fd(::memfd_create("superd-seccomp", MFD_CLOEXEC));
    if (!fd) {
      error_ = std::string("memfd_create: ") + std::strerror(errno);
      return;
    }
    int rc = seccomp_export_bpf(ctx_.get(), fd.get());
    if (rc < 0) {
      error_ = std::string("export: ") + std::strerror(-rc);
      return;
    }
    off_t size = ::lseek(fd.get(), 0, SEEK_END);
    if (size <= 0 || size % sizeof(sock_filter) != 0) {
      error_ = "export: unexpected size " + std::to_string(size);
      return;
    }
    CompiledFilter filter{what_, std::vector<sock_filter>(size / sizeof(sock_filter))};
    char* at = reinterpret_cast<char*>(filter.code.data());
    for (off_t done = 0; done < size;) {
      ssize_t n = ::pread(fd.get(), at + done, size - done, done);
      if (n <= 0) {
        error_ = std::string("reading the export: ") + (n < 0 ? std::strerror(errno) : "short read");
        return;
      }
      done += n;
    }
    out.push_back(std::move(filter));
  }

  std::string what_;
  std::unique_ptr<void, void (*)(scmp_filter_ctx)> ctx_;
  std::string error_;
};

const uint32_t kEperm = SCMP_ACT_ERRNO(EPERM);

bool address_families(const SandboxSpec::AddressFamilies& spec, std::vector<CompiledFilter>& out,
                      std::string* error) {
  Builder b("restrict_address_families", SCMP_ACT_ALLOW);
  const uint32_t refuse = SCMP_ACT_ERRNO(EAFNOSUPPORT);
  std::vector<int> set = spec.families;
  std::sort(set.begin(), set.end());
  set.erase(std::unique(set.begin(), set.end()), set.end());
  // socket()'s family is an int: compare the low 32 bits only, so high garbage in the
  // register cannot slip a family past an equality test.
  if (!spec.allow_list) {
    for (int af : set) b.rule(refuse, "socket", {SCMP_A0_32(SCMP_CMP_EQ, static_cast<uint32_t>(af))});
  } else if (set.empty()) {
    b.rule(refuse, "socket");
  } else {
    // Below the first, above the last, and every gap between.
    b.rule(refuse, "socket", {SCMP_A0_32(SCMP_CMP_LT, static_cast<uint32_t>(set.front()))});
    b.rule(refuse, "socket", {SCMP_A0_32(SCMP_CMP_GT, static_cast<uint32_t>(set.back()))});
    for (int af = set.front() + 1; af < set.back(); ++af) {
      if (!std::binary_search(set.begin(), set.end(), af)) {
        b.rule(refuse, "socket", {SCMP_A0_32(SCMP_CMP_EQ, static_cast<uint32_t>(af))});
      }
    }
  }
  return b.finish(out, error);
}

// Writable and executable at once, or made executable later (systemd's rules).
bool memory_deny_write_execute(std::vector<CompiledFilter>& out, std::string* error) {
  Builder b("memory_deny_write_execute", SCMP_ACT_ALLOW);
  b.rule(kEperm, "mmap", {SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC | PROT_WRITE, PROT_EXEC | PROT_WRITE)});
  b.rule(kEperm, "mprotect", {SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)});
  b.rule(kEperm, "pkey_mprotect", {SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)});
  b.rule(kEperm, "shmat", {SCMP_A2(SCMP_CMP_MASKED_EQ, SHM_EXEC, SHM_EXEC)});
  return b.finish(out, error);
}

// Only the personality the process has now (PER_LINUX, or PER_LINUX32 under a 32-bit
// personality), as systemd's LockPersonality= without Personality=.
bool lock_personality(std::vector<CompiledFilter>& out, std::string* error) {
  int current = ::personality(0xffffffff);
  unsigned long keep = (current >= 0 && (current & PER_MASK) == PER_LINUX32) ? PER_LINUX32 : PER_LINUX;
  Builder b("lock_personality", SCMP_ACT_ALLOW);
  b.rule(kEperm, "personality", {SCMP_A0(SCMP_CMP_NE, keep)});
  return b.finish(out, error);
}

// SCHED_FIFO, SCHED_RR and anything above SCHED_IDLE (SCHED_DEADLINE) refused.
bool restrict_realtime(std::vector<CompiledFilter>& out, std::string* error) {
  Builder b("restrict_realtime", SCMP_ACT_ALLOW);
  b.rule(kEperm, "sched_setscheduler", {SCMP_A1_32(SCMP_CMP_EQ, SCHED_FIFO)});
  b.rule(kEperm, "sched_setscheduler", {SCMP_A1_32(SCMP_CMP_EQ, SCHED_RR)});
  b.rule(kEperm, "sched_setscheduler", {SCMP_A1_32(SCMP_CMP_GT, SCHED_IDLE)});
  return b.finish(out, error);
}

// No file or directory gets the set-user-ID or set-group-ID bit: every call that takes a
// mode, with the bit in it. openat2() keeps its mode in a struct no filter can read, so
// it is refused altogether (glibc does not use it for open()).
bool restrict_suid_sgid(std::vector<CompiledFilter>& out, std::string* error) {
  Builder b("restrict_suid_sgid", SCMP_ACT_ALLOW);
  for (uint32_t bit : {uint32_t{S_ISUID}, uint32_t{S_ISGID}}) {
    b.rule(kEperm, "chmod", {SCMP_A1_32(SCMP_CMP_MASKED_EQ, bit, bit)});
    b.rule(kEperm, "fchmod", {SCMP_A1_32(SCMP_CMP_MASKED_EQ, bit, bit)});
    b.rule(kEperm, "fchmodat", {SCMP_A2_32(SCMP_CMP_MASKED_EQ, bit, bit)});
    b.rule(kEperm, "fchmodat2", {SCMP_A2_32(SCMP_CMP_MASKED_EQ, bit, bit)});
    b.rule(kEperm, "mkdir", {SCMP_A1_32(SCMP_CMP_MASKED_EQ, bit, bit)});
    b.rule(kEperm, "mkdirat", {SCMP_A2_32(SCMP_CMP_MASKED_EQ, bit, bit)});
    b.rule(kEperm, "mknod", {SCMP_A1_32(SCMP_CMP_MASKED_EQ, bit, bit)});
    b.rule(kEperm, "mknodat", {SCMP_A2_32(SCMP_CMP_MASKED_EQ, bit, bit)});
    b.rule(kEperm, "open", {SCMP_A1_32(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT),
                            SCMP_A2_32(SCMP_CMP_MASKED_EQ, bit, bit)});
    b.rule(kEperm, "openat", {SCMP_A2_32(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT),
                              SCMP_A3_32(SCMP_CMP_MASKED_EQ, bit, bit)});
    b.rule(kEperm, "creat", {SCMP_A1_32(SCMP_CMP_MASKED_EQ, bit, bit)});
  }
  b.rule(kEperm, "openat2");
  return b.finish(out, error);
}

// unshare(), clone() and setns() with a namespace flag that is not allowed. clone3()
// keeps its flags in a struct: ENOSYS makes glibc fall back to clone(), which is checked.
bool restrict_namespaces(uint64_t allowed, std::vector<CompiledFilter>& out, std::string* error) {
  static constexpr uint64_t kFlags[] = {CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS,
                                        CLONE_NEWPID,    CLONE_NEWUSER, CLONE_NEWUTS};
  Builder b("restrict_namespaces", SCMP_ACT_ALLOW);
  b.rule(SCMP_ACT_ERRNO(ENOSYS), "clone3");
  // setns() with flags 0 joins whatever namespace the fd is: refused unless some kind is allowed.
  if ((allowed & (CLONE_NEWCGROUP | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID |
                  CLONE_NEWUSER | CLONE_NEWUTS)) == 0) {
    b.rule(kEperm, "setns");
  } else {
    b.rule(kEperm, "setns", {SCMP_A1_32(SCMP_CMP_EQ, 0)});
  }
  for (uint64_t flag : kFlags) {
    if (allowed & flag) continue;
    b.rule(kEperm, "unshare", {SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)});
    b.rule(kEperm, "clone", {SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)});
    if (allowed != 0) b.rule(kEperm, "setns", {SCMP_A1_32(SCMP_CMP_MASKED_EQ, flag, flag)});
  }
  return b.finish(out, error);
}

bool deny_list(const char* what, const std::vector<std::string>& names, uint32_t action,
               std::vector<CompiledFilter>& out, std::string* error) {
  Builder b(what, SCMP_ACT_ALLOW);
  for (const auto& name : names) b.rule(action, name.c_str());
  return b.finish(out, error);
}

bool syscall_filter(const SandboxSpec::SyscallFilter& spec, std::vector<CompiledFilter>& out,
                    std::string* error) {
  if (!spec.allow_list) {
    Builder b("system_call_filter", SCMP_ACT_ALLOW);
    for (const auto& call : spec.syscalls) b.rule(action_for(call.error), call.name.c_str());
    return b.finish(out, error);
  }
  Builder b("system_call_filter", action_for(spec.default_error));
  for (const auto& call : spec.syscalls) b.rule(SCMP_ACT_ALLOW, call.name.c_str());
  return b.finish(out, error);
}

bool compile(const SandboxSpec& spec, std::vector<CompiledFilter>& out, std::string* error);

// Everything of `spec` the filters depend on, as text: the key of the cache below.
std::string cache_key(const SandboxSpec& spec) {
  std::string key;
  auto add = [&key](const std::string& s) { (key += s) += '\n'; };
  if (spec.syscall_filter) {
    add(spec.syscall_filter->allow_list ? "allow" : "deny");
    add(std::to_string(spec.syscall_filter->default_error));
    for (const auto& c : spec.syscall_filter->syscalls) add(c.name + ":" + std::to_string(c.error));
  }
  add("--");
  for (const auto& name : spec.deny_syscalls) add(name);
  add("--");
  if (spec.address_families) {
    add(spec.address_families->allow_list ? "allow" : "deny");
    for (int af : spec.address_families->families) add(std::to_string(af));
  }
  add("--");
  add(std::to_string(spec.memory_deny_write_execute) + std::to_string(spec.lock_personality) +
      std::to_string(spec.restrict_realtime) + std::to_string(spec.restrict_suid_sgid));
  add(spec.allowed_namespaces ? std::to_string(*spec.allowed_namespaces) : "-");
  return key;
}

// Compiling an allow list of 350 calls takes libseccomp a few milliseconds, on the
// event loop: each distinct sandbox is compiled once, and a service's next starts reuse
// it. Bounded: a config with more distinct sandboxes than this just compiles again.
constexpr size_t kCacheEntries = 64;
std::mutex cache_mutex;
std::map<std::string, std::vector<CompiledFilter>> cache;

}  // namespace

bool compile_seccomp(const SandboxSpec& spec, std::vector<CompiledFilter>& out, std::string* error) {
  if (!spec.has_seccomp()) return true;
  const std::string key = cache_key(spec);
  {
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto it = cache.find(key);
    if (it != cache.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return true;
    }
  }
  std::vector<CompiledFilter> compiled;
  if (!compile(spec, compiled, error)) return false;
  out.insert(out.end(), compiled.begin(), compiled.end());
  std::lock_guard<std::mutex> lock(cache_mutex);
  if (cache.size() >= kCacheEntries) cache.clear();
  cache.emplace(key, std::move(compiled));
  return true;
}

namespace {

bool compile(const SandboxSpec& spec, std::vector<CompiledFilter>& out, std::string* error) {
  // systemd's order; the operator's own list stays closest to execve.
  if (spec.address_families && !address_families(*spec.address_families, out, error)) return false;
  if (spec.memory_deny_write_execute && !memory_deny_write_execute(out, error)) return false;
  if (spec.restrict_realtime && !restrict_realtime(out, error)) return false;
  if (spec.restrict_suid_sgid && !restrict_suid_sgid(out, error)) return false;
  if (spec.allowed_namespaces && !restrict_namespaces(*spec.allowed_namespaces, out, error)) return false;
  if (!spec.deny_syscalls.empty() &&
      !deny_list("protect_* directives", spec.deny_syscalls, kEperm, out, error)) {
    return false;
  }
  if (spec.lock_personality && !lock_personality(out, error)) return false;
  if (spec.syscall_filter && !syscall_filter(*spec.syscall_filter, out, error)) return false;
  return true;
}

}  // namespace
}  // namespace superd
