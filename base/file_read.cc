#include "base/file_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/fd.h"

namespace superd {

std::optional<std::string> read_small_file(const std::string& path, std::string* error,
                                           uint64_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) {
    *error = errno == ENOENT ? "does not exist"
                             : std::string("cannot be read: ") + std::strerror(errno);
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    *error = std::string("cannot be read: ") + std::strerror(errno);
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    *error = "is not a regular file";
    return std::nullopt;
  }
  const std::string too_large = "is larger than " + std::to_string(max_bytes >> 20) + " MiB";
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    *error = too_large;
    return std::nullopt;
  }
  std::string content;
  content.resize(static_cast<size_t>(st.st_size));
  size_t used = 0;
  for (;;) {
    // The file may grow while it is read: read past the size fstat gave, up to the cap.
    if (used == content.size()) {
      if (content.size() > max_bytes) {
        *error = too_large;
        return std::nullopt;
      }
      content.resize(content.size() + 4096);
    }
    const ssize_t n = ::read(fd.get(), content.data() + used, content.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = std::string("cannot be read: ") + std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  content.resize(used);
  if (content.size() > max_bytes) {
    *error = too_large;
    return std::nullopt;
  }
  return content;
}

}  // namespace superd
