// A small file in state_dir replaced atomically: written to NAME.tmp, fsync'd, renamed
// over NAME, and the directory fsync'd, so a crash leaves the old file or the new one,
// never half of one. (enable_store.cc writes its file the same way.)
#pragma once

#include <optional>
#include <string>

namespace superd {

// False with *error ("writing PATH.tmp: No space left on device") when it could not.
bool replace_state_file(const std::string& path, const std::string& text, std::string* error);
// The file's text; nullopt when it does not exist, and with *error when it cannot be read.
std::optional<std::string> read_state_file(const std::string& path, std::string* error);

}  // namespace superd
