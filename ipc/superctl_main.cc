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
// Colour only on a terminal, and never with NO_COLOR set or TERM=dumb.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "ipc/client.h"
#include "ipc/protocol.h"
#include "base/values.h"
#include "ipc/status_format.h"
#include "version.h"

namespace {

using nlohmann::json;
using namespace superd::ipc;

struct Invocation {
  std::string socket = std::string(kDefaultSocketPath);
  bool json_output = false;
  std::string verb;
  std::vector<std::string> names;
  std::string name;  // log
  std::string signal;
  std::optional<int> lines;
  bool follow = false;
  bool now = false;
  StatusFormatOptions format;
};

void print_error(const std::string& message) {
  std::fprintf(stderr, "superctl: %s\n", message.c_str());
}

int fail(const std::string& message) {
  print_error(message);
  return exit_code::error;
}

void print_out(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

void print_json(const json& value) {
  print_out(value.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

std::string error_field(const json& reply, const char* key) {
  const auto error = reply.find("error");
  if (error == reply.end() || !error->is_object()) return {};
  const auto it = error->find(key);
  return it != error->end() && it->is_string() ? it->get<std::string>() : std::string();
}

const json& result_of(const json& reply) {
  static const json empty = json::object();
  const auto it = reply.find("result");
  return it != reply.end() ? *it : empty;
}

// Prints a refusal and picks the exit code. reload-config's invalid_config lists one
// FILE:LINE:COL problem per line, as `superd --check` would.
int report_error(const json& reply) {
  const std::string code = error_field(reply, "code");
  std::string message = error_field(reply, "message");
  if (message.empty()) message = code.empty() ? "request failed" : code;
  const auto error = reply.find("error");
  const json* errors = nullptr;
  if (error != reply.end() && error->is_object() && error->contains("errors") &&
      (*error)["errors"].is_array())
    errors = &(*error)["errors"];
  if (errors && !errors->empty()) {
    // The problems first, like a compiler; the message may repeat them, so it is not
    // printed again.
    for (const json& line : *errors)
      if (line.is_string()) std::fprintf(stderr, "%s\n", line.get<std::string>().c_str());
    print_error(code == err::invalid_config ? "invalid configuration; nothing changed"
                                            : message.substr(0, message.find('\n')));
  } else {
    const std::size_t first_newline = message.find('\n');
    print_error(message.substr(0, first_newline));
    if (first_newline != std::string::npos)
      std::fprintf(stderr, "%s\n", message.substr(first_newline + 1).c_str());
  }
  return code == err::not_found ? exit_code::no_such_service : exit_code::error;
}

json names_args(const Invocation& inv) {
  json args = json::object();
  if (!inv.names.empty()) args["names"] = inv.names;
  return args;
}

int run_status(Client& client, const Invocation& inv) {
  auto reply = client.request(cmd::status, names_args(inv));
  if (auto* error = std::get_if<std::string>(&reply)) return fail(*error);
  const json& r = std::get<json>(reply);
  if (r.value("ok", false) != true) return report_error(r);
  const json& result = result_of(r);
  if (inv.json_output) print_json(result);
  else print_out(format_status_table(result, inv.format));
  return any_not_running(result, inv.names) ? exit_code::not_running : exit_code::ok;
}

// start, stop, restart, reload, enable, disable: print what each service came to.
int run_action(Client& client, const Invocation& inv) {
  json args = names_args(inv);
  if (inv.verb == cmd::enable || inv.verb == cmd::disable) args["now"] = inv.now;
  auto reply = client.request(inv.verb, std::move(args));
  if (auto* error = std::get_if<std::string>(&reply)) return fail(*error);
  const json& r = std::get<json>(reply);
  const json& result = result_of(r);
  if (inv.json_output) {
    if (r.contains("result")) print_json(result);
  } else {
    print_out(format_state_lines(result, inv.names, inv.format));
  }
  if (r.value("ok", false) != true) return report_error(r);
  return exit_code::ok;
}

int run_signal(Client& client, const Invocation& inv) {
  json args = names_args(inv);
  args["signal"] = inv.signal;  // normalised by main
  auto reply = client.request(cmd::signal, std::move(args));
  if (auto* error = std::get_if<std::string>(&reply)) return fail(*error);
  const json& r = std::get<json>(reply);
  if (r.value("ok", false) != true) return report_error(r);
  if (inv.json_output) print_json(result_of(r));
  return exit_code::ok;
}

void print_log_line(const json& message, bool json_output) {
  if (json_output) {
    print_out(message.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
    return;
  }
  const auto line = message.find("line");
  if (line != message.end() && line->is_string()) print_out(line->get<std::string>() + "\n");
}

int run_log(Client& client, const Invocation& inv) {
  json args = {{"name", inv.name}, {"follow", inv.follow}};
  if (inv.lines) args["lines"] = *inv.lines;
  const StreamCallback on_line = [&](const json& message) { print_log_line(message, inv.json_output); };
  auto reply = client.request(cmd::log, std::move(args), on_line);
  if (auto* error = std::get_if<std::string>(&reply)) return fail(*error);
  const json& r = std::get<json>(reply);
  if (r.value("ok", false) != true) return report_error(r);
  const json& result = result_of(r);
  if (inv.json_output) {
    print_out(result.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
  } else if (result.contains("lines") && result["lines"].is_array()) {
    std::string text;
    for (const json& line : result["lines"])
      if (line.is_string()) text += line.get<std::string>() + "\n";
    print_out(text);
  }
  if (!inv.follow) return exit_code::ok;
  // Until the daemon closes the stream (or the user presses Ctrl-C).
  if (auto error = client.follow(on_line)) return fail(*error);
  return exit_code::ok;
}

int run_reload_config(Client& client, const Invocation& inv) {
  auto reply = client.request(cmd::reload_config, json::object());
  if (auto* error = std::get_if<std::string>(&reply)) return fail(*error);
  const json& r = std::get<json>(reply);
  if (r.value("ok", false) != true) return report_error(r);
  const json& result = result_of(r);
  if (inv.json_output) {
    print_json(result);
    return exit_code::ok;
  }
  std::string text;
  for (const char* key : {"added", "removed", "changed"}) {
    if (!result.contains(key) || !result[key].is_array() || result[key].empty()) continue;
    text += key;
    text += ":";
    for (const json& name : result[key])
      if (name.is_string()) text += " " + name.get<std::string>();
    text += "\n";
  }
  print_out(text.empty() ? "no changes\n" : text);
  return exit_code::ok;
}

int run_simple(Client& client, const Invocation& inv) {
  auto reply = client.request(inv.verb, json::object());
  if (auto* error = std::get_if<std::string>(&reply)) return fail(*error);
  const json& r = std::get<json>(reply);
  if (r.value("ok", false) != true) return report_error(r);
  if (inv.json_output) print_json(result_of(r));
  return exit_code::ok;
}

void add_names(CLI::App* sub, Invocation& inv, const std::string& what) {
  sub->add_option("NAME", inv.names, what)->required();
}

void build_cli(CLI::App& app, Invocation& inv) {
  app.fallthrough();  // so `superctl status --json` works as well as `superctl --json status`
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("superctl ") + SUPERD_VERSION);
  app.add_option("-s,--socket", inv.socket, "control socket of superd")
      ->envname(std::string(kSocketEnvVar))
      ->capture_default_str();
  app.add_flag("--json", inv.json_output, "print the daemon's result as JSON");
  app.footer(
      "Exit codes: 0 ok, 1 error, 3 status: a service is not running, "
      "4 no such service, 69 superd unreachable.");

  auto* status = app.add_subcommand("status", "show services (all of them without NAME)");
  status->add_option("NAME", inv.names, "services to show");
  for (const char* verb : {"start", "stop", "restart", "reload"}) {
    static const std::map<std::string, std::string> help = {
        {"start", "start services and wait until they run (or fail)"},
        {"stop", "stop services and wait until they are down"},
        {"restart", "restart services and wait until they run (or fail)"},
        {"reload", "send services their reload_signal"}};
    add_names(app.add_subcommand(verb, help.at(verb)), inv, "services, or 'all'");
  }
  auto* enable = app.add_subcommand("enable", "start services at boot (remembered in state_dir)");
  enable->add_flag("--now", inv.now, "also start them now");
  add_names(enable, inv, "services, or 'all'");
  auto* disable = app.add_subcommand("disable", "do not start services at boot (remembered)");
  disable->add_flag("--now", inv.now, "also stop them now");
  add_names(disable, inv, "services, or 'all'");
  auto* signal = app.add_subcommand("signal", "send a signal to services' main processes");
  signal->add_option("SIGNAL", inv.signal, "HUP, SIGHUP or 1")->required();
  add_names(signal, inv, "services, or 'all'");
  auto* log = app.add_subcommand("log", "print a service's recent output");
  log->add_option("NAME", inv.name, "service")->required();
  log->add_option("-n,--lines", inv.lines, "how many recent lines")->check(CLI::NonNegativeNumber);
  log->add_flag("-f,--follow", inv.follow, "keep printing new lines until interrupted");
  app.add_subcommand("reload-config", "re-read the config and apply the difference");
  app.add_subcommand("shutdown", "stop every service and superd itself");
}

bool want_color() {
  const char* term = std::getenv("TERM");
  return ::isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr &&
         !(term && std::strcmp(term, "dumb") == 0);
}

}  // namespace

int main(int argc, char** argv) {
  Invocation inv;
  CLI::App app{"superctl: control superd, the process supervisor", "superctl"};
  build_cli(app, inv);
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "superctl: " + std::string(e.what()) + "\nRun with --help for more information.\n";
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help, the version, or the error
    return rc == 0 ? exit_code::ok : exit_code::error;
  }
  inv.verb = app.get_subcommands().front()->get_name();
  inv.format.color = !inv.json_output && want_color();
  if (inv.verb == cmd::signal) {  // a typo is caught before bothering the daemon
    std::string why;
    const std::optional<int> signo = superd::parse_signal(inv.signal, &why);
    if (!signo) return fail("bad signal '" + inv.signal + "': " + why);
    inv.signal = superd::signal_name(*signo);
  }

  Client client;
  if (auto error = client.connect(inv.socket)) {
    print_error("cannot connect to " + inv.socket + ": " + *error);
    return exit_code::unreachable;
  }
  if (inv.verb == cmd::status) return run_status(client, inv);
  if (inv.verb == cmd::signal) return run_signal(client, inv);
  if (inv.verb == cmd::log) return run_log(client, inv);
  if (inv.verb == cmd::reload_config) return run_reload_config(client, inv);
  if (inv.verb == cmd::shutdown) return run_simple(client, inv);
  return run_action(client, inv);
}
