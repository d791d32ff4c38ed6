#include "supervisor/log_tail.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <variant>

#include "base/fd.h"

namespace superd {
namespace {

// Length of the UTF-8 sequence at text[i], 0 when it is not a valid one.
size_t utf8_sequence(const std::string& text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return n;
}

// Adds lines of one file, newest first, to `out` until `count` lines or `budget` bytes.
// False (and tail.error) when the file is refused.
bool tail_one(const SafeDir& dir, const std::string& name, size_t count, size_t& budget,
              const PathTrust& trust, std::vector<std::string>& out, Tail& tail) {
  auto opened = open_safe_file(dir, name, trust);
  if (auto* problem = std::get_if<PathProblem>(&opened)) {
    if (problem->why == "does not exist") return true;  // never written, or not rotated yet
    tail.error = problem->explain("log file", dir.path_of(name), "superd reads it as root");
    return false;
  }
  const int fd = std::get<UniqueFd>(opened).get();
  struct stat st {};
  if (::fstat(fd, &st) < 0) return true;
  const size_t wanted = out.size() + count;
  off_t end = st.st_size;
  std::string carry;  // the end of a line whose beginning lies in an earlier block
  constexpr off_t kBlock = 64 * 1024;
  bool skip_final_newline = true;
  auto take = [&](std::string line) {
    if (line.size() > kMaxTailLine) line.erase(0, line.size() - kMaxTailLine);
    const size_t cost = json_string_bytes(line) + 1;
    if (cost > budget) {
      tail.truncated = true;
      return false;
    }
    budget -= cost;
    out.push_back(std::move(line));
    return true;
  };
  while (end > 0 && out.size() < wanted && !tail.truncated) {
    const off_t start = std::max<off_t>(0, end - kBlock);
    std::string block(static_cast<size_t>(end - start), '\0');
    if (::pread(fd, block.data(), block.size(), start) != static_cast<ssize_t>(block.size())) break;
    block += carry;
    carry.clear();
    size_t pos = block.size();
    if (skip_final_newline && !block.empty() && block.back() == '\n') --pos;
    skip_final_newline = false;
    while (out.size() < wanted) {
      const size_t nl = pos == 0 ? std::string::npos : block.rfind('\n', pos - 1);
      if (nl == std::string::npos) {
        carry = block.substr(0, pos);
        if (carry.size() > kMaxTailLine) carry.erase(0, carry.size() - kMaxTailLine);
        break;
      }
      if (!take(block.substr(nl + 1, pos - nl - 1))) break;
      pos = nl;
    }
    end = start;
  }
  if (end == 0 && out.size() < wanted && !tail.truncated && !carry.empty()) take(std::move(carry));
  return true;
}

}  // namespace

size_t json_string_bytes(const std::string& text) {
  size_t n = 2;  // the quotes
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t') {
      n += 2;
      ++i;
    } else if (c < 0x20) {
      n += 6;  // \u00XX
      ++i;
    } else if (c < 0x80) {
      n += 1;
      ++i;
    } else if (size_t len = utf8_sequence(text, i)) {
      n += len;
      i += len;
    } else {
      n += 3;  // U+FFFD
      ++i;
    }
  }
  return n;
}

Tail tail_lines(const std::string& path, size_t count, size_t max_bytes, const PathTrust& trust) {
  Tail tail;
  if (count == 0) return tail;
  auto [dir_path, name] = split_path(path);
  auto dir = open_safe_dir(dir_path, trust);
  if (auto* problem = std::get_if<PathProblem>(&dir)) {
    if (problem->why != "does not exist") {
      tail.error = problem->explain("log file", path, "superd reads it as root");
    }
    return tail;
  }
  const SafeDir& safe = std::get<SafeDir>(dir);
  size_t budget = max_bytes;
  std::vector<std::string> newest_first;
  if (!tail_one(safe, name, count, budget, trust, newest_first, tail)) return tail;
  if (newest_first.size() < count && !tail.truncated &&
      !tail_one(safe, name + ".1", count - newest_first.size(), budget, trust, newest_first, tail)) {
    return tail;
  }
  tail.lines.assign(newest_first.rbegin(), newest_first.rend());
  return tail;
}

}  // namespace superd
