#include "proc/cgroup_usage.h"

#include <string>

#include "proc/cgroup_file.h"

namespace superd {
namespace {

std::optional<std::string> read_quiet(const std::string& dir, std::string_view file) {
  std::string ignored;  // a file the host does not have is simply not reported
  return read_cgroup_file(dir, file, &ignored);
}

std::optional<uint64_t> number(const std::string& dir, std::string_view file) {
  auto text = read_quiet(dir, file);
  return text ? single_value(*text) : std::nullopt;
}

std::optional<uint64_t> keyed(const std::string& dir, std::string_view file, std::string_view key) {
  auto text = read_quiet(dir, file);
  return text ? keyed_value(*text, key) : std::nullopt;
}

}  // namespace

std::optional<uint64_t> read_oom_kills(const CgroupLeaf& leaf) {
  if (auto v = keyed(leaf.dir, "memory.events", "oom_kill")) return v;
  if (const std::string* v1 = leaf.v1_dir("memory")) return keyed(*v1, "memory.oom_control", "oom_kill");
  return std::nullopt;
}

CgroupUsage read_cgroup_usage(const CgroupLeaf& leaf) {
  CgroupUsage usage;
  const std::string* memory_v1 = leaf.v1_dir("memory");
  usage.memory_current = number(leaf.dir, "memory.current");
  if (usage.memory_current) {
    usage.memory_peak = number(leaf.dir, "memory.peak");
  } else if (memory_v1) {
    usage.memory_current = number(*memory_v1, "memory.usage_in_bytes");
    usage.memory_peak = number(*memory_v1, "memory.max_usage_in_bytes");
  }
  usage.cpu_usage_usec = keyed(leaf.dir, "cpu.stat", "usage_usec");
  usage.pids_current = number(leaf.dir, "pids.current");
  if (!usage.pids_current) {
    if (const std::string* pids_v1 = leaf.v1_dir("pids")) usage.pids_current = number(*pids_v1, "pids.current");
  }
  if (!usage.pids_current) {
    if (auto threads = read_quiet(leaf.dir, "cgroup.threads")) {
      uint64_t n = 0;
      for (char c : *threads) n += c == '\n';
      usage.pids_current = n;
    }
  }
  usage.oom_kills = read_oom_kills(leaf);
  return usage;
}

}  // namespace superd
