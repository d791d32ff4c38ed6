#include "supervisor/state_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/file_read.h"

namespace superd {
namespace {

bool write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

bool replace_state_file(const std::string& path, const std::string& text, std::string* error) {
  const std::string tmp = path + ".tmp";
  auto fail = [&](const std::string& what, int fd = -1) {
    const int saved = errno;
    if (fd >= 0) ::close(fd);
    *error = what + ": " + std::strerror(saved);
    ::unlink(tmp.c_str());
    return false;
  };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return fail(tmp);
  if (!write_all(fd, text)) return fail("writing " + tmp, fd);
  if (::fsync(fd) < 0) return fail("fsync " + tmp, fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) < 0) return fail("rename to " + path);
  // The rename itself must reach the disk, or a crash could bring back the old file.
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? std::string(".") : path.substr(0, slash + 1);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

std::optional<std::string> read_state_file(const std::string& path, std::string* error) {
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) return std::nullopt;
  std::string why;
  auto text = read_small_file(path, &why);
  if (!text) *error = path + " " + why;
  return text;
}

}  // namespace superd
