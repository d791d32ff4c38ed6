// Signal names as the protocol spells them: "HUP", not "SIGHUP" or 1. superctl
// normalises what the user typed before sending; the daemon can use the same parser
// for the `signal` command's argument.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace superd::ipc {

// "HUP", "hup", "SIGHUP", "sighup" and "1" all give SIGHUP. Standard signals only
// (1..31); nullopt for anything else.
std::optional<int> parse_signal(std::string_view text);

// "HUP" for SIGHUP; the number as text for a signal without a name.
std::string signal_name(int signo);

}  // namespace superd::ipc
