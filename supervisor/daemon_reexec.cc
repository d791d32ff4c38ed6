// `superctl reexec`: the binary now at superd's path replaces this one, same pid, and no
// service notices (SPEC "Upgrades").
//
//  1. the new binary is checked (reexec_check.h); a failure leaves everything as it was;
//  2. meanwhile, refused when the state cannot be written down now (a shutdown, a roll, a
//     start-new-first restart, a removed service still stopping) or when the config file
//     no longer says what runs (the new superd loads the file: run reload-config first);
//  3. from the check on, the control socket accepts no one (clients queue in its
//     backlog, and the new superd answers them); the connections already accepted are
//     answered by this one: the exec waits until their clients have closed them (`log
//     -f` followers aside: they end at the exec and superctl exits), and cuts what is
//     still open when the budget ends (an idle `nc -U` must not hold an upgrade);
//  4. every capture pipe stops being read and every log sink writes what it holds; a
//     program being exec'd right now is waited for (a few ms);
//  5. the state goes into a memfd (reexec_state.h), the client hears "ok", and superd
//     execs itself with the state's fds and the signals it handles blocked, so none is
//     lost or fatal in between. The new superd (restore_services) takes it all up again: children that
//     ended meanwhile are reaped then, deadlines that passed fire at once.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include "proc/fd_limit.h"
#include "supervisor/config_instances.h"
#include "supervisor/config_load.h"
#include "supervisor/daemon.h"
#include "supervisor/reload_plan.h"
#include "version.h"

