// One systemd .service unit translated into an ImportedService. The translation is split
// by concern: systemd_service.cc (the unit as a whole, identity, environment, output),
// systemd_exec.cc (Type=, ExecStart=, ExecReload=, variables and specifiers),
// systemd_process.cc (limits, restart and stop behaviour), systemd_sandbox.cc (the
// hardening directives: the `sandbox` table).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "import/import.h"
#include "import/unit_file.h"

namespace superd::importer {

std::string what(const Entry& e);  // "Key=value" for a note
// Keys of whole families that superd does not do, with the reason said once for all.
std::string family_reason(std::string_view key);
// Parses a Limit*= value: "65536", "infinity", "1024:4096", "8M" (byte limits), "1h" (CPU).
std::optional<std::string> limit_value(std::string_view name, std::string_view text);
// "/bin/kill -s HUP $MAINPID" (or -HUP, -SIGHUP, --signal HUP, no signal: TERM) -> "HUP".
std::optional<std::string> kill_mainpid_signal(std::vector<std::string> argv);

class ServiceImport {
 public:
  ServiceImport(const SourceFile& f, const UnitText& unit, std::string unit_name, Import& im);
  void run();
 private:
  void note(const Entry& e, std::string why) { note(e, what(e), std::move(why)); }
  void note(const Entry& e, std::string w, std::string why);
  void error(const Entry& e, std::string message) { im_.error({f_.path, e.line}, std::move(message)); }
  // What the other keys depend on: User= for %u, Environment= for $VAR, the Type.
  void context();
  // systemd's %-specifiers that have one meaning wherever the unit runs; others are kept as
  // written and reported.
  std::string specifiers(const Entry& e);
  void unit_section();
  void type();
  void exec_start();
  // systemd's replace_env_argv: "$VAR" as a whole word becomes the value split at
  // whitespace, "${VAR}" anywhere becomes the value, "$$" a '$'. Values come from
  // Environment=; what cannot be resolved is kept and reported, except in a `sh -c` script.
  void expand_variables(const Entry& e, std::vector<std::string>& argv);
  std::string expand_braces(const std::string& word, bool script,
                            std::vector<std::string>& unresolved) const;
  const std::string* variable(const std::string& name) const;  // from Environment=
  void user_and_directory();
  void environment();
  void process_keys();
  void restart_keys();
  void stop_keys();
  void reload();
  void output();
  void install_section();
  // The hardening directives (systemd_sandbox.cc).
  void sandbox();
  void sandbox_flags();
  void sandbox_paths();
  void sandbox_capabilities(const char* directive, const char* key);
  void sandbox_address_families();
  void sandbox_system_calls();
  void sandbox_unsupported();

  const SourceFile& f_;
  const UnitText& unit_;
  Assignments a_;
  Import& im_;
  ImportedService s_;
  std::string user_;
  bool template_ = false;  // "celery@.service": one service with `instances`, %i is {instance}
  std::string type_ = "simple";
  std::vector<std::pair<std::string, std::string>> env_;
};

}  // namespace superd::importer
