#include "proc/line_tail.h"

#include <algorithm>

namespace superd {

void LineTail::push(UnixMicros read_at, std::string_view line) {
  if (line.size() > kMaxBytes) line = line.substr(0, kMaxBytes);
  lines_.emplace_back(read_at, std::string(line));
  bytes_ += line.size();
  while (lines_.size() > kMaxLines || bytes_ > kMaxBytes) {
    bytes_ -= lines_.front().second.size();
    lines_.pop_front();
  }
}

std::vector<std::pair<UnixMicros, std::string>> LineTail::lines(size_t count, UnixMicros since,
                                                                UnixMicros until) const {
  std::vector<std::pair<UnixMicros, std::string>> out;
  for (auto it = lines_.rbegin(); it != lines_.rend() && out.size() < count; ++it) {
    if (it->first >= since && it->first < until) out.push_back(*it);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace superd
