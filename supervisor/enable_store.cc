#include "supervisor/enable_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace superd {

bool EnableStore::load(std::string* error) {
  values_.clear();
  std::ifstream in(path_);
  if (!in) return errno == ENOENT || (*error = path_ + ": " + std::strerror(errno), false);
  std::stringstream text;
  text << in.rdbuf();
  auto doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    *error = path_ + ": not a JSON object; ignoring saved enable/disable choices";
    return false;
  }
  for (auto& [name, value] : doc.items()) {
    if (value.is_boolean()) values_[name] = value.get<bool>();
  }
  return true;
}

std::optional<bool> EnableStore::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

bool EnableStore::set(const std::string& name, bool enabled, std::string* error) {
  auto next = values_;
  next[name] = enabled;
  if (!save(next, error)) return false;
  values_ = std::move(next);
  return true;
}

bool EnableStore::save(const std::map<std::string, bool>& values, std::string* error) const {
  const std::string text = nlohmann::json(values).dump(2) + "\n";
  const std::string tmp = path_ + ".tmp";
  auto fail = [&](const std::string& what) {
    *error = what + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return fail(tmp);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      ::close(fd);
      errno = saved;
      return fail("writing " + tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) < 0) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    return fail("fsync " + tmp);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path_.c_str()) < 0) return fail("rename to " + path_);
  // The rename itself must reach the disk, or a crash could bring back the old file.
  std::string dir = path_.substr(0, path_.find_last_of('/') + 1);
  if (dir.empty()) dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

}  // namespace superd
