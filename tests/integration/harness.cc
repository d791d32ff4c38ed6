#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "ipc/client.h"

namespace superd::test {

namespace {
std::string env_or(const char* name, const char* built) {
  const char* v = std::getenv(name);
  return v && *v ? v : built;
}
}  // namespace

std::string testprog() { return TESTPROG_BIN; }
std::string superd_bin() {
  static const std::string path = env_or("SUPERD_TEST_SUPERD", SUPERD_BIN);
  return path;
}
std::string superctl_bin() {
  static const std::string path = env_or("SUPERD_TEST_SUPERCTL", SUPERCTL_BIN);
  return path;
}
bool sanitized() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#else
  static const bool asan = env_or("SUPERD_TEST_SANITIZED", "") == "1";
  return asan;
#endif
}

std::string q(const std::string& s) { return "\"" + s + "\""; }

std::string cmd(const std::vector<std::string>& args) {
  std::string out = "[" + q(testprog());
  for (const auto& a : args) out += ", " + q(a);
  return out + "]";
}

namespace {

// The lowest port the kernel hands out by itself (bind to port 0, connect).
int ephemeral_low() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768, high = 60999;
  in >> low >> high;
  return low;
}

bool bindable(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as superd binds
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

int free_port() {
  static std::mutex mu;
  std::lock_guard lock(mu);
  // 20000 up to the ephemeral range: clear of the well-known ports other software uses
  // here (8000, 8080, 6379, 5555...).
  const int low = 20000, high = std::max(low + 1000, ephemeral_low());
  const std::string dir = "/tmp/superd-test-ports";
  ::mkdir(dir.c_str(), 0755);
  static std::mt19937 rng(static_cast<unsigned>(::getpid()) ^
                          static_cast<unsigned>(std::random_device{}()));
  const int span = high - low;
  const int first = static_cast<int>(rng() % static_cast<unsigned>(span));
  for (int i = 0; i < span; ++i) {
    const int port = low + (first + i) % span;
    const std::string path = dir + "/" + std::to_string(port);
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) continue;
    // Another test (or another call in this one: a new open file description) holds it.
    if (::flock(fd, LOCK_EX | LOCK_NB) < 0 || !bindable(port)) {
      ::close(fd);
      continue;
    }
    return port;  // fd stays open, and the lock held, until the process exits
  }
  ADD_FAILURE() << "no free port in " << low << ".." << high;
  return 0;
}

UniqueFd connect_loopback(int port, std::chrono::seconds read_timeout) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  timeval tv{static_cast<time_t>(read_timeout.count()), 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int saved = errno;
    fd.reset();
    errno = saved;
  }
  return fd;
}

std::string http_get(int port, const std::string& path) {
  std::string response;
  if (UniqueFd fd = connect_loopback(port, 2s)) {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::write(fd.get(), req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) response.append(buf, static_cast<size_t>(n));
    }
  }
  return response;
}

TempDir::TempDir() {
  char templ[] = "/tmp/superd-test.XXXXXX";
  path_ = ::mkdtemp(templ);
  ::chmod(path_.c_str(), 0755);  // test users must reach files in it
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string v1_cgroup_of(pid_t pid, const std::string& controller) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  for (std::string line; std::getline(in, line);) {  // "4:cpu,cpuacct:/path"
    const size_t first = line.find(':');
    const size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    const std::string list = "," + line.substr(first + 1, second - first - 1) + ",";
    if (list.find("," + controller + ",") != std::string::npos) return line.substr(second + 1);
  }
  return "";
}

bool file_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

