#include "supervisor/log_tail.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/fd.h"

namespace superd {
namespace {

// Up to `count` complete lines from the end of one file, oldest first.
std::vector<std::string> tail_one(const std::string& path, size_t count) {
  std::vector<std::string> lines;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) < 0 || count == 0) return lines;
  off_t end = st.st_size;
  std::string carry;  // the start of a line whose beginning lies in an earlier block
  constexpr off_t kBlock = 64 * 1024;
  constexpr size_t kMaxLine = 1 << 20;
  bool skip_final_newline = true;
  while (end > 0 && lines.size() < count) {
    off_t start = std::max<off_t>(0, end - kBlock);
    std::string block(static_cast<size_t>(end - start), '\0');
    if (::pread(fd.get(), block.data(), block.size(), start) != static_cast<ssize_t>(block.size()))
      break;
    block += carry;
    carry.clear();
    size_t pos = block.size();
    if (skip_final_newline && !block.empty() && block.back() == '\n') --pos;
    skip_final_newline = false;
    while (lines.size() < count) {
      size_t nl = pos == 0 ? std::string::npos : block.rfind('\n', pos - 1);
      if (nl == std::string::npos) {
        carry = block.substr(0, pos);
        if (carry.size() > kMaxLine) carry.erase(0, carry.size() - kMaxLine);
        break;
      }
      lines.push_back(block.substr(nl + 1, pos - nl - 1));
      pos = nl;
    }
    end = start;
  }
  if (end == 0 && lines.size() < count && !carry.empty()) lines.push_back(carry);
  std::reverse(lines.begin(), lines.end());
  return lines;
}

}  // namespace

std::vector<std::string> tail_lines(const std::string& path, size_t count) {
  auto lines = tail_one(path, count);
  if (lines.size() < count) {
    auto older = tail_one(path + ".1", count - lines.size());
    lines.insert(lines.begin(), older.begin(), older.end());
  }
  return lines;
}

}  // namespace superd
