// Before a re-exec: the binary now at superd's path is run as `EXE --reexec-check -c
// CONFIG`. It must exit 0 (it runs, and it loads the config as it is now) and say which
// state formats it reads ("superd 0.9.0 reads state formats 1-1"), one of which must be
// the one this superd writes. Until then nothing of the running superd changes.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "base/fd.h"
#include "base/uv_handle.h"
#include "supervisor/process_host.h"

namespace superd {

// What --reexec-check prints; and whether a line of that form names `format`.
std::string reexec_check_line();
bool reads_state_format(const std::string& output, int format);

class ReexecCheck {
 public:
  // ok, or why not ("EXE --reexec-check: exited with status 1: ...output...").
  using Done = std::function<void(bool ok, const std::string& why)>;
  static constexpr uint64_t kTimeoutMs = 10000;

  ReexecCheck(uv_loop_t* loop, ProcessHost& host) : loop_(loop), host_(host) {}
  ~ReexecCheck();
  // Runs the check; `done` is called once, from the loop, unless this is destroyed first.
  void start(const std::string& exe, const std::string& config_path, Done done);

 private:
  void finish(int wstatus);

  uv_loop_t* loop_;
  ProcessHost& host_;
  std::string exe_;
  Done done_;
  pid_t pid_ = 0;
  UniqueFd output_;  // the check's stdout and stderr
  UvHandle<uv_timer_t> timeout_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace superd
