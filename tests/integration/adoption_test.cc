// Adoption after a crash of superd under systemd: the test plays systemd, a NOTIFY_SOCKET
// listener that keeps what superd stores (FDSTORE=1, FDNAME=, FDSTOREREMOVE=1) and hands
// it to the next superd as LISTEN_FDS/LISTEN_FDNAMES. The services the first superd ran
// keep running, their output still reaches the log files, and `superctl stop` stops
// them; without the fds the leftovers are stopped as before.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "fake_systemd.h"
#include "harness.h"

namespace superd::test {
namespace {

using namespace std::chrono_literals;

// What /proc/PID/fd/FD points at ("socket:[123]"); "" when it is gone.
std::string fd_target(pid_t pid, int fd) {
  char buf[256];
  const std::string link = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// Whether process `pid` (superd: its fds do not change while the test looks) has an fd
// on `target`. An fd listed and closed before its readlink is just not counted.
bool holds(pid_t pid, const std::string& target) {
  for (int fd = 0; fd < 1024; ++fd) {
    if (fd_target(pid, fd) == target) return true;
  }
  return false;
}

// Two services: one writes a numbered line every ms and has a `listen` socket, one is
// ready by notify.
std::string services(const std::string& dir, int port) {
  return "[service.ticker]\ncommand = " + cmd({"--ticks-until", dir + "/stop-ticking"}) +
         "\nlisten = [\"tcp:127.0.0.1:" + std::to_string(port) + "\"]\nstart_seconds = \"0s\"\n" +
         "[service.notified]\ncommand = " + cmd({"--notify", "READY=1", "--pause"}) +
         "\nready = \"notify\"\n";
}

// The first superd under `systemd`, both services running (kept in `guard`), and every
// fd of theirs in the store: ticker's pipe ends and listen socket, notified's pipe ends
// and notify socket.
void start_under(FakeSystemd& systemd, Superd& first, KillAtExit& guard, ProcKey* ticker, ProcKey* notified) {
  ASSERT_TRUE(first.start({systemd.env()})) << first.daemon_log();
  ASSERT_TRUE(first.wait_state("ticker", "running")) << first.daemon_log();
  ASSERT_TRUE(first.wait_state("notified", "running")) << first.daemon_log();
  *ticker = proc_key(first.status("ticker").value("pid", 0));
  *notified = proc_key(first.status("notified").value("pid", 0));
  guard.add(*ticker);
  guard.add(*notified);
  ASSERT_TRUE(wait_until([&] { return systemd.count("ticker.") == 3 && systemd.count("notified.") == 3; }))
      << systemd.stored().size();
}

TEST(Adoption, ACrashedSuperdsServicesAreAdoptedByTheNextOneWithTheStoredFds) {
  TempDir dir;
  FakeSystemd systemd(dir / "systemd-notify");
  ASSERT_TRUE(systemd.bound());
  const int port = free_port();
  KillAtExit guard;
  Superd first(dir, services(dir.path(), port));
  ProcKey ticker, notified;
  ASSERT_NO_FATAL_FAILURE(start_under(systemd, first, guard, &ticker, &notified));
  first.kill_hard();
  const std::string log = first.log_dir() + "/ticker.log";
  const size_t before = read_file(log).size();

  Superd second(dir, services(dir.path(), port));
  second.set_listen_fds(systemd.stored());
  ASSERT_TRUE(second.start({systemd.env()})) << second.daemon_log();
  ASSERT_TRUE(second.wait_state("ticker", "running")) << second.daemon_log();
  EXPECT_EQ(second.status("ticker").value("pid", 0), ticker.pid) << second.daemon_log();
  EXPECT_EQ(second.status("notified").value("pid", 0), notified.pid) << second.daemon_log();
  EXPECT_TRUE(process_alive(ticker));
  EXPECT_TRUE(process_alive(notified));
  EXPECT_NE(second.daemon_log().find("ticker: adopted pid " + std::to_string(ticker.pid)), std::string::npos)
      << second.daemon_log();
  // Its output still reaches the file, through the pipe the store kept.
  EXPECT_TRUE(wait_until([&] { return read_file(log).size() > before + 1000; })) << second.daemon_log();
  // The listen socket the new superd holds is the one the ticker has as fd 3.
  const std::string listen_socket = fd_target(ticker.pid, 3);
  ASSERT_EQ(listen_socket.rfind("socket:", 0), 0u) << listen_socket;
  EXPECT_TRUE(holds(second.pid(), listen_socket)) << listen_socket;
  auto r = second.ctl({"stop", "ticker", "notified"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_FALSE(process_alive(ticker)) << "stop reached the adopted process";
  EXPECT_FALSE(process_alive(notified));
  EXPECT_NE(second.daemon_log().find("exit status unknown: it was not superd's child"), std::string::npos)
      << second.daemon_log();
}

// No systemd: what the crashed superd left is stopped before anything starts, as before.
TEST(Adoption, WithoutTheFdStoreTheLeftoversAreStoppedAsBefore) {
  TempDir dir;
  const int port = free_port();
  KillAtExit guard;
  Superd first(dir, services(dir.path(), port));
  ASSERT_TRUE(first.start()) << first.daemon_log();
  ASSERT_TRUE(first.wait_state("ticker", "running")) << first.daemon_log();
  const ProcKey ticker = proc_key(first.status("ticker").value("pid", 0));
  guard.add(ticker);
  first.kill_hard();
  Superd second(dir, services(dir.path(), port));
  ASSERT_TRUE(second.start()) << second.daemon_log();
  EXPECT_FALSE(process_alive(ticker)) << second.daemon_log();
  ASSERT_TRUE(second.wait_state("ticker", "running")) << second.daemon_log();
  EXPECT_NE(second.status("ticker").value("pid", 0), ticker.pid);
}

// A service whose main process died with superd is not adopted: it starts again, on the
// listen socket systemd kept (binding the port anew would find it taken), while the
// other one is adopted.
TEST(Adoption, AServiceWhoseMainIsGoneStartsAgainOnTheStoredSocket) {
  TempDir dir;
  FakeSystemd systemd(dir / "systemd-notify");
  ASSERT_TRUE(systemd.bound());
  const int port = free_port();
  KillAtExit guard;
  Superd first(dir, services(dir.path(), port));
  ProcKey ticker, notified;
  ASSERT_NO_FATAL_FAILURE(start_under(systemd, first, guard, &ticker, &notified));
  const std::string socket = fd_target(ticker.pid, 3);
  first.kill_hard();
  ::kill(ticker.pid, SIGKILL);
  ASSERT_TRUE(wait_until([&] { return !process_alive(ticker); }));

  Superd second(dir, services(dir.path(), port));
  second.set_listen_fds(systemd.stored());
  ASSERT_TRUE(second.start({systemd.env()})) << second.daemon_log();
  ASSERT_TRUE(second.wait_state("ticker", "running")) << second.daemon_log();
  EXPECT_NE(second.daemon_log().find("ticker: not adopted: its main process pid " + std::to_string(ticker.pid) +
                                     " is gone"),
            std::string::npos)
      << second.daemon_log();
  const pid_t again = second.status("ticker").value("pid", 0);
  EXPECT_NE(again, ticker.pid);
  EXPECT_EQ(fd_target(again, 3), socket) << "the new ticker got the socket systemd kept";
  EXPECT_EQ(second.status("notified").value("pid", 0), notified.pid) << second.daemon_log();
  EXPECT_EQ(second.ctl({"stop", "ticker", "notified"}).exit_code, 0);
}

}  // namespace
}  // namespace superd::test
