// `superctl security [NAME...]`: each service's exposure as the daemon scored it
// (systemd-analyze security's scale), with the checks that weigh most and the key that
// would lower each.
#include <algorithm>
#include <cstdio>

#include "ipc/superctl.h"

namespace superd::superctl {
namespace {

constexpr size_t kTop = 5;

std::string pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string tenths(const json& v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v.is_number() ? v.get<double>() : 0.0);
  return buf;
}

std::string format_service(const json& s) {
  std::string out = s.value("name", "?") + "  " + tenths(s.value("exposure", json(0))) + " " +
                    s.value("label", "?") + "\n";
  std::vector<const json*> checks;  // into s, which outlives them
  const auto all = s.find("checks");
  if (all != s.end() && all->is_array()) {
    for (const json& c : *all) {
      if (c.is_object() && c.value("exposure", 0.0) > 0) checks.push_back(&c);
    }
  }
  std::stable_sort(checks.begin(), checks.end(), [](const json* a, const json* b) {
    return a->value("exposure", 0.0) > b->value("exposure", 0.0);
  });
  for (size_t i = 0; i < checks.size() && i < kTop; ++i) {
    const json& c = *checks[i];
    const json key = c.value("key", json());
    out += "  " + tenths(c["exposure"]) + "  " + pad(c.value("id", ""), 42) + " " + c.value("description", "") +
           (key.is_string() ? "  -> set " + key.get<std::string>() : "  (no superd key)") + "\n";
  }
  return out;
}

}  // namespace

int run_security(ipc::Client& client, const Invocation& inv) {
  auto reply = client.request(ipc::cmd::security, names_args(inv));
  if (auto code = failed(reply)) return *code;
  const json& r = std::get<json>(reply);
  const json& result = result_of(r);
  if (inv.json_output) {
    print_json(result);
    return ipc::exit_code::ok;
  }
  std::string text;
  for (const json& s : result.value("services", json::array())) text += format_service(s);
  print_out(text);
  return ipc::exit_code::ok;
}

}  // namespace superd::superctl
