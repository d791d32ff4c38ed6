// base/safe_path.h on a real file system: every way a user who can write a directory
// (or plant a link) could turn root's open, create, chown or read elsewhere is refused,
// and the target is left as it was. Runs as root (the checks are about root's opens);
// another user's entries are made with lchown to uid 65534.
#include "base/safe_path.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace superd {
namespace {

namespace fs = std::filesystem;
constexpr uid_t kOther = 65534;

class SafePathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "the checks are root's: run as root";
    char templ[] = "/tmp/superd-safe-path-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    dir_ = templ;
    ::chmod(dir_.c_str(), 0755);
    secret_ = dir_ + "/secret";
    write(secret_, "KEY=root-only\n");
    ::chmod(secret_.c_str(), 0600);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  static void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
  static std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string mkdir(const std::string& name, mode_t mode, uid_t uid = 0, gid_t gid = 0) {
    const std::string path = dir_ + "/" + name;
    EXPECT_EQ(::mkdir(path.c_str(), mode), 0) << path;
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    EXPECT_EQ(::chown(path.c_str(), uid, gid), 0);
    return path;
  }
  SafeDir open_dir(const std::string& path, const PathTrust& trust = {}) {
    auto opened = open_safe_dir(path, trust);
    if (auto* p = std::get_if<PathProblem>(&opened)) ADD_FAILURE() << p->describe(path);
    return std::move(std::get<SafeDir>(opened));
  }
  std::string problem_of_dir(const std::string& path, const PathTrust& trust = {}) {
    auto opened = open_safe_dir(path, trust);
    auto* p = std::get_if<PathProblem>(&opened);
    return p ? p->describe(path) : "";
  }
  // The secret is what it was: content, owner, mode.
  void expect_secret_untouched() {
    struct stat st {};
    ASSERT_EQ(::stat(secret_.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(st.st_nlink, 1u);
    EXPECT_EQ(read(secret_), "KEY=root-only\n");
  }

  std::string dir_, secret_;
};

TEST_F(SafePathTest, ARootOwnedDirectoryIsAccepted) {
  const std::string logs = mkdir("logs", 0750);
  EXPECT_EQ(problem_of_dir(logs), "");
  EXPECT_EQ(problem_of_dir(dir_), "");
}

TEST_F(SafePathTest, DirectoriesOthersCanChangeAreRefusedWithWhy) {
  const std::string theirs = mkdir("theirs", 0755, kOther, kOther);
  EXPECT_NE(problem_of_dir(theirs).find("is owned by"), std::string::npos) << problem_of_dir(theirs);
  EXPECT_NE(problem_of_dir(theirs).find("not by root"), std::string::npos);
  // Below it, too: its owner could rename the subdirectory away and put a link there.
  ASSERT_EQ(::mkdir((theirs + "/sub").c_str(), 0755), 0);
  EXPECT_NE(problem_of_dir(theirs + "/sub").find("'" + theirs + "' is owned by"), std::string::npos)
      << problem_of_dir(theirs + "/sub");

  const std::string open = mkdir("open", 0777);
  EXPECT_NE(problem_of_dir(open).find("is writable by others (mode 0777)"), std::string::npos);
  const std::string group = mkdir("group", 0775, 0, 4321);
  EXPECT_NE(problem_of_dir(group).find("is writable by group"), std::string::npos) << problem_of_dir(group);
  PathTrust allowed;
  allowed.group_writable.push_back(group);
  EXPECT_EQ(problem_of_dir(group, allowed), "") << "allow_group_writable names it";
}

TEST_F(SafePathTest, AStickyDirectoryIsAWayButNeverAHolder) {
  const std::string tmp = mkdir("tmp", 01777);
  EXPECT_NE(problem_of_dir(tmp).find("writable by others (mode 1777)"), std::string::npos);
  // root's directory below a sticky one is fine (the sticky bit keeps others from renaming it)...
  const std::string mine = tmp + "/mine";
  ASSERT_EQ(::mkdir(mine.c_str(), 0755), 0);
  EXPECT_EQ(problem_of_dir(mine), "");
  // ...another user's is not.
  ASSERT_EQ(::chown(mine.c_str(), kOther, kOther), 0);
  EXPECT_NE(problem_of_dir(mine).find("is owned by"), std::string::npos);
}

TEST_F(SafePathTest, OnlyRootsSymlinksAreFollowedOnTheWay) {
  const std::string real = mkdir("real", 0755);
  const std::string link = dir_ + "/link";
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  EXPECT_EQ(problem_of_dir(link), "");
  ASSERT_EQ(::lchown(link.c_str(), kOther, kOther), 0);
  EXPECT_NE(problem_of_dir(link).find("is a symlink owned by"), std::string::npos) << problem_of_dir(link);
  EXPECT_NE(problem_of_dir(dir_ + "/real/../real").find("contains '..'"), std::string::npos);
}

TEST_F(SafePathTest, FilesAreNeverFollowedBlockedOnOrHardLinked) {
  const std::string logs = mkdir("logs", 0755);
  SafeDir dir = open_dir(logs);
  const FileRules append{O_WRONLY | O_APPEND | O_CREAT, 0640, 0};

  // A symlink to a root-only file, and a dangling one to where root would create a file.
  ASSERT_EQ(::symlink(secret_.c_str(), (logs + "/app.log.1").c_str()), 0);
  ASSERT_EQ(::symlink((dir_ + "/cron-x").c_str(), (logs + "/app.log").c_str()), 0);
  auto r = open_safe_file(dir, "app.log.1", {});
  ASSERT_TRUE(std::holds_alternative<PathProblem>(r));
  EXPECT_NE(std::get<PathProblem>(r).why.find("is a symlink"), std::string::npos);
  r = open_safe_file(dir, "app.log", {}, append);
  ASSERT_TRUE(std::holds_alternative<PathProblem>(r));
  EXPECT_TRUE(std::get<PathProblem>(r).unsafe);
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir_ + "/cron-x"))) << "nothing was created through the link";

  // A FIFO: refused at once (O_NONBLOCK), never waited on.
  ASSERT_EQ(::mkfifo((logs + "/fifo").c_str(), 0644), 0);
  r = open_safe_file(dir, "fifo", {});
  ASSERT_TRUE(std::holds_alternative<PathProblem>(r));
  EXPECT_EQ(std::get<PathProblem>(r).why, "is a FIFO, not a regular file");
  r = open_safe_file(dir, "fifo", {}, append);
  ASSERT_TRUE(std::holds_alternative<PathProblem>(r));

  // A hard link to the secret (as a user may make to any file it can see, where
  // protected_hardlinks is off).
  ASSERT_EQ(::link(secret_.c_str(), (logs + "/hard").c_str()), 0);
  auto text = read_safe_file(dir, "hard", {}, 1 << 20);
  ASSERT_TRUE(std::holds_alternative<PathProblem>(text));
  EXPECT_NE(std::get<PathProblem>(text).why.find("2 hard links"), std::string::npos);
  ASSERT_EQ(::unlink((logs + "/hard").c_str()), 0);

  // A device (as a link to /dev/zero would lead to).
  ASSERT_EQ(::symlink("/dev/zero", (logs + "/zero").c_str()), 0);
  text = read_safe_file(logs + "/zero", {}, 1 << 20);
  ASSERT_TRUE(std::holds_alternative<PathProblem>(text));
  expect_secret_untouched();
}

