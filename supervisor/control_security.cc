// `superctl security`: each service's exposure score (security_score.h), computed here
// from the running config, so superctl only prints it.
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <vector>

#include "ipc/protocol.h"
#include "supervisor/control.h"
#include "supervisor/security_score.h"

namespace superd {

using nlohmann::json;

namespace {

// What initgroups() gives the service's user beyond its primary group.
bool has_supplementary_groups(const ServiceConfig& s) {
  if (s.user.empty()) return false;
  std::vector<char> buf(16384);
  passwd pw{}, *found = nullptr;
  if (::getpwnam_r(s.user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found) return false;
  gid_t primary = pw.pw_gid;
  if (!s.group.empty()) {
    if (group* g = ::getgrnam(s.group.c_str())) primary = g->gr_gid;
  }
  int n = 64;
  std::vector<gid_t> groups(n);
  if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) {
    groups.resize(n);
    if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) return true;
  }
  for (int i = 0; i < n; ++i) {
    if (groups[i] != primary && groups[i] != pw.pw_gid) return true;
  }
  return false;
}

json report_json(const SecurityReport& r) {
  json checks = json::array();
  for (const SecurityCheck& c : r.checks) {
    checks.push_back({{"id", c.id},
                      {"description", c.description},
                      {"weight", c.weight},
                      {"range", c.range},
                      {"badness", c.applies ? json(c.badness) : json(nullptr)},
                      {"exposure", c.exposure_tenths(r.weight_sum) / 10.0},
                      {"key", c.key.empty() ? json(nullptr) : json(c.key)}});
  }
  return {{"name", r.service},
          {"exposure", r.exposure_tenths / 10.0},
          {"exposure_text", format_tenths(r.exposure_tenths)},
          {"label", r.label},
          {"checks", std::move(checks)}};
}

}  // namespace

void Control::cmd_security(const Conn& conn, const ipc::Request& req) {
  auto services = resolve_names(req.args, conn, req.id, true);
  if (!services) return;
  json rows = json::array();
  for (Service* s : *services) {
    SecurityHost host{::geteuid() == 0, has_supplementary_groups(s->config())};
    rows.push_back(report_json(assess_security(s->config(), host)));
  }
  conn->send(ipc::make_ok(req.id, {{"services", std::move(rows)}}));
}

}  // namespace superd
