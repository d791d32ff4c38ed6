// `superctl log`: the last lines of a service's output (its log files, or for console and
// journal services the tail superd keeps in memory), then, with follow, every new line
// as it is captured until the client goes. --since/--until are control_log_range.cc.
// Also `reopen-logs`.
//
// The files are read on libuv's thread pool, never on the loop: a tail of 100,000 lines
// from a slow disk (or a file being rotated) must not delay anyone's `status`. The reply
// is bounded in bytes too (kLogReplyBytes, within the protocol's line limit); when the
// lines asked for do not fit, the newest ones that do are sent with "truncated": true.
#include <uv.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "ipc/protocol.h"
#include "supervisor/control.h"
#include "supervisor/log_tail.h"

namespace superd {

using nlohmann::json;

// The lines of both in-memory tails (stdout's, stderr's) in the order superd read them.
std::vector<std::string> Control::tail_between(const Service& service, size_t count, UnixMicros since,
                                               UnixMicros until) const {
  const Slot* slot = host_.slot(service);
  std::vector<std::pair<UnixMicros, std::string>> all;
  if (slot) {
    for (OutputPipe* pipe : {slot->out.get(), slot->err.get()}) {
      if (!pipe || !pipe->target().tail) continue;
      auto some = pipe->target().tail->lines(count, since, until);
      all.insert(all.end(), std::make_move_iterator(some.begin()), std::make_move_iterator(some.end()));
    }
  }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  if (all.size() > count) all.erase(all.begin(), all.end() - static_cast<std::ptrdiff_t>(count));
  std::vector<std::string> lines;
  for (auto& [t, line] : all) lines.push_back(std::move(line));
  return lines;
}

// Where a service's lines go when some are not in a file: one sentence for superctl to
// show ("" when everything is in files).
std::string Control::log_note(const Service& service) const {
  const Slot* slot = host_.slot(service);
  const auto& c = service.config();
  std::string note;
  uint64_t dropped = 0;
  bool memory_tail = false, journal = false;
  if (slot) {
    for (OutputPipe* pipe : {slot->out.get(), slot->err.get()}) {
      if (!pipe || !pipe->target().lines) continue;
      const LineTarget& t = *pipe->target().lines;
      note += (note.empty() ? c.name + " writes to " : "; and to ") + t.describe();
      dropped += t.dropped_lines();
      memory_tail = true;
      journal = journal || t.is_journal();
    }
  }
  if (note.empty()) return "";
  note += ". " + std::to_string(dropped) + " lines dropped so far.";
  if (memory_tail) {
    note += " Shown: what superd kept in memory (the last " + std::to_string(LineTail::kMaxLines) +
            " lines or " + std::to_string(LineTail::kMaxBytes >> 10) + " KiB of each stream, since it started)";
    note += journal ? "; the journal has them all: journalctl -t " + c.name + "." : ".";
  }
  return note;
}

namespace {

// The JSON of a reply's lines; the rest of the reply (id, keys) takes far less than the
// headroom left below the protocol's 1 MiB line.
constexpr size_t kLogReplyBytes = ipc::kMaxLineBytes - 4096;

struct LogJob {
  uv_work_t req{};
  std::weak_ptr<bool> control_alive;
  Control* control = nullptr;
  std::weak_ptr<ipc::Connection> conn;
  int64_t id = 0;
  std::string service;
  bool follow = false;
  size_t count = 0;
  std::vector<std::string> paths;  // stdout's file, then stderr's when it has its own
  PathTrust trust;
  std::vector<std::string> kept;  // lines kept in memory (console, journal)
  std::string note;
  // Filled in on the pool thread.
  std::vector<std::string> lines;
  bool truncated = false;
  std::string error;
};

void read_tails(uv_work_t* req) {
  auto* job = static_cast<LogJob*>(req->data);
  // Two files cannot be interleaved faithfully; stderr's tail follows stdout's, and each
  // gets its share of the reply.
  if (job->paths.empty()) return;
  const size_t share = kLogReplyBytes / job->paths.size();
  for (const std::string& path : job->paths) {
    Tail tail = tail_lines(path, job->count, share, job->trust);
    if (!tail.error.empty()) {
      job->error = tail.error;
      return;
    }
    job->truncated = job->truncated || tail.truncated;
    job->lines.insert(job->lines.end(), std::make_move_iterator(tail.lines.begin()),
                      std::make_move_iterator(tail.lines.end()));
  }
}

}  // namespace

Service* Control::log_service(const Conn& conn, const ipc::Request& req) {
  const json name = req.args.value("name", json());
  if (!name.is_string()) {
    conn->send(ipc::make_error(req.id, ipc::err::bad_request, "'name' (a service) is required"));
    return nullptr;
  }
  Service* service = supervisor_.find(name.get<std::string>());
  // A service with `instances`: its only instance, or the operator picks one (their
  // files are apart, and so are their lines).
  if (!service && supervisor_.find_template(name.get<std::string>())) {
    auto instances = supervisor_.instances_of(name.get<std::string>());
    if (instances.size() == 1) service = instances.front();
    if (instances.size() > 1) {
      conn->send(ipc::make_error(req.id, ipc::err::bad_request,
                                 name.get<std::string>() + " has " + std::to_string(instances.size()) +
                                     " instances, each with its own log: name one, as " + instances.front()->name()));
      return nullptr;
    }
  }
  if (!service) {
    conn->send(ipc::make_error(req.id, ipc::err::not_found, unknown_service(name.get<std::string>())));
  }
  return service;
}

void Control::cmd_log(const Conn& conn, const ipc::Request& req) {
  Service* service = log_service(conn, req);
  if (!service) return;
  const json lines_arg = req.args.value("lines", json(10));
  if (!lines_arg.is_number_integer() || lines_arg.get<int64_t>() < 0 ||
      lines_arg.get<int64_t>() > 100000) {
    conn->send(ipc::make_error(req.id, ipc::err::bad_request, "'lines' must be 0..100000"));
    return;
  }
  if (req.args.contains("since") || req.args.contains("until")) return cmd_log_range(conn, req, *service);
  const auto& c = service->config();
  auto job = std::make_unique<LogJob>();
  job->control_alive = alive_;
  job->control = this;
  job->conn = conn;
  job->id = req.id;
  job->service = c.name;
  job->follow = req.args.value("follow", false);
  job->count = static_cast<size_t>(lines_arg.get<int64_t>());
  if (c.stdout_target == LogTarget::file) job->paths.push_back(c.stdout_path);
  if (c.stderr_own_pipe() && c.stderr_target == LogTarget::file) job->paths.push_back(c.stderr_path);
  job->kept = tail_between(*service, job->count, INT64_MIN, INT64_MAX);
  job->note = log_note(*service);
  job->trust = host_.path_trust();
  job->req.data = job.get();
  conn->defer_reply();
  const int rc = uv_queue_work(host_.loop(), &job->req, read_tails, [](uv_work_t* req, int status) {
    std::unique_ptr<LogJob> job(static_cast<LogJob*>(req->data));
    if (status != 0 || job->control_alive.expired()) return;
    auto conn = job->conn.lock();
    if (!conn) return;
    job->lines.insert(job->lines.end(), std::make_move_iterator(job->kept.begin()),
                      std::make_move_iterator(job->kept.end()));
    job->control->finish_log(conn, job->id, job->service, job->follow, std::move(job->lines),
                             job->truncated, job->error, job->note);
    conn->deferred_reply_sent();
  });
  if (rc != 0) {
    conn->deferred_reply_sent();
    conn->send(ipc::make_error(req.id, ipc::err::failed, std::string("reading the log: ") + uv_strerror(rc)));
    return;
  }
  job.release();  // the after-work callback owns it
}

// Back on the loop: the reply, then the follow stream when asked for (the service may
// have been removed meanwhile).
void Control::finish_log(const Conn& conn, int64_t id, const std::string& service, bool follow_too,
                         std::vector<std::string> lines, bool truncated, const std::string& error,
                         const std::string& note) {
  if (!conn->is_open()) return;
  if (!error.empty()) {
    conn->send(ipc::make_error(id, ipc::err::failed, error));
    return;
  }
  json result = {{"lines", std::move(lines)}, {"follow", follow_too}};
  if (truncated) result["truncated"] = true;
  if (!note.empty()) result["note"] = note;
  if (!conn->send(ipc::make_ok(id, std::move(result)))) return;
  Service* s = supervisor_.find(service);
  Slot* slot = s ? host_.slot(*s) : nullptr;
  if (follow_too && slot && slot->out) follow(conn, id, *slot);
}

// Every new line of the service, until the client goes (or stops reading and its output
// bound is exceeded, which closes it).
void Control::follow(const Conn& conn, int64_t id, Slot& slot) {
  std::weak_ptr<ipc::Connection> weak = conn;
  auto listener = [weak, id](std::string_view line, std::string_view stamp) {
    auto c = weak.lock();
    if (!c) return;
    std::string text = stamp.empty() ? std::string(line) : std::string(stamp) + " " + std::string(line);
    c->send(json{{"id", id}, {"line", std::move(text)}});
  };
  const std::string service = slot.service->name();
  std::erase_if(followers_, [](const auto& f) { return f.second.expired(); });
  followers_.emplace_back(service, conn);
  OutputPipe* err = slot.err.get();
  const int out_id = slot.out->add_listener(listener);
  const int err_id = err ? err->add_listener(listener) : 0;
  conn->on_close = [this, service, out_id, err_id] {
    Service* s = supervisor_.find(service);
    Slot* current = s ? host_.slot(*s) : nullptr;
    if (!current) return;
    // Listeners keep their ids when a restart hands them to fresh pipes.
    if (current->out) current->out->remove_listener(out_id);
    if (err_id && current->err) current->err->remove_listener(err_id);
  };
}

void Control::end_unauthorized_followers() {
  for (auto& [name, weak] : followers_) {
    auto conn = weak.lock();
    if (conn && !conn->peer().authorized) conn->close();
  }
  std::erase_if(followers_, [](const auto& f) { return f.second.expired(); });
}

void Control::end_followers(const std::string& service) {
  for (auto& [name, weak] : followers_) {
    if (name != service) continue;
    if (auto conn = weak.lock()) conn->close();
  }
  std::erase_if(followers_, [&](const auto& f) { return f.first == service; });
}

size_t Control::open_followers(const ipc::Connection* except) const {
  std::set<const ipc::Connection*> open;
  for (const auto& [name, weak] : followers_) {
    if (auto conn = weak.lock(); conn && conn->is_open() && conn.get() != except) open.insert(conn.get());
  }
  return open.size();
}

void Control::cmd_reopen_logs(const Conn& conn, const ipc::Request& req) {
  spdlog::info("reopen-logs (uid {})", conn->peer().uid);
  conn->send(ipc::make_ok(req.id, {{"files", host_.reopen_logs()}}));
}

}  // namespace superd
