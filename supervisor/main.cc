// superd: `superd -c FILE` runs in the foreground; `superd --check -c FILE` validates;
// `superd import FILE...` translates systemd units or supervisord programs.
#include <linux/close_range.h>
#include <malloc.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "proc/fd_limit.h"
#include "proc/spawn_slots.h"
#include "supervisor/cgroups.h"
#include "supervisor/config_load.h"
#include "supervisor/adoption.h"
#include "supervisor/daemon.h"
#include "supervisor/reexec_check.h"
#include "supervisor/reexec_state.h"
#include "import/import.h"
#include "version.h"

namespace {

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("superd");
  // Under systemd the journal adds its own timestamps; by hand they help.
  logger->set_pattern(::getenv("JOURNAL_STREAM") ? "%^%l%$ %v" : "%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

int check(const std::string& path, bool quiet) {
  auto result = superd::load_config_file(path);
  for (const auto& e : result.errors) std::cerr << e.format() << "\n";
  for (const auto& w : result.warnings) std::cerr << w.format() << "\n";
  if (!result.errors.empty()) {
    std::cerr << path << ": " << result.errors.size()
              << (result.errors.size() == 1 ? " error" : " errors") << "\n";
    return 1;
  }
  // Cgroups as superd would find them, without changing anything: one line, then each
  // limit this host cannot enforce (SPEC: an error, unless the host lacks the controller
  // entirely, which is a warning).
  const superd::Cgroups cgroups = superd::setup_cgroups(result.config->supervisor.cgroup, false);
  if (!quiet) std::cout << cgroups.line() << "\n";
  size_t errors = 0;
  for (const auto& s : result.config->services) {
    for (const auto& issue : superd::limit_issues(cgroups, s.resources)) {
      superd::ConfigError e{s.pos, (issue.error ? "" : "warning: ") + std::string("service '") + s.name +
                                       "': " + issue.message};
      std::cerr << e.format() << "\n";
      errors += issue.error;
    }
  }
  if (errors > 0) {
    std::cerr << path << ": " << errors << (errors == 1 ? " error" : " errors") << "\n";
    return 1;
  }
  if (!quiet) std::cout << path << ": ok (" << result.config->services.size() << " services)\n";
  return 0;
}

// The binary this process runs, for `superctl reexec`: the path it was started from
// (an upgrade replaces the file there; /proc/self/exe then says "(deleted)").
std::string own_exe() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  std::string path(buf, static_cast<size_t>(n));
  const std::string deleted = " (deleted)";
  if (path.size() > deleted.size() && path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0) {
    path.resize(path.size() - deleted.size());
  }
  return path;
}

// The state a re-executing superd left in memfd `fd` (closed here). Unreadable: every
// fd it handed over is closed, and this superd starts as after a crash of the previous
// one (its services, named in running.json, are stopped first).
std::optional<superd::SavedState> take_state(int fd, std::vector<std::string>* notes) {
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  superd::DecodedState decoded = superd::decode_state(text);
  *notes = decoded.warnings;
  if (!decoded.state) {
    notes->push_back("the state of the previous superd is unreadable (" + decoded.error +
                     "); starting afresh");
    ::syscall(SYS_close_range, 3U, ~0U, 0);
  }
  return decoded.state;
}

// `superd --reexec-check`: what a running superd asks of the binary it would exec.
int check_for_reexec(const std::string& config_path) {
  const int rc = check(config_path, true);
  if (rc == 0) std::cout << superd::reexec_check_line() << "\n";
  return rc;
}

// Relative to "/": the daemon runs `superd --reexec-check -c PATH` from there and reloads
// PATH later, so it must not depend on the directory superd was started in.
std::string absolute_path(const std::string& path) {
  std::error_code cwd_error;
  auto absolute = std::filesystem::absolute(path, cwd_error);
  return cwd_error ? path : absolute.lexically_normal().string();
}

// The process itself, before anything else runs: inherited fds, the allocator, and the
// open-file limit. errno of a failed raise of the limit, 0 when it worked.
int prepare_process() {
  // Whatever fds we inherited (a shell's, a CI runner's) must not reach a service, nor
  // stay open across an exec of ours: mark them all close-on-exec.
  ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  // The heap a burst of requests leaves behind goes back to the system in one trim when
  // the burst is over (ipc ServerCore::trim_heap_soon), not page by page as each reply
  // is freed: a request that finds its pages still mapped costs a quarter of one that
  // faults them in (status of 100 services: 2.1 ms of superd's time with the old 32 KiB
  // mmap threshold and a trim after every connection). That holds for large blocks too:
  // a reload-config of 5,000 services builds two arrays of about 7 MiB; from mmap they
  // were faulted in afresh by every reload (3,600 faults, 65 ms on a 2-core VM), from
  // the heap the next reload of a burst finds them mapped. Only blocks of 32 MiB and
  // more come from mmap and go back when freed.
  // One arena: the idle trim returns only a thread arena's free chunks, never its top,
  // which free() alone shrinks, past the trim threshold. superd's threads (libuv's pool,
  // the log sink's worker) allocate little, so they share the main arena's lock.
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 32 << 20);
  ::mallopt(M_ARENA_MAX, 1);
  // Two pipe ends per service: thousands of services need more fds than a soft limit of
  // 1024 (proc/fd_limit.h; the services get the old limit back).
  const int fd_limit_errno = superd::raise_fd_limit() ? 0 : errno;
  // The low descriptors a spawn lends to its child (proc/spawn_slots.h), while they are
  // still low and superd has one thread.
  superd::reserve_spawn_slots();
  return fd_limit_errno;
}

}  // namespace

