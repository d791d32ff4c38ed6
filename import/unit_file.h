// systemd's unit file syntax, read as src/shared/conf-parser.c reads it (see systemd.cc):
// sections, `\` continuations, comments, and empty assignments resetting a list.
#pragma once

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "import/import.h"

namespace superd::importer {

struct Entry {
  std::string section;
  std::string key;
  std::string value;
  int line = 0;
};

struct Section {
  std::string name;
  int line = 0;
};

struct UnitText {
  std::vector<Section> sections;
  std::vector<Entry> entries;
};

bool has_suffix(std::string_view s, std::string_view suffix);
// The file's sections and assignments; a line that is not one is an error of `im`.
UnitText read_unit(const SourceFile& f, Import& im);

// The entries of one key after systemd's rules: an empty assignment drops what came before.
class Assignments {
 public:
  explicit Assignments(const UnitText& unit) {
    for (const Entry& e : unit.entries) {
      auto k = std::make_pair(e.section, e.key);
      if (!by_key_.count(k)) order_.push_back(k);
      auto& list = by_key_[k];
      if (e.value.empty()) {
        list.clear();
      } else {
        list.push_back(&e);
      }
    }
  }
  // Every (non-reset) assignment of section/key; marks the key as handled.
  std::vector<const Entry*> all(const std::string& section, const std::string& key) {
    handled_.insert({section, key});
    auto it = by_key_.find({section, key});
    return it == by_key_.end() ? std::vector<const Entry*>{} : it->second;
  }
  // The assignment that counts for a single-valued key: the last one.
  const Entry* last(const std::string& section, const std::string& key) {
    auto list = all(section, key);
    return list.empty() ? nullptr : list.back();
  }
  // Entries of keys no handler asked for, in file order.
  std::vector<const Entry*> unhandled() const {
    std::vector<const Entry*> out;
    for (const auto& k : order_) {
      if (handled_.count(k)) continue;
      for (const Entry* e : by_key_.at(k)) out.push_back(e);
    }
    std::sort(out.begin(), out.end(), [](const Entry* a, const Entry* b) { return a->line < b->line; });
    return out;
  }

 private:
  std::map<std::pair<std::string, std::string>, std::vector<const Entry*>> by_key_;
  std::vector<std::pair<std::string, std::string>> order_;
  std::set<std::pair<std::string, std::string>> handled_;
};

}  // namespace superd::importer
