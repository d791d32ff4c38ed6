#include "supervisor/run_records.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace superd {

bool save_running(const std::string& path, const std::vector<RunningRecord>& records,
                  std::string* error) {
  nlohmann::json doc = nlohmann::json::array();
  for (const auto& r : records) {
    doc.push_back({{"service", r.service}, {"pid", r.pid}, {"start_time", r.start_time}});
  }
  const std::string text = doc.dump() + "\n";
  const std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd) {
    *error = tmp + ": " + std::strerror(errno);
    return false;
  }
  const ssize_t n = ::write(fd.get(), text.data(), text.size());
  if (n != static_cast<ssize_t>(text.size())) {
    *error = tmp + ": " + std::strerror(n < 0 ? errno : ENOSPC);  // short: the disk is full
    ::unlink(tmp.c_str());  // the old record stays, and nothing half-written lies about
    return false;
  }
  fd.reset();
  // No fsync: this record matters when superd dies, not the machine (after a machine
  // crash no leftover can exist), and it is written at every spawn.
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    *error = "rename to " + path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

std::vector<RunningRecord> load_running(const std::string& path, std::string* problem) {
  std::vector<RunningRecord> out;
  std::ifstream in(path);
  if (!in) return out;
  std::stringstream text;
  text << in.rdbuf();
  auto doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (!doc.is_array()) {
    if (problem) *problem = path + ": not a list of records";
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
  if (malformed > 0 && problem) {
    *problem = path + ": ignored " + std::to_string(malformed) + " malformed records";
  }
  return out;
}

bool StateLock::acquire(const std::string& state_dir, std::string* error) {
  // One superd per state_dir: two would fight over the same services and files.
  const std::string lock_path = state_dir + "/superd.lock";
  fd_.reset(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd_) {
    *error = lock_path + ": " + std::strerror(errno);
    return false;
  }
  if (::flock(fd_.get(), LOCK_EX | LOCK_NB) < 0) {
    char pid[32] = {};
    [[maybe_unused]] ssize_t n = ::pread(fd_.get(), pid, sizeof pid - 1, 0);
    pid[std::strcspn(pid, "\n")] = '\0';
    *error = "another superd (pid " + std::string(pid[0] ? pid : "?") +
             ") is running with state_dir " + state_dir;
    return false;
  }
  std::string mypid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_.get(), 0) == 0) {
    [[maybe_unused]] ssize_t n = ::pwrite(fd_.get(), mypid.data(), mypid.size(), 0);
  }
  return true;
}

}  // namespace superd
