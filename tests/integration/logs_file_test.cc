// Log files: timestamps and --since/--until, reopen-logs after an external rotation,
// and the splice path across many rotations with a follower coming and going.
#include <signal.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <cstdlib>

#include "base/log_time.h"
#include "tests/integration/logs_util.h"

namespace superd::test {
namespace {

TEST(Timestamps, EveryLineOfAFastWriterHasANonDecreasingTime) {
  TempDir dir;
  const int count = 100000;
  Superd d(dir, service("fast", {"--lines", std::to_string(count), "--print", "done", "--pause"},
                        "log_timestamps = true\nlog_max_bytes = 0"));
  const UnixMicros before = unix_micros_now();
  ASSERT_TRUE(d.start()) << d.daemon_log();
  const std::string path = d.log_dir() + "/fast.log";
  ASSERT_TRUE(wait_until([&] { return read_file(path).find(" done\n") != std::string::npos; }, 30s))
      << d.daemon_log();
  const UnixMicros after = unix_micros_now();
  std::istringstream in(read_file(path));
  UnixMicros last = 0;
  int lines = 0, unstamped = 0, backwards = 0;
  std::string body;
  for (std::string l; std::getline(in, l);) {
    auto t = parse_stamp(l);
    if (!t || l.size() < kStampBytes + 1 || l[kStampBytes] != ' ') {
      ++unstamped;
      continue;
    }
    backwards += *t < last;
    last = *t;
    body += l.substr(kStampBytes + 1) + "\n";
    ++lines;
    EXPECT_GE(*t, before - 1000000);  // the clock of this machine, give or take
    EXPECT_LE(*t, after + 1000000);
  }
  EXPECT_EQ(unstamped, 0);
  EXPECT_EQ(backwards, 0);
  EXPECT_EQ(lines, count + 1);
  Numbered n;
  check_numbered(body, 100, n);
  EXPECT_EQ(n.last, count);
  EXPECT_EQ(n.bad + n.torn, 0) << n.first_problem;
}

TEST(Timestamps, SinceAndUntilSplitExactlyAtAMarker) {
  TempDir dir;
  Superd d(dir, service("app", {"--print", "before 1", "--print", "before 2", "--usr1-print", "after", "--pause"},
                        "log_timestamps = true"));
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("app", "running"));
  const std::string path = d.log_dir() + "/app.log";
  ASSERT_TRUE(wait_until([&] { return read_file(path).find("before 2\n") != std::string::npos; }));
  // The marker: a time after every "before" line was read and before any "after" line.
  ::usleep(20000);
  const std::string marker = format_stamp(unix_micros_now());
  ::usleep(20000);
  const pid_t pid = d.status("app").value("pid", 0);
  for (int i = 1; i <= 3; ++i) {
    ::kill(pid, SIGUSR1);
    ASSERT_TRUE(wait_until([&] {
      std::string text = read_file(path);
      size_t count = 0;
      for (size_t at = text.find(" after\n"); at != std::string::npos; at = text.find(" after\n", at + 1)) ++count;
      return count == static_cast<size_t>(i);
    }));
  }
  auto r = d.ctl({"log", "app", "--since", marker});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream since(r.out);
  std::vector<std::string> got;
  for (std::string l; std::getline(since, l);) got.push_back(l.size() > kStampBytes ? l.substr(kStampBytes + 1) : l);
  EXPECT_EQ(got, (std::vector<std::string>{"after", "after", "after"})) << r.out;
  r = d.ctl({"log", "app", "--until", marker});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;
  EXPECT_NE(r.out.find(" before 1\n"), std::string::npos) << r.out;
  // A duration ago, and a bad bound.
  r = d.ctl({"log", "app", "--since", "1h"});
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 5) << r.out;
  r = d.ctl({"log", "app", "--since", "yesterday"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--since: 'yesterday'"), std::string::npos) << r.err;
}

TEST(Timestamps, SinceWithoutTimestampsSaysWhy) {
  TempDir dir;
  Superd d(dir, service("plain", {"--print", "x", "--pause"}));
  ASSERT_TRUE(d.start());
  auto r = d.ctl({"log", "plain", "--since", "10m"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("log_timestamps = true"), std::string::npos) << r.err;
}

// --since reads the backups as `log -n` does: a link planted where a backup would be is
// refused with where and why, and what it points at is never read back.
TEST(Timestamps, SinceRefusesALinkWhereABackupShouldBe) {
  TempDir dir;
  const std::string secret = dir / "secret";
  write_file(secret, format_stamp(unix_micros_now()) + " secret-of-root\n");
  ::chmod(secret.c_str(), 0600);
  Superd d(dir, service("app", {"--print", "hello", "--pause"}, "log_timestamps = true\nlog_backups = 2"));
  ASSERT_TRUE(d.start()) << d.daemon_log();
  const std::string path = d.log_dir() + "/app.log";
  ASSERT_TRUE(wait_until([&] { return read_file(path).find(" hello\n") != std::string::npos; }));
  auto r = d.ctl({"log", "app", "--since", "1h"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(" hello"), std::string::npos) << r.out;
  ASSERT_EQ(::symlink(secret.c_str(), (path + ".2").c_str()), 0);
  r = d.ctl({"log", "app", "--since", "1h"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(r.out.find("secret-of-root"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find(path + ".2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("symlink"), std::string::npos) << r.err;
}

// logrotate with `create`: mv, then reopen-logs (or SIGUSR1); the service writes all along.
TEST(Reopen, AfterAnExternalMoveNothingIsLostAndNothingIsInBoth) {
  TempDir dir;
  const std::string go = dir / "go";
  Superd d(dir, service("app", {"--lines-until", go, "--print", "done", "--pause"}, "log_max_bytes = 0"));
  ASSERT_TRUE(d.start()) << d.daemon_log();
  const std::string path = d.log_dir() + "/app.log";
  // By stat: the writer makes ~100 MB/s, so reading the file to learn its size soon
  // takes longer than the file takes to grow.
  auto size_of = [](const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  };
  ASSERT_TRUE(wait_until([&] { return size_of(path) > 200000; }, 10s));
  ASSERT_EQ(::rename(path.c_str(), (path + ".old1").c_str()), 0);
  auto r = d.ctl({"reopen-logs"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("reopened 1 log files"), std::string::npos) << r.out;
  ASSERT_TRUE(wait_until([&] { return size_of(path) > 200000; }, 10s)) << d.daemon_log();
  ASSERT_EQ(::rename(path.c_str(), (path + ".old2").c_str()), 0);
  ::kill(d.pid(), SIGUSR1);
  ASSERT_TRUE(wait_until([&] { return size_of(path) > 200000; }, 10s)) << d.daemon_log();
  write_file(go, "");
  ASSERT_TRUE(wait_until([&] { return read_file(path).find("done\n") != std::string::npos; }, 10s));
  Numbered n;
  for (const std::string& p : {path + ".old1", path + ".old2", path}) {
    std::string text = read_file(p);
    EXPECT_FALSE(text.empty()) << p;
    EXPECT_EQ(text.back(), '\n') << p << " ends mid-line";
    check_numbered(text, 100, n);
  }
  EXPECT_GT(n.last, 6000);
  EXPECT_EQ(n.bad, 0) << n.first_problem;
  EXPECT_EQ(n.torn, 0) << n.first_problem;
  EXPECT_EQ(n.other, 1);  // "done"
}

// The splice path: numbered lines across many rotations, and a `log -f` follower that
// attaches and leaves while the lines flow (the pipe goes from splice to read and back).
// SUPERD_SPLICE_TEST_MB sets the size (the benchmark's row 7 does a full GiB).
TEST(Splice, EveryLineOnceInOrderAcrossRotationsWithAFollowerComingAndGoing) {
  TempDir dir;
  const char* env = std::getenv("SUPERD_SPLICE_TEST_MB");
  const long mb = env ? std::atol(env) : 48;
  const long phase = mb * 1000000 / 100 / 3;  // lines of 100 bytes, a third before the follower
  const std::string go = dir / "go";
  Superd d(dir, service("big", {"--lines", std::to_string(phase), "--lines-until", go, "--lines", std::to_string(phase),
                                "--print", "done", "--pause"},
                        "log_max_bytes = \"4MB\"\nlog_backups = 1000"));
  ASSERT_TRUE(d.start()) << d.daemon_log();
  const std::string path = d.log_dir() + "/big.log";
  auto logged = [&] {
    uint64_t total = 0;
    for (const auto& f : rotated_files(path, 1000)) total += read_file(f).size();
    return total;
  };
  ASSERT_TRUE(wait_until([&] { return logged() >= static_cast<uint64_t>(phase) * 100; }, 60s)) << d.daemon_log();
  {
    Background follower({superctl_bin(), "-s", d.socket(), "log", "-f", "-n", "0", "big"}, dir / "follow.out");
    ASSERT_TRUE(wait_until([&] { return read_file(dir / "follow.out").size() > 300000; }, 30s))
        << read_file(dir / "follow.out").substr(0, 300);
  }  // the follower leaves while lines still flow
  // And more flows by splice before the writer moves on.
  const uint64_t after_follower = logged();
  ASSERT_TRUE(wait_until([&] { return logged() >= after_follower + 8000000; }, 30s)) << d.daemon_log();
  write_file(go, "");
  ASSERT_TRUE(wait_until([&] { return read_file(path).find("done\n") != std::string::npos; }, 60s)) << d.daemon_log();
  Numbered n;
  const auto files = rotated_files(path, 1000);
  EXPECT_GE(files.size(), static_cast<size_t>(mb / 4)) << "rotations";
  for (const auto& f : files) {
    std::string text = read_file(f);
    EXPECT_LE(text.size(), 4000000u) << f;
    if (!text.empty()) {
      EXPECT_EQ(text.back(), '\n') << f << " ends mid-line";
    }
    check_numbered(text, 100, n);
  }
  EXPECT_GE(n.last, 2 * phase);
  EXPECT_EQ(n.bad, 0) << n.first_problem;
  EXPECT_EQ(n.torn, 0) << n.first_problem;
  EXPECT_EQ(n.other, 1);  // "done"
  // What the follower saw: whole lines, consecutive.
  Numbered f;
  std::string followed = read_file(dir / "follow.out");
  followed = followed.substr(0, followed.rfind('\n') + 1);  // it was stopped mid-write
  std::istringstream in(followed);
  std::string first;
  std::getline(in, first);
  long k = 0;
  ASSERT_EQ(std::sscanf(first.c_str(), "line %ld", &k), 1) << first;
  f.last = k - 1;
  check_numbered(followed, 100, f);
  EXPECT_EQ(f.bad + f.torn, 0) << f.first_problem;
  // A follower that cannot keep up with ~100 MB/s is let go (its output bound), so only
  // a few thousand lines are asked of it.
  EXPECT_GT(f.last - k, 2000);
}

// reload-config checks a log file it is about to open as --check does: a link planted
// at a service's new log path refuses the reload, naming it, and the service runs on,
// writing where it wrote. (The files running services already write are not checked
// again: their sinks check the path at every open.)
TEST(ReloadConfig, ANewLogPathThatIsALinkIsRefused) {
  TempDir dir;
  const std::string secret = dir / "secret";
  write_file(secret, "root-only\n");
  ::chmod(secret.c_str(), 0600);
  Superd d(dir, service("app", {"--print", "hello", "--pause"}));
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("app", "running"));
  const pid_t pid = d.status("app").value("pid", 0);
  const std::string link = d.log_dir() + "/moved.log";
  ASSERT_EQ(::symlink(secret.c_str(), link.c_str()), 0);
  d.rewrite_services(service("app", {"--print", "hello", "--pause"}, "stdout = " + q(link)));
  auto r = d.ctl({"reload-config"});
  EXPECT_EQ(r.exit_code, 1) << r.out << d.daemon_log();
  EXPECT_NE(r.err.find("stdout '" + link + "' is a symlink"), std::string::npos) << r.err;
  EXPECT_EQ(d.status("app").value("pid", 0), pid) << "nothing changed";
  EXPECT_EQ(read_file(secret), "root-only\n");
  // The same config with the old path again: the file app writes is accepted.
  d.rewrite_services(service("app", {"--print", "hello", "--pause"}));
  r = d.ctl({"reload-config"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "no changes\n");
}

// The file a running service writes is skipped only while its sink holds it open: a link
// planted where it was, which the sink refused at reopen-logs, is reported by the next
// reload as by the first.
TEST(ReloadConfig, ALinkTheSinkRefusedIsReportedAgain) {
  TempDir dir;
  const std::string secret = dir / "secret";
  write_file(secret, "root-only\n");
  ::chmod(secret.c_str(), 0600);
  Superd d(dir, service("app", {"--print", "hello", "--pause"}));
  ASSERT_TRUE(d.start()) << d.daemon_log();
  const std::string path = d.log_dir() + "/app.log";
  ASSERT_TRUE(wait_until([&] { return read_file(path) == "hello\n"; })) << d.daemon_log();
  EXPECT_EQ(d.ctl({"reload-config"}).out, "no changes\n");
  ASSERT_EQ(::rename(path.c_str(), (path + ".old").c_str()), 0);
  ASSERT_EQ(::symlink(secret.c_str(), path.c_str()), 0);
  ASSERT_EQ(d.ctl({"reopen-logs"}).exit_code, 0);
  auto r = d.ctl({"reload-config"});
  EXPECT_EQ(r.exit_code, 1) << r.out << d.daemon_log();
  EXPECT_NE(r.err.find("'" + path + "' is a symlink"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(secret), "root-only\n");
  ASSERT_EQ(::unlink(path.c_str()), 0);
  r = d.ctl({"reload-config"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "no changes\n");
}

}  // namespace
}  // namespace superd::test