RunResult run(const std::vector<std::string>& argv, const RunOptions& opt) {
  char out_path[] = "/tmp/superd-run-out.XXXXXX";
  char err_path[] = "/tmp/superd-run-err.XXXXXX";
  int out_fd = ::mkstemp(out_path);
  int err_fd = ::mkstemp(err_path);
  // Everything the child needs is built before fork: tests call this from threads.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  for (char** e = environ; *e; ++e) env.push_back(*e);
  for (const auto& e : opt.env) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);
  const std::string user_name = opt.user ? opt.user->name() : "";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    if (opt.user) {
      if (::initgroups(user_name.c_str(), opt.user->gid()) < 0) _exit(126);
      if (::setgid(opt.user->gid()) < 0) _exit(126);
      if (::setuid(opt.user->uid()) < 0) _exit(126);
    }
    ::execve(args[0], args.data(), env.data());
    _exit(127);
  }
  int status = 0;
  bool done = wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, opt.timeout);
  RunResult r;
  if (!done) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    r.exit_code = -2;
  } else {
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  r.out = read_file(out_path);
  r.err = read_file(err_path);
  ::close(out_fd);
  ::close(err_fd);
  ::unlink(out_path);
  ::unlink(err_path);
  return r;
}

namespace {

// Fields of /proc/PID/stat after the command: state, ppid, pgrp, session, starttime.
struct ProcStat {
  char state = '?';
  pid_t ppid = 0, pgrp = 0, session = 0;
  unsigned long long start_time = 0;
};

// nullopt when the process is gone: /proc/PID missing (ENOENT), or it ended between the
// open and the read (ESRCH, or an empty read).
std::optional<ProcStat> proc_stat(pid_t pid) {
  const std::string text = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return std::nullopt;
  ProcStat st;
  std::istringstream rest(text.substr(close + 2));
  rest >> st.state >> st.ppid >> st.pgrp >> st.session;
  // Fields 7..21, then starttime (22); state was field 3.
  std::string skip;
  for (int field = 7; field <= 21; ++field) rest >> skip;
  rest >> st.start_time;
  if (!rest) return std::nullopt;
  return st;
}

template <typename Pred>
std::vector<pid_t> scan(Pred pred) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  while (dirent* e = d ? ::readdir(d) : nullptr) {
    pid_t pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    // Listed a moment ago, possibly gone now: proc_stat says nullopt and it is skipped.
    if (auto st = proc_stat(pid); st && pred(*st)) out.push_back(pid);
  }
  if (d) ::closedir(d);
  return out;
}

}  // namespace

ProcKey proc_key(pid_t pid) {
  auto st = pid > 0 ? proc_stat(pid) : std::nullopt;
  return {pid, st ? st->start_time : 0};
}

bool process_exists(const ProcKey& key) {
  if (key.pid <= 0 || key.start_time == 0) return false;
  auto st = proc_stat(key.pid);
  return st && st->start_time == key.start_time;
}

bool process_alive(const ProcKey& key) {
  if (key.pid <= 0 || key.start_time == 0) return false;
  auto st = proc_stat(key.pid);
  return st && st->start_time == key.start_time && st->state != 'Z' && st->state != 'X';
}

pid_t parent_of(pid_t pid) {
  auto st = proc_stat(pid);
  return st ? st->ppid : 0;
}

long rss_kib(pid_t pid) {
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

int fd_count(pid_t pid) {
  DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!d) return -1;
  int n = 0;
  errno = 0;
  while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  const bool gone = errno == ESRCH || errno == ENOENT;  // it ended while being listed
  ::closedir(d);
  return gone ? -1 : n;
}

std::vector<pid_t> processes_in_group(pid_t pgid) {
  return scan([pgid](const ProcStat& s) { return s.pgrp == pgid && s.state != 'Z'; });
}

std::vector<pid_t> processes_of_session(pid_t sid) {
  return scan([sid](const ProcStat& s) { return s.session == sid && s.state != 'Z'; });
}

std::vector<pid_t> zombie_children_of(pid_t parent) {
  return scan([parent](const ProcStat& s) { return s.ppid == parent && s.state == 'Z'; });
}

KillAtExit::~KillAtExit() {
  for (const auto& key : keys_) {
    if (!process_alive(key)) continue;
    auto st = proc_stat(key.pid);
    // A service's main process leads its own group: take the group with it.
    if (st && st->pgrp == key.pid) ::kill(-key.pid, SIGKILL);
    ::kill(key.pid, SIGKILL);
  }
}

// ---- Superd --------------------------------------------------------------------

