// `superd import`: golden fixtures of real-world shape (tests/import/), compared exactly, and
// the rules of both source syntaxes one at a time.
//
// The test only reads the expected files. After a deliberate change of output,
// tests/import/regenerate writes new ones, and a human reviews the diff.
#include "import/import.h"

#include <gtest/gtest.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace superd {
namespace {

namespace fs = std::filesystem;
using importer::first_binary_line;
using importer::format_duration_us;
using importer::normalize_signal;
using importer::normalize_umask;
using importer::parse_timespan_us;
using importer::split_shell_words;
using importer::split_systemd_words;
using importer::toml_key;
using importer::toml_quote;

using Words = std::vector<std::string>;

const fs::path kFixtures = fs::path(SUPERD_SOURCE_DIR) / "tests" / "import";

struct Result {
  int exit = -1;
  std::string out;
  std::string err;
};

Result import(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  Result r;
  r.exit = run_import(args, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
}

// Runs in `dir` and gives the files as a user in that directory would.
class InDirectory {
 public:
  explicit InDirectory(const fs::path& dir) : previous_(fs::current_path()) { fs::current_path(dir); }
  ~InDirectory() { fs::current_path(previous_); }

 private:
  fs::path previous_;
};

// A scratch directory with files in it, removed at the end of the test.
class Scratch {
 public:
  explicit Scratch(const fs::path& parent = fs::temp_directory_path()) {
    std::string tmpl = (parent / "superd-import-XXXXXX").string();
    if (const char* made = mkdtemp(tmpl.data())) dir_ = made;  // empty: could not create
  }
  ~Scratch() {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string write(const std::string& name, const std::string& text) {
    fs::path p = fs::path(dir_) / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

// An array of strings of a service as a TOML parser reads it back from the output.
Words array_of(const std::string& toml_text, const std::string& service, const std::string& key) {
  toml::table t = toml::parse(toml_text);
  Words items;
  if (const toml::array* a = t["service"][service][key].as_array()) {
    for (const auto& v : *a) items.push_back(v.value_or(std::string("<not a string>")));
  }
  return items;
}

Words command_of(const std::string& toml_text, const std::string& service) {
  return array_of(toml_text, service, "command");
}

// ---- Golden fixtures -----------------------------------------------------------------------

struct Golden {
  std::string name;  // tests/import/NAME.expected.toml and NAME.expected.err
  int exit = -1;
  std::vector<std::string> files;
};

// tests/import/goldens: "NAME EXIT FILE..." per line, # comments.
std::vector<Golden> load_goldens() {
  std::vector<Golden> out;
  std::istringstream in(read_file(kFixtures / "goldens"));
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    Golden g;
    if (!(words >> g.name) || g.name[0] == '#') continue;
    words >> g.exit;
    for (std::string f; words >> f;) g.files.push_back(f);
    out.push_back(g);
  }
  return out;
}

void PrintTo(const Golden& g, std::ostream* os) { *os << g.name; }

class ImportGolden : public testing::TestWithParam<Golden> {};

TEST(ImportGoldens, ListIsThere) {
  EXPECT_GE(load_goldens().size(), 17u) << "tests/import/goldens is missing or cut short";
}

TEST_P(ImportGolden, MatchesExpectedOutput) {
  const Golden& g = GetParam();
  ASSERT_FALSE(g.files.empty()) << g.name << ": no input files in tests/import/goldens";
  setenv("SUPERD_TEST_BROKER_URL", "redis://127.0.0.1:6379/0", 1);
  unsetenv("SUPERD_TEST_UNSET");
  // %(here)s is the absolute fixture directory, and the importer wraps long lines, so the
  // output depends on the length of that path: import a copy at a path whose length does
  // not depend on where the checkout is (nor on TMPDIR).
  Scratch copy("/tmp");
  ASSERT_FALSE(copy.dir().empty());
  fs::copy(kFixtures, copy.dir(), fs::copy_options::recursive);
  Result r;
  {
    InDirectory in(copy.dir());
    r = import(g.files);
  }
  replace_all(r.out, copy.dir(), "@FIXTURES@");
  replace_all(r.err, copy.dir(), "@FIXTURES@");

  const fs::path toml_file = kFixtures / (g.name + ".expected.toml");
  const fs::path err_file = kFixtures / (g.name + ".expected.err");
  // A missing expected file is a failure, not an empty expectation.
  ASSERT_TRUE(fs::exists(err_file)) << err_file;
  EXPECT_EQ(r.exit, g.exit);
  EXPECT_EQ(r.err, read_file(err_file));
  if (g.exit == 1) {
    EXPECT_EQ(r.out, "") << "nothing is printed when the input is bad";
    EXPECT_FALSE(fs::exists(toml_file));
    return;
  }
  ASSERT_TRUE(fs::exists(toml_file)) << toml_file;
  EXPECT_EQ(r.out, read_file(toml_file));
  EXPECT_NO_THROW(toml::parse(r.out)) << "the output must be TOML";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ImportGolden, testing::ValuesIn(load_goldens()),
                         [](const testing::TestParamInfo<Golden>& info) {
                           std::string name = info.param.name;
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

// ---- The small languages -------------------------------------------------------------------

Words systemd_words(std::string_view text) {
  std::string error;
  auto words = split_systemd_words(text, &error);
  EXPECT_TRUE(words) << error;
  return words.value_or(Words{"<error>"});
}

TEST(SystemdWords, QuotesEscapesAndAdjacentText) {
  EXPECT_EQ(systemd_words("  a  b\tc "), (Words{"a", "b", "c"}));
  EXPECT_EQ(systemd_words("--opt=\"a b\" 'c d'e"), (Words{"--opt=a b", "c de"}));
  EXPECT_EQ(systemd_words(R"("a \"q\" b" 'it\'s')"), (Words{"a \"q\" b", "it's"}));
  EXPECT_EQ(systemd_words(R"(x\sy \x41\101 \u00e9 tab\there)"), (Words{"x y", "AA", "\xc3\xa9", "tab\there"}));
  EXPECT_EQ(systemd_words(R"(keep\d\w "" end)"), (Words{R"(keep\d\w)", "", "end"}));
  EXPECT_EQ(systemd_words("'single \"double\" inside'"), (Words{"single \"double\" inside"}));
}

TEST(SystemdWords, UnbalancedQuotesAreAnError) {
  std::string error;
  EXPECT_FALSE(split_systemd_words("/bin/sh -c 'exec foo", &error));
  EXPECT_NE(error.find("unbalanced"), std::string::npos);
  EXPECT_FALSE(split_systemd_words("a \"b", &error));
}

TEST(ShellWords, PythonShlexPosixRules) {
  std::string error;
  EXPECT_EQ(split_shell_words("a 'b c' \"d \\\"e\\\" \\x\" f\\ g \"\"", &error),
            (Words{"a", "b c", "d \"e\" \\x", "f g", ""}));
  EXPECT_EQ(split_shell_words("celery -A proj\n  worker", &error), (Words{"celery", "-A", "proj", "worker"}));
  EXPECT_EQ(split_shell_words("'it''s'", &error), (Words{"its"}));
  EXPECT_FALSE(split_shell_words("a 'b", &error));
  EXPECT_FALSE(split_shell_words("a \"b", &error));
  EXPECT_FALSE(split_shell_words("a \\", &error));
}

TEST(Timespan, SystemdSyntax) {
  EXPECT_EQ(parse_timespan_us("90"), 90000000u);
  EXPECT_EQ(parse_timespan_us("5s"), 5000000u);
  EXPECT_EQ(parse_timespan_us("1min 30s"), 90000000u);
  EXPECT_EQ(parse_timespan_us("1min30s"), 90000000u);
  EXPECT_EQ(parse_timespan_us("2h"), 7200000000u);
  EXPECT_EQ(parse_timespan_us("500ms"), 500000u);
  EXPECT_EQ(parse_timespan_us("1.5s"), 1500000u);
  EXPECT_EQ(parse_timespan_us("3 min"), 180000000u);
  EXPECT_EQ(parse_timespan_us("infinity"), UINT64_MAX);
  EXPECT_FALSE(parse_timespan_us(""));
  EXPECT_FALSE(parse_timespan_us("soon"));
  EXPECT_FALSE(parse_timespan_us("5 parsecs"));
  EXPECT_FALSE(parse_timespan_us("5 10s"));
}

TEST(Timespan, FormatsWithTheLargestExactUnit) {
  EXPECT_EQ(format_duration_us(0), "0s");
  EXPECT_EQ(format_duration_us(90000000), "90s");
  EXPECT_EQ(format_duration_us(600000000), "10m");
  EXPECT_EQ(format_duration_us(7200000000), "2h");
  EXPECT_EQ(format_duration_us(100000), "100ms");
  EXPECT_EQ(format_duration_us(1), "1ms");  // rounded up, never to zero
}

TEST(Values, SignalsAndUmasks) {
  EXPECT_EQ(normalize_signal("SIGTERM"), "TERM");
  EXPECT_EQ(normalize_signal("hup"), "HUP");
  EXPECT_EQ(normalize_signal("9"), "KILL");
  EXPECT_EQ(normalize_signal("SIGRTMIN+2"), "36");
  EXPECT_FALSE(normalize_signal("SIGFOO"));
  EXPECT_FALSE(normalize_signal("0"));
  EXPECT_EQ(normalize_umask("0027"), "027");
  EXPECT_EQ(normalize_umask("22"), "022");
  EXPECT_FALSE(normalize_umask("0999"));
  EXPECT_FALSE(normalize_umask("01000"));
}

TEST(Toml, StringsAndKeysAreQuotedAsTomlNeeds) {
  EXPECT_EQ(toml_quote("a\"b\\c\td\n\x01\x7f\xc3\xa9"), "\"a\\\"b\\\\c\\td\\n\\u0001\\u007F\xc3\xa9\"");
  EXPECT_EQ(toml_key("DJANGO_SETTINGS_MODULE"), "DJANGO_SETTINGS_MODULE");
  EXPECT_EQ(toml_key("app.v2"), "\"app.v2\"");
  EXPECT_EQ(toml_key(""), "\"\"");
}

TEST(Binary, FirstBadLine) {
  EXPECT_EQ(first_binary_line("[Service]\nExecStart=/bin/true\n"), 0);
  EXPECT_EQ(first_binary_line("ok \xc3\xa9\n\xff\n"), 2);
  EXPECT_EQ(first_binary_line(std::string_view("a\nb\nc\0d", 7)), 3);
  EXPECT_EQ(first_binary_line("\xed\xa0\x80"), 1);  // a UTF-16 surrogate
  EXPECT_EQ(first_binary_line("\x1b[31m"), 1);
}

// ---- systemd, one rule at a time -----------------------------------------------------------

Result import_unit(const std::string& text, const std::string& name = "app.service") {
  Scratch s;
  return import({s.write(name, text)});
}

TEST(ImportSystemd, ContinuationLinesAndCommentsInsideThem) {
  Result r = import_unit("[Service]\nExecStart=/bin/echo a \\\n# skipped\n; skipped too\n  b\\\\\n");
  EXPECT_EQ(r.exit, 0) << r.err;
  // The backslash becomes a space and the next line is appended as it is; "\\\\" is an
  // escaped backslash, not a continuation.
  EXPECT_EQ(command_of(r.out, "app"), (Words{"/bin/echo", "a", "b\\"}));
}

TEST(ImportSystemd, LastAssignmentWinsAndAnEmptyOneResets) {
  Result r = import_unit(
      "[Service]\nUser=nobody\nUser=www\nExecStart=/bin/false\nExecStart=\nExecStart=/bin/true x\n"
      "Environment=A=1 B=2\nEnvironment=\nEnvironment=C=3\nEnvironment=C=4\nPrivateTmp=yes\nPrivateTmp=\n");
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(command_of(r.out, "app"), (Words{"/bin/true", "x"}));
  EXPECT_NE(r.out.find("user = \"www\"\n"), std::string::npos);
  EXPECT_NE(r.out.find("environment = { C = \"4\" }\n"), std::string::npos);
}

TEST(ImportSystemd, TwoExecStartsAreRefusedUnlessOneshot) {
  Result r = import_unit("[Service]\nExecStart=/bin/a\nExecStart=/bin/b\n");
  EXPECT_EQ(r.exit, 1);
  EXPECT_NE(r.err.find("app.service:3: error: more than one ExecStart="), std::string::npos) << r.err;
  r = import_unit("[Service]\nType=oneshot\nExecStart=/bin/a\nExecStart=/bin/b\n");
  EXPECT_EQ(r.exit, 2);
  EXPECT_NE(r.err.find("app.service:2: not imported: Type=oneshot"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("app.service:4: not imported: ExecStart=/bin/b"), std::string::npos) << r.err;
}

TEST(ImportSystemd, VariablesComeFromEnvironmentOfTheUnit) {
  Result r = import_unit(
      "[Service]\nEnvironment=\"ARGS=-a  -b\" ONE=x\\sy\n"
      "ExecStart=/bin/prog $ARGS ${ONE} pre${ONE}post $$HOME ${ONE:-d} ${NONE:-d}\n");
  EXPECT_EQ(r.exit, 2);
  EXPECT_EQ(command_of(r.out, "app"), (Words{"/bin/prog", "-a", "-b", "x y", "prex ypost", "$HOME", "x y", "${NONE:-d}"}));
  EXPECT_NE(r.err.find("app.service:3: not imported: ${NONE:-d} in ExecStart=: not set by Environment="),
            std::string::npos)
      << r.err;
}

TEST(ImportSystemd, AShellScriptExpandsItsOwnVariables) {
  Result r = import_unit(
      "[Service]\nEnvironmentFile=/etc/app.env\nEnvironment=KNOWN=k\n"
      "ExecStart=/bin/bash -ec 'exec ${BIN} --k ${KNOWN} $$1'\n");
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(command_of(r.out, "app"), (Words{"/bin/bash", "-ec", "exec ${BIN} --k k $1"}));
}

TEST(ImportSystemd, PrefixesAreReportedAndColonKeepsVariables) {
  Result r = import_unit("[Service]\nExecStart=@/usr/bin/prog prog-name --x\n");
  EXPECT_EQ(r.exit, 2);
  EXPECT_EQ(command_of(r.out, "app"), (Words{"/usr/bin/prog", "--x"}));
  r = import_unit("[Service]\nExecStart=+/usr/bin/prog\n");
  EXPECT_NE(r.err.find("not imported: the '+' prefix of ExecStart="), std::string::npos) << r.err;
  r = import_unit("[Service]\nExecStart=:/usr/bin/prog ${X} $Y\n");
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(command_of(r.out, "app"), (Words{"/usr/bin/prog", "${X}", "$Y"}));
}

TEST(ImportSystemd, SpecifiersWithAFixedMeaning) {
  Result r = import_unit("[Service]\nUser=www\nExecStart=/bin/p %n %N %p %t/%N.sock %u 100%%\n", "web.service");
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(command_of(r.out, "web"), (Words{"/bin/p", "web.service", "web", "web", "/run/web.sock", "www", "100%"}));
  r = import_unit("[Service]\nExecStart=/bin/p --host %H\n");
  EXPECT_EQ(r.exit, 2);
  EXPECT_NE(r.err.find("not imported: %H in ExecStart="), std::string::npos) << r.err;
}

TEST(ImportSystemd, RestartValues) {
  struct Case {
    const char* restart;
    const char* expected;
    int exit;
  };
  for (const Case& c : {Case{"no", "never", 0}, Case{"always", "always", 0}, Case{"on-failure", "on-failure", 0},
                        Case{"on-abnormal", "on-failure", 2}, Case{"on-abort", "on-failure", 2},
                        Case{"on-success", "always", 2}, Case{"on-watchdog", "never", 2}}) {
    Result r = import_unit("[Service]\nExecStart=/bin/true\nRestart=" + std::string(c.restart) + "\n");
    EXPECT_EQ(r.exit, c.exit) << c.restart << "\n" << r.err;
    EXPECT_NE(r.out.find("restart = \"" + std::string(c.expected) + "\"\n"), std::string::npos) << c.restart;
  }
  Result r = import_unit("[Service]\nExecStart=/bin/true\n");
  EXPECT_NE(r.out.find("restart = \"never\"  # systemd's default (Restart=no)\n"), std::string::npos) << r.out;
}

TEST(ImportSystemd, KillModes) {
  Result r = import_unit("[Service]\nExecStart=/bin/true\nKillMode=mixed\nKillSignal=SIGQUIT\nTimeoutStopSec=1min\n");
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_NE(r.out.find("stop_signal = \"QUIT\"\nstop_mode = \"main\"\nstop_timeout = \"1m\"\n"), std::string::npos)
      << r.out;
  r = import_unit("[Service]\nExecStart=/bin/true\nKillMode=control-group\n");
  EXPECT_NE(r.out.find("stop_mode = \"group\"\n"), std::string::npos) << r.out;
  r = import_unit("[Service]\nExecStart=/bin/true\nKillMode=none\nTimeoutStopSec=infinity\n");
  EXPECT_EQ(r.exit, 2);
  EXPECT_NE(r.err.find("app.service:3: not imported: KillMode=none"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("app.service:4: not imported: TimeoutStopSec=infinity"), std::string::npos) << r.err;
}

TEST(ImportSystemd, ReloadAndStopByKill) {
  for (const char* reload : {"/bin/kill -HUP $MAINPID", "/bin/kill -s HUP $MAINPID", "kill -SIGHUP ${MAINPID}",
                             "-/usr/bin/kill --signal hup $MAINPID"}) {
    Result r = import_unit("[Service]\nExecStart=/bin/true\nExecReload=" + std::string(reload) + "\n");
    EXPECT_EQ(r.exit, 0) << reload << "\n" << r.err;
    EXPECT_NE(r.out.find("reload_signal = \"HUP\"\n"), std::string::npos) << reload;
  }
  Result r = import_unit("[Service]\nExecStart=/bin/true\nExecReload=/bin/kill -USR2 $MAINPID\n"
                      "ExecStop=/bin/kill -s QUIT $MAINPID\n");
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_NE(r.out.find("stop_signal = \"QUIT\"\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("reload_signal = \"USR2\"\n"), std::string::npos) << r.out;
  r = import_unit("[Service]\nExecStart=/bin/true\nExecReload=/usr/bin/app reload\n");
  EXPECT_EQ(r.exit, 2);
  EXPECT_NE(r.err.find("app.service:3: not imported: ExecReload=/usr/bin/app reload"), std::string::npos) << r.err;
}

TEST(ImportSystemd, LimitsAndUmask) {
  Result r = import_unit("[Service]\nExecStart=/bin/true\nLimitNOFILE=65536\nLimitMEMLOCK=64K\nLimitCPU=1h\n"
                      "LimitAS=infinity\nUMask=0077\n");
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_NE(r.out.find("umask = \"077\"\nlimits = { nofile = 65536, memlock = 65536, cpu = 3600, as = \"infinity\" }\n"),
            std::string::npos)
      << r.out;
  r = import_unit("[Service]\nExecStart=/bin/true\nLimitNOFILE=lots\nLimitFOO=1\n");
  EXPECT_EQ(r.exit, 2);
  EXPECT_NE(r.err.find("app.service:3: not imported: LimitNOFILE=lots: not a limit value"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("app.service:4: not imported: LimitFOO=1\n"), std::string::npos) << r.err;
}

TEST(ImportSystemd, SocketUnitListenForms) {
  Scratch s;
  std::string service = s.write("web.service", "[Service]\nExecStart=/bin/web\n[Unit]\nRequires=web.socket\n");
  std::string socket = s.write("web.socket",
                               "[Socket]\nListenStream=/run/web.sock\nListenStream=8000\n"
                               "ListenStream=127.0.0.1:8001\nListenStream=[::1]:8002\nListenStream=@abstract\n");
  Result r = import({service, socket});
  EXPECT_EQ(r.exit, 2);
  // A port alone is systemd's dual-stack socket: two for superd, whose IPv6 ones are IPv6-only.
  EXPECT_EQ(array_of(r.out, "web", "listen"), (Words{"unix:/run/web.sock", "tcp:0.0.0.0:8000", "tcp:[::]:8000",
                                                     "tcp:127.0.0.1:8001", "tcp:[::1]:8002"}));
  EXPECT_NE(r.err.find("web.socket:2: not imported: the owner and mode of /run/web.sock: superd makes"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("web.socket:3: not imported: ListenStream=8000: superd's IPv6 sockets are IPv6-only"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("web.socket:6: not imported: ListenStream=@abstract"), std::string::npos) << r.err;
  r = import({service, s.write("web.socket", "[Socket]\nListenStream=[::]:80\nBindIPv6Only=ipv6-only\n")});
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(array_of(r.out, "web", "listen"), (Words{"tcp:[::]:80"}));
  // Alone, the socket has no service to go to.
  socket = s.write("web.socket", "[Socket]\nListenStream=127.0.0.1:8001\n");
  r = import({socket});
  EXPECT_EQ(r.exit, 2);
  EXPECT_NE(r.err.find("web.socket:1: not imported: [Socket] of web.socket: no web.service"), std::string::npos)
      << r.err;
}

TEST(ImportSystemd, OrderingBetweenImportedUnits) {
  Scratch s;
  std::string db = s.write("db.service", "[Unit]\nBefore=web.service\n[Service]\nExecStart=/bin/db\n");
  std::string web = s.write("web.service", "[Unit]\nWants=cache.service\nAfter=syslog.target\n[Service]\nExecStart=/bin/web\n");
  std::string cache = s.write("cache.service", "[Service]\nExecStart=/bin/cache\n");
  Result r = import({db, web, cache});
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_NE(r.out.find("after = [\"db\", \"cache\"]\n"), std::string::npos) << r.out;
}

TEST(ImportSystemd, ADuplicateServiceNameIsAnError) {
  Scratch s;
  std::string unit = s.write("web.service", "[Service]\nExecStart=/bin/web\n");
  std::string conf = s.write("sup.conf", "[program:web]\ncommand=/bin/web\n");
  Result r = import({unit, conf});
  EXPECT_EQ(r.exit, 1);
  EXPECT_NE(r.err.find("sup.conf:1: error: a service named 'web' was already imported from"), std::string::npos)
      << r.err;
}

TEST(ImportSystemd, OutputQuotesEveryArgumentBack) {
  // Whatever systemd would pass, the TOML command reads back as the same argv.
  Result r = import_unit(R"([Service]
ExecStart=/bin/p "back\\slash" "quote\"d" 'tab\there' "new\nline" \u00e9t\xc3\xa9 "" ' lead'
)");
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(command_of(r.out, "app"),
            (Words{"/bin/p", "back\\slash", "quote\"d", "tab\there", "new\nline", "\xc3\xa9t\xc3\xa9", "", " lead"}));
}

// ---- supervisord, one rule at a time -------------------------------------------------------

Result import_conf(const std::string& text) {
  Scratch s;
  return import({s.write("supervisord.conf", text)});
}

TEST(ImportSupervisord, EnvironmentExpansion) {
  setenv("SUPERD_TEST_VENV", "/srv/venv", 1);
  unsetenv("SUPERD_TEST_UNSET");
  Result r = import_conf("[program:app]\ncommand=%(ENV_SUPERD_TEST_VENV)s/bin/app %(ENV_SUPERD_TEST_UNSET)s\n"
                      "autorestart=true\nstartretries=5\nstopwaitsecs=30\n");
  EXPECT_EQ(r.exit, 2);
  EXPECT_EQ(command_of(r.out, "app"), (Words{"/srv/venv/bin/app", "%(ENV_SUPERD_TEST_UNSET)s"}));
  EXPECT_NE(r.err.find("supervisord.conf:2: not imported: %(ENV_SUPERD_TEST_UNSET)s in command=: SUPERD_TEST_UNSET "
                       "is not set"),
            std::string::npos)
      << r.err;
}

TEST(ImportSupervisord, BadFormatsAndValuesAreErrors) {
  Result r = import_conf("[program:app]\ncommand=/bin/app 100%\nautorestart=sometimes\n"
                      "[program:b]\ncommand=/bin/b %(nope)s\n[program:c]\nuser=www\n");
  EXPECT_EQ(r.exit, 1);
  EXPECT_NE(r.err.find("supervisord.conf:2: error: command=: a lone '%'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("supervisord.conf:3: error: autorestart=: 'sometimes'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("supervisord.conf:5: error: command=: %(nope) cannot be expanded"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("supervisord.conf:6: error: [program:c] has no command="), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(ImportSupervisord, PrioritiesBecomeAfterEdges) {
  Result r = import_conf(
      "[program:late]\ncommand=/bin/late\npriority=20\nautorestart=true\nstartretries=3\nstopwaitsecs=10\n"
      "[program:first]\ncommand=/bin/first\npriority=1\nautorestart=true\nstartretries=3\nstopwaitsecs=10\n"
      "[program:mid1]\ncommand=/bin/mid1\nautorestart=true\nstartretries=3\nstopwaitsecs=10\n"
      "[program:mid2]\ncommand=/bin/mid2\npriority=999\nautorestart=true\nstartretries=3\nstopwaitsecs=10\n");
  EXPECT_EQ(r.exit, 0) << r.err;
  auto after = [&](const char* name) { return array_of(r.out, name, "after"); };
  EXPECT_EQ(after("first"), Words{});
  EXPECT_EQ(after("late"), (Words{"first"}));
  EXPECT_EQ(after("mid1"), (Words{"late"}));
  EXPECT_EQ(after("mid2"), (Words{"late"}));
}

TEST(ImportSupervisord, IncludesAreReadOnceAndAMissOrACycleIsHarmless) {
  Scratch s;
  std::string main = s.write("supervisord.conf",
                             "[include]\nfiles = conf.d/*.conf nothing/*.conf supervisord.conf\n");
  s.write("conf.d/b.conf", "[program:b]\ncommand=/bin/b\n");
  s.write("conf.d/a.conf", "[program:a]\ncommand=/bin/a\n[include]\nfiles=../supervisord.conf\n");
  Result r = import({main});
  EXPECT_EQ(r.exit, 2);
  EXPECT_LT(r.out.find("[service.a]"), r.out.find("[service.b]")) << r.out;
  EXPECT_NE(r.err.find("supervisord.conf:2: not imported: files=" + s.dir() + "/nothing/*.conf: matches no file"),
            std::string::npos)
      << r.err;
}

TEST(ImportSupervisord, LogFiles) {
  Result r = import_conf(
      "[program:a]\ncommand=/bin/a\nstdout_logfile=/var/log/a.out\nstderr_logfile=/var/log/a.err\n"
      "stdout_logfile_maxbytes=1GB\nstdout_logfile_backups=2\nautorestart=true\nstartretries=3\nstopwaitsecs=10\n"
      "[program:b]\ncommand=/bin/b\nredirect_stderr=true\nstderr_logfile=/var/log/ignored\n"
      "autorestart=true\nstartretries=3\nstopwaitsecs=10\n");
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_NE(r.out.find("stdout = \"/var/log/a.out\"\nstderr = \"/var/log/a.err\"\nlog_max_bytes = \"1GiB\"\n"
                       "log_backups = 2\n"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("/var/log/ignored"), std::string::npos) << r.out;
}

// ---- The command line ----------------------------------------------------------------------

TEST(ImportCli, UsageErrors) {
  Result r = import({});
  EXPECT_EQ(r.exit, 1);
  EXPECT_NE(r.err.find("usage: superd import [--from systemd|supervisord] [--instances N] FILE..."), std::string::npos);
  EXPECT_EQ(import({"--from", "upstart", "x"}).exit, 1);
  EXPECT_EQ(import({"--bogus", "x"}).exit, 1);
  r = import({"--help"});
  EXPECT_EQ(r.exit, 0);
  EXPECT_NE(r.out.find("usage:"), std::string::npos);
  r = import({"/nonexistent/app.service"});
  EXPECT_EQ(r.exit, 1);
  EXPECT_EQ(r.err, "/nonexistent/app.service: error: cannot read: No such file or directory\n");
}

TEST(ImportCli, KindByContentOrByFrom) {
  Scratch s;
  std::string unit = s.write("app", "[Service]\nExecStart=/bin/app\nRestart=always\n");
  std::string conf = s.write("programs", "[program:worker]\ncommand=/bin/worker\n");
  Result r = import({unit, conf});
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_NE(r.out.find("[service.app]"), std::string::npos);
  EXPECT_NE(r.out.find("[service.worker]"), std::string::npos);
  // --from wins over the extension.
  std::string odd = s.write("odd.conf", "[Service]\nExecStart=/bin/odd\n");
  EXPECT_EQ(import({odd}).exit, 1);
  r = import({"--from=systemd", odd});
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_NE(r.out.find("[service.odd]"), std::string::npos);
}

}  // namespace
}  // namespace superd
