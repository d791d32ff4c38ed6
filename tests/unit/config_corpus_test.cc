// Golden tests of the loader's output. tests/configs/bad/NAME.toml is a broken config and
// NAME.expected the exact lines `superd --check -c NAME.toml` prints for it, with the
// literal token FILE standing for the config's path (so the files do not depend on where
// the tree is checked out). tests/configs/good/*.toml must load without a single error.
//
// The system checks are on: the corpus relies only on what every Debian has (root,
// nobody, daemon, /bin/true, /etc/passwd, /tmp) and on paths that do not exist.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "supervisor/config_load.h"

namespace superd {
namespace {

namespace fs = std::filesystem;

const fs::path kConfigs = fs::path(SUPERD_SOURCE_DIR) / "tests" / "configs";

std::vector<fs::path> files_in(const fs::path& dir, const std::string& extension) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == extension) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// What `superd --check` prints: one formatted error a line.
std::string check_output(const fs::path& toml) {
  std::string out;
  for (const auto& e : load_config_file(toml.string()).errors) out += e.format() + "\n";
  return replace_all(out, toml.string(), "FILE");
}

TEST(ConfigCorpus, BadConfigsPrintExactlyTheExpectedErrors) {
  std::vector<fs::path> cases = files_in(kConfigs / "bad", ".toml");
  EXPECT_GE(cases.size(), 35u);
  for (const auto& toml : cases) {
    SCOPED_TRACE(toml.filename().string());
    fs::path expected_path = fs::path(toml).replace_extension(".expected");
    ASSERT_TRUE(fs::exists(expected_path)) << "missing " << expected_path;
    std::string expected = read_text(expected_path);
    EXPECT_FALSE(expected.empty()) << "a bad config must produce at least one error";
    EXPECT_EQ(check_output(toml), expected);
  }
}

TEST(ConfigCorpus, EveryExpectedFileHasItsConfig) {
  for (const auto& expected : files_in(kConfigs / "bad", ".expected")) {
    EXPECT_TRUE(fs::exists(fs::path(expected).replace_extension(".toml"))) << "orphan " << expected;
  }
}

TEST(ConfigCorpus, GoodConfigsLoadWithoutErrors) {
  std::vector<fs::path> cases = files_in(kConfigs / "good", ".toml");
  EXPECT_GE(cases.size(), 2u);
  for (const auto& toml : cases) {
    SCOPED_TRACE(toml.filename().string());
    LoadResult r = load_config_file(toml.string());
    EXPECT_EQ(check_output(toml), "");
    ASSERT_TRUE(r.config.has_value());
    EXPECT_FALSE(r.config->services.empty());
  }
}

}  // namespace
}  // namespace superd
