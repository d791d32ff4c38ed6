#include "supervisor/scale_store.h"

#include <nlohmann/json.hpp>

#include "supervisor/state_file.h"

namespace superd {

using nlohmann::json;

bool ScaleStore::load(std::string* error) {
  values_.clear();
  std::string why;
  auto text = read_state_file(path_, &why);
  if (!text) return why.empty() || (*error = why, false);
  auto doc = json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    *error = path_ + ": not a JSON object; ignoring saved instance counts";
    return false;
  }
  for (auto& [name, value] : doc.items()) {
    if (!value.is_object()) continue;
    const json n = value.value("instances", json()), c = value.value("configured", json());
    if (!n.is_number_integer() || !c.is_number_integer()) continue;
    const int64_t count = n.get<int64_t>(), configured = c.get<int64_t>();
    if (count < 0 || count > kMaxInstances || configured < 0 || configured > kMaxInstances) continue;
    values_[name] = {static_cast<int>(count), static_cast<int>(configured)};
  }
  return true;
}

bool ScaleStore::set(const std::string& name, SavedScale choice, std::string* error) {
  auto next = values_;
  next[name] = choice;
  if (!save(next, error)) return false;
  values_ = std::move(next);
  return true;
}

bool ScaleStore::forget(const std::string& name, std::string* error) {
  if (!values_.count(name)) return true;
  auto next = values_;
  next.erase(name);
  if (!save(next, error)) return false;
  values_ = std::move(next);
  return true;
}

bool ScaleStore::save(const std::map<std::string, SavedScale>& values, std::string* error) const {
  json doc = json::object();
  for (const auto& [name, v] : values) doc[name] = {{"instances", v.instances}, {"configured", v.configured}};
  return replace_state_file(path_, doc.dump(2) + "\n", error);
}

}  // namespace superd