Superd::Superd(TempDir& dir, std::string services_toml, std::string supervisor_extra)
    : dir_(dir), supervisor_extra_(std::move(supervisor_extra)) {
  config_ = dir / "super.toml";
  socket_ = dir / "run/super.sock";
  log_dir_ = dir / "log";
  state_dir_ = dir / "state";
  stderr_path_ = dir / "superd.stderr";
  write_config(services_toml);
}

void Superd::write_config(const std::string& services_toml) {
  write_file(config_, "[supervisor]\nsocket = \"" + socket_ + "\"\nstate_dir = \"" + state_dir_ +
                          "\"\nlog_dir = \"" + log_dir_ + "\"\nlog_level = \"debug\"\n" +
                          supervisor_extra_ + "\n" + services_toml);
}

void Superd::rewrite_services(const std::string& services_toml) { write_config(services_toml); }

Superd::~Superd() {
  if (pid_ > 0) {
    if (stop(20s) < 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
}

bool Superd::start(const std::vector<std::string>& extra_env, std::string* why) {
  const std::string bin = binary_.empty() ? superd_bin() : binary_;  // before fork: the child only makes syscalls
  int err = ::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  // systemd's way of passing fds, built before fork; the child writes its own pid in.
  std::string fd_count = "LISTEN_FDS=" + std::to_string(listen_fds_.size());
  std::string fd_names = "LISTEN_FDNAMES=";
  for (const auto& [name, fd] : listen_fds_) fd_names += (fd_names.back() == '=' ? "" : ":") + name;
  char listen_pid[32] = "LISTEN_PID=";
  std::vector<int> high(listen_fds_.size(), -1);  // where they wait, out of the way of 3..
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(err, 2);
    ::dup2(stdout_fd_ >= 0 ? stdout_fd_ : err, 1);
    for (const auto& e : extra_env) ::putenv(const_cast<char*>(e.c_str()));
    if (!listen_fds_.empty()) {
      for (size_t i = 0; i < high.size(); ++i) high[i] = ::fcntl(listen_fds_[i].second, F_DUPFD_CLOEXEC, 100);
      for (size_t i = 0; i < high.size(); ++i) ::dup2(high[i], 3 + static_cast<int>(i));  // dup2: no CLOEXEC
      char digits[16];
      int n = 0;
      for (pid_t p = ::getpid(); p > 0; p /= 10) digits[n++] = static_cast<char>('0' + p % 10);
      char* at = listen_pid + 11;
      while (n > 0) *at++ = digits[--n];
      *at = '\0';
      ::putenv(fd_count.data());
      ::putenv(fd_names.data());
      ::putenv(listen_pid);
    }
    if (nofile_limit_ > 0) {
      rlimit rl{nofile_limit_, nofile_hard_};
      ::setrlimit(RLIMIT_NOFILE, &rl);
    }
    ::execl(bin.c_str(), bin.c_str(), "-c", config_.c_str(), nullptr);
    _exit(127);
  }
  ::close(err);
  bool up = wait_until(
      [&] {
        int status;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          return true;
        }
        ipc::Client client;
        return !client.connect(socket_).has_value();
      },
      10s);
  if (!up || pid_ < 0) {
    if (why) *why = daemon_log();
    return false;
  }
  return true;
}

int Superd::stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  bool done = wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, timeout);
  if (!done) return -1;
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void Superd::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

bool Superd::alive() const {
  if (pid_ <= 0) return false;
  siginfo_t info{};
  // WNOWAIT: look without reaping, so that stop() still gets the exit status.
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) < 0)
    return false;
  return info.si_pid == 0;
}

std::string Superd::daemon_log() const { return read_file(stderr_path_); }

