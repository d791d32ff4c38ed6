// How superctl prints replies and refusals.
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "ipc/superctl.h"

namespace superd::superctl {

using namespace superd::ipc;

namespace {
bool escape_on_terminal = false;
int stderr_is_tty = -1;  // looked up at the first error: most runs print none

std::string for_stderr(const std::string& text) {
  if (!escape_on_terminal) return text;
  if (stderr_is_tty < 0) stderr_is_tty = ::isatty(STDERR_FILENO) ? 1 : 0;
  return stderr_is_tty ? escape_controls(text) : text;
}
}  // namespace

void set_escape_stderr(bool on_terminal) { escape_on_terminal = on_terminal; }

std::string service_text(const std::string& text, const Invocation& inv) {
  return inv.escape_stdout ? escape_controls(text) : text;
}

void print_error(const std::string& message) {
  std::fprintf(stderr, "superctl: %s\n", for_stderr(message).c_str());
}

int fail(const std::string& message) {
  print_error(message);
  return ipc::exit_code::error;
}

// Straight to fd 1, as fwrite and fflush did, without stdio's first look at the
// descriptor (fstat and an ioctl: two of a `status`'s fourteen system calls).
void print_out(const std::string& text) {
  const char* at = text.data();
  size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(STDOUT_FILENO, at, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a closed pipe (EPIPE) or a full disk: nothing more to say there
    at += n;
    left -= static_cast<size_t>(n);
  }
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

std::optional<int> failed(const std::variant<json, std::string>& reply) {
  if (auto* error = std::get_if<std::string>(&reply)) return fail(*error);
  const json& r = std::get<json>(reply);
  if (r.value("ok", false) != true) return report_error(r);
  return std::nullopt;
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
      if (line.is_string()) std::fprintf(stderr, "%s\n", for_stderr(line.get<std::string>()).c_str());
    print_error(code == ipc::err::invalid_config ? "invalid configuration; nothing changed"
                                            : message.substr(0, message.find('\n')));
  } else {
    const std::size_t first_newline = message.find('\n');
    print_error(message.substr(0, first_newline));
    if (first_newline != std::string::npos)
      std::fprintf(stderr, "%s\n", for_stderr(message.substr(first_newline + 1)).c_str());
  }
  return code == ipc::err::not_found ? ipc::exit_code::no_such_service : ipc::exit_code::error;
}

json names_args(const Invocation& inv) {
  json args = json::object();
  if (!inv.names.empty()) args["names"] = inv.names;
  return args;
}

}  // namespace superd::superctl
