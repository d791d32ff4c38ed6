// `superctl enable/disable` choices, persisted in state_dir/enabled.json so they outlive
// superd and win over a service's `enabled` key. Written atomically (temp file, fsync,
// rename, fsync of the directory): a crash leaves the old file or the new one, never half.
// The file lives in the checked state_dir (safe_path.h) and is read only when it is
// superd's own regular file.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "base/safe_path.h"

namespace superd {

class EnableStore {
 public:
  EnableStore() = default;

  // Reads state_dir/enabled.json; `dir` outlives the store. A missing file is an empty
  // store; a corrupt or unsafe one is reported and treated as empty.
  bool load(const SafeDir& dir, const PathTrust& trust, std::string* error);
  std::optional<bool> get(const std::string& name) const;
  // Records the choice and writes the file; false with *error when it could not be saved
  // (the choice is then not recorded either).
  bool set(const std::string& name, bool enabled, std::string* error);

 private:
  bool save(const std::map<std::string, bool>& values, std::string* error) const;
  const SafeDir* dir_ = nullptr;
  PathTrust trust_;
  std::map<std::string, bool> values_;
};

}  // namespace superd
