// superctl's verbs: the options of each and what it does with the daemon's reply.
#include <map>
#include <string>

#include "ipc/cli.h"
#include "ipc/superctl.h"

namespace superd::superctl {
namespace {

using namespace superd::ipc;

int run_status(Client& client, const Invocation& inv) {
  auto reply = client.request(cmd::status, names_args(inv));
  if (auto code = failed(reply)) return *code;
  const json& r = std::get<json>(reply);
  const json& result = result_of(r);
  if (inv.json_output) print_json(result);
  else print_out(format_status_table(result, inv.format));
  return any_not_running(result, inv.names) ? exit_code::not_running : exit_code::ok;
}

// start, stop, restart, reload, enable, disable: print what each service came to.
int run_action(Client& client, const Invocation& inv) {
  json args = names_args(inv);
  if (inv.verb == cmd::enable || inv.verb == cmd::disable) args["now"] = inv.now;
  if (inv.verb == cmd::restart) args["parallel"] = inv.parallel;
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
  if (auto code = failed(reply)) return *code;
  const json& r = std::get<json>(reply);
  if (inv.json_output) print_json(result_of(r));
  return exit_code::ok;
}

void print_log_line(const json& message, const Invocation& inv) {
  if (inv.json_output) {
    print_out(message.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
    return;
  }
  const auto line = message.find("line");
  if (line != message.end() && line->is_string()) print_out(service_text(line->get<std::string>(), inv) + "\n");
}

int run_log(Client& client, const Invocation& inv) {
  json args = {{"name", inv.name}, {"follow", inv.follow}};
  if (inv.lines) args["lines"] = *inv.lines;
  if (!inv.since.empty()) args["since"] = inv.since;
  if (!inv.until.empty()) args["until"] = inv.until;
  const StreamCallback on_line = [&](const json& message) { print_log_line(message, inv); };
  auto reply = client.request(cmd::log, std::move(args), on_line);
  if (auto code = failed(reply)) return *code;
  const json& r = std::get<json>(reply);
  const json& result = result_of(r);
  // Where lines went that are in no file (console, journal): on stderr, so stdout stays
  // the lines alone.
  if (!inv.json_output && result.contains("note") && result["note"].is_string()) {
    print_error(result["note"].get<std::string>());
  }
  if (inv.json_output) {
    print_out(result.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
  } else if (result.contains("lines") && result["lines"].is_array()) {
    std::string text;
    for (const json& line : result["lines"])
      if (line.is_string()) text += service_text(line.get<std::string>(), inv) + "\n";
    print_out(text);
    if (result.value("truncated", false)) {
      print_error("fewer lines than asked for: a reply holds at most 1 MiB of them (read the "
                  "log file itself for more)");
    }
  }
  if (!inv.follow) return exit_code::ok;
  // Until the daemon closes the stream (or the user presses Ctrl-C).
  if (auto error = client.follow(on_line)) return fail(*error);
  return exit_code::ok;
}

int run_reload_config(Client& client, const Invocation& inv) {
  auto reply = client.request(cmd::reload_config, json::object());
  if (auto code = failed(reply)) return *code;
  const json& r = std::get<json>(reply);
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

// "worker@2: running (pid 4133)" for each instance added, "worker@4: removed" for each
// removed, or "worker: 3 instances (no change)".
int run_scale(Client& client, const Invocation& inv) {
  auto reply = client.request(cmd::scale, {{"name", inv.name}, {"instances", inv.instances}});
  if (auto* error = std::get_if<std::string>(&reply)) return fail(*error);
  const json& r = std::get<json>(reply);
  const json& result = result_of(r);
  if (inv.json_output) {
    if (r.contains("result")) print_json(result);
  } else if (r.contains("result")) {
    std::string text = format_state_lines(result, {}, inv.format);
    if (result.contains("removed") && result["removed"].is_array()) {
      for (const json& name : result["removed"])
        if (name.is_string()) text += name.get<std::string>() + ": removed\n";
    }
    if (text.empty()) text = inv.name + ": " + std::to_string(inv.instances) + " instances (no change)\n";
    print_out(text);
  }
  if (r.value("ok", false) != true) return report_error(r);
  return exit_code::ok;
}

int run_simple(Client& client, const Invocation& inv) {
  auto reply = client.request(inv.verb, json::object());
  if (auto code = failed(reply)) return *code;
  const json& r = std::get<json>(reply);
  if (inv.json_output) print_json(result_of(r));
  return exit_code::ok;
}

void status_options(CLI::App* sub, Invocation& inv) {
  sub->add_option("NAME", inv.names, "services to show");
}
void names_options(CLI::App* sub, Invocation& inv) {
  sub->add_option("NAME", inv.names, "services, or 'all'")->required();
}
void enable_options(CLI::App* sub, Invocation& inv) {
  sub->add_flag("--now", inv.now, std::string("also ") + (sub->get_name() == "enable" ? "start" : "stop") + " them now");
  names_options(sub, inv);
}
void signal_options(CLI::App* sub, Invocation& inv) {
  sub->add_option("SIGNAL", inv.signal, "HUP, SIGHUP or 1")->required();
  names_options(sub, inv);
}
void restart_options(CLI::App* sub, Invocation& inv) {
  sub->add_option("--parallel", inv.parallel, "instances of one service restarted at once (default 1)")
      ->check(CLI::Range(1, 1000));
  names_options(sub, inv);
}
void scale_options(CLI::App* sub, Invocation& inv) {
  sub->add_option("NAME", inv.name, "service with `instances`")->required();
  sub->add_option("N", inv.instances, "how many instances to run")->required()->check(CLI::Range(0, 1000));
}
void log_options(CLI::App* sub, Invocation& inv) {
  sub->add_option("NAME", inv.name, "service")->required();
  sub->add_option("-n,--lines", inv.lines, "how many recent lines")->check(CLI::NonNegativeNumber);
  sub->add_flag("-f,--follow", inv.follow, "keep printing new lines until interrupted");
  sub->add_option("--since", inv.since, "lines from then on: a duration ago (10m) or an RFC 3339 time");
  sub->add_option("--until", inv.until, "lines before then: a duration ago (10m) or an RFC 3339 time");
}

int run_reopen_logs(Client& client, const Invocation& inv) {
  auto reply = client.request(cmd::reopen_logs, json::object());
  if (auto code = failed(reply)) return *code;
  const json& r = std::get<json>(reply);
  const json& result = result_of(r);
  if (inv.json_output) {
    print_json(result);
  } else {
    print_out("reopened " + std::to_string(result.value("files", 0)) + " log files\n");
  }
  return exit_code::ok;
}

// The daemon answers just before it execs; its connection then closes (EOF), or, if the
// exec itself failed, a refusal follows on it. The new superd answers on the same socket:
// its hello counts one more re-exec.
int run_reexec(Client& client, const Invocation& inv) {
  auto reply = client.request(cmd::reexec, json::object());
  if (auto code = failed(reply)) return *code;
  const json& result = result_of(std::get<json>(reply));
  const int want = result.value("reexecs", 0);
  std::string error;
  if (auto after = client.read_message(&error)) {
    if (after->value("ok", true) == false) return report_error(*after);
  }
  Client fresh;
  fresh.set_timeout(std::chrono::seconds(30));
  if (auto failure = fresh.connect(inv.socket)) return fail("reexec: the new superd: cannot connect: " + *failure);
  auto hello = fresh.request(cmd::hello);
  if (auto* e = std::get_if<std::string>(&hello)) return fail("reexec: the new superd did not answer: " + *e);
  const json& h = result_of(std::get<json>(hello));
  if (h.value("reexecs", 0) < want) return fail("reexec: superd did not re-execute (see its log)");
  if (inv.json_output) {
    print_json(h);
  } else {
    print_out("superd " + h.value("version", std::string("?")) + " re-executed (pid " +
              std::to_string(h.value("pid", 0)) + ", re-exec #" + std::to_string(want) + ")\n");
  }
  return exit_code::ok;
}

}  // namespace

const std::vector<Verb>& verbs() {
  static const std::vector<Verb> table = {
      {"status", "show services (all of them without NAME)", status_options, run_status},
      {"start", "start services and wait until they run (or fail)", names_options, run_action},
      {"stop", "stop services and wait until they are down", names_options, run_action},
      {"restart", "restart services and wait until they run (or fail); instances one at a time",
       restart_options, run_action},
      {"reload", "send services their reload_signal", names_options, run_action},
      {"enable", "start services at boot (remembered in state_dir)", enable_options, run_action},
      {"disable", "do not start services at boot (remembered)", enable_options, run_action},
      {"signal", "send a signal to services' main processes", signal_options, run_signal},
      {"log", "print a service's recent output", log_options, run_log},
      {"reload-config", "re-read the config and apply the difference", nullptr, run_reload_config},
      {"shutdown", "stop every service and superd itself", nullptr, run_simple},
      {"scale", "run N instances of a service (remembered in state_dir)", scale_options, run_scale},
      {"security", "score services' exposure as systemd-analyze security does", status_options, run_security},
      {"reopen-logs", "close every log file and open it again by name (after logrotate)", nullptr,
       run_reopen_logs},
      {"reexec", "replace superd by the binary now at its path, without touching a service", nullptr,
       run_reexec},
  };
  return table;
}

}  // namespace superd::superctl
