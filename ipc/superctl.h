// superctl's parts (superctl_main.cc explains the command): the invocation as parsed,
// the verbs, and how replies are printed. Only superctl includes this.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "ipc/client.h"
#include "ipc/protocol.h"
#include "ipc/status_format.h"

namespace superd::superctl {

using nlohmann::json;

struct Invocation {
  std::string socket = std::string(ipc::kDefaultSocketPath);
  bool json_output = false;
  std::string verb;
  std::vector<std::string> names;
  std::string name;  // log
  std::string signal;
  std::optional<int> lines;
  std::string since, until;  // log: as given (the daemon reads them against its clock)
  bool follow = false;
  bool now = false;
  int parallel = 1;   // restart: instances restarted at once
  int instances = 0;  // scale
  ipc::StatusFormatOptions format;
};

// One verb: its subcommand's options (null: none) and what it does once connected.
struct Verb {
  const char* name;
  const char* help;
  void (*options)(CLI::App* sub, Invocation& inv);
  int (*run)(ipc::Client& client, const Invocation& inv);
};
// Every verb, in the order --help lists them (superctl_verbs.cc).
const std::vector<Verb>& verbs();

// Output (superctl_output.cc).
void print_error(const std::string& message);
int fail(const std::string& message);  // prints, returns exit_code::error
void print_out(const std::string& text);
void print_json(const json& value);
const json& result_of(const json& reply);
// Prints a refusal and picks the exit code.
int report_error(const json& reply);
json names_args(const Invocation& inv);

}  // namespace superd::superctl
