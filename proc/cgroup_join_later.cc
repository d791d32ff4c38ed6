// join_v1_after_spawn (cgroup_join.h): the v1 leaves that only count, joined off the loop.
#include <unistd.h>

#include <memory>
#include <utility>

#include "proc/cgroup_join.h"
#include "proc/cgroup_tree.h"

namespace superd {
namespace {

struct JoinJob {
  uv_work_t req{};
  std::string v2_dir;
  std::vector<std::string> v1_dirs;
  std::function<void(const std::string&)> done;
  std::string error;
};

void work(uv_work_t* req) {
  auto* job = static_cast<JoinJob*>(req->data);
  std::string why;
  // Unreadable because the instance ended and its leaf went: nothing left to count.
  if (!move_into_v1(job->v2_dir, job->v1_dirs, &why) && access(job->v2_dir.c_str(), F_OK) == 0) job->error = why;
}

void after(uv_work_t* req, int /*status*/) {
  std::unique_ptr<JoinJob> job(static_cast<JoinJob*>(req->data));
  if (job->done) job->done(job->error);
}

}  // namespace

void join_v1_after_spawn(uv_loop_t* loop, std::string v2_dir, std::vector<std::string> v1_dirs,
                         std::function<void(const std::string& error)> done) {
  auto job = std::make_unique<JoinJob>();
  job->req.data = job.get();
  job->v2_dir = std::move(v2_dir);
  job->v1_dirs = std::move(v1_dirs);
  job->done = std::move(done);
  if (uv_queue_work(loop, &job->req, work, after) != 0) {
    job->error = "cgroup: joining " + job->v1_dirs.front() + " after the spawn could not be queued";
    if (job->done) job->done(job->error);
    return;
  }
  job.release();  // after() owns it
}

}  // namespace superd
