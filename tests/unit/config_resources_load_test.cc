// The `resources` table and [supervisor] cgroup, loaded on their own with positions.
#include "supervisor/config_resources_load.h"

#include <gtest/gtest.h>

namespace superd {
namespace {

struct Loaded {
  ResourcesConfig resources;
  bool ok = false;
  std::string errors;  // "LINE:COL: message" lines
};

void sink_into(std::string& out, const toml::node& where, const std::string& message) {
  const auto& p = where.source().begin;
  out += std::to_string(p.line) + ":" + std::to_string(p.column) + ": " + message + "\n";
}

Loaded load(std::string_view text) {
  Loaded l;
  toml::table doc = toml::parse(text);
  const toml::node* node = doc.get("resources");
  EXPECT_NE(node, nullptr);
  l.ok = load_resources(*node, "service 'app'", l.resources,
                        [&](const toml::node& n, std::string m) { sink_into(l.errors, n, m); });
  return l;
}

TEST(ResourcesLoad, EveryKey) {
  auto l = load(R"([resources]
memory_max = "1GB"
memory_high = "800MB"
pids_max = 256
cpu_weight = 100
cpu_max = "150%"
)");
  EXPECT_TRUE(l.ok) << l.errors;
  EXPECT_EQ(l.resources.memory_max, 1000000000u);
  EXPECT_EQ(l.resources.memory_high, 800000000u);
  EXPECT_EQ(l.resources.pids_max, 256u);
  EXPECT_EQ(l.resources.cpu_weight, 100u);
  EXPECT_EQ(l.resources.cpu_max_percent, 150u);
}

TEST(ResourcesLoad, IntegerBytesAndBinaryUnits) {
  auto l = load("[resources]\nmemory_max = 52428800\nmemory_high = \"40MiB\"\n");
  EXPECT_TRUE(l.ok) << l.errors;
  EXPECT_EQ(l.resources.memory_max, 52428800u);
  EXPECT_EQ(l.resources.memory_high, 40u << 20);
}

TEST(ResourcesLoad, EveryProblemInOnePassWithItsPosition) {
  auto l = load(R"([resources]
memory_max = "10XB"
memory_high = 0
pids_max = 0
cpu_weight = 20000
cpu_max = "1.5"
memroy_max = "1GB"
)");
  EXPECT_FALSE(l.ok);
  EXPECT_EQ(l.errors,
            "2:14: invalid size '10XB' for 'memory_max': unknown unit 'XB' (use B, KB, MB, GB, KiB, MiB or GiB)\n"
            "3:15: 'memory_high' must be greater than zero\n"
            "4:12: 'pids_max' must be from 1 to 4194304, not 0\n"
            "5:14: 'cpu_weight' must be from 1 to 10000, not 20000\n"
            "6:11: invalid 'cpu_max' value '1.5': expected a percentage of one CPU, like \"150%\"\n"
            "7:14: unknown key 'memroy_max' in the resources of service 'app' (did you mean 'memory_max'?)\n");
}

TEST(ResourcesLoad, WrongTypes) {
  auto l = load("[resources]\nmemory_max = true\npids_max = \"20\"\ncpu_max = 150\n");
  EXPECT_EQ(l.errors,
            "2:14: 'memory_max' must be a size (a string like \"1GB\" or integer bytes), not a boolean\n"
            "3:12: 'pids_max' must be an integer, not a string\n"
            "4:11: 'cpu_max' must be a percentage of one CPU (a string like \"150%\"), not an integer\n");
}

TEST(ResourcesLoad, HighAboveMax) {
  auto l = load("[resources]\nmemory_max = \"500MB\"\nmemory_high = \"800MB\"\n");
  EXPECT_FALSE(l.ok);
  EXPECT_EQ(l.errors, "3:15: 'memory_high' (800MB) is above 'memory_max' (500MB): the hard limit would act first\n");
}

TEST(ResourcesLoad, NotATable) {
  toml::table doc = toml::parse("resources = 5\n");
  ResourcesConfig r;
  std::string errors;
  EXPECT_FALSE(load_resources(*doc.get("resources"), "service 'app'", r,
                              [&](const toml::node& n, std::string m) { sink_into(errors, n, m); }));
  EXPECT_EQ(errors, "1:13: 'resources' must be a table, not an integer\n");
}

std::optional<CgroupSetting> setting(std::string_view text, std::string* errors) {
  toml::table doc = toml::parse(text);
  return load_cgroup_setting(*doc.get("cgroup"),
                             [&](const toml::node& n, std::string m) { sink_into(*errors, n, m); });
}

TEST(CgroupSettingLoad, Values) {
  std::string errors;
  EXPECT_EQ(setting("cgroup = \"auto\"", &errors)->mode, CgroupSetting::Mode::automatic);
  EXPECT_EQ(setting("cgroup = \"off\"", &errors)->mode, CgroupSetting::Mode::off);
  auto p = setting("cgroup = \"/sys/fs/cgroup/unified/superd/\"", &errors);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->mode, CgroupSetting::Mode::path);
  EXPECT_EQ(p->path, "/sys/fs/cgroup/unified/superd");
  EXPECT_EQ(errors, "");
}

TEST(CgroupSettingLoad, Refused) {
  std::string errors;
  EXPECT_FALSE(setting("cgroup = \"/tmp/x\"", &errors));
  EXPECT_FALSE(setting("cgroup = \"/sys/fs/cgroup/../etc\"", &errors));
  EXPECT_FALSE(setting("cgroup = \"/sys/fs/cgroup/\"", &errors));
  EXPECT_FALSE(setting("cgroup = true", &errors));
  EXPECT_EQ(errors,
            "1:10: invalid 'cgroup' value '/tmp/x' (expected \"auto\", \"off\" or an absolute path below "
            "/sys/fs/cgroup/)\n"
            "1:10: invalid 'cgroup' value '/sys/fs/cgroup/../etc' (expected \"auto\", \"off\" or an absolute "
            "path below /sys/fs/cgroup/)\n"
            "1:10: invalid 'cgroup' value '/sys/fs/cgroup/' (expected \"auto\", \"off\" or an absolute path "
            "below /sys/fs/cgroup/)\n"
            "1:10: 'cgroup' must be \"auto\", \"off\" or a path, not a boolean\n");
}

TEST(FormatSize, AsWritten) {
  EXPECT_EQ(format_size(1000000000), "1GB");
  EXPECT_EQ(format_size(50000000), "50MB");
  EXPECT_EQ(format_size(50u << 20), "50MiB");
  EXPECT_EQ(format_size(1500), "1500B");
  EXPECT_EQ(format_size(1500000), "1500KB");
}

}  // namespace
}  // namespace superd
