#include "proc/cgroup_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/fd.h"
#include "base/text.h"

namespace superd {
namespace {

std::optional<uint64_t> parse_u64(std::string_view s) {
  s = trim(s);
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t next = v * 10 + static_cast<uint64_t>(c - '0');
    if (next / 10 != v) return std::nullopt;  // overflow
    v = next;
  }
  return v;
}

}  // namespace

std::string cgroup_file_path(const std::string& dir, std::string_view name) {
  std::string path = dir;
  if (path.empty() || path.back() != '/') path += '/';
  return path + std::string(name);
}

std::optional<std::string> read_cgroup_file(const std::string& dir, std::string_view name,
                                            std::string* error) {
  const std::string path = cgroup_file_path(dir, name);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    *error = "cgroup: open " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string out;
  char buf[4096];
  // cgroup.procs of a big cgroup can be long; 1 MiB is far more than any file read here.
  while (out.size() < (1u << 20)) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = "cgroup: read " + path + ": " + std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

bool write_cgroup_file(const std::string& dir, std::string_view name, std::string_view value,
                       std::string* error) {
  const std::string path = cgroup_file_path(dir, name);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd) {
    *error = "cgroup: open " + path + ": " + std::strerror(errno);
    return false;
  }
  ssize_t n;
  do {
    n = ::write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(value.size())) {
    *error = "cgroup: write " + path + ": " +
             (n < 0 ? std::strerror(errno) : std::string("short write"));
    return false;
  }
  return true;
}

std::optional<uint64_t> keyed_value(std::string_view text, std::string_view key) {
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.size() > key.size() && line.substr(0, key.size()) == key &&
        (line[key.size()] == ' ' || line[key.size()] == '\t')) {
      return parse_u64(line.substr(key.size() + 1));
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> single_value(std::string_view text) { return parse_u64(text); }

}  // namespace superd
