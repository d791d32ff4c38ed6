#include "supervisor/log_since.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <variant>

#include "base/fd.h"

namespace superd {
namespace {

constexpr size_t kBlock = 64u << 10;
constexpr size_t kMaxLine = 1u << 20;  // a longer line is cut when returned

// Reads a file forward, a block at a time, one line after another.
class LineReader {
 public:
  LineReader(int fd, off_t size) : fd_(fd), size_(size) {}
  void seek(off_t at) {
    pos_ = at;
    buf_.clear();
    start_ = 0;
  }
  off_t offset() const { return pos_ - static_cast<off_t>(buf_.size() - start_); }
  // The next line (without '\n'); false at the end of the file.
  bool next(std::string* line) {
    for (;;) {
      size_t nl = buf_.find('\n', start_);
      if (nl != std::string::npos) {
        line->assign(buf_, start_, std::min(nl - start_, kMaxLine));
        start_ = nl + 1;
        return true;
      }
      if (pos_ >= size_) {
        if (start_ >= buf_.size()) return false;
        line->assign(buf_, start_, std::min(buf_.size() - start_, kMaxLine));  // the last, unfinished
        start_ = buf_.size();
        return true;
      }
      if (buf_.size() - start_ > kMaxLine) buf_.erase(start_ + kMaxLine / 2, buf_.size() - start_ - kMaxLine);
      buf_.erase(0, start_);
      start_ = 0;
      const size_t want = static_cast<size_t>(std::min<off_t>(kBlock, size_ - pos_));
      const size_t have = buf_.size();
      buf_.resize(have + want);
      ssize_t n = ::pread(fd_, buf_.data() + have, want, pos_);
      if (n <= 0) {
        buf_.resize(have);
        pos_ = size_;
        continue;
      }
      buf_.resize(have + static_cast<size_t>(n));
      pos_ += n;
    }
  }

 private:
  int fd_;
  off_t size_;
  off_t pos_ = 0;
  std::string buf_;
  size_t start_ = 0;
};

// The offset of the first line at or after `at` (a line start) whose stamp is >= since,
// by bisection; stamps are searched at most a few lines past each probe.
off_t first_at_or_after(LineReader& reader, off_t size, UnixMicros since) {
  off_t lo = 0, hi = size;  // invariant: every stamped line starting before lo is < since
  std::string line;
  while (hi - lo > static_cast<off_t>(kBlock)) {
    const off_t mid = lo + (hi - lo) / 2;
    reader.seek(mid);
    reader.next(&line);  // the rest of the line mid falls in
    std::optional<UnixMicros> t;
    off_t at = reader.offset();
    for (int i = 0; i < 64 && at < hi && !t; ++i) {
      at = reader.offset();
      if (!reader.next(&line)) break;
      t = parse_stamp(line);
    }
    if (!t || *t >= since) {
      hi = mid;
    } else {
      lo = reader.offset();
    }
  }
  // Start of the line at or after lo.
  if (lo == 0) return 0;
  reader.seek(lo - 1);
  reader.next(&line);
  return reader.offset();
}

}  // namespace

SinceResult lines_between(const std::string& path, int backups, UnixMicros since, UnixMicros until,
                          size_t max_lines, size_t max_bytes, const PathTrust& trust) {
  SinceResult result;
  const auto [dir_path, base] = split_path(path);
  auto opened_dir = open_safe_dir(dir_path, trust);
  if (auto* problem = std::get_if<PathProblem>(&opened_dir)) {
    if (problem->why != "does not exist") {
      result.error = problem->explain("log file", path, "superd reads it as root");
    }
    return result;
  }
  const SafeDir& dir = std::get<SafeDir>(opened_dir);
  std::deque<std::string> kept;
  size_t bytes = 0;
  bool past_until = false;
  for (int i = backups; i >= 0 && !past_until; --i) {
    const std::string name = i == 0 ? base : base + "." + std::to_string(i);
    auto opened = open_safe_file(dir, name, trust);
    if (auto* problem = std::get_if<PathProblem>(&opened)) {
      if (problem->why == "does not exist") continue;  // not rotated that far yet
      return SinceResult{{}, false, problem->explain("log file", dir.path_of(name), "superd reads it as root")};
    }
    const UniqueFd& fd = std::get<UniqueFd>(opened);
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0) continue;
    LineReader reader(fd.get(), st.st_size);
    reader.seek(first_at_or_after(reader, st.st_size, since));
    bool in_range = false;
    for (std::string line; reader.next(&line);) {
      if (auto t = parse_stamp(line)) {
        if (*t >= until) {
          past_until = true;
          break;
        }
        in_range = *t >= since;
      }
      if (!in_range) continue;
      bytes += line.size();
      kept.push_back(std::move(line));
      while (kept.size() > max_lines || (bytes > max_bytes && kept.size() > 1)) {
        bytes -= kept.front().size();
        kept.pop_front();
        result.truncated = true;
      }
    }
  }
  result.lines.assign(kept.begin(), kept.end());
  return result;
}

}  // namespace superd
