// The man pages and the package held to the code: every key the config loader accepts
// (known_config_keys(), from the loader's own tables) is documented in super.toml(5),
// every verb of superctl's table in superctl(1), and debian/changelog's version is
// CMake's project version (the one source of SUPERD_VERSION). A key or verb added to the
// code without its documentation fails here.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "ipc/superctl.h"  // superctl's verb table (the superd_superctl library)
#include "supervisor/config_load.h"
#include "version.h"

namespace superd {
namespace {

namespace fs = std::filesystem;

const fs::path kRoot = fs::path(SUPERD_SOURCE_DIR);

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// A term of a page is written in bold, scdoc's *term*.
bool has_bold(const std::string& page, const std::string& term) {
  return page.find("*" + term + "*") != std::string::npos;
}

TEST(Docs, SuperTomlManPageListsEveryConfigKey) {
  const std::string page = read_text(kRoot / "doc/man/super.toml.5.scd");
  ASSERT_FALSE(page.empty()) << "doc/man/super.toml.5.scd is missing or empty";
  const std::vector<std::string> keys = known_config_keys();
  ASSERT_GT(keys.size(), 50u);
  for (const std::string& key : keys) {
    // Keys of [supervisor] and of a service's nested tables are written dotted
    // (supervisor.socket, backoff.initial, sandbox.private_tmp), as known_config_keys()
    // names them.
    EXPECT_TRUE(has_bold(page, key)) << "super.toml(5) does not document '" << key
                                     << "' (write it as *" << key << "*)";
  }
  EXPECT_FALSE(has_bold(page, "no_such_key"));
}

TEST(Docs, SuperctlManPageListsEveryVerb) {
  const std::string page = read_text(kRoot / "doc/man/superctl.1.scd");
  ASSERT_FALSE(page.empty()) << "doc/man/superctl.1.scd is missing or empty";
  const size_t verbs_at = page.find("\n# VERBS\n");
  ASSERT_NE(verbs_at, std::string::npos) << "superctl(1) has no VERBS section";
  const std::string verbs_section = page.substr(verbs_at, page.find("\n# ", verbs_at + 1) - verbs_at);
  ASSERT_GE(superctl::verbs().size(), 10u);
  for (const superctl::Verb& verb : superctl::verbs()) {
    // Each verb starts an entry of the VERBS section: a line "*VERB*...".
    EXPECT_NE(verbs_section.find("\n*" + std::string(verb.name) + "*"), std::string::npos)
        << "superctl(1) has no entry for the verb '" << verb.name << "' in VERBS";
  }
}

// debian/changelog's first line: "superd (VERSION) DIST; urgency=...", VERSION without a
// Debian revision (a native package) or with one ("0.1.0-1"); the upstream part must be
// CMake's project(VERSION).
TEST(Docs, DebianChangelogVersionIsTheProjectVersion) {
  const std::string changelog = read_text(kRoot / "debian/changelog");
  std::smatch m;
  const std::string first = changelog.substr(0, changelog.find('\n'));
  ASSERT_TRUE(std::regex_match(first, m, std::regex(R"(superd \(([^)]+)\) \S+; urgency=\S+)")))
      << "debian/changelog starts with '" << first << "'";
  std::string version = m[1];
  if (auto colon = version.find(':'); colon != std::string::npos) version.erase(0, colon + 1);
  if (auto dash = version.rfind('-'); dash != std::string::npos) version.erase(dash);
  EXPECT_EQ(version, SUPERD_VERSION) << "debian/changelog says " << m[1].str()
                                     << ", CMakeLists.txt project(VERSION) says " << SUPERD_VERSION;
}

}  // namespace
}  // namespace superd
