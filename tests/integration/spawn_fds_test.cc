// What a service finds open when it starts: 0, 1, 2 and its listen sockets, whatever
// superd holds. A spawn lends the child's descriptors to a few low slots and the child
// copies only those (proc/spawn_slots.h); superd's own, far above them here (thirty
// other services), must not reach it, and neither may a slot it did not need.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/harness.h"
#include "tests/integration/logs_util.h"

namespace superd::test {
namespace {

std::vector<std::string> fd_listing(const std::string& log) {
  const std::string prefix = "list /proc/self/fd:";
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    std::istringstream words(line.substr(prefix.size()));
    std::vector<std::string> out;
    for (std::string w; words >> w;) out.push_back(w);
    return out;
  }
  return {"<no listing>"};
}

TEST(SpawnFds, AServiceStartsWithOnlyItsStdioAndListenSockets) {
  TempDir dir;
  std::string toml;
  for (int i = 0; i < 30; ++i) toml += service("other" + std::to_string(i), {"--pause"});
  const int a = free_port(), b = free_port();
  toml += service("probe", {"--list", "/proc/self/fd", "--pause"},
                  "listen = [\"tcp:127.0.0.1:" + std::to_string(a) + "\", \"tcp:127.0.0.1:" + std::to_string(b) +
                      "\"]\n");
  Superd d(dir, toml);
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ASSERT_TRUE(wait_until([&] { return fd_listing(read_file(d.log_dir() + "/probe.log"))[0] != "<no listing>"; }))
      << d.daemon_log();
  ASSERT_GT(fd_count(d.pid()), 90) << "superd should hold far more descriptors than the slots";
  // 5 is the listing's own directory, opened at the lowest free number.
  EXPECT_EQ(fd_listing(read_file(d.log_dir() + "/probe.log")),
            (std::vector<std::string>{"0", "1", "2", "3", "4", "5"}));
  // And again after a respawn, which lends the slots a second time.
  const int first = d.status("probe")["pid"];
  ASSERT_EQ(d.ctl({"restart", "probe"}).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return d.status("probe").value("pid", 0) != first; }));
  ASSERT_TRUE(wait_until([&] {
    std::istringstream in(read_file(d.log_dir() + "/probe.log"));
    int n = 0;
    for (std::string line; std::getline(in, line);) n += line.rfind("list /proc/self/fd:", 0) == 0;
    return n == 2;
  }));
  std::string log = read_file(d.log_dir() + "/probe.log");
  EXPECT_EQ(fd_listing(log.substr(log.find("list /proc/self/fd:") + 1)),
            (std::vector<std::string>{"0", "1", "2", "3", "4", "5"}));
}

}  // namespace
}  // namespace superd::test
