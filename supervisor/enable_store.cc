#include "supervisor/enable_store.h"

#include <nlohmann/json.hpp>

namespace superd {
namespace {

constexpr const char* kFile = "enabled.json";
constexpr uint64_t kMaxBytes = 4u << 20;

}  // namespace

bool EnableStore::load(const SafeDir& dir, const PathTrust& trust, std::string* error) {
  dir_ = &dir;
  trust_ = trust;
  values_.clear();
  auto text = read_safe_file(dir, kFile, trust_, kMaxBytes);
  if (auto* problem = std::get_if<PathProblem>(&text)) {
    if (problem->why == "does not exist") return true;
    *error = problem->describe(dir.path_of(kFile)) + "; ignoring saved enable/disable choices";
    return false;
  }
  auto doc = nlohmann::json::parse(std::get<std::string>(text), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    *error = dir.path_of(kFile) + ": not a JSON object; ignoring saved enable/disable choices";
    return false;
  }
  for (auto& [name, value] : doc.items()) {
    if (value.is_boolean()) values_[name] = value.get<bool>();
  }
  return true;
}

std::optional<bool> EnableStore::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

bool EnableStore::set(const std::string& name, bool enabled, std::string* error) {
  auto next = values_;
  next[name] = enabled;
  if (!save(next, error)) return false;
  values_ = std::move(next);
  return true;
}

bool EnableStore::save(const std::map<std::string, bool>& values, std::string* error) const {
  if (!dir_ || !*dir_) {
    *error = "state_dir is not open";
    return false;
  }
  if (auto problem = dir_->recheck(trust_)) {
    *error = problem->explain("state_dir", dir_->path(), "superd keeps its state there");
    return false;
  }
  const std::string text = nlohmann::json(values).dump(2) + "\n";
  if (auto problem = replace_safe_file(*dir_, kFile, text, 0644, /*sync=*/true)) {
    *error = problem->describe(dir_->path_of(kFile));
    return false;
  }
  return true;
}

}  // namespace superd
