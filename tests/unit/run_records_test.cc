// state_dir/running.json, written as text by save_running, read back by load_running.
#include "supervisor/run_records.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace superd {
namespace {

namespace fs = std::filesystem;

class RunRecordsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "state_dir's checks are root's: run as root";
    char templ[] = "/tmp/superd-run-records-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    dir_ = templ;
    ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  SafeDir open_dir() {
    auto opened = open_safe_dir(dir_, {});
    if (auto* p = std::get_if<PathProblem>(&opened)) ADD_FAILURE() << p->describe(dir_);
    return std::move(std::get<SafeDir>(opened));
  }
  std::string text() const {
    std::ifstream in(dir_ + "/running.json");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string dir_;
};

TEST_F(RunRecordsTest, RecordsComeBackAsTheyWereSaved) {
  SafeDir dir = open_dir();
  // A name the config would refuse is still written as valid JSON (pid 1 and below are
  // never believed, so none is saved here).
  const std::vector<RunningRecord> saved = {
      {"app", 4133, 987654321ull}, {"worker@2", 2, 0}, {"odd \"name\"\\\n", 2147483647, ~0ull}};
  std::string error;
  ASSERT_TRUE(save_running(dir, {}, saved, &error)) << error;
  const auto doc = nlohmann::json::parse(text(), nullptr, false);
  ASSERT_TRUE(doc.is_array()) << text();
  ASSERT_EQ(doc.size(), 3u);
  EXPECT_EQ(doc[0], nlohmann::json({{"service", "app"}, {"pid", 4133}, {"start_time", 987654321ull}}));

  std::string warning;
  const auto loaded = load_running(dir, {}, &warning);
  EXPECT_EQ(warning, "");
  ASSERT_EQ(loaded.size(), saved.size());
  for (size_t i = 0; i < saved.size(); ++i) {
    EXPECT_EQ(loaded[i].service, saved[i].service);
    EXPECT_EQ(loaded[i].pid, saved[i].pid);
    EXPECT_EQ(loaded[i].start_time, saved[i].start_time);
  }

  ASSERT_TRUE(save_running(dir, {}, {}, &error)) << error;
  EXPECT_EQ(text(), "[]\n");
  EXPECT_TRUE(load_running(dir, {}, &warning).empty());
}

}  // namespace
}  // namespace superd