RunResult Superd::ctl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {superctl_bin(), "-s", socket_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

nlohmann::json Superd::status(const std::string& name) const {
  using nlohmann::json;
  ipc::Client client;
  client.set_timeout(5s);
  if (auto error = client.connect(socket_)) return json{{"unreachable", "connect: " + *error}};
  auto reply = client.request("status", {{"names", {name}}});
  if (auto* error = std::get_if<std::string>(&reply)) return json{{"unreachable", *error}};
  const json& r = std::get<json>(reply);
  if (r.value("ok", false) && r.contains("result") && r["result"].contains("services") &&
      r["result"]["services"].is_array() && r["result"]["services"].size() == 1) {
    return r["result"]["services"][0];
  }
  if (!r.value("ok", true) && r.contains("error") && r["error"].value("code", "") == "not_found")
    return json::object();
  return json{{"unreachable", "unexpected reply: " + r.dump()}};
}

bool Superd::unknown(const std::string& name) const {
  const auto st = status(name);
  return st.is_object() && st.empty();
}

bool Superd::wait_state(const std::string& name, const std::string& state,
                        std::chrono::milliseconds timeout) const {
  return wait_until([&] { return status(name).value("state", "") == state; }, timeout);
}

pid_t Superd::wait_new_pid(const std::string& name, pid_t old_pid,
                           std::chrono::milliseconds timeout) const {
  pid_t found = 0;
  wait_until(
      [&] {
        auto st = status(name);
        pid_t pid = st.value("pid", 0);
        if (st.value("state", "") == "running" && pid != 0 && pid != old_pid) found = pid;
        return found != 0;
      },
      timeout);
  return found;
}

// ---- TmpfsMount ----------------------------------------------------------------

TmpfsMount::TmpfsMount(const std::string& path, const std::string& size, const std::string& mode)
    : path_(path), filler_() {
  std::error_code ec;
  std::filesystem::create_directories(path_, ec);
  const std::string options = "size=" + size + ",mode=" + mode;
  if (::mount("tmpfs", path_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) == 0) {
    mounted_ = true;
  } else {
    error_ = "mount tmpfs on " + path_ + ": " + std::strerror(errno);
  }
}

TmpfsMount::~TmpfsMount() {
  if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
}

bool TmpfsMount::fill(const std::string& name) {
  filler_ = path_ + "/" + name;
  int fd = ::open(filler_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    error_ = filler_ + ": " + std::strerror(errno);
    return false;
  }
  static const std::string block(4096, 'f');
  // Bounded: a tmpfs of `size` takes at most size / 4096 blocks.
  for (int i = 0; i < (1 << 20); ++i) {
    ssize_t n = ::write(fd, block.data(), block.size());
    if (n < 0 && errno == ENOSPC) break;
    if (n < 0) {
      error_ = filler_ + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    if (n < static_cast<ssize_t>(block.size())) continue;  // the last partial block
  }
  ::close(fd);
  return true;
}

void TmpfsMount::remove_filler() {
  if (!filler_.empty()) ::unlink(filler_.c_str());
}

// ---- TestUser ------------------------------------------------------------------

TestUser::TestUser(const std::string& name, const std::vector<std::string>& supplementary)
    : name_(name), groups_(supplementary) {
  for (const auto& g : groups_) run({"/usr/sbin/groupadd", "-f", g});
  std::vector<std::string> args = {"/usr/sbin/useradd", "--no-create-home", "--home-dir",
                                   "/nonexistent", "--shell", "/usr/sbin/nologin", "--user-group"};
  if (!groups_.empty()) {
    std::string list;
    for (const auto& g : groups_) list += (list.empty() ? "" : ",") + g;
    args.insert(args.end(), {"--groups", list});
  }
  args.push_back(name_);
  run(args);
  if (passwd* pw = ::getpwnam(name_.c_str())) {
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
  }
}

TestUser::~TestUser() {
  run({"/usr/sbin/userdel", name_});
  run({"/usr/sbin/groupdel", name_});
  for (const auto& g : groups_) run({"/usr/sbin/groupdel", g});
}

gid_t TestUser::group_id(const std::string& group) const {
  ::group* gr = ::getgrnam(group.c_str());
  return gr ? gr->gr_gid : static_cast<gid_t>(-1);
}

Background::Background(const std::vector<std::string>& argv, const std::string& out_path) {
  int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(out, 1);
    ::dup2(out, 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    _exit(127);
  }
  ::close(out);
}

bool Background::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void Background::stop() {
  if (!running()) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  if (!wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, 5s)) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  pid_ = -1;
}

}  // namespace superd::test
