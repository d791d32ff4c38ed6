#include "supervisor/run_records.h"

#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include <nlohmann/json.hpp>

namespace superd {
namespace {

constexpr const char* kRunning = "running.json";
constexpr const char* kLock = "superd.lock";
constexpr uint64_t kMaxRunningBytes = 4u << 20;

// A service name as a JSON string. Names are letters, digits and _.-@ (the config
// refuses others), written as they are; anything else goes through the JSON library.
void append_name(std::string& out, const std::string& name) {
  const bool plain = std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == '@';
  });
  if (!plain) {
    out += nlohmann::json(name).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  out += '"';
  out += name;
  out += '"';
}

template <typename Int>
void append_number(std::string& out, Int value) {
  char digits[24];  // a sign and 20 digits
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

// The document load_running reads back, written as text: it is rewritten at every
// spawn, and a JSON tree of 5,000 records cost a spawn 7 ms.
std::string running_text(const std::vector<RunningRecord>& records) {
  std::string out;
  out.reserve(records.size() * 64 + 2);
  out += '[';
  for (const auto& r : records) {
    if (out.size() > 1) out += ',';
    out += "{\"pid\":";
    append_number(out, r.pid);
    out += ",\"service\":";
    append_name(out, r.service);
    out += ",\"start_time\":";
    append_number(out, r.start_time);
    out += '}';
  }
  out += "]\n";
  return out;
}

}  // namespace

bool save_running(const SafeDir& state_dir, const PathTrust& trust,
                  const std::vector<RunningRecord>& records, std::string* error) {
  if (auto problem = state_dir.recheck(trust)) {
    *error = problem->explain("state_dir", state_dir.path(), "superd keeps its state there");
    return false;
  }
  // No fsync: this record matters when superd dies, not the machine (after a machine
  // crash no leftover can exist), and it is written at every spawn.
  if (auto problem = replace_safe_file(state_dir, kRunning, running_text(records), 0644, /*sync=*/false)) {
    *error = problem->describe(state_dir.path_of(kRunning));
    return false;
  }
  return true;
}

std::vector<RunningRecord> load_running(const SafeDir& state_dir, const PathTrust& trust,
                                        std::string* warning) {
  std::vector<RunningRecord> out;
  auto text = read_safe_file(state_dir, kRunning, trust, kMaxRunningBytes);
  if (auto* problem = std::get_if<PathProblem>(&text)) {
    if (problem->why != "does not exist") {
      *warning = problem->describe(state_dir.path_of(kRunning)) +
                 "; not believed: leftovers of a previous superd are found by session only";
    }
    return out;
  }
  auto doc = nlohmann::json::parse(std::get<std::string>(text), nullptr, false);
  if (!doc.is_array()) {
    *warning = state_dir.path_of(kRunning) + ": not a list of records";
    return out;
  }
  int malformed = 0;
  for (const auto& r : doc) {
    if (!r.is_object() || !r.value("pid", nlohmann::json()).is_number_integer() ||
        !r.value("start_time", nlohmann::json()).is_number_unsigned() ||
        !r.value("service", nlohmann::json()).is_string()) {
      ++malformed;
      continue;
    }
    RunningRecord rec{r["service"].get<std::string>(), r["pid"].get<pid_t>(),
                      r["start_time"].get<uint64_t>()};
    if (rec.pid > 1) out.push_back(rec);
  }
  if (malformed > 0) {
    *warning = state_dir.path_of(kRunning) + ": ignored " + std::to_string(malformed) + " malformed records";
  }
  return out;
}

bool StateLock::acquire(const SafeDir& state_dir, const PathTrust& trust, std::string* error) {
  // One superd per state_dir: two would fight over the same services and files.
  auto opened = open_safe_file(state_dir, kLock, trust, {O_RDWR | O_CREAT, 0644, 0});
  if (auto* problem = std::get_if<PathProblem>(&opened)) {
    *error = problem->describe(state_dir.path_of(kLock));
    return false;
  }
  fd_ = std::move(std::get<UniqueFd>(opened));
  if (::flock(fd_.get(), LOCK_EX | LOCK_NB) < 0) {
    char pid[32] = {};
    [[maybe_unused]] ssize_t n = ::pread(fd_.get(), pid, sizeof pid - 1, 0);
    pid[std::strcspn(pid, "\n")] = '\0';
    *error = "another superd (pid " + std::string(pid[0] ? pid : "?") +
             ") is running with state_dir " + state_dir.path();
    return false;
  }
  std::string mypid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_.get(), 0) == 0) {
    [[maybe_unused]] ssize_t n = ::pwrite(fd_.get(), mypid.data(), mypid.size(), 0);
  }
  return true;
}

}  // namespace superd