namespace superd {
namespace {

constexpr uint64_t kTickMs = 1;  // a few ticks per reexec: the log files catch up in ~1 ms
constexpr auto kQuiesceBudget = std::chrono::seconds(5);

// Blocked across the exec: they wait, pending, for the new superd's handlers.
sigset_t reexec_signals() {
  sigset_t set = handled_signals();
  sigaddset(&set, SIGCHLD);
  return set;
}

bool set_cloexec(int fd, bool on) {
  const int flags = ::fcntl(fd, F_GETFD);
  return flags >= 0 && ::fcntl(fd, F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC) == 0;
}

}  // namespace

std::string Daemon::reexec_refusal() {
  if (std::string why = supervisor_.reexec_busy(); !why.empty()) return why;
  LoadResult loaded = load_config_file(config_.path);
  if (!loaded.errors.empty()) return config_.path + " is invalid now: " + loaded.errors.front().format();
  const Config next = with_saved_scale(std::move(*loaded.config), scale_store_.saved()).config;
  const ReloadPlan plan = plan_reload(supervisor_.current(), next);
  std::vector<std::string> differ = plan.added;
  differ.insert(differ.end(), plan.removed.begin(), plan.removed.end());
  differ.insert(differ.end(), plan.changed.begin(), plan.changed.end());
  if (!differ.empty() || next.supervisor.socket != config_.supervisor.socket ||
      next.supervisor.state_dir != config_.supervisor.state_dir) {
    return config_.path + " no longer says what runs (" +
           (differ.empty() ? std::string("[supervisor]") : fmt::format("{}", fmt::join(differ, ", "))) +
           "): run `superctl reload-config` first, or put the file back";
  }
  return "";
}

void Daemon::reexec(const std::shared_ptr<ipc::Connection>& conn, int64_t id) {
  spdlog::info("reexec requested by uid {}", conn->peer().uid);
  const char* refused = options_.exe.empty() ? "superd does not know the path of its own binary"
                        : reexec_            ? "a reexec is already under way"
                                             : nullptr;
  if (refused) {
    spdlog::warn("reexec refused: {}", refused);
    conn->send(ipc::make_error(id, ipc::err::failed, std::string("reexec refused: ") + refused));
    return;
  }
  conn->defer_reply();
  reexec_ = std::make_unique<ReexecJob>();
  reexec_->conn = conn;
  reexec_->id = id;
  reexec_->check = std::make_unique<ReexecCheck>(&loop_, host_);
  // The new binary loads the config while this one compares it with what runs: the two
  // loads take the same time, on two cores.
  ReexecJob* job = reexec_.get();
  reexec_->check->start(options_.exe, config_.path, [this, job](bool ok, const std::string& why) {
    // Refused meanwhile: this job is going, and reexec_ may already be a newer one's.
    if (reexec_.get() != job || reexec_->control) return;
    if (!ok) return reexec_fail(why);
    reexec_->control = server_->hand_over();
    if (!reexec_->control) return reexec_fail("the control socket could not be handed over");
    reexec_->deadline = Clock::now() + kQuiesceBudget;
    uv_timer_init(&loop_, reexec_->tick.get());
    reexec_->tick.mark_initialized();
    reexec_->tick->data = this;
    uv_timer_start(reexec_->tick.get(), [](uv_timer_t* t) { static_cast<Daemon*>(t->data)->reexec_tick(); },
                   0, kTickMs);
  });
  if (!reexec_) return;  // the check could not even start, and said so
  if (std::string why = reexec_refusal(); !why.empty()) reexec_fail(why);
}

void Daemon::reexec_fail(const std::string& why) {
  spdlog::warn("reexec refused: {}", why);
  if (reexec_->control) {  // the check had passed: outputs may be quiesced, the socket handed over
    host_.resume_outputs();
    if (auto error = server_->take_back(*reexec_->control)) spdlog::error("reexec: control socket: {}", *error);
    reexec_->control.reset();
  }
  if (auto conn = reexec_->conn.lock()) {
    conn->send(ipc::make_error(reexec_->id, ipc::err::failed, "reexec refused: " + why));
    conn->deferred_reply_sent();
  }
  // Not from inside the check's own callback: the job goes on the next turn.
  auto* job = reexec_.release();
  uv_timer_t* t = new uv_timer_t;
  uv_timer_init(&loop_, t);
  t->data = job;
  uv_timer_start(t, [](uv_timer_t* timer) {
    delete static_cast<ReexecJob*>(timer->data);
    uv_close(reinterpret_cast<uv_handle_t*>(timer), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  }, 0, 0);
}

// Every few ms: first until the connections already accepted are answered (the pipes
// are still read meanwhile), then until the pipes are quiet and nothing is being exec'd;
// each within its budget.
void Daemon::reexec_tick() {
  if (std::string why = supervisor_.reexec_busy(); !why.empty()) return reexec_fail(why);
  if (!reexec_->connections_done) {
    if (const size_t owed = unanswered_connections(); owed > 0) {
      if (Clock::now() < reexec_->deadline) {
        if (!reexec_->waiting_logged) {
          spdlog::info("reexec: waiting for {} control connection(s) to finish", owed);
          reexec_->waiting_logged = true;
        }
        return;
      }
      spdlog::warn("reexec: {} control connection(s) still open after {} s are cut", owed,
                   kQuiesceBudget.count());
    }
    reexec_->connections_done = true;
    reexec_->deadline = Clock::now() + kQuiesceBudget;
  }
  std::string busy;
  const bool in_flight = host_.reexec_busy(&busy);
  host_.quiesce_outputs();
  if (in_flight || !host_.outputs_idle()) {
    if (Clock::now() < reexec_->deadline) return;
    return reexec_fail(in_flight ? busy + " for too long"
                                 : "the log files did not catch up in " +
                                       std::to_string(kQuiesceBudget.count()) + " s (a slow disk?)");
  }
  const std::string why = exec_with_state();
  reexec_fail("exec " + options_.exe + ": " + why);
}

// Connections accepted before the socket was handed over and not yet closed by their
// client, but for the requester's own and `log -f` followers'.
size_t Daemon::unanswered_connections() const {
  size_t open = server_->connection_count();
  const auto requester = reexec_->conn.lock();
  if (requester && requester->is_open() && open > 0) --open;
  const size_t followers = control_.open_followers(requester.get());
  return open > followers ? open - followers : 0;
}

SavedState Daemon::saved_state(const ipc::HandedOver& control) {
  SavedState state;
  state.control_fd = control.listen_fd;
  state.control_lock_fd = control.lock_fd;
  state.state_lock_fd = lock_.fd();
  state.ready_sent = ready_sent_;
  state.reexecs = (options_.state ? options_.state->reexecs : 0) + 1;
  state.cgroup_own_v2 = cgroups_.origin.own_v2;
  state.cgroup_own_v2_dir = cgroups_.origin.own_v2_dir;
  for (Service* s : supervisor_.in_order()) {
    SavedService saved = host_.save(*s);
    saved.pending_start = supervisor_.pending(s->name());
    state.services.push_back(std::move(saved));
  }
  return state;
}

std::string Daemon::exec_with_state() {
  const SavedState state = saved_state(*reexec_->control);
  const std::string text = encode_state(state);
  UniqueFd memfd(::memfd_create("superd-state", MFD_CLOEXEC));
  if (!memfd || ::write(memfd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      ::lseek(memfd.get(), 0, SEEK_SET) != 0) {
    return std::string("memfd: ") + std::strerror(errno);
  }
  if (auto conn = reexec_->conn.lock()) {
    conn->send(ipc::make_ok(reexec_->id, {{"pid", ::getpid()}, {"exe", options_.exe}, {"reexecs", state.reexecs}}));
  }
  spdlog::info("re-executing {} with {} services ({} bytes of state)", options_.exe, state.services.size(),
               text.size());
  sd_notify(0, "STATUS=re-executing");
  std::vector<int> kept = fds_of(state);
  kept.push_back(memfd.get());
  for (int fd : kept) set_cloexec(fd, false);
  const sigset_t blocked = reexec_signals();
  sigset_t before;
  pthread_sigmask(SIG_BLOCK, &blocked, &before);
  const std::string fd_arg = std::to_string(memfd.get());
  std::vector<std::string> args = {options_.exe, "-c", config_.path, "--state-fd", fd_arg};
  if (options_.init) args.push_back("--init");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  restore_fd_limit();  // the new superd raises it again from what this one found
  ::execv(options_.exe.c_str(), argv.data());
  const int error = errno;
  raise_fd_limit();
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
  for (int fd : kept) set_cloexec(fd, true);
  return std::strerror(error);
}

// The new superd: each service as the state says, the starts that waited for their
// `after` queued again, a service the state does not know (none, unless the state was
// damaged) started as at boot if enabled; then whatever ended during the exec is reaped.
void Daemon::restore_services() {
  const SavedState& state = *options_.state;
  std::vector<std::string> pending;
  std::set<std::string> saved_names;
  size_t restored = 0;
  for (const auto& saved : state.services) {
    saved_names.insert(saved.name);
    Service* s = supervisor_.find(saved.name);
    if (!s) {
      spdlog::warn("reexec: {} is in the state but not in the config; its processes are left alone",
                   saved.name);
      continue;
    }
    host_.restore(*s, saved);
    ++restored;
    if (saved.pending_start) pending.push_back(saved.name);
  }
  for (Service* s : supervisor_.in_order()) {
    if (!saved_names.count(s->name()) && control_.effective_enabled(s->config())) pending.push_back(s->name());
  }
  ready_sent_ = state.ready_sent;
  if (state.adopted) {
    spdlog::info("superd {} supervising {} services, {} adopted from the superd that crashed, socket {}",
                 SUPERD_VERSION, supervisor_.in_order().size(), restored, config_.supervisor.socket);
  } else {
    spdlog::info("superd {} re-executed (#{}): {} services taken over, none restarted, socket {}",
                 SUPERD_VERSION, state.reexecs, restored, config_.supervisor.socket);
  }
  supervisor_.resume(pending);
  host_.reap_now();
  host_.check_restored();
  const sigset_t blocked = reexec_signals();
  pthread_sigmask(SIG_UNBLOCK, &blocked, nullptr);
}

}  // namespace superd
