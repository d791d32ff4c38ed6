#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "ipc/client.h"

namespace superd::test {

std::string testprog() { return TESTPROG_BIN; }
std::string superd_bin() { return SUPERD_BIN; }
std::string superctl_bin() { return SUPERCTL_BIN; }

std::string q(const std::string& s) { return "\"" + s + "\""; }

std::string cmd(const std::vector<std::string>& args) {
  std::string out = "[" + q(testprog());
  for (const auto& a : args) out += ", " + q(a);
  return out + "]";
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
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

// Fields of /proc/PID/stat after the command: state, ppid, pgrp, session.
struct ProcStat {
  char state = '?';
  pid_t ppid = 0, pgrp = 0, session = 0;
};

std::optional<ProcStat> proc_stat(pid_t pid) {
  std::string text = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  ProcStat st;
  std::istringstream rest(text.substr(close + 2));
  rest >> st.state >> st.ppid >> st.pgrp >> st.session;
  return st;
}

template <typename Pred>
std::vector<pid_t> scan(Pred pred) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  while (dirent* e = d ? ::readdir(d) : nullptr) {
    pid_t pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    if (auto st = proc_stat(pid); st && pred(*st)) out.push_back(pid);
  }
  if (d) ::closedir(d);
  return out;
}

}  // namespace

bool process_alive(pid_t pid) {
  auto st = proc_stat(pid);
  return st && st->state != 'Z' && st->state != 'X';
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
  int err = ::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(err, 2);
    ::dup2(stdout_fd_ >= 0 ? stdout_fd_ : err, 1);
    for (const auto& e : extra_env) ::putenv(const_cast<char*>(e.c_str()));
    if (nofile_limit_ > 0) {
      rlimit rl{nofile_limit_, nofile_limit_};
      ::setrlimit(RLIMIT_NOFILE, &rl);
    }
    ::execl(SUPERD_BIN, SUPERD_BIN, "-c", config_.c_str(), nullptr);
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

std::string Superd::daemon_log() const { return read_file(stderr_path_); }

RunResult Superd::ctl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {SUPERCTL_BIN, "-s", socket_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

nlohmann::json Superd::status(const std::string& name) const {
  // An empty object (not null) when unreachable, so callers may use value() on it.
  ipc::Client client;
  client.set_timeout(5s);
  if (client.connect(socket_)) return nlohmann::json::object();
  auto reply = client.request("status", {{"names", {name}}});
  auto* json = std::get_if<nlohmann::json>(&reply);
  if (!json || !json->is_object() || !json->value("ok", false)) return nlohmann::json::object();
  return (*json)["result"]["services"][0];
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

}  // namespace superd::test
