// supervisord's configuration syntax: Python's RawConfigParser as supervisord uses it
// (see supervisord.cc), its `%(name)s` expansion, and the value syntaxes of its options.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "import/import.h"

namespace superd::importer {

struct IniEntry {
  std::string key;
  std::string value;
  int line = 0;
};

struct IniSection {
  std::string name;
  int line = 0;
  std::vector<IniEntry> entries;  // in file order, duplicates kept (the last one counts)

  const IniEntry* get(std::string_view key) const {
    const IniEntry* found = nullptr;
    for (const IniEntry& e : entries) {
      if (e.key == key) found = &e;
    }
    return found;
  }
};

// The sections of the file; a line that is neither is an error of `im`.
std::vector<IniSection> read_ini(const SourceFile& f, Import& im);
std::string what(const IniEntry& e);  // "key=value" for a note
std::optional<bool> parse_bool(std::string_view v);
std::optional<int64_t> parse_int(std::string_view v);
// supervisord's byte_size ("50MB" is 50 * 1024 * 1024) in superd's notation.
std::optional<std::string> parse_byte_size(std::string_view v);

// The context of `%(name)s` expansion in one section.
struct Expansions {
  std::string here;  // the directory of the file
  std::string program_name;
  int64_t process_num = 0;
  int64_t numprocs = 1;
  bool program = false;
  // numprocs > 1 became `instances`: %(process_num) is superd's "{instance}", which
  // counts from 0 and is not padded (numprocs_start and a width are reported apart).
  bool process_num_is_instance = false;
};

// Python %-formatting with named values, as supervisord's expand(): "%(ENV_HOME)s",
// "%(process_num)02d", "%%". A missing ENV_ variable is kept as written and reported; any
// other unknown name or a lone '%' is an error, as in supervisord.
std::string expand(const IniEntry& e, const Expansions& x, const std::string& file,
                   const std::string& owner, Import& im);
// supervisord's environment= syntax: KEY="val",KEY2=val2 (quotes allow commas).
std::optional<std::vector<std::pair<std::string, std::string>>> parse_environment(
    std::string_view text, std::string* error);

// The sections, each translated into `im` (supervisord_program.cc, supervisord.cc).
void import_program(const SourceFile& f, const IniSection& sec, const std::string& here,
                    Import& im);

}  // namespace superd::importer
