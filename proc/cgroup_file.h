// Reading and writing one attribute file of a cgroup, with errors that say what and
// where: "cgroup: write /sys/fs/cgroup/unified/x/app/cgroup.kill: Permission denied".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace superd {

std::string cgroup_file_path(const std::string& dir, std::string_view name);

// The whole file (cgroup attribute files are small); nullopt with *error.
std::optional<std::string> read_cgroup_file(const std::string& dir, std::string_view name,
                                            std::string* error);
// One write(2) of `value` (the kernel takes an attribute in one write); false with *error.
bool write_cgroup_file(const std::string& dir, std::string_view name, std::string_view value,
                       std::string* error);

// "populated 1\nfrozen 0\n" -> the value of `key`; nullopt when absent or not a number.
std::optional<uint64_t> keyed_value(std::string_view text, std::string_view key);
// "123\n" -> 123; "max" and malformed text -> nullopt.
std::optional<uint64_t> single_value(std::string_view text);

}  // namespace superd
