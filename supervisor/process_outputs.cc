// ProcessHost: a service's capture pipes and where their bytes go (a log file, superd's
// console, the journal), fresh pipes for a start-new-first restart, and reopen-logs.
#include <spdlog/spdlog.h>

#include <set>

#include "supervisor/process_host.h"

namespace superd {

bool ProcessHost::outputs_differ(const ServiceConfig& a, const ServiceConfig& b) {
  return a.stdout_target != b.stdout_target || a.stderr_target != b.stderr_target ||
         a.stdout_path != b.stdout_path || a.stderr_path != b.stderr_path ||
         a.stderr_given != b.stderr_given || a.log_max_bytes != b.log_max_bytes ||
         a.log_backups != b.log_backups || a.log_timestamps != b.log_timestamps;
}

std::optional<OutputTarget> ProcessHost::target_of(const ServiceConfig& c, bool is_stderr, std::string* error) {
  const LogTarget kind = is_stderr ? c.stderr_target : c.stdout_target;
  OutputTarget target;
  if (kind == LogTarget::file) {
    const std::string& path = is_stderr ? c.stderr_path : c.stdout_path;
    // The sink makes and checks the file's directory when it opens it (log_sink.h).
    LogSinkOptions options{path, c.log_max_bytes, c.log_backups};
    options.stamp_notices = c.log_timestamps;
    options.trust = trust_;
    target.file = LogSink::create(loop_, std::move(options));
    target.timestamps = c.log_timestamps;
    return target;
  }
  if (!log_outputs_) {
    *error = "no console or journal in this superd";
    return std::nullopt;
  }
  if (kind == LogTarget::console) {
    // `stdout = "console"` is superd's stdout; `stderr = "console"` its stderr.
    target.lines = std::make_shared<ConsoleLines>(log_outputs_->console(is_stderr ? 2 : 1), c.name);
  } else {
    target.lines = std::make_shared<JournalLines>(log_outputs_->journal(), c.name, is_stderr ? 3 : 6);
  }
  target.tail = std::make_shared<LineTail>();
  return target;
}

bool ProcessHost::open_outputs(Slot& slot, std::string* error) {
  const ServiceConfig& c = slot.service->config();
  auto make = [&](bool is_stderr) -> std::unique_ptr<OutputPipe> {
    auto target = target_of(c, is_stderr, error);
    if (!target) {
      *error = c.name + ": " + *error;
      return nullptr;
    }
    std::string pipe_error;
    auto pipe = OutputPipe::open(loop_, std::move(*target), &pipe_error);
    if (!pipe) *error = c.name + ": " + pipe_error;
    return pipe;
  };
  slot.out = make(false);
  if (!slot.out) return false;
  slot.err.reset();
  if (c.stderr_own_pipe()) {
    slot.err = make(true);
    if (!slot.err) return false;
  }
  return true;
}

bool ProcessHost::fresh_pipes(Slot& slot, std::string* error) {
  auto renew = [&](std::unique_ptr<OutputPipe>& pipe) {
    if (!pipe) return true;
    auto fresh = OutputPipe::open(loop_, pipe->target(), error);
    if (!fresh) return false;
    pipe->move_listeners_to(*fresh);  // `log -f` clients follow the new instance
    slot.old_outputs.emplace_back(slot.service->old_pgid(), std::move(pipe));
    pipe = std::move(fresh);
    return true;
  };
  return renew(slot.out) && renew(slot.err);
}

void ProcessHost::set_writer_pid(Slot& slot, pid_t pid) {
  if (slot.out) slot.out->set_pid(pid);
  if (slot.err) slot.err->set_pid(pid);
}

size_t ProcessHost::reopen_logs() {
  std::set<LogSink*> done;
  auto reopen = [&](const std::unique_ptr<OutputPipe>& pipe) {
    if (!pipe || !pipe->sink() || !done.insert(pipe->sink().get()).second) return;
    pipe->sink()->reopen();
  };
  for (auto& [service, slot] : slots_) {
    reopen(slot->out);
    reopen(slot->err);
    for (auto& [owner, pipe] : slot->old_outputs) reopen(pipe);
  }
  spdlog::info("reopen-logs: {} log files closed and opened again by name", done.size());
  return done.size();
}

bool ProcessHost::writes_log(const Service& service, const std::string& path, const PathTrust& trust) const {
  const Slot* slot = this->slot(service);
  if (!slot) return false;
  auto writes = [&](const std::unique_ptr<OutputPipe>& pipe) {
    const LogSink* sink = pipe ? pipe->sink().get() : nullptr;
    return sink && sink->path() == path && !sink->open_failed() && sink->trust() == trust;
  };
  return writes(slot->out) || writes(slot->err);
}

}  // namespace superd
