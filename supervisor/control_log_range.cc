// `superctl log NAME --since T --until U`: the lines whose time is in [T, U). For a log
// file with log_timestamps the stamps say it, and the files are searched on the thread
// pool (the loop never reads a disk); for console and journal services, the times superd
// read the lines it kept in memory (journald's own times cannot be read from here: the
// note says to ask journalctl).
#include <uv.h>

#include <algorithm>
#include <memory>

#include "ipc/protocol.h"
#include "supervisor/control.h"
#include "supervisor/log_since.h"

namespace superd {

using nlohmann::json;

namespace {

constexpr size_t kMaxRangeLines = 100000;
constexpr size_t kMaxRangeBytes = 8u << 20;  // well inside superctl's 16 MiB reply limit

struct RangeJob {
  uv_work_t req{};
  std::weak_ptr<ipc::Connection> conn;
  int64_t id = 0;
  std::vector<std::pair<std::string, int>> files;  // path, backups
  PathTrust trust;
  UnixMicros since = INT64_MIN, until = INT64_MAX;
  size_t max_lines = kMaxRangeLines;
  std::vector<std::string> lines;
  bool truncated = false;
  std::string error;  // a file refused (safe_path.h): said instead of lines
  std::string note;
  std::function<void(const std::shared_ptr<ipc::Connection>&)> then;  // follow
};

void run_range(uv_work_t* req) {
  auto* job = static_cast<RangeJob*>(req->data);
  std::vector<std::string> merged;
  for (auto& [path, backups] : job->files) {
    SinceResult r = lines_between(path, backups, job->since, job->until, job->max_lines, kMaxRangeBytes,
                                  job->trust);
    if (!r.error.empty()) {
      job->error = std::move(r.error);
      return;
    }
    job->truncated = job->truncated || r.truncated;
    if (merged.empty()) {
      merged = std::move(r.lines);
      continue;
    }
    // stdout's and stderr's files, each in time order: merged by stamp.
    std::vector<std::string> both;
    std::merge(std::make_move_iterator(merged.begin()), std::make_move_iterator(merged.end()),
               std::make_move_iterator(r.lines.begin()), std::make_move_iterator(r.lines.end()),
               std::back_inserter(both), [](const std::string& a, const std::string& b) {
                 return parse_stamp(a).value_or(INT64_MIN) < parse_stamp(b).value_or(INT64_MIN);
               });
    merged = std::move(both);
  }
  if (merged.size() > job->max_lines) {
    merged.erase(merged.begin(), merged.end() - static_cast<std::ptrdiff_t>(job->max_lines));
    job->truncated = true;
  }
  job->lines = std::move(merged);
}

void range_done(uv_work_t* req, int) {
  std::unique_ptr<RangeJob> job(static_cast<RangeJob*>(req->data));
  auto conn = job->conn.lock();
  if (!conn) return;
  if (!job->error.empty()) {
    conn->send(ipc::make_error(job->id, ipc::err::failed, job->error));
    conn->deferred_reply_sent();
    return;
  }
  json result = {{"lines", job->lines}, {"follow", static_cast<bool>(job->then)}};
  std::string note = job->note;
  if (job->truncated) {
    note += (note.empty() ? "" : " ") + std::string("More lines matched; only the newest ") +
            std::to_string(job->lines.size()) + " are shown (use -n, or a narrower --since/--until).";
  }
  if (!note.empty()) result["note"] = note;
  const bool sent = conn->send(ipc::make_ok(job->id, result));
  conn->deferred_reply_sent();
  if (sent && job->then) job->then(conn);
}

}  // namespace

// A bound given as text, or nothing when absent; false after answering bad_request.
bool Control::read_time_bound(const Conn& conn, const ipc::Request& req, const char* key,
                              std::optional<UnixMicros>* out) {
  if (!req.args.contains(key)) return true;
  const json& v = req.args[key];
  std::string error = std::string("'") + key + "' must be a string";
  if (v.is_string()) {
    if ((*out = parse_time_bound(v.get<std::string>(), unix_micros_now(), &error))) return true;
  }
  conn->send(ipc::make_error(req.id, ipc::err::bad_request, std::string("--") + key + ": " + error));
  return false;
}

void Control::cmd_log_range(const Conn& conn, const ipc::Request& req, Service& service) {
  std::optional<UnixMicros> since, until;
  if (!read_time_bound(conn, req, "since", &since) || !read_time_bound(conn, req, "until", &until)) return;
  const auto& c = service.config();
  auto job = std::make_unique<RangeJob>();
  job->conn = conn;
  job->id = req.id;
  job->since = since.value_or(INT64_MIN);
  job->until = until.value_or(INT64_MAX);
  if (req.args.contains("lines")) job->max_lines = static_cast<size_t>(req.args["lines"].get<int64_t>());
  const bool out_file = c.stdout_target == LogTarget::file;
  const bool err_file = c.stderr_own_pipe() && c.stderr_target == LogTarget::file;
  if ((out_file || err_file) && !c.log_timestamps) {
    conn->send(ipc::make_error(req.id, ipc::err::bad_request,
                               "'" + c.name + "' writes its log without times (log_timestamps = false): "
                               "--since and --until need log_timestamps = true"));
    return;
  }
  if (out_file) job->files.emplace_back(c.stdout_path, c.log_backups);
  if (err_file) job->files.emplace_back(c.stderr_path, c.log_backups);
  job->note = log_note(service);
  job->trust = host_.path_trust();
  // Lines kept in memory (console, journal) are filtered here, by the time superd read them.
  std::vector<std::string> kept = tail_between(service, job->max_lines, job->since, job->until);
  if (req.args.value("follow", false)) {
    const std::string name = service.name();
    job->then = [this, name, id = req.id](const std::shared_ptr<ipc::Connection>& c) {
      Service* s = supervisor_.find(name);
      Slot* slot = s ? host_.slot(*s) : nullptr;
      if (slot && slot->out) follow(c, id, *slot);
    };
  }
  if (job->files.empty()) {
    job->lines = std::move(kept);
    conn->defer_reply();
    job->req.data = job.get();
    range_done(&job.release()->req, 0);
    return;
  }
  conn->defer_reply();
  job->req.data = job.get();
  if (uv_queue_work(host_.loop(), &job->req, run_range, range_done) == 0) {
    job.release();
  } else {
    conn->deferred_reply_sent();
    conn->send(ipc::make_error(req.id, ipc::err::failed, "cannot read the log files now"));
  }
}

}  // namespace superd
