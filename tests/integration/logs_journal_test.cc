// stdout = "journal": the test plays journald with a datagram socket of its own
// ([supervisor] journal_socket), as no systemd runs here.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "tests/integration/logs_util.h"

namespace superd::test {
namespace {

using Entry = std::map<std::string, std::string>;

// journald's side of the native protocol: every datagram one entry of KEY=VALUE lines.
class FakeJournal {
 public:
  explicit FakeJournal(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~FakeJournal() { ::close(fd_); }
  bool ok() const { return ok_; }
  // Up to n entries, waiting at most `timeout` in all.
  std::vector<Entry> receive(size_t n, std::chrono::milliseconds timeout = 10s) {
    std::vector<Entry> out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < n) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[70000];
      ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
      if (got <= 0) break;
      Entry e;
      std::istringstream in(std::string(buf, static_cast<size_t>(got)));
      for (std::string line; std::getline(in, line);) {
        auto eq = line.find('=');
        if (eq != std::string::npos) e[line.substr(0, eq)] = line.substr(eq + 1);
      }
      out.push_back(std::move(e));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

const Entry* with_message(const std::vector<Entry>& entries, const std::string& message) {
  for (const auto& e : entries) {
    auto it = e.find("MESSAGE");
    if (it != e.end() && it->second == message) return &e;
  }
  return nullptr;
}

TEST(Journal, OneDatagramPerLineWithTheServiceAndItsPriority) {
  TempDir dir;
  const std::string sock = dir / "journal.sock";
  FakeJournal journal(sock);
  ASSERT_TRUE(journal.ok()) << std::strerror(errno);
  Superd d(dir, service("web", {"--print", "hello", "--print", "<3>disk failing", "--print", "<9>not a level",
                                "--eprint", "on stderr", "--eprint", "<5>notice on stderr", "--pause"},
                        "stdout = \"journal\""),
           "journal_socket = " + q(sock) + "\n");
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("web", "running")) << d.daemon_log();
  const auto entries = journal.receive(5);
  ASSERT_EQ(entries.size(), 5u) << d.daemon_log();
  const std::string pid = std::to_string(d.status("web").value("pid", 0));
  for (const auto& e : entries) {
    EXPECT_EQ(e.at("SYSLOG_IDENTIFIER"), "web");
    EXPECT_EQ(e.at("SUPERD_SERVICE"), "web");
    EXPECT_EQ(e.at("SYSLOG_PID"), pid);
    EXPECT_EQ(e.at("OBJECT_PID"), pid);
  }
  auto priority = [&](const std::string& message) {
    const Entry* e = with_message(entries, message);
    return e ? e->at("PRIORITY") : "(no entry)";
  };
  EXPECT_EQ(priority("hello"), "6");
  EXPECT_EQ(priority("disk failing"), "3") << "the <3> prefix is the level, and is stripped";
  EXPECT_EQ(priority("<9>not a level"), "6") << "systemd reads only <0>..<7>";
  EXPECT_EQ(priority("on stderr"), "3");
  EXPECT_EQ(priority("notice on stderr"), "5");

  // superctl log says where the lines went, and shows what superd kept in memory.
  auto r = d.ctl({"log", "web", "-n", "10"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("hello\n"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("the journal (SYSLOG_IDENTIFIER=web"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("journalctl -t web"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("0 lines dropped"), std::string::npos) << r.err;
}

TEST(Journal, WithTheSocketGoneTheServiceRunsOnAndDropsAreCounted) {
  TempDir dir;
  const std::string sock = dir / "journal.sock";  // nobody listens (yet)
  const std::string done = dir / "done";
  Superd d(dir, service("web", {"--lines", "50", "--stamp", done, "--usr1-print", "again", "--pause"},
                        "stdout = \"journal\""),
           "journal_socket = " + q(sock) + "\n");
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("web", "running"));
  ASSERT_TRUE(wait_until([&] { return file_exists(done); }, 10s)) << "the service was blocked";
  const pid_t pid = d.status("web").value("pid", 0);
  // Every line read is counted as dropped (the count is taken on the loop, as lines are read).
  ASSERT_TRUE(wait_until([&] { return d.ctl({"log", "web"}).err.find("50 lines dropped") != std::string::npos; }, 5s))
      << d.ctl({"log", "web"}).err;
  EXPECT_EQ(d.status("web").value("state", ""), "running");
  EXPECT_EQ(d.status("web").value("pid", 0), pid);
  EXPECT_TRUE(wait_until([&] {
    return d.daemon_log().find("journal: sending to " + sock + ": No such file or directory") != std::string::npos;
  }, 5s)) << d.daemon_log();
  // journald comes back: the next line arrives, and superd's log says what was lost.
  FakeJournal journal(sock);
  ASSERT_TRUE(journal.ok());
  ::kill(pid, SIGUSR1);
  const auto entries = journal.receive(1);
  ASSERT_EQ(entries.size(), 1u) << d.daemon_log();
  EXPECT_EQ(entries[0].at("MESSAGE"), "again");
  EXPECT_TRUE(wait_until([&] {
    return d.daemon_log().find("works again; 50 journal lines were dropped meanwhile") != std::string::npos;
  }, 5s)) << d.daemon_log();
}

TEST(Journal, FollowAndReadinessSeeJournalLines) {
  TempDir dir;
  const std::string sock = dir / "journal.sock";
  FakeJournal journal(sock);
  Superd d(dir, service("web", {"--sleep", "200", "--print", "listening on 8000", "--usr1-print", "tick", "--pause"},
                        "stdout = \"journal\"\nready = { log = \"listening on\", timeout = \"10s\" }"),
           "journal_socket = " + q(sock) + "\n");
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("web", "running")) << d.daemon_log();  // the readiness line was seen
  Background follower({superctl_bin(), "-s", d.socket(), "log", "-f", "web"}, dir / "follow.out");
  ASSERT_TRUE(wait_until([&] { return read_file(dir / "follow.out").find("listening on 8000") != std::string::npos; }));
  const pid_t pid = d.status("web").value("pid", 0);
  ASSERT_TRUE(wait_until([&] {
    ::kill(pid, SIGUSR1);
    return read_file(dir / "follow.out").find("tick\n") != std::string::npos;
  }, 10s)) << read_file(dir / "follow.out");
}

}  // namespace
}  // namespace superd::test
