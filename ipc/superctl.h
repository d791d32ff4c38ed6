// superctl's parts (superctl_main.cc explains the command): the invocation as parsed,
// the verbs, and how replies are printed. Only superctl includes this.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "ipc/client.h"
#include "ipc/protocol.h"
#include "ipc/status_format.h"

// CLI11 itself (ipc/cli.h) only in the two files that build the command line: its
// static objects are made at start-up in every file that includes it.
namespace CLI {
class App;
}  // namespace CLI

namespace superd::superctl {

using nlohmann::json;

struct Invocation {
  std::string socket = std::string(ipc::kDefaultSocketPath);
  bool json_output = false;
  bool raw = false;            // --raw: service text exactly as it came
  bool escape_stdout = false;  // stdout is a terminal and neither --raw nor --json
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

// `security` (superctl_security.cc).
int run_security(ipc::Client& client, const Invocation& inv);

// Output (superctl_output.cc).
void print_error(const std::string& message);
int fail(const std::string& message);  // prints, returns exit_code::error
void print_out(const std::string& text);
// Service text (log lines) for stdout: escape_controls() on a terminal unless --raw.
std::string service_text(const std::string& text, const Invocation& inv);
// On a terminal, error text is escaped too (unless --raw): a reason may quote a service.
// True: escape when stderr is a terminal (looked up when the first error is printed).
void set_escape_stderr(bool on_terminal);
void print_json(const json& value);
const json& result_of(const json& reply);
// Prints a refusal and picks the exit code.
int report_error(const json& reply);
// The exit code of a request that did not succeed, its failure printed (superd did not
// answer, or refused); nullopt when the reply is superd's ok.
std::optional<int> failed(const std::variant<json, std::string>& reply);
json names_args(const Invocation& inv);

}  // namespace superd::superctl
