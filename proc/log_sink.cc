// The loop side of the file sink: the pending buffer, the splice requests, and one job
// at a time on the thread pool (log_sink_worker.cc is what the job does).
#include "proc/log_sink.h"

#include <cstring>
#include <utility>

#include "base/log_time.h"
#include "proc/log_file.h"

namespace superd {

namespace {
// Reads that do not fit anywhere land here and are dropped. One buffer for every sink:
// only the loop thread reads into it and nothing reads it back. (A 64 KiB member made
// each sink its own mmap with two pages touched: 0.8 MiB of RSS for 100 services.)
char drop_scratch[65536];
}  // namespace

std::shared_ptr<LogSink> LogSink::create(uv_loop_t* loop, LogSinkOptions options) {
  return std::shared_ptr<LogSink>(new LogSink(loop, std::move(options)));
}

LogSink::LogSink(uv_loop_t* loop, LogSinkOptions options)
    : loop_(loop), options_(std::move(options)) {
  work_req_.data = this;
}

LogSink::~LogSink() = default;

uv_buf_t LogSink::reserve(size_t suggested) {
  if (pending_.size() >= options_.max_pending) {
    return uv_buf_init(drop_scratch, sizeof drop_scratch);
  }
  return uv_buf_init(pending_.reserve(suggested), static_cast<unsigned>(suggested));
}

void LogSink::commit(const char* base, size_t n) {
  if (base == drop_scratch) {
    if (dropped_ == 0 || drop_reason_.empty()) drop_reason_ = "the disk is not keeping up";
    dropped_ += n;
  } else {
    pending_.commit(n);
  }
  kick();
}

void LogSink::append(const char* data, size_t n) {
  if (pending_.size() + n > options_.max_pending) {
    count_dropped(n, "the disk is not keeping up");
    return;
  }
  pending_.append(data, n);
  kick();
}

void LogSink::append_stamped(const char* data, size_t n, const char* stamp, bool* at_line_start) {
  if (pending_.size() + n > options_.max_pending) {
    count_dropped(n, "the disk is not keeping up");
    *at_line_start = std::memchr(data, '\n', n) ? data[n - 1] == '\n' : *at_line_start;
    return;
  }
  superd::append_stamped(data, n, stamp, at_line_start, pending_);
  kick();
}

void LogSink::count_dropped(uint64_t bytes, const std::string& reason) {
  if (bytes == 0) return;
  if (dropped_ == 0 || drop_reason_.empty()) drop_reason_ = reason;
  dropped_ += bytes;
}

void LogSink::splice_from(std::shared_ptr<PipeSource> source, const void* owner, SpliceDone done) {
  for (auto& s : splices_) {
    if (s.source == source) {  // already asked for: one move serves both
      if (owner) s.owner = owner, s.done = std::move(done);
      kick();
      return;
    }
  }
  splices_.push_back({std::move(source), owner, std::move(done)});
  kick();
}

void LogSink::forget_owner(const void* owner) {
  for (auto* list : {&splices_, &job_splices_, &finishing_}) {
    for (auto& s : *list) {
      if (s.owner == owner) s.owner = nullptr, s.done = nullptr;
    }
  }
  release_on_room(owner);
}

void LogSink::reopen() {
  reopen_wanted_ = true;
  kick();
}

void LogSink::kick() {
  if (in_flight_) return;
  // A notice of dropped bytes waits for output that proves the disk works.
  if (pending_.size() == 0 && splices_.empty() && !reopen_wanted_) return;
  writing_.swap(pending_);
  pending_.clear();
  job_splices_ = std::move(splices_);
  splices_.clear();
  job_reopen_ = std::exchange(reopen_wanted_, false);
  job_dropped_before_ = dropped_;
  job_drop_reason_ = drop_reason_;
  job_dropped_ = job_written_ = 0;
  job_errno_ = 0;
  job_problem_.clear();
  job_notice_written_ = false;
  in_flight_ = true;
  self_ = shared_from_this();
  if (uv_queue_work(loop_, &work_req_, &LogSink::work, &LogSink::after_work) != 0) {
    // Cannot happen with a live loop; account the bytes rather than lose them silently.
    in_flight_ = false;
    dropped_ += writing_.size();
    writing_.clear();
    self_.reset();
  }
}

std::optional<PathProblem> LogSink::check(const std::string& path, const PathTrust& trust) {
  SafeDir dir;
  auto file = open_log_file(path, trust, &dir);
  if (auto* problem = std::get_if<PathProblem>(&file)) return *problem;
  return std::nullopt;
}

void LogSink::work(uv_work_t* req) { static_cast<LogSink*>(req->data)->run_job(); }

void LogSink::after_work(uv_work_t* req, int /*status*/) {
  auto* sink = static_cast<LogSink*>(req->data);
  std::shared_ptr<LogSink> keep = std::move(sink->self_);
  sink->finish_job();
}

void LogSink::finish_job() {
  in_flight_ = false;
  open_failed_ = job_open_failed_;
  written_ += job_written_;
  if (job_notice_written_) dropped_ -= job_dropped_before_;
  write_failing_ = job_dropped_ > 0 && job_errno_ != 0;
  if (job_dropped_ > 0) {
    dropped_ += job_dropped_;
    drop_reason_ = !job_problem_.empty() ? job_problem_
                   : job_errno_        ? std::string("writing ") + options_.path + ": " + std::strerror(job_errno_)
                              : std::string("the disk is not keeping up");
  }
  writing_.clear();
  // Big buffers are kept while output flows (no realloc and fresh pages per job) and
  // given back once the service is quiet.
  if (pending_.size() == 0) {
    writing_.release_memory();
    pending_.release_memory();
  }
  finishing_ = std::move(job_splices_);
  job_splices_.clear();
  kick();
  // Callbacks last: one may ask for the next move, or destroy its pipe (whose
  // forget_owner then clears its entry here).
  const bool at_line_start = job_at_line_start_;
  for (size_t i = 0; i < finishing_.size(); ++i) {
    if (SpliceDone done = std::exchange(finishing_[i].done, nullptr)) done(at_line_start);
  }
  finishing_.clear();
  if (on_room_ && !full()) on_room_();
  if (on_idle_ && idle()) on_idle_();
}

}  // namespace superd
