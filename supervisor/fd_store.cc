#include "supervisor/fd_store.h"

#include <sys/stat.h>

#include <cstdlib>
#include <cstring>

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

namespace superd {

bool FdStore::available() {
  static const bool set = [] {
    const char* e = std::getenv("NOTIFY_SOCKET");
    return e && *e;
  }();
  return set;
}

void FdStore::remove(const std::string& name) {
  const std::string message = "FDSTOREREMOVE=1\nFDNAME=" + name;
  if (int r = sd_notify(0, message.c_str()); r < 0) {
    spdlog::warn("fd store: removing {}: {}", name, std::strerror(-r));
  }
}

void FdStore::sync(const std::string& service, const Named& fds) {
  if (!available()) return;
  auto& mine = stored_[service];
  std::map<std::string, Identity> now;
  for (const auto& [name, fd] : fds) {
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) continue;
    const Identity id{st.st_dev, st.st_ino};
    now[name] = id;
    auto it = mine.find(name);
    if (it != mine.end() && it->second == id) continue;
    if (it != mine.end()) remove(name);
    const std::string message = "FDSTORE=1\nFDNAME=" + name;
    if (int r = sd_pid_notify_with_fds(0, 0, message.c_str(), &fd, 1); r < 0) {
      spdlog::warn("fd store: storing {}: {} (a crash of superd will restart {})", name, std::strerror(-r),
                   service);
      now.erase(name);
    }
  }
  for (const auto& [name, id] : mine) {
    if (!now.count(name)) remove(name);
  }
  mine = std::move(now);
}

void FdStore::forget(const std::string& service) {
  auto it = stored_.find(service);
  if (it == stored_.end()) return;
  for (const auto& [name, id] : it->second) remove(name);
  stored_.erase(it);
}

}  // namespace superd
