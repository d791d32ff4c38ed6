// The last lines of a stream that has no file (console, journal), with the time superd
// read each: what `superctl log -n` and `--since` show for such a service. Bounded by
// kMaxLines and kMaxBytes (the older lines go first), so 100 chatty services cost at most
// 100 x 2 x 256 KiB.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/log_time.h"

namespace superd {

class LineTail {
 public:
  static constexpr size_t kMaxLines = 1000;
  static constexpr size_t kMaxBytes = 256u << 10;

  void push(UnixMicros read_at, std::string_view line);
  // The last `count` lines read at or after `since` and before `until`, oldest first.
  std::vector<std::pair<UnixMicros, std::string>> lines(size_t count, UnixMicros since = INT64_MIN,
                                                        UnixMicros until = INT64_MAX) const;
  size_t size() const { return lines_.size(); }

 private:
  std::deque<std::pair<UnixMicros, std::string>> lines_;
  size_t bytes_ = 0;
};

}  // namespace superd
