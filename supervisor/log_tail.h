// The last lines of a service's log, for `superctl log -n`: read backwards from the end
// of the file, then from the newest rotated file if the current one is short.
#pragma once

#include <string>
#include <vector>

namespace superd {

std::vector<std::string> tail_lines(const std::string& path, size_t count);

}  // namespace superd
