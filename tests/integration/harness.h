// What integration tests share: a temporary directory, a real superd started on a config
// written by the test, superctl runs, and bounded waits. Every wait polls a real
// observable (status over the socket, a file, /proc) against a deadline; none sleeps and
// hopes. Everything started here is stopped by pid when the test ends.
//
// /proc is read knowing that a process can end at any moment: a pid listed in /proc can
// be gone when its files are opened (ENOENT) or read (ESRCH), and a pid can be reused.
// So processes are named by ProcKey (pid and start time), and every /proc reader here
// says "gone" rather than failing or guessing.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/fd.h"

namespace superd::test {

using namespace std::chrono_literals;

// The superd and superctl under test are the ones this build made, unless
// SUPERD_TEST_SUPERD and SUPERD_TEST_SUPERCTL name others: tests/run-all runs this
// harness, built once, against the ASan+UBSan superd and superctl too, and sets
// SUPERD_TEST_SANITIZED=1 for that run. A harness built with ASan is sanitized itself.
//
// Memory and latency bounds are checked against unsanitized binaries only: ASan's shadow
// memory and quarantine inflate RSS several times, and its checks slow a flood down. The
// tests that have such bounds run everything else under ASan too, and say what they left
// out.
bool sanitized();
// A client's timeout is the latency bound of the tests that flood superd (a loop that
// junk blocks misses it, a busy machine does not). Under ASan, where latency is not what
// is checked, it only catches a hang: ASan makes superd's CPU work several times dearer,
// and on a 2-core machine with a load of 10 the junk test's replies took over 10 s.
inline std::chrono::milliseconds within(std::chrono::milliseconds t) {
  return sanitized() ? 20 * t : t;
}

std::string testprog();
std::string superd_bin();
std::string superctl_bin();

// A TOML basic string of s (tests only use plain paths and words).
std::string q(const std::string& s);
// command = [testprog, args...] as a TOML array.
std::string cmd(const std::vector<std::string>& args);
// A TCP port on 127.0.0.1 that nothing else will take before the test is done with it.
// It comes from below the kernel's ephemeral range (so no bind to port 0 and no outgoing
// connection anywhere on the machine is given it), it was free when handed out, and it is
// reserved with an flock on /tmp/superd-test-ports/PORT until this process exits, so no
// other test using this harness (or the e2e suite, which takes the same locks) gets it,
// nor a second call in the same test.
int free_port();
// A TCP connection to 127.0.0.1:PORT whose reads give up after `read_timeout`; invalid
// (errno says why) when the connect failed.
UniqueFd connect_loopback(int port, std::chrono::seconds read_timeout = 5s);
// One HTTP/1.0 GET on 127.0.0.1:PORT; the whole response, or "" when nothing answers
// (2 s to read).
std::string http_get(int port, const std::string& path);

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
// The path of `pid`'s cgroup in the v1 hierarchy of `controller` (also one it shares, as
// cpu in "cpu,cpuacct"), from /proc/PID/cgroup; "" when there is none or pid is gone.
std::string v1_cgroup_of(pid_t pid, const std::string& controller);
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

// A process as the kernel knows it: its pid and its start time (field 22 of
// /proc/PID/stat). A pid alone can be reused by a new process; the pair cannot.
struct ProcKey {
  pid_t pid = 0;
  unsigned long long start_time = 0;  // 0: there was no such process when the key was taken
};
ProcKey proc_key(pid_t pid);
bool process_alive(const ProcKey& key);   // the same process, and not a zombie
bool process_exists(const ProcKey& key);  // the same process, zombie or not (not yet reaped)
pid_t parent_of(pid_t pid);               // 0 when gone
long rss_kib(pid_t pid);                  // VmRSS; -1 when gone
int fd_count(pid_t pid);                  // open fds; -1 when gone
std::vector<pid_t> processes_in_group(pid_t pgid);
std::vector<pid_t> processes_of_session(pid_t sid);
std::vector<pid_t> zombie_children_of(pid_t parent);

// A long-running child (superctl log -f, say) with stdout and stderr in a file and
// stdin on /dev/null; TERMed (KILLed after 5 s) by pid when it goes.
class Background {
 public:
  Background(const std::vector<std::string>& argv, const std::string& out_path);
  ~Background() { stop(); }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  pid_t pid() const { return pid_; }
  // Still running (not exited)? Reaps it when it has exited.
  bool running();
  void stop();

