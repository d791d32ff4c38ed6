#include "proc/exec_status.h"

#include <cerrno>
#include <cstring>

namespace superd {

bool is_transient_errno(int error) {
  return error == EAGAIN || error == ENOMEM || error == ETXTBSY || error == EMFILE ||
         error == ENFILE || error == EINTR;
}

std::string describe_exec_failure(const ExecReport& report, const std::string& program,
                                  const std::string& user, const std::string& directory,
                                  const std::string& cgroup,
                                  const std::vector<std::string>& sandbox_labels) {
  const std::string why = std::strerror(report.error);
  auto sandbox = [&](const char* fallback) {
    const bool known = report.detail >= 0 && static_cast<size_t>(report.detail) < sandbox_labels.size();
    return "sandbox: " + (known ? sandbox_labels[report.detail] : std::string(fallback)) + ": " + why;
  };
  switch (report.stage) {
    case ExecStage::none: break;
    case ExecStage::setsid: return "setsid: " + why;
    case ExecStage::setrlimit: return "setrlimit: " + why;
    case ExecStage::chdir: return "chdir " + directory + ": " + why;
    case ExecStage::setgid: return "setgid(" + user + "): " + why;
    case ExecStage::setgroups: return "setgroups(" + user + "): " + why;
    case ExecStage::setuid: return "setuid(" + user + "): " + why;
    case ExecStage::dup_fds: return "setting up file descriptors: " + why;
    case ExecStage::close_fds: return "closing inherited file descriptors: " + why;
    case ExecStage::exec: return "exec " + program + ": " + why;
    case ExecStage::cgroup: return "joining cgroup " + cgroup + ": " + why;
    case ExecStage::sandbox_namespace: return sandbox("new namespaces");
    case ExecStage::sandbox_mount: return sandbox("mounts");
    case ExecStage::sandbox_capabilities: return sandbox("capabilities");
    case ExecStage::sandbox_no_new_privileges: return sandbox("no_new_privileges");
    case ExecStage::sandbox_seccomp: return sandbox("seccomp filter");
  }
  return "execution failed: " + why;
}

}  // namespace superd