int main(int argc, char** argv) {
  const int fd_limit_errno = prepare_process();

  // `superd import` takes its own arguments (--from, files): hand them over untouched.
  if (argc >= 2 && std::string(argv[1]) == "import") {
    std::vector<std::string> args(argv + 2, argv + argc);
    return superd::run_import(args, std::cout, std::cerr);
  }

  CLI::App app{"superd: a process supervisor for the services of one deployment"};
  std::string config_path = "/etc/super/super.toml";
  bool check_only = false;
  bool reexec_check = false;
  int state_fd = -1;
  superd::DaemonOptions options;
  app.add_option("-c,--config", config_path, "config file")->capture_default_str();
  app.add_flag("--check", check_only, "validate the config and exit (0 ok, 1 invalid)");
  app.add_flag("--init", options.init,
               "a container's init duties without being PID 1 (under tini, say): one "
               "shutdown budget, then TERM and KILL to every descendant left");
  app.add_flag("--reexec-check", reexec_check,
               "what `superctl reexec` asks of a new binary: check the config quietly and say "
               "which state formats this superd reads");
  app.add_option("--state-fd", state_fd, "(superd's own re-exec) the state to take over")
      ->group("");
  app.set_version_flag("--version", std::string("superd ") + SUPERD_VERSION);
  app.footer("superd import [--from systemd|supervisord] FILE...  prints a config translated\n"
             "from systemd units or supervisord programs.");
  CLI11_PARSE(app, argc, argv);

  if (check_only) return check(config_path, false);
  config_path = absolute_path(config_path);
  if (reexec_check) return check_for_reexec(config_path);
  std::vector<std::string> state_notes;
  if (state_fd >= 0) options.state = take_state(state_fd, &state_notes);
  else options.stored_fds = superd::take_stored_fds();  // systemd's fd store, after a crash
  options.exe = own_exe();

  auto loaded = superd::load_config_file(config_path);
  if (!loaded.errors.empty()) {
    for (const auto& e : loaded.errors) std::cerr << e.format() << "\n";
    std::cerr << "superd: refusing to start: " << loaded.errors.size()
              << (loaded.errors.size() == 1 ? " error" : " errors") << " in " << config_path
              << "\n";
    return 1;
  }
  setup_logging(loaded.config->supervisor.log_level);
  for (const auto& w : loaded.warnings) spdlog::warn("{}", w.format());
  if (fd_limit_errno != 0) {
    spdlog::warn("could not raise the open-file limit to the hard limit: {}", std::strerror(fd_limit_errno));
  }
  for (const auto& note : state_notes) spdlog::warn("reexec: {}", note);
  loaded.config->path = config_path;
  superd::Daemon daemon(std::move(*loaded.config), options);
  return daemon.run();
}
