// Instances against real processes: `instances = 3` is three processes with their own
// pid, log file, notify socket and INSTANCE; `superctl scale` up and down leaves the
// instances that stay alone; a rolling restart keeps N-1 ready throughout and stops at
// the first new instance that fails; the scaled count outlives superd; reload-config of
// a higher count starts only the new instance.
#include <signal.h>

#include <gtest/gtest.h>

#include <future>
#include <map>
#include <sstream>

#include "ipc/client.h"
#include "tests/integration/harness.h"

namespace superd::test {
namespace {

using nlohmann::json;

// Every instance of `family` by name, from one status request over the socket (no
// superctl process, so a sampler can ask every few milliseconds).
std::map<std::string, json> instances(const Superd& d, const std::string& family) {
  std::map<std::string, json> out;
  ipc::Client client;
  client.set_timeout(5s);
  if (client.connect(d.socket())) return out;
  auto reply = client.request("status", {{"names", {family}}});
  const json* r = std::get_if<json>(&reply);
  if (!r || !r->value("ok", false) || !(*r)["result"].contains("services")) return out;
  for (const json& s : (*r)["result"]["services"]) {
    if (s.value("service", "") == family) out[s.value("name", "")] = s;
  }
  return out;
}

std::map<std::string, pid_t> pids(const Superd& d, const std::string& family) {
  std::map<std::string, pid_t> out;
  for (const auto& [name, s] : instances(d, family)) out[name] = s.value("pid", 0);
  return out;
}

bool all_running(const Superd& d, const std::string& family, size_t n) {
  auto now = instances(d, family);
  if (now.size() != n) return false;
  for (const auto& [name, s] : now) {
    if (s.value("state", "") != "running") return false;
  }
  return true;
}

// "env KEY=VALUE" of testprog --info's file, "" when absent.
std::string env_of(const std::string& info, const std::string& key) {
  std::istringstream in(info);
  std::string line;
  const std::string prefix = "env " + key + "=";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  }
  return "";
}

// A worker that writes its info, prints its instance and says READY=1 after `delay_ms`.
std::string worker(const TempDir& dir, int n, int delay_ms = 0, const std::string& extra = "") {
  return "[service.worker]\ncommand = " +
         cmd({"--info", dir / "info{instance}", "--print", "hello from {instance}", "--sleep",
              std::to_string(delay_ms), "--notify", "READY=1", "--pause"}) +
         "\nready = \"notify\"\ninstances = " + std::to_string(n) + "\n" + extra;
}

TEST(Instances, ThreeProcessesEachWithItsOwnPidLogNotifySocketAndInstance) {
  TempDir dir;
  Superd d(dir, worker(dir, 3));
  std::string why;
  ASSERT_TRUE(d.start({}, &why)) << why;
  ASSERT_TRUE(wait_until([&] { return all_running(d, "worker", 3); })) << d.daemon_log();
  auto before = pids(d, "worker");
  std::set<pid_t> distinct;
  std::set<std::string> sockets;
  for (int k = 0; k < 3; ++k) {
    const std::string name = "worker@" + std::to_string(k);
    ASSERT_GT(before[name], 0) << name;
    distinct.insert(before[name]);
    ASSERT_TRUE(wait_until([&] { return file_exists(dir / ("info" + std::to_string(k))); }));
    const std::string info = read_file(dir / ("info" + std::to_string(k)));
    EXPECT_EQ(env_of(info, "INSTANCE"), std::to_string(k)) << info;
    sockets.insert(env_of(info, "NOTIFY_SOCKET"));
    const std::string log = d.log_dir() + "/" + name + ".log";
    ASSERT_TRUE(wait_until([&] { return read_file(log).find("hello from " + std::to_string(k)) != std::string::npos; }))
        << log << ": " << read_file(log);
    EXPECT_EQ(read_file(log).find("hello from " + std::to_string((k + 1) % 3)), std::string::npos);
  }
  EXPECT_EQ(distinct.size(), 3u);
  EXPECT_EQ(sockets.size(), 3u);
  EXPECT_EQ(sockets.count(""), 0u);

  const ProcKey k0 = proc_key(before["worker@0"]), k2 = proc_key(before["worker@2"]);
  ASSERT_EQ(::kill(before["worker@1"], SIGKILL), 0);
  const pid_t again = d.wait_new_pid("worker@1", before["worker@1"]);
  ASSERT_GT(again, 0) << d.daemon_log();
  ASSERT_TRUE(wait_until([&] { return all_running(d, "worker", 3); }));
  auto after = pids(d, "worker");
  EXPECT_EQ(after["worker@0"], before["worker@0"]);
  EXPECT_EQ(after["worker@2"], before["worker@2"]);
  EXPECT_TRUE(process_alive(k0));
  EXPECT_TRUE(process_alive(k2));
  EXPECT_EQ(d.status("worker@0").value("restarts", -1), 0);
  EXPECT_EQ(d.status("worker@1").value("restarts", -1), 1);
}

TEST(Instances, NameIsEveryInstanceAndNameAtKIsOne) {
  TempDir dir;
  Superd d(dir, worker(dir, 3));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(wait_until([&] { return all_running(d, "worker", 3); })) << d.daemon_log();
  auto first = pids(d, "worker");

  auto r = d.ctl({"stop", "worker@1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_FALSE(process_exists(proc_key(first["worker@1"])));
  auto now = instances(d, "worker");
  EXPECT_EQ(now["worker@1"].value("state", ""), "stopped");
  EXPECT_EQ(now["worker@0"].value("pid", 0), first["worker@0"]);
  EXPECT_EQ(now["worker@2"].value("pid", 0), first["worker@2"]);
  EXPECT_EQ(d.ctl({"status", "worker"}).exit_code, 3) << "one instance of worker is not running";
  EXPECT_EQ(d.ctl({"status", "worker@0"}).exit_code, 0);

  // `start worker` starts what is stopped and leaves the running ones alone.
  r = d.ctl({"start", "worker"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_TRUE(wait_until([&] { return all_running(d, "worker", 3); }));
  now = instances(d, "worker");
  EXPECT_EQ(now["worker@0"].value("pid", 0), first["worker@0"]);
  EXPECT_NE(now["worker@1"].value("pid", 0), first["worker@1"]);

  r = d.ctl({"stop", "worker"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const auto& [name, s] : instances(d, "worker")) EXPECT_EQ(s.value("state", ""), "stopped") << name;
  EXPECT_EQ(d.ctl({"status", "worker@7"}).exit_code, 4);
}

TEST(Instances, ScaleUpAndDownNeverTouchesTheInstancesThatStay) {
  TempDir dir;
  Superd d(dir, worker(dir, 3));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(wait_until([&] { return all_running(d, "worker", 3); })) << d.daemon_log();
  auto first = pids(d, "worker");

  auto r = d.ctl({"scale", "worker", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << d.daemon_log();
  ASSERT_TRUE(wait_until([&] { return all_running(d, "worker", 5); })) << d.daemon_log();
  auto five = pids(d, "worker");
  for (const auto& [name, pid] : first) EXPECT_EQ(five[name], pid) << name;

  r = d.ctl({"scale", "worker", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << d.daemon_log();
  // The reply comes once the removed instances are gone.
  for (const char* gone : {"worker@2", "worker@3", "worker@4"}) {
    EXPECT_FALSE(process_exists(proc_key(five[gone]))) << gone;
    EXPECT_TRUE(d.unknown(gone)) << gone;
  }
  auto two = pids(d, "worker");
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two["worker@0"], first["worker@0"]);
  EXPECT_EQ(two["worker@1"], first["worker@1"]);

  // Grouped status: one row for the service, then its instances.
  r = d.ctl({"status", "worker"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("2/2 running"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("scaled to 2 (the config says 3)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("worker@1"), std::string::npos) << r.out;
}

TEST(Instances, RollingRestartKeepsTwoOfThreeReadyAndEndsAtTheFirstFailure) {
  TempDir dir;
  // Readiness takes 300 ms; an instance whose "failN" file exists never becomes ready.
  Superd d(dir, "[service.worker]\ncommand = " +
                    cmd({"--wait-while", dir / "fail{instance}", "--sleep", "300", "--notify", "READY=1",
                         "--pause"}) +
                    "\nready = { notify = true, timeout = \"1500ms\" }\ninstances = 3\nstart_retries = 1\n");
  std::string why;
  ASSERT_TRUE(d.start({}, &why)) << why;
  ASSERT_TRUE(wait_until([&] { return all_running(d, "worker", 3); }, 20s)) << d.daemon_log();
  auto before = pids(d, "worker");

  const auto began = std::chrono::steady_clock::now();
  auto roll = std::async(std::launch::async, [&] { return d.ctl({"restart", "worker"}); });
  size_t fewest = 3, samples = 0;
  for (int i = 0; i < 3000 && roll.wait_for(10ms) != std::future_status::ready; ++i) {
    size_t ready = 0;
    for (const auto& [name, s] : instances(d, "worker")) ready += s.value("state", "") == "running";
    fewest = std::min(fewest, ready);
    ++samples;
  }
  RunResult r = roll.get();
  const auto took = std::chrono::steady_clock::now() - began;
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << d.daemon_log();
  // One at a time, each waiting for the new process to be ready: three 300 ms readiness
  // delays in a row (at once, it would be over after one).
  EXPECT_GE(took, 900ms);
  EXPECT_GE(samples, 3u);
  EXPECT_GE(fewest, 2u);
  std::printf("rolling restart of 3: %zu samples, at least %zu ready at each\n", samples, fewest);
  auto after = pids(d, "worker");
  for (const auto& [name, pid] : before) EXPECT_NE(after[name], pid) << name;

  // worker@1's next process never gets ready: the roll stops there, worker@2 keeps its pid.
  write_file(dir / "fail1", "");
  r = d.ctl({"restart", "worker"});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE((r.out + r.err).find("worker@1"), std::string::npos) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("worker@2 not restarted"), std::string::npos) << r.out << r.err;
  auto third = pids(d, "worker");
  EXPECT_NE(third["worker@0"], after["worker@0"]);
  EXPECT_EQ(third["worker@2"], after["worker@2"]);
  EXPECT_EQ(d.status("worker@2").value("state", ""), "running");
}

TEST(Instances, ScaleOutlivesSuperdAndReloadOfAHigherCountStartsOnlyTheNew) {
  TempDir dir;
  {
    Superd d(dir, worker(dir, 3));
    ASSERT_TRUE(d.start());
    ASSERT_TRUE(wait_until([&] { return all_running(d, "worker", 3); })) << d.daemon_log();
    auto r = d.ctl({"scale", "worker", "4"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    ASSERT_EQ(d.stop(), 0) << d.daemon_log();
  }
  Superd d(dir, worker(dir, 3));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(wait_until([&] { return all_running(d, "worker", 4); })) << d.daemon_log();
  ASSERT_EQ(d.stop(), 0);

  // The file says 3 again: the saved 4 still holds. Back to what the file said...
  Superd e(dir, worker(dir, 3));
  ASSERT_TRUE(e.start());
  ASSERT_TRUE(wait_until([&] { return all_running(e, "worker", 4); })) << e.daemon_log();
  auto r = e.ctl({"scale", "worker", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_TRUE(wait_until([&] { return all_running(e, "worker", 3); }));
  auto three = pids(e, "worker");

  // ... then the file says 4: only worker@3 starts.
  e.rewrite_services(worker(dir, 4));
  r = e.ctl({"--json", "reload-config"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json plan = json::parse(r.out, nullptr, false);
  EXPECT_EQ(plan.value("added", json()), json({"worker@3"})) << r.out;
  EXPECT_EQ(plan.value("changed", json()), json::array()) << r.out;
  ASSERT_TRUE(wait_until([&] { return all_running(e, "worker", 4); })) << e.daemon_log();
  auto four = pids(e, "worker");
  for (const auto& [name, pid] : three) EXPECT_EQ(four[name], pid) << name;
}

}  // namespace
}  // namespace superd::test
