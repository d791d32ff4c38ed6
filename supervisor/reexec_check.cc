#include "supervisor/reexec_check.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <regex>

#include "base/exit_status.h"
#include "proc/launch_plan.h"
#include "supervisor/reexec_state.h"
#include "version.h"

namespace superd {

std::string reexec_check_line() {
  return std::string("superd ") + SUPERD_VERSION + " reads state formats 1-" + std::to_string(kStateFormat);
}

bool reads_state_format(const std::string& output, int format) {
  static const std::regex line(R"(reads state formats ([0-9]{1,6})-([0-9]{1,6}))");
  std::smatch m;
  if (!std::regex_search(output, m, line)) return false;
  return std::stoi(m[1]) <= format && format <= std::stoi(m[2]);
}

ReexecCheck::~ReexecCheck() {
  *alive_ = false;
  if (pid_ > 0) ::kill(-pid_, SIGKILL);  // its exit is reaped and ignored
}

void ReexecCheck::start(const std::string& exe, const std::string& config_path, Done done) {
  exe_ = exe;
  done_ = std::move(done);
  if (::access(exe.c_str(), X_OK) != 0) return done_(false, exe + ": " + std::strerror(errno));
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return done_(false, std::string("pipe: ") + std::strerror(errno));
  output_.reset(fds[0]);
  UniqueFd write_end(fds[1]);
  // A check that says a lot must not block on a full pipe before it exits.
  ::fcntl(fds[0], F_SETPIPE_SZ, 1 << 20);
  SpawnSpec spec;
  spec.command = {exe, "--reexec-check", "-c", config_path};
  auto planned = plan_launch(spec);  // argv and the clean environment, as a service gets
  if (auto* failure = std::get_if<SpawnFailure>(&planned)) return done_(false, failure->reason);
  LaunchPlan& plan = std::get<LaunchPlan>(planned);
  // posix_spawn, not superd's fork path: glibc's vfork-like clone leaves superd's pages
  // alone, where a fork has them copied on write while superd compares the config on the
  // other core (measured: 7.6 ms from fork to exec with 100 services; bench row 11a).
  // Every fd of superd is close-on-exec; the check gets /dev/null, the pipe, a session
  // of its own (killed as a group on timeout) and default signals.
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 2);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, plan.program.c_str(), &actions, &attr, plan.argv.data(), plan.envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return done_(false, exe + ": " + std::strerror(rc));
  pid_ = pid;
  std::weak_ptr<bool> alive = alive_;
  host_.watch_child(pid_, [this, alive](int wstatus) {
    if (alive.lock()) finish(wstatus);
  });
  uv_timer_init(loop_, timeout_.get());
  timeout_.mark_initialized();
  timeout_->data = this;
  uv_timer_start(
      timeout_.get(),
      [](uv_timer_t* t) {
        auto* self = static_cast<ReexecCheck*>(t->data);
        if (self->pid_ > 0) ::kill(-self->pid_, SIGKILL);  // reaped, then finish() says why
      },
      kTimeoutMs, 0);
}

void ReexecCheck::finish(int wstatus) {
  pid_ = 0;
  timeout_.reset();
  std::string output;
  char buf[4096];
  ::fcntl(output_.get(), F_SETFL, O_NONBLOCK);
  for (int i = 0; i < 64; ++i) {  // bounded: what fits a message
    ssize_t n = ::read(output_.get(), buf, sizeof buf);
    if (n <= 0) break;
    output.append(buf, static_cast<size_t>(n));
  }
  while (!output.empty() && output.back() == '\n') output.pop_back();
  const ExitStatus status = ExitStatus::from_wait_status(wstatus);
  Done done = std::move(done_);
  if (!status.clean()) {
    const bool killed = status.signaled && status.code == SIGKILL;
    return done(false, exe_ + " --reexec-check " +
                           (killed ? "did not finish in " + std::to_string(kTimeoutMs / 1000) + " s"
                                   : status.describe()) +
                           (output.empty() ? "" : ": " + output));
  }
  if (!reads_state_format(output, kStateFormat)) {
    return done(false, exe_ + " does not read state format " + std::to_string(kStateFormat) +
                           " (it said: '" + output + "')");
  }
  done(true, "");
}

}  // namespace superd
