// What integration tests share: a temporary directory, a real superd started on a config
// written by the test, superctl runs, and bounded waits. Every wait polls a real
// observable (status over the socket, a file, /proc) against a deadline; none sleeps and
// hopes. Everything started here is stopped by pid when the test ends.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace superd::test {

using namespace std::chrono_literals;

// Memory and latency bounds are checked in the release build: ASan's shadow memory and
// quarantine inflate RSS several times, and its checks slow a flood down.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#define SKIP_UNDER_SANITIZERS() \
  if (::superd::test::kSanitized) GTEST_SKIP() << "memory/latency bounds: checked in the release build"

std::string testprog();
std::string superd_bin();
std::string superctl_bin();

// A TOML basic string of s (tests only use plain paths and words).
std::string q(const std::string& s);
// command = [testprog, args...] as a TOML array.
std::string cmd(const std::vector<std::string>& args);
// A free TCP port on 127.0.0.1 (bound and released; good enough on a quiet loopback).
int free_port();

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::string& text);
std::string read_file(const std::string& path);  // "" when missing
bool file_exists(const std::string& path);

// Poll `done` every few milliseconds until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s);

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
class TestUser;
struct RunOptions {
  const TestUser* user = nullptr;  // run as this user, with its groups (initgroups)
  std::vector<std::string> env;    // added to the test's environment
  std::chrono::milliseconds timeout = 15s;
};
// Run a program with arguments, capturing its output. Never waits forever: exit_code
// -2 means it was killed at the deadline.
RunResult run(const std::vector<std::string>& argv, const RunOptions& opt = {});

bool process_alive(pid_t pid);  // exists and is not a zombie
std::vector<pid_t> processes_in_group(pid_t pgid);
std::vector<pid_t> processes_of_session(pid_t sid);
std::vector<pid_t> zombie_children_of(pid_t parent);

// A superd on a config of the test's own. The [supervisor] section is written by the
// harness (socket, state and log dirs in the temp dir); the test gives the services.
class Superd {
 public:
  explicit Superd(TempDir& dir, std::string services_toml, std::string supervisor_extra = "");
  ~Superd();

  // Start and wait until the socket answers. false (and the log in *why) on failure.
  bool start(const std::vector<std::string>& extra_env = {}, std::string* why = nullptr);
  // SIGTERM and wait (bounded) for it to exit; its exit code, -1 when it did not exit.
  int stop(std::chrono::milliseconds timeout = 20s);
  // kill -9, as a crash would; its services are left running.
  void kill_hard();
  // RLIMIT_NOFILE for the next start (0: inherit).
  void set_nofile_limit(unsigned long limit) { nofile_limit_ = limit; }
  // superd's stdout for the next start (a pipe the test reads, or one nobody reads);
  // -1: the daemon log file, with stderr. The fd stays the test's.
  void set_stdout_fd(int fd) { stdout_fd_ = fd; }
  pid_t pid() const { return pid_; }
  const std::string& config_path() const { return config_; }
  const std::string& socket() const { return socket_; }
  const std::string& log_dir() const { return log_dir_; }
  const std::string& state_dir() const { return state_dir_; }
  std::string daemon_log() const;  // superd's own stderr so far
  void rewrite_services(const std::string& services_toml);

  RunResult ctl(const std::vector<std::string>& args) const;
  // The status of one service (empty json when unknown or unreachable).
  nlohmann::json status(const std::string& name) const;
  bool wait_state(const std::string& name, const std::string& state,
                  std::chrono::milliseconds timeout = 10s) const;
  // Wait for a running state with a pid different from `old_pid`; returns the new pid.
  pid_t wait_new_pid(const std::string& name, pid_t old_pid,
                     std::chrono::milliseconds timeout = 10s) const;

 private:
  void write_config(const std::string& services_toml);
  TempDir& dir_;
  std::string supervisor_extra_;
  std::string config_, socket_, log_dir_, state_dir_, stderr_path_;
  pid_t pid_ = -1;
  unsigned long nofile_limit_ = 0;
  int stdout_fd_ = -1;
};

// Users and groups created for a test and deleted after it.
class TestUser {
 public:
  TestUser(const std::string& name, const std::vector<std::string>& supplementary = {});
  ~TestUser();
  uid_t uid() const { return uid_; }
  gid_t gid() const { return gid_; }
  const std::string& name() const { return name_; }
  gid_t group_id(const std::string& group) const;

 private:
  std::string name_;
  std::vector<std::string> groups_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
};

}  // namespace superd::test
