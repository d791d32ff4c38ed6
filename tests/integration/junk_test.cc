// Junk on the live control socket (issue 7, part 3): thousands of random, mutated and
// truncated messages, oversized lines, half-sent lines left hanging, clients that vanish
// mid-reply, and 200 connections that send nothing. Meanwhile a well-behaved client keeps
// asking for status, both on a connection it opened before the junk (is the event loop
// ever stalled?) and on a fresh connection per request as superctl does (can junk lock a
// legitimate operator out?). Afterwards superd's RSS and fd count must come back to
// about their baseline.
//
// Everything is bounded: every socket has send/receive timeouts, every wait a deadline,
// and the junk phases have fixed sizes. The junk never contains a valid request that
// changes anything (mutations replace bytes of status/hello/log requests in place, so
// they cannot turn into another command with valid arguments); the test checks at the
// end that the services still run with the same pids.
#include <dirent.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ipc/client.h"
#include "tests/integration/harness.h"

namespace superd::test {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// ---- latency samples -------------------------------------------------------------

struct Samples {
  std::vector<double> ms;
  int refused = 0;  // busy, or the connection failed
  std::vector<std::string> refusals;

  double pct(double p) const {
    if (ms.empty()) return 0;
    std::vector<double> s = ms;
    std::sort(s.begin(), s.end());
    return s[std::min(s.size() - 1, static_cast<size_t>(p * (s.size() - 1) + 0.5))];
  }
  double max() const { return ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end()); }
  std::string summary() const {
    char buf[160];
    std::snprintf(buf, sizeof buf, "n=%zu p50=%.2fms p99=%.2fms max=%.2fms refused=%d",
                  ms.size(), pct(0.5), pct(0.99), max(), refused);
    return buf;
  }
};

// One status request; its latency in ms, or nullopt with *why set.
std::optional<double> timed_status(ipc::Client& client, std::string* why) {
  const auto t0 = Clock::now();
  auto reply = client.request("status");
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (auto* error = std::get_if<std::string>(&reply)) {
    *why = *error;
    return std::nullopt;
  }
  const json& r = std::get<json>(reply);
  if (!r.value("ok", false)) {
    *why = r.dump();
    return std::nullopt;
  }
  return ms;
}

// The well-behaved client: a status every ~20 ms on its long-lived connection, and one
// on a fresh connection (connect included in the time), until told to stop.
class WellBehaved {
 public:
  explicit WellBehaved(const std::string& socket) : socket_(socket) {
    persistent_.set_timeout(within(5s));
    if (auto e = persistent_.connect(socket_)) ADD_FAILURE() << "connect: " << *e;
  }

  // `rounds` samples in the foreground, or in the background until stop().
  void sample(int rounds, bool background = false) {
    for (int i = 0; i < rounds && !(background && stop_); ++i) {
      std::string why;
      auto ms = timed_status(persistent_, &why);
      {
        std::lock_guard lock(mu_);
        if (ms) {
          kept_.ms.push_back(*ms);
        } else {
          ++kept_.refused;
          if (kept_.refusals.size() < 5) kept_.refusals.push_back(why);
        }
      }
      const auto t0 = Clock::now();
      ipc::Client fresh;
      fresh.set_timeout(within(5s));
      std::optional<double> fresh_ms;
      if (auto e = fresh.connect(socket_)) {
        why = "connect: " + *e;
      } else {
        fresh_ms = timed_status(fresh, &why);
        if (fresh_ms) fresh_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      }
      {
        std::lock_guard lock(mu_);
        if (fresh_ms) {
          fresh_.ms.push_back(*fresh_ms);
        } else {
          ++fresh_.refused;
          if (fresh_.refusals.size() < 5) fresh_.refusals.push_back(why);
        }
      }
      std::this_thread::sleep_for(20ms);
    }
  }

