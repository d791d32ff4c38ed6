// Values the loader types once, at load: check addresses and URLs (host names resolved,
// or an error at --check), listen endpoints, compiled log regexes; and the list of
// every key the loader accepts.
#include <gtest/gtest.h>

#include <set>

#include "base/values.h"
#include "tests/unit/config_test_util.h"

namespace superd {
namespace {

using namespace config_test;

const LoadOptions kNoLookups{.check_system = false, .resolve_hosts = false};

std::string service(std::string_view keys) {
  return "[service.a]\ncommand = [\"/bin/true\"]\n" + std::string(keys) + "\n";
}

TEST(ConfigTyped, CheckHostNamesAreResolvedAtLoad) {
  Config c = load_ok(service("ready = { tcp = \"localhost:8000\" }\n"
                             "health = { http = \"http://localhost:8000/health\" }"));
  const ServiceConfig& s = c.services[0];
  EXPECT_EQ(s.ready.tcp.host, "localhost");
  EXPECT_EQ(s.ready.tcp.address.to_string(), "127.0.0.1");
  EXPECT_EQ(s.ready.tcp.port, 8000);
  ASSERT_TRUE(s.health);
  EXPECT_EQ(s.health->http.authority.address.to_string(), "127.0.0.1");
  EXPECT_EQ(s.health->http.target, "/health");
}

TEST(ConfigTyped, UnresolvableHostIsAnErrorAtItsValue) {
  // .invalid never resolves (RFC 6761); the resolver's own reason follows the colon.
  const std::string out = errors(service("ready = { tcp = \"nosuch.invalid:80\" }\n"
                                         "health = { http = \"http://nosuch.invalid/\" }"));
  EXPECT_EQ(out.substr(0, out.find("': ") + 3),
            "t.toml:3:17: cannot resolve host 'nosuch.invalid' for 'ready.tcp': ");
  const std::string second = out.substr(out.find('\n') + 1);
  EXPECT_EQ(second.substr(0, second.find("': ") + 3),
            "t.toml:4:19: cannot resolve host 'nosuch.invalid' for 'health.http': ");
}

TEST(ConfigTyped, WithoutLookupsANameIsKeptUnresolved) {
  Config c = load_ok(service("ready = { tcp = \"nosuch.invalid:80\" }"), kNoLookups);
  EXPECT_EQ(c.services[0].ready.tcp.host, "nosuch.invalid");
  EXPECT_TRUE(c.services[0].ready.tcp.address.empty());
}

TEST(ConfigTyped, DefaultsResolveOnceForEveryService) {
  Config c = load_ok("[defaults]\nhealth = { tcp = \"localhost:9\" }\n"
                     "[service.a]\ncommand = [\"/bin/true\"]\n[service.b]\ncommand = [\"/bin/true\"]\n");
  EXPECT_EQ(c.services[0].health->tcp, c.services[1].health->tcp);
  EXPECT_EQ(c.services[1].health->tcp.address.to_string(), "127.0.0.1");
}

TEST(ConfigTyped, ListenIsTypedAndTakesNoHostNames) {
  Config c = load_ok(service("listen = [\"tcp:[::1]:8000\", \"unix:/run/a.sock\"]"));
  const auto& listen = c.services[0].listen;
  ASSERT_EQ(listen.size(), 2u);
  EXPECT_EQ(listen[0].kind, ListenEndpoint::Kind::tcp);
  EXPECT_EQ(listen[0].tcp.address.family(), AF_INET6);
  EXPECT_EQ(listen[1].kind, ListenEndpoint::Kind::unix_socket);
  EXPECT_EQ(listen[1].path, "/run/a.sock");
  EXPECT_EQ(errors(service("listen = [\"tcp:localhost:8000\"]")),
            "t.toml:3:11: invalid listen address 'tcp:localhost:8000': the host must be an IPv4 address or "
            "an [IPv6] address\n");
}

TEST(ConfigTyped, OneSocketWrittenTwoWaysIsStillOneSocket) {
  EXPECT_EQ(errors("[service.a]\ncommand = [\"/bin/true\"]\nlisten = [\"tcp:[::1]:80\"]\n"
                   "[service.b]\ncommand = [\"/bin/true\"]\nlisten = [\"tcp:[0::1]:080\"]\n"),
            "t.toml:6:11: 'tcp:[0::1]:080' is already in 'listen' of service 'a'\n");
}

TEST(ConfigTyped, LogRegexIsCompiledAtLoadAndSharedByCopies) {
  Config c = load_ok(service("ready = { log = \"Listening at: http://[0-9.:]+\" }"));
  const LogPattern& log = c.services[0].ready.log;
  EXPECT_TRUE(log.compiled());
  EXPECT_TRUE(log.search("[2026] [INFO] Listening at: http://127.0.0.1:8000 (42)"));
  EXPECT_FALSE(log.search("Booting worker"));
  ServiceConfig copy = c.services[0];
  EXPECT_TRUE(copy.ready.log.search("Listening at: http://1.2.3.4:5"));
  EXPECT_TRUE(copy.same_definition(c.services[0]));
  // Equal by source text: two loads of one file are the same definition.
  Config again = load_ok(service("ready = { log = \"Listening at: http://[0-9.:]+\" }"));
  EXPECT_TRUE(again.services[0].same_definition(c.services[0]));
  EXPECT_FALSE(LogPattern().search("anything"));
}

TEST(ConfigTyped, LogRegexErrorsAreFoundAtLoad) {
  std::string why;
  EXPECT_FALSE(LogPattern::compile("a{2,1}", &why));
  EXPECT_FALSE(why.empty());
  // A repetition count libstdc++ would overflow (found by fuzz_config), or build a
  // machine of that size for, is refused with the count; escaped or in [...] it is text.
  EXPECT_FALSE(LogPattern::compile("[0-9]{4444444444444444444444,5}$", &why));
  EXPECT_EQ(why, "a repetition count of at most 1000 is supported, not 44444444444444444444...");
  EXPECT_FALSE(LogPattern::compile("x{2,100000}", &why));
  EXPECT_EQ(why, "a repetition count of at most 1000 is supported, not 100000");
  EXPECT_TRUE(LogPattern::compile("x{2,1000}", &why)) << why;
  EXPECT_TRUE(LogPattern::compile("\\{99999\\}", &why)) << why;
  EXPECT_TRUE(LogPattern::compile("[{99999}]", &why)) << why;
  // A back-reference libstdc++ reads into a long the same way (found by fuzz_config,
  // in a fresh clone's run), in [...] too; \\1 with its group is still a back-reference.
  EXPECT_FALSE(LogPattern::compile("(\\d+\\.){4}\\44444444444444444444444", &why));
  EXPECT_EQ(why, "a back-reference of at most \\999 is supported, not \\44444444444444444444...");
  EXPECT_FALSE(LogPattern::compile("[\\1234]", &why));
  EXPECT_EQ(why, "a back-reference of at most \\999 is supported, not \\1234");
  auto twice = LogPattern::compile("(ab)\\1", &why);
  ASSERT_TRUE(twice) << why;
  EXPECT_TRUE(twice->search("xababx"));
  EXPECT_FALSE(twice->search("xabx"));
  auto p = LogPattern::compile("\\{99999\\}", &why);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->search("at {99999}"));
  EXPECT_EQ(errors(service("ready = { log = \"[unclosed\" }")),
            "t.toml:3:17: invalid regular expression for 'ready.log': Unexpected character within '[...]' in "
            "regular expression\n");
}

// Each key known_config_keys() lists is accepted: a value of the right type for it
// produces no "unknown key" error. Values are wrong on purpose for most keys; only
// whether the key itself is known matters here.
TEST(ConfigKeys, EveryListedKeyIsAcceptedAndNoneTwice) {
  const std::vector<std::string> keys = known_config_keys();
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), keys.size());
  // The probe below tells a refused key from a refused value:
  EXPECT_NE(errors("[defaults]\nready = { tpc = 0 }\n", kNoLookups).find("unknown"), std::string::npos);
  for (const std::string& key : keys) {
    std::string text;
    const size_t dot = key.find('.');
    const std::string head = key.substr(0, dot);
    if (dot == std::string::npos && (key == "supervisor" || key == "defaults" || key == "service")) {
      text = "[" + key + "]\n";
    } else if (head == "supervisor") {
      text = "[supervisor]\n" + key.substr(dot + 1) + " = 0\n";
    } else if (dot == std::string::npos) {
      text = "[defaults]\n" + key + " = 0\n";
    } else {
      text = "[defaults]\n" + head + " = { " + key.substr(dot + 1) + " = 0 }\n";
    }
    const std::string out = errors(text, kNoLookups);
    EXPECT_EQ(out.find("unknown"), std::string::npos) << key << ": " << out;
  }
}

TEST(ConfigKeys, ListsEveryKindOfKey) {
  const std::vector<std::string> keys = known_config_keys();
  const std::set<std::string> all(keys.begin(), keys.end());
  for (const char* key : {"supervisor", "defaults", "service", "supervisor.socket", "supervisor.log_level",
                          "command", "log_backups", "ready", "health", "listen", "ready.notify", "ready.log",
                          "health.failures", "backoff.initial", "backoff.max", "limits.nofile", "limits.rttime"}) {
    EXPECT_TRUE(all.count(key)) << key;
  }
  EXPECT_FALSE(all.count("ready.failures"));
  EXPECT_FALSE(all.count("health.notify"));
  for (const std::string& key : keys) {
    if (key.rfind("limits.", 0) == 0) {
      EXPECT_TRUE(parse_rlimit_name(key.substr(7))) << key;
    }
  }
}

}  // namespace
}  // namespace superd