 private:
  pid_t pid_ = -1;
};

// Processes a test leaves without a superd (after kill_hard): killed, with their process
// group, when the guard goes, if they are still the same processes. A test that stops
// them itself finds nothing left to do here.
class KillAtExit {
 public:
  KillAtExit() = default;
  KillAtExit(const KillAtExit&) = delete;
  KillAtExit& operator=(const KillAtExit&) = delete;
  ~KillAtExit();
  void add(const ProcKey& key) { keys_.push_back(key); }

 private:
  std::vector<ProcKey> keys_;
};

// A superd on a config of the test's own. The [supervisor] section is written by the
// harness (socket, state and log dirs in the temp dir); the test gives the services.
class Superd {
 public:
  explicit Superd(TempDir& dir, std::string services_toml, std::string supervisor_extra = "");
  ~Superd();

  // Start and wait until the socket answers. false (and the log in *why) on failure.
  bool start(const std::vector<std::string>& extra_env = {}, std::string* why = nullptr);
  // SIGTERM and wait (bounded) for it to exit; its exit code, -1 when it did not exit.
  // The bound is for a hang, not a speed: a sanitized superd's exit ends with
  // LeakSanitizer stopping every thread with ptrace and scanning the heap, which with
  // 48 runnable tasks on 2 CPUs took over 5 s after superd's own last step.
  int stop(std::chrono::milliseconds timeout = 20s);
  // kill -9, as a crash would; its services are left running.
  void kill_hard();
  // RLIMIT_NOFILE for the next start, soft and hard (hard 0: the same as soft; soft 0:
  // inherit).
  void set_nofile_limit(unsigned long soft, unsigned long hard = 0) {
    nofile_limit_ = soft;
    nofile_hard_ = hard ? hard : soft;
  }
  // superd's stdout for the next start (a pipe the test reads, or one nobody reads);
  // -1: the daemon log file, with stderr. The fd stays the test's.
  void set_stdout_fd(int fd) { stdout_fd_ = fd; }
  // Run superd from this path instead of superd_bin() (a copy a test may replace).
  void set_binary(std::string path) { binary_ = std::move(path); }
  // Give the next start these fds as systemd would (at 3.., LISTEN_FDS, LISTEN_FDNAMES,
  // LISTEN_PID); the fds stay the test's.
  void set_listen_fds(std::vector<std::pair<std::string, int>> fds) { listen_fds_ = std::move(fds); }
  pid_t pid() const { return pid_; }
  // superd (our child, so its pid cannot be reused before we reap it) has not exited.
  bool alive() const;
  const std::string& config_path() const { return config_; }
  const std::string& socket() const { return socket_; }
  const std::string& log_dir() const { return log_dir_; }
  const std::string& state_dir() const { return state_dir_; }
  std::string daemon_log() const;  // superd's own stderr so far
  void rewrite_services(const std::string& services_toml);

  RunResult ctl(const std::vector<std::string>& args) const;
  // The status of one service. An empty object only when superd answered that it has no
  // such service; {"unreachable": why} when superd did not answer (gone, or hung), so
  // that the two never look the same. value("state", "") is "" in both cases.
  nlohmann::json status(const std::string& name) const;
  // superd answered not_found for `name` (false when it did not answer at all).
  bool unknown(const std::string& name) const;
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
  std::string binary_;
  unsigned long nofile_limit_ = 0;
  unsigned long nofile_hard_ = 0;
  int stdout_fd_ = -1;
  std::vector<std::pair<std::string, int>> listen_fds_;
};

// A tmpfs of `size` (e.g. "64k") mounted on `path` (created if missing) for the test and
// unmounted (lazily, so a process still in it cannot keep it) when it ends. Root only.
class TmpfsMount {
 public:
  TmpfsMount(const std::string& path, const std::string& size, const std::string& mode = "0755");
  ~TmpfsMount();
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  // Fill it to the last block with a file named `name`; remove_filler() gives the space back.
  bool fill(const std::string& name = ".filler");
  void remove_filler();

 private:
  std::string path_, filler_, error_;
  bool mounted_ = false;
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