  // Sampling in the background until stop().
  void start() {
    stop_ = false;
    thread_ = std::thread([this] { sample(1 << 30, true); });
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // The samples since the last take(), and a fresh start.
  std::pair<Samples, Samples> take() {
    std::lock_guard lock(mu_);
    return {std::exchange(kept_, {}), std::exchange(fresh_, {})};
  }

 private:
  std::string socket_;
  ipc::Client persistent_;
  std::mutex mu_;
  Samples kept_, fresh_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// ---- junk ------------------------------------------------------------------------

void set_socket_timeouts(int fd, std::chrono::milliseconds t) {
  timeval tv{static_cast<time_t>(t.count() / 1000), static_cast<suseconds_t>((t.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

bool is_blank(const std::string& line) {
  return line.find_first_not_of(" \t\r") == std::string::npos;
}

// A line of junk, never containing '\n'.
std::string junk_line(std::mt19937& rng) {
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  static const std::vector<std::string> valid = {
      R"({"id": 1, "cmd": "status"})",
      R"({"id": 2, "cmd": "status", "args": {"names": ["noisy"]}})",
      R"({"id": 3, "cmd": "hello"})",
      R"({"id": 4, "cmd": "log", "args": {"name": "noisy", "lines": 3}})",
      R"({"id": 5, "cmd": "status", "args": {"names": ["nope", "noisy"]}})",
      R"({"id": 6, "cmd": "frobnicate", "args": {}})",
      R"({"id": 7, "cmd": "status", "args": [1, 2]})",
      R"({"id": "8", "cmd": "status"})",
      R"({"id": 9.5, "cmd": "hello"})",
      R"({"id": 10, "cmd": "log", "args": {"name": 5, "lines": -1}})",
      R"({"id": 11, "cmd": "log", "args": {"name": "noisy", "lines": 1000000}})",
      R"({"id": 99999999999999999999, "cmd": "hello"})",
      R"({"id": 12, "cmd": "status", "args": {"names": ["\ud800", "\u0000"]}})",
      R"([{"id": 13}])",
      R"("just a string")",
      R"(null)",
  };
  std::string line;
  switch (pick(6)) {
    case 0: {  // random bytes
      const size_t n = pick(300);
      for (size_t i = 0; i < n; ++i) line.push_back(static_cast<char>(rng() % 256));
      break;
    }
    case 1: {  // a request with a few bytes replaced
      line = valid[pick(valid.size())];
      for (size_t k = 1 + pick(4); k > 0; --k) line[pick(line.size())] = static_cast<char>(rng() % 256);
      break;
    }
    case 2: {  // truncated
      const std::string& v = valid[pick(valid.size())];
      line = v.substr(0, pick(v.size()));
      break;
    }
    case 3:  // as is (answers and errors)
      line = valid[pick(valid.size())];
      break;
    case 4: {  // deep nesting, long strings, invalid UTF-8
      const size_t depth = 1 + pick(200);
      line = R"({"id": 20, "cmd": "status", "args": {"x": )" + std::string(depth, '[') +
             std::string(depth, ']') + "}}";
      if (pick(2)) line = R"({"id": 21, "cmd": ")" + std::string(pick(5000), 'A') + "\xff\xfe\"}";
      break;
    }
    default: {  // ASCII noise that looks a little like JSON
      static const char* tokens[] = {"{", "}", "[", "]", ":", ",", "\"id\"", "\"cmd\"", "1",
                                     "-", "1e999", "true", "null", " ", "\"", "\\", "\\u12"};
      for (size_t k = pick(40); k > 0; --k) line += tokens[pick(std::size(tokens))];
      break;
    }
  }
  std::replace(line.begin(), line.end(), '\n', ' ');
  return line;
}

struct JunkStats {
  std::atomic<long> messages{0}, replies{0}, expected_replies{0}, connections{0}, busy{0};
  std::atomic<long> too_large_replies{0}, oversize_attempts{0}, vanished{0};
  std::atomic<long> slowloris_closed_by_server{0}, slowloris{0};
  std::atomic<long> problems{0};
  std::mutex mu;
  std::vector<std::string> problem_text;
  void problem(const std::string& what) {
    ++problems;
    std::lock_guard lock(mu);
    if (problem_text.size() < 10) problem_text.push_back(what);
  }
};

// Reads every message until superd closes the connection (or the socket timeout);
// returns how many, and whether the first one was a busy refusal. *closed: superd closed
// it: EOF, or ECONNRESET when it closed with bytes of ours still unread (an oversized
// line it stopped reading).
long drain(ipc::Client& c, bool* busy, bool* closed, std::vector<json>* first = nullptr) {
  long n = 0;
  std::string error;
  while (auto m = c.read_message(&error)) {
    if (n == 0 && busy) *busy = m->contains("error") && (*m)["error"].value("code", "") == "busy";
    if (first && first->size() < 3) first->push_back(*m);
    ++n;
  }
  *closed = c.at_eof() || error.find(std::strerror(ECONNRESET)) != std::string::npos;
  return n;
}

// A connection that sends `count` lines of junk, half-closes, and reads every reply.
void junk_connection(const std::string& socket, std::mt19937 rng, int count, JunkStats& st) {
  ipc::Client c;
  c.set_timeout(within(10s));
  if (c.connect(socket)) {
    st.problem("junk connect failed");
    return;
  }
  set_socket_timeouts(c.fd(), within(10s));
  ++st.connections;
  std::string batch;
  long expected = 0;
  for (int i = 0; i < count; ++i) {
    std::string line = junk_line(rng);
    expected += is_blank(line) ? 0 : 1;
    batch += line;
    batch += '\n';
    // Some lines are sent byte-split across writes: framing must not care.
    if (rng() % 8 == 0 || i + 1 == count) {
      const size_t cut = batch.size() > 1 ? rng() % batch.size() : 0;
      std::optional<std::string> e = c.send_raw(batch.substr(0, cut));
      if (!e) e = c.send_raw(batch.substr(cut));
      if (e) break;  // refused with busy: the server closed
      batch.clear();
    }
  }
  st.messages += count;
  ::shutdown(c.fd(), SHUT_WR);
  bool busy = false, closed = false;
  const long got = drain(c, &busy, &closed);
  if (busy) {
    ++st.busy;
    return;
  }
  st.replies += got;
  st.expected_replies += expected;
  if (got != expected) {
    st.problem("junk connection: " + std::to_string(got) + " replies to " +
               std::to_string(expected) + " requests");
  }
  if (!closed) st.problem("junk connection: not closed after the replies");
}

// A line over 1 MiB: too_large, then the server closes. `newline` ends it.
void oversize_connection(const std::string& socket, size_t bytes, bool newline, JunkStats& st) {
  ipc::Client c;
  c.set_timeout(within(10s));
  if (c.connect(socket)) return;
  set_socket_timeouts(c.fd(), within(10s));
  std::string chunk(64 * 1024, 'x');
  chunk.replace(0, 20, R"({"id": 1, "cmd": "st)");
  size_t sent = 0;
  while (sent < bytes) {
    const size_t n = std::min(chunk.size(), bytes - sent);
    if (c.send_raw(std::string_view(chunk).substr(0, n))) break;  // the server closed
    sent += n;
  }
  if (newline) c.send_raw("\n");
  std::vector<json> first;
  bool busy = false, closed = false;
  drain(c, &busy, &closed, &first);
  if (busy) return;  // turned away before it could send anything
  ++st.oversize_attempts;
  if (!first.empty() && first[0].contains("error") && first[0]["error"].value("code", "") == "too_large") {
    ++st.too_large_replies;
  } else {
    st.problem("oversize line not answered too_large: " + (first.empty() ? "nothing" : first[0].dump()));
  }
  if (!closed) st.problem("oversize line: connection not closed by superd");
}

// Asks for the big log (a 2 MB reply) and goes away: at once, or after reading the first
// 64 KiB of the reply.
void vanishing_log_client(const std::string& socket, bool read_some, JunkStats& st) {
  ipc::Client c;
  if (c.connect(socket)) return;
  set_socket_timeouts(c.fd(), 2s);
  c.send_raw(R"({"id": 1, "cmd": "log", "args": {"name": "noisy", "lines": 100000}})" "\n");
  if (read_some) {
    char buf[4096];
    for (size_t got = 0; got < 64 * 1024;) {
      const ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
  }
  c.close();
  ++st.vanished;
}

class JunkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // noisy: 20000 lines (a 2 MB log), then quiet; quiet: just runs.
    d_ = std::make_unique<Superd>(
        dir_, "[service.noisy]\ncommand = [\"" + testprog() +
                  "\", \"--lines\", \"20000\", \"--line-bytes\", \"200\", \"--print\", \"noisy done\", \"--pause\"]\n"
                  "start_seconds = \"100ms\"\n"
                  "[service.quiet]\ncommand = [\"" + testprog() + "\", \"--pause\"]\n"
                  "start_seconds = \"100ms\"\n");
    std::string why;
    ASSERT_TRUE(d_->start({}, &why)) << why;
    ASSERT_TRUE(d_->wait_state("noisy", "running"));
    ASSERT_TRUE(d_->wait_state("quiet", "running"));
    ASSERT_TRUE(wait_until(
        [&] { return read_file(d_->log_dir() + "/noisy.log").find("noisy done") != std::string::npos; },
        20s));
  }

  TempDir dir_;
  std::unique_ptr<Superd> d_;
};

// One round of junk, all at once, from several threads: 8 x 8 connections of 100 junk
// lines each, oversized lines, clients vanishing after asking for the big log, 200
// connections that send a truncated message and vanish, and 20 half-sent lines left
// hanging (returned in `hanging`; superd must cut them after its idle timeout).
void junk_round(const std::string& socket, unsigned seed, JunkStats& st,
                std::vector<ipc::Client>& hanging) {
  for (int i = 0; i < 20; ++i) {
    ipc::Client& h = hanging.emplace_back();
    h.set_timeout(within(15s));
    if (h.connect(socket)) continue;
    h.send_raw(R"({"id": 1, "cmd": "sta)");
    ++st.slowloris;
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(seed + t);
      for (int i = 0; i < 8; ++i) junk_connection(socket, std::mt19937(rng()), 100, st);
    });
  }
  threads.emplace_back([&] {
    oversize_connection(socket, (1 << 20) + 1, false, st);
    oversize_connection(socket, 2 << 20, true, st);
    oversize_connection(socket, 4 << 20, false, st);
    oversize_connection(socket, (1 << 20) + 64, true, st);
  });
  threads.emplace_back([&] {  // one every 100 ms: each costs superd a 2 MB read and reply
    for (int i = 0; i < 30; ++i) {
      vanishing_log_client(socket, i % 2 == 1, st);
      std::this_thread::sleep_for(100ms);
    }
  });
  threads.emplace_back([&] {  // truncated messages whose sender disappears
    std::mt19937 rng(seed + 99);
    for (int i = 0; i < 200; ++i) {
      ipc::Client c;
      if (c.connect(socket)) continue;
      std::string line = junk_line(rng);
      c.send_raw(line.substr(0, rng() % (line.size() + 1)));
      ++st.connections;
    }
  });
  for (auto& t : threads) t.join();
}

TEST_F(JunkTest, SuperdKeepsAnsweringAndReturnsToBaseline) {
  const pid_t pid = d_->pid();
  const pid_t noisy_pid = d_->status("noisy")["pid"], quiet_pid = d_->status("quiet")["pid"];
  const std::string& socket = d_->socket();
  const auto t_start = Clock::now();

  // Baseline: the footprint of an idle superd that has served a few requests, and the
  // usual time of a status on a kept and on a fresh connection.
  WellBehaved client(socket);
  client.sample(50);
  auto [base_kept, base_fresh] = client.take();
  ASSERT_EQ(base_kept.refused, 0);
  ASSERT_EQ(base_fresh.refused, 0);
  const long base_rss = rss_kib(pid);
  const int base_fds = fd_count(pid);
  ASSERT_GT(base_rss, 0);
  ASSERT_GT(base_fds, 0);

  // Two rounds of junk with the client sampling throughout.
  JunkStats st;
  std::vector<ipc::Client> hanging;
  // SUPERD_JUNK_ROUNDS=N runs more rounds (to watch RSS over many); the test needs 2.
  const char* rounds_env = std::getenv("SUPERD_JUNK_ROUNDS");
  const int rounds = std::max(2, rounds_env ? std::atoi(rounds_env) : 2);
  std::vector<long> round_rss;
  client.start();
  for (int round = 0; round < rounds; ++round) {
    hanging.reserve(hanging.size() + 20);
    junk_round(socket, 1000u * (round + 1), st, hanging);
    wait_until([&] { return fd_count(pid) <= base_fds + 2 + static_cast<int>(hanging.size()); }, 5s);
    round_rss.push_back(rss_kib(pid));
  }
  client.stop();
  auto [junk_kept, junk_fresh] = client.take();

  // 200 connections that send nothing, held open, while the client goes on.
  std::vector<ipc::Client> idle(200);
  int idle_connected = 0;
  for (auto& c : idle) {
    c.set_timeout(2s);
    if (!c.connect(socket)) ++idle_connected;
  }
  // 100 rounds of the client. Its connections come after the idle ones in the listen
  // queue, so once it has been answered superd has taken every idle connection in.
  client.sample(100);
  auto [idle_kept, idle_fresh] = client.take();
  // Those over the limit were told busy and closed at once (or, silent for a while,
  // yielded their place to the client's fresh connections: closed without a word).
  int idle_busy = 0, idle_closed = 0;
  {
    std::vector<pollfd> fds;
    for (auto& c : idle) fds.push_back({c.fd(), POLLIN, 0});
    ::poll(fds.data(), fds.size(), 0);
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      std::string error;
      auto m = idle[i].read_message(&error);
      if (m && m->contains("error") && (*m)["error"].value("code", "") == "busy") ++idle_busy;
      else if (!m) ++idle_closed;
    }
  }
  const long peak_rss = rss_kib(pid);
  const int peak_fds = fd_count(pid);

  // The half-sent lines must be cut by superd (10 s idle timeout; bounded read).
  for (auto& h : hanging) {
    if (h.fd() < 0) continue;
    bool closed = false;
    drain(h, nullptr, &closed);
    if (closed) ++st.slowloris_closed_by_server;
  }

  // Gone: every junk connection closed. superd must come back to its footprint.
  for (auto& c : idle) c.close();
  for (auto& h : hanging) h.close();
  long end_rss = 0;
  int end_fds = 0;
  const bool fds_settled = wait_until(
      [&] {
        end_fds = fd_count(pid);
        return end_fds <= base_fds + 2;
      },
      10s);
  wait_until(
      [&] {
        end_rss = rss_kib(pid);
        return end_rss <= base_rss + 2048;
      },
      3s);
  client.sample(50);
  auto [after_kept, after_fresh] = client.take();
  const double total_seconds = std::chrono::duration<double>(Clock::now() - t_start).count();

  std::printf(
      "[junk] %.1f s: %ld junk messages on %ld connections (%ld replies, %ld expected, %ld "
      "refused busy), %ld oversize lines (%ld answered too_large), %ld clients vanished "
      "mid-log, %ld/%ld half-sent lines cut by superd; idle: %d connected, %d told busy, %d "
      "closed\n",
      total_seconds, st.messages.load(), st.connections.load(), st.replies.load(),
      st.expected_replies.load(), st.busy.load(), st.oversize_attempts.load(),
      st.too_large_replies.load(), st.vanished.load(), st.slowloris_closed_by_server.load(),
      st.slowloris.load(), idle_connected, idle_busy, idle_closed);
  const std::pair<const char*, const Samples*> rows[] = {
      {"kept  baseline", &base_kept}, {"kept  junk    ", &junk_kept},
      {"kept  idle    ", &idle_kept}, {"kept  after   ", &after_kept},
      {"fresh baseline", &base_fresh}, {"fresh junk    ", &junk_fresh},
      {"fresh idle    ", &idle_fresh}, {"fresh after   ", &after_fresh}};
  for (const auto& [label, s] : rows) {
    std::printf("[junk] status %s %s\n", label, s->summary().c_str());
    for (const auto& r : s->refusals) std::printf("[junk]        refused: %s\n", r.c_str());
  }
  std::string per_round;
  for (long r : round_rss) per_round += " -> " + std::to_string(r);
  std::printf(
      "[junk] superd RSS %ld KiB%s (after each round of junk) -> peak %ld -> %ld KiB at the "
      "end; fds %d -> peak %d -> %d at the end\n",
      base_rss, per_round.c_str(), peak_rss, end_rss, base_fds, peak_fds, end_fds);
  for (const auto& p : st.problem_text) std::printf("[junk] problem: %s\n", p.c_str());

  // superd survived, its services were not touched by the junk.
  ASSERT_TRUE(d_->alive());
  EXPECT_EQ(d_->status("noisy").value("pid", 0), noisy_pid);
  EXPECT_EQ(d_->status("quiet").value("pid", 0), quiet_pid);

  // The junk got what the protocol promises: one reply per non-blank line, too_large for
  // oversized lines, half-sent lines cut.
  EXPECT_EQ(st.problems.load(), 0);
  EXPECT_GE(st.messages.load(), 10000);
  EXPECT_EQ(st.replies.load(), st.expected_replies.load());
  EXPECT_EQ(st.too_large_replies.load(), st.oversize_attempts.load());
  EXPECT_EQ(st.slowloris_closed_by_server.load(), st.slowloris.load());
  EXPECT_EQ(idle_connected, 200);

  // The well-behaved client: always answered, within its 5 s timeout (harness.h: within):
  // a loop that junk blocks misses that, a busy machine does not. Its latencies are
  // printed above; the benchmark's row 3 is where a status is timed.
  for (const Samples* s : {&junk_kept, &idle_kept, &after_kept}) {
    EXPECT_EQ(s->refused, 0) << s->summary();
    EXPECT_GT(s->ms.size(), 0u);
  }
  // superctl opens a connection per command: junk must not lock it out either, not even
  // 200 connections that never say anything.
  for (const Samples* s : {&junk_fresh, &idle_fresh, &after_fresh}) {
    EXPECT_EQ(s->refused, 0) << s->summary();
    EXPECT_GT(s->ms.size(), 0u) << s->summary();
  }
  EXPECT_TRUE(fds_settled) << "fds " << base_fds << " -> " << end_fds;
  if (sanitized()) GTEST_SKIP() << "RSS bound: checked in the release build (the rest passed)";

  // Back to the footprint once the junk is gone. (RSS after each round is printed, not
  // checked: it moves by a few MiB either way with what the allocator keeps, so two
  // rounds cannot tell a leak from that; SUPERD_JUNK_ROUNDS=10 shows the trend.)
  EXPECT_LE(end_rss, base_rss + 2048) << "RSS " << base_rss << " KiB -> " << end_rss << " KiB";
}

}  // namespace
}  // namespace superd::test
