#include "supervisor/syscall_groups.h"

#include <algorithm>
#include <set>

namespace superd {
namespace {

void collect(const SyscallGroup& group, std::set<std::string>& out, std::set<std::string_view>& seen) {
  if (!seen.insert(group.name).second) return;  // a group named twice (or a cycle)
  std::string_view rest = group.members;
  while (!rest.empty()) {
    size_t space = rest.find(' ');
    std::string_view word = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    if (word.empty()) continue;
    if (word.front() == '@') {
      if (const SyscallGroup* inner = find_syscall_group(word)) collect(*inner, out, seen);
    } else {
      out.emplace(word);
    }
  }
}

}  // namespace

const SyscallGroup* find_syscall_group(std::string_view name) {
  const SyscallGroup* end = kSyscallGroups + kSyscallGroupCount;
  const SyscallGroup* found =
      std::find_if(kSyscallGroups, end, [&](const SyscallGroup& g) { return g.name == name; });
  return found == end ? nullptr : found;
}

std::vector<std::string> syscall_group_members(const SyscallGroup& group) {
  std::set<std::string> names;
  std::set<std::string_view> seen;
  collect(group, names, seen);
  return {names.begin(), names.end()};
}

}  // namespace superd