TEST_F(SafePathTest, OwnersAndSizeCapsOfFiles) {
  const std::string home = mkdir("home", 0750, kOther, kOther);
  write(home + "/.env", "A=1\n");
  ASSERT_EQ(::chown((home + "/.env").c_str(), kOther, kOther), 0);
  // Only when the config says whose it may be (an env_file in its user's home).
  auto text = read_safe_file(home + "/.env", {}, 1 << 20);
  ASSERT_TRUE(std::holds_alternative<PathProblem>(text));
  PathTrust theirs;
  theirs.owners.push_back(kOther);
  text = read_safe_file(home + "/.env", theirs, 1 << 20);
  ASSERT_TRUE(std::holds_alternative<std::string>(text)) << std::get<PathProblem>(text).describe(home + "/.env");
  EXPECT_EQ(std::get<std::string>(text), "A=1\n");

  write(dir_ + "/big", std::string(2 << 20, 'x'));
  text = read_safe_file(dir_ + "/big", {}, 1 << 20);
  ASSERT_TRUE(std::holds_alternative<PathProblem>(text));
  EXPECT_NE(std::get<PathProblem>(text).why.find("is larger than 1 MiB"), std::string::npos);
}

TEST_F(SafePathTest, SocketsAreChownedOnTheirOwnInodeOnly) {
  const std::string run = mkdir("run", 0755);
  SafeDir dir = open_dir(run);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(bind_safe_socket(dir, "app.sock", fd.get(), kOther, 4321, 0660), std::nullopt);
  struct stat st {};
  ASSERT_EQ(::lstat((run + "/app.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_uid, kOther);
  EXPECT_EQ(st.st_gid, 4321u);
  EXPECT_EQ(st.st_mode & 07777, 0660u);

  // Something that is not a socket in the way is refused, never removed.
  ASSERT_EQ(::symlink(secret_.c_str(), (run + "/other.sock").c_str()), 0);
  auto removed = remove_stale_socket(dir, "other.sock");
  ASSERT_TRUE(std::holds_alternative<PathProblem>(removed));
  EXPECT_TRUE(fs::is_symlink(run + "/other.sock"));
  // A chown of a name that became a link is refused too, and the target keeps its owner.
  EXPECT_NE(chown_safe_socket(dir, "other.sock", kOther, kOther, 0666), std::nullopt);
  expect_secret_untouched();
}

TEST_F(SafePathTest, ReplacedFilesAreWholeAndRelativeToTheDirectory) {
  const std::string state = mkdir("state", 0755);
  SafeDir dir = open_dir(state);
  // A leftover NAME.tmp link must not redirect the write.
  ASSERT_EQ(::symlink(secret_.c_str(), (state + "/running.json.tmp").c_str()), 0);
  ASSERT_EQ(replace_safe_file(dir, "running.json", "[]\n", 0644, true), std::nullopt);
  EXPECT_EQ(read(state + "/running.json"), "[]\n");
  EXPECT_FALSE(fs::exists(fs::symlink_status(state + "/running.json.tmp")));
  expect_secret_untouched();
  // The directory chmod'ed after it was opened is noticed on the descriptor.
  ASSERT_EQ(::chmod(state.c_str(), 0777), 0);
  EXPECT_NE(dir.recheck({}), std::nullopt);
}

}  // namespace
}  // namespace superd
