// superctl: every verb is one request over the control socket (SPEC "superctl").
//
// Exit codes (protocol.h exit_code): 0 success; 1 error (including usage errors and a
// connection lost mid-request); 3 `status` found a named service, or with no names an
// enabled one, not running; 4 no such service (the daemon said not_found); 69 the
// daemon could not be reached at all.
//
// The socket is -s SOCKET, else $SUPERD_SOCKET, else /run/super/super.sock.
// --json prints the daemon's result as one document; `log -f --json` prints the result
// and then every streamed message as one JSON line each.
// Colour only on a terminal, and never with NO_COLOR set or TERM=dumb. On a terminal,
// control characters in what services wrote (log lines, reasons) are shown escaped
// (\x1b), so a service cannot send escape sequences to the operator's terminal;
// --raw prints them as they came (--json escapes them as JSON does).
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <variant>

#include "base/values.h"
#include "ipc/cli.h"
#include "ipc/superctl.h"
#include "version.h"

namespace {

using namespace superd::superctl;
namespace ipc = superd::ipc;

bool want_color(bool stdout_is_tty) {
  const char* term = std::getenv("TERM");
  return stdout_is_tty && std::getenv("NO_COLOR") == nullptr &&
         !(term && std::strcmp(term, "dumb") == 0);
}

// The verb on the command line: the first word that is not a global option (or an
// option's value). Null when there is none, or --help comes before it.
const Verb* find_verb(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") return nullptr;
    if (arg == "-s" || arg == "--socket") {
      ++i;
      continue;
    }
    if (!arg.empty() && arg[0] == '-') continue;
    for (const Verb& v : verbs()) {
      if (arg == v.name) return &v;
    }
    return nullptr;
  }
  return nullptr;
}

// The command line: global options, and the subcommand of `only` (every verb's when null:
// for --help, or to word the error about an unknown verb). Building only the verb in use
// spares every superctl run most of its start-up.
void build_cli(CLI::App& app, Invocation& inv, const Verb* only) {
  app.fallthrough();  // so `superctl status --json` works as well as `superctl --json status`
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("superctl ") + SUPERD_VERSION);
  app.add_option("-s,--socket", inv.socket, "control socket of superd")
      ->envname(std::string(ipc::kSocketEnvVar))
      ->capture_default_str();
  app.add_flag("--json", inv.json_output, "print the daemon's result as JSON");
  app.add_flag("--raw", inv.raw,
               "print services' text (log lines) as it came, control characters included; "
               "by default they are escaped (\\x1b) on a terminal");
  app.footer(
      "Exit codes: 0 ok, 1 error, 3 status: a service is not running, "
      "4 no such service, 69 superd unreachable.");
  for (const Verb& v : verbs()) {
    if (only && &v != only) continue;
    CLI::App* sub = app.add_subcommand(v.name, v.help);
    if (v.options) v.options(sub, inv);
  }
}

// The commands run most, without building the full command line: `superctl [-s SOCKET]
// [--json] [--raw] VERB NAME...` for status, start, stop, restart and reload, every name
// a plain word. Null for anything else (any other option, --help, no name where one is
// needed), which CLI11 then parses and words the errors of; the Invocation is the same
// either way. A `status` spends half its instructions building CLI11's command line
// otherwise (`valgrind --tool=callgrind`).
const Verb* quick_parse(int argc, char** argv, Invocation& inv) {
  static constexpr std::string_view kQuick[] = {"status", "start", "stop", "restart", "reload"};
  bool socket_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--json" || arg == "--raw") {
      (arg == "--json" ? inv.json_output : inv.raw) = true;
    } else if ((arg == "-s" || arg == "--socket") && i + 1 < argc && !socket_given) {
      inv.socket = argv[++i];
      socket_given = true;
    } else if (arg.empty() || arg[0] == '-') {
      return nullptr;
    } else if (inv.verb.empty()) {
      if (std::find(std::begin(kQuick), std::end(kQuick), arg) == std::end(kQuick)) return nullptr;
      inv.verb = arg;
    } else {
      inv.names.emplace_back(arg);
    }
  }
  if (inv.verb.empty() || (inv.verb != ipc::cmd::status && inv.names.empty())) return nullptr;
  if (!socket_given) {
    const char* env = std::getenv(std::string(ipc::kSocketEnvVar).c_str());
    if (env && *env) inv.socket = env;  // as CLI11's envname: an empty value is none
  }
  for (const Verb& v : verbs()) {
    if (inv.verb == v.name) return &v;
  }
  return nullptr;
}

// Everything else, with CLI11: the verb, or the exit code when there is nothing to run
// (help, the version, a usage error: printed).
std::variant<const Verb*, int> parse_command_line(int argc, char** argv, Invocation& inv) {
  const Verb* verb = find_verb(argc, argv);
  CLI::App app{"superctl: control superd, the process supervisor", "superctl"};
  build_cli(app, inv, verb);
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "superctl: " + std::string(e.what()) + "\nRun with --help for more information.\n";
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help, the version, or the error
    return rc == 0 ? ipc::exit_code::ok : ipc::exit_code::error;
  }
  inv.verb = app.get_subcommands().front()->get_name();
  if (!verb) {
    for (const Verb& v : verbs()) {
      if (inv.verb == v.name) verb = &v;
    }
  }
  return verb;
}

}  // namespace

int main(int argc, char** argv) {
  Invocation inv;
  const Verb* verb = quick_parse(argc, argv, inv);
  std::optional<std::ios_base::Init> streams;  // CLI11 prints through them (ipc/cli.h)
  if (!verb) {
    inv = Invocation{};
    streams.emplace();
    auto parsed = parse_command_line(argc, argv, inv);
    if (const int* rc = std::get_if<int>(&parsed)) return *rc;
    verb = std::get<const Verb*>(parsed);
  }
  const bool stdout_is_tty = ::isatty(STDOUT_FILENO);
  inv.format.color = !inv.json_output && want_color(stdout_is_tty);
  // A service's output must not talk to the operator's terminal (escape sequences).
  inv.escape_stdout = !inv.raw && !inv.json_output && stdout_is_tty;
  set_escape_stderr(!inv.raw);
  if (inv.verb == ipc::cmd::signal) {  // a typo is caught before bothering the daemon
    std::string why;
    const std::optional<int> signo = superd::parse_signal(inv.signal, &why);
    if (!signo) return fail("bad signal '" + inv.signal + "': " + why);
    inv.signal = superd::signal_name(*signo);
  }

  ipc::Client client;
  if (auto error = client.connect(inv.socket)) {
    print_error("cannot connect to " + inv.socket + ": " + *error);
    return ipc::exit_code::unreachable;
  }
  return verb->run(client, inv);
}
