// `superctl scale` choices, persisted in state_dir/instances.json so they outlive superd:
// for each service with `instances`, the count chosen and what the file said then
// (config_instances.h SavedScale: the file wins again once it says something new).
//
//   {"worker": {"instances": 5, "configured": 2}}
#pragma once

#include <map>
#include <string>

#include "supervisor/config_instances.h"

namespace superd {

class ScaleStore {
 public:
  ScaleStore() = default;
  explicit ScaleStore(std::string path) : path_(std::move(path)) {}

  // A missing file is an empty store; a corrupt one is reported and treated as empty.
  bool load(std::string* error);
  const std::map<std::string, SavedScale>& saved() const { return values_; }
  // Records the choice and writes the file atomically; false with *error when it could
  // not be saved (the choice is then not recorded either).
  bool set(const std::string& name, SavedScale choice, std::string* error);
  bool forget(const std::string& name, std::string* error);

 private:
  bool save(const std::map<std::string, SavedScale>& values, std::string* error) const;
  std::string path_;
  std::map<std::string, SavedScale> values_;
};

}  // namespace superd
