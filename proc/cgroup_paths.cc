#include "proc/cgroup_paths.h"

#include <cstdlib>

namespace superd {
namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(sep, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  for (auto line : split(text, '\n')) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto octal = [&](size_t k) { return k < s.size() && s[k] >= '0' && s[k] <= '7'; };
    if (s[i] == '\\' && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
      continue;
    }
    out += s[i];
  }
  return out;
}

}  // namespace

std::vector<ProcCgroupLine> parse_proc_cgroup(std::string_view text) {
  std::vector<ProcCgroupLine> out;
  for (auto line : lines(text)) {
    // "ID:CONTROLLERS:PATH"; the path itself may contain ':'.
    size_t first = line.find(':');
    if (first == std::string_view::npos) continue;
    size_t second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    std::string_view id = line.substr(0, first);
    std::string_view controllers = line.substr(first + 1, second - first - 1);
    std::string_view path = line.substr(second + 1);
    if (id.empty() || id.size() > 9 || path.empty() || path.front() != '/') continue;
    ProcCgroupLine entry;
    bool digits = true;
    for (char c : id) digits = digits && c >= '0' && c <= '9';
    if (!digits) continue;
    entry.hierarchy = std::atoi(std::string(id).c_str());
    if (!controllers.empty()) {
      for (auto c : split(controllers, ',')) {
        if (!c.empty()) entry.controllers.emplace_back(c);
      }
    }
    entry.path = std::string(path);
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<MountEntry> parse_cgroup_mounts(std::string_view mountinfo) {
  std::vector<MountEntry> out;
  for (auto line : lines(mountinfo)) {
    // ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
    auto fields = split(line, ' ');
    size_t dash = 0;
    for (size_t i = 6; i < fields.size(); ++i) {
      if (fields[i] == "-") {
        dash = i;
        break;
      }
    }
    if (dash == 0 || dash + 2 >= fields.size()) continue;  // FSTYPE and SOURCE at least
    std::string_view fstype = fields[dash + 1];
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    MountEntry entry;
    entry.root = unescape(fields[3]);
    entry.mount_point = unescape(fields[4]);
    entry.fstype = std::string(fstype);
    if (dash + 3 < fields.size()) {
      for (auto o : split(fields[dash + 3], ',')) entry.super_options.emplace_back(o);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::optional<std::string> cgroup_dir(const MountEntry& mount, std::string_view cgroup_path) {
  std::string_view root = mount.root;
  while (root.size() > 1 && root.back() == '/') root.remove_suffix(1);
  std::string_view rest;
  if (root == "/") {
    rest = cgroup_path;
  } else if (cgroup_path == root) {
    rest = "";
  } else if (cgroup_path.size() > root.size() && cgroup_path.substr(0, root.size()) == root &&
             cgroup_path[root.size()] == '/') {
    rest = cgroup_path.substr(root.size());
  } else {
    return std::nullopt;
  }
  std::string dir = mount.mount_point;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty() || rest == "/") return dir;
  return dir + std::string(rest);
}

}  // namespace superd
