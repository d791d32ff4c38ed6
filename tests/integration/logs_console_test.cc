// stdout = "console": services' lines on superd's own stdout as "NAME | line", whole and
// never interleaved; and a console nobody reads stalls neither a service nor superd.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "tests/integration/logs_util.h"

namespace superd::test {
namespace {

// Reads a pipe into a string on a thread of its own until told to stop.
class PipeReader {
 public:
  explicit PipeReader(int fd) : fd_(fd), thread_([this] { run(); }) {}
  ~PipeReader() {
    stop_ = true;
    thread_.join();
  }
  std::string text() {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }

 private:
  void run() {
    char buf[65536];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      std::lock_guard<std::mutex> lock(mu_);
      text_.append(buf, static_cast<size_t>(n));
    }
  }
  int fd_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::string text_;
  std::thread thread_;
};

struct Pipe {
  int fds[2] = {-1, -1};
  Pipe() { EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0); }
  ~Pipe() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
};

TEST(Console, LinesOfThreeChattyServicesAreWholeAndPrefixed) {
  TempDir dir;
  Pipe out;
  PipeReader reader(out.fds[0]);
  const int count = 20000;
  std::string services;
  for (const char* name : {"alpha", "b", "gamma"}) {
    services += service(name, {"--lines", std::to_string(count), "--print", "done", "--pause"}, "stdout = \"console\"");
  }
  services += service("ready", {"--sleep", "100", "--print", "up and ready", "--eprint", "on stderr", "--pause"},
                      "stdout = \"console\"\nready = { log = \"up and\", timeout = \"10s\" }");
  Superd d(dir, services);
  d.set_stdout_fd(out.fds[1]);
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ::close(out.fds[1]);
  out.fds[1] = -1;
  ASSERT_TRUE(wait_until([&] {
    std::string t = reader.text();
    return t.find("alpha | done\n") != std::string::npos && t.find("b | done\n") != std::string::npos &&
           t.find("gamma | done\n") != std::string::npos;
  }, 30s)) << d.daemon_log();
  EXPECT_TRUE(d.wait_state("ready", "running")) << "a log readiness check sees console lines";
  const std::string text = reader.text();
  std::map<std::string, Numbered> per;
  std::istringstream in(text);
  int foreign = 0;
  for (std::string l; std::getline(in, l);) {
    const size_t bar = l.find(" | ");
    if (bar == std::string::npos) {
      ++foreign;
      ADD_FAILURE() << "not a console line: " << l.substr(0, 100);
      continue;
    }
    check_numbered(l.substr(bar + 3) + "\n", 100, per[l.substr(0, bar)]);
  }
  EXPECT_EQ(foreign, 0);
  for (const char* name : {"alpha", "b", "gamma"}) {
    const Numbered& n = per[name];
    EXPECT_EQ(n.last, count) << name;
    EXPECT_EQ(n.bad + n.torn, 0) << name << ": " << n.first_problem;
    EXPECT_EQ(n.other, 1) << name;  // "done"
  }
  EXPECT_NE(text.find("ready | up and ready\n"), std::string::npos);
  EXPECT_NE(text.find("ready | on stderr\n"), std::string::npos) << "stderr goes with stdout by default";
  // -n and -f from superd's in-memory tail.
  auto r = d.ctl({"log", "gamma", "-n", "2"});
  EXPECT_EQ(r.out, "line 20000 " + std::string(88, 'x') + "\ndone\n") << r.out;
  EXPECT_NE(r.err.find("superd's stdout, each line prefixed 'gamma | '"), std::string::npos) << r.err;
  // superd's own log stays on stderr, not among the services' lines.
  EXPECT_EQ(text.find("supervising"), std::string::npos);
  EXPECT_NE(d.daemon_log().find("supervising"), std::string::npos);
}

TEST(Console, AConsoleNobodyReadsStallsNeitherTheServicesNorSuperd) {
  TempDir dir;
  Pipe out;  // the read end is held, never read: a `docker logs` that does not drain
  std::string services;
  for (const char* name : {"a", "b", "c"}) {
    services += service(name, {"--lines", "100000", "--stamp", dir / (std::string(name) + ".done"), "--pause"},
                        "stdout = \"console\"");
  }
  Superd d(dir, services);
  d.set_stdout_fd(out.fds[1]);
  ASSERT_TRUE(d.start()) << d.daemon_log();
  for (const char* name : {"a", "b", "c"}) {
    EXPECT_TRUE(wait_until([&] { return file_exists(dir / (std::string(name) + ".done")); }, 20s))
        << name << " was blocked on its output";
  }
  for (int i = 0; i < 5; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = d.ctl({"status"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s) << "status took too long";
  }
  for (const char* name : {"a", "b", "c"}) EXPECT_EQ(d.status(name).value("state", ""), "running") << name;
  auto r = d.ctl({"log", "a", "-n", "1"});
  EXPECT_EQ(r.out, "line 100000 " + std::string(87, 'x') + "\n") << r.out;
  EXPECT_EQ(r.err.find(" 0 lines dropped"), std::string::npos) << "drops are counted: " << r.err;
  EXPECT_NE(r.err.find("lines dropped"), std::string::npos) << r.err;
  // superd stops cleanly, its console still blocked.
  EXPECT_EQ(d.stop(), 0) << d.daemon_log();
}

// `superd > FILE`: the console is a regular file, written off the loop; a line reaches
// it while superd runs, not only when it exits.
TEST(Console, ARegularFileAsStdoutGetsLinesWhileSuperdRuns) {
  TempDir dir;
  const std::string out_path = dir / "console.out";
  const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(out, 0);
  Superd d(dir, service("app", {"--print", "hello from app", "--pause"}, "stdout = \"console\""));
  d.set_stdout_fd(out);
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ::close(out);
  ASSERT_TRUE(d.wait_state("app", "running")) << d.daemon_log();
  EXPECT_TRUE(wait_until([&] { return read_file(out_path).find("app | hello from app\n") != std::string::npos; },
                         10s))
      << "console file while superd runs: '" << read_file(out_path) << "'\n" << d.daemon_log();
  EXPECT_EQ(d.stop(), 0) << d.daemon_log();
}

}  // namespace
}  // namespace superd::test
