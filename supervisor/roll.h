// A rolling restart: the instances of one service restarted a few at a time (one by
// default, `restart --parallel K` for K), each next one only once the new process of
// the one before is ready, so at least N-K instances serve throughout (all N when each
// restart is start-new-first: `listen` plus a readiness check). The first instance that
// fails (its new process is not ready: backoff, fatal, or a start-new-first restart that
// kept the old process) ends the roll: the instances still queued are not touched.
//
// The Supervisor drives it (supervisor_roll.cc) after every transition; Control waits
// for it to be over and reports what it did. A roll is shared with its waiters, so the
// Supervisor can drop it once it is over while a reply is still being written.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "supervisor/config.h"

namespace superd {

struct Roll {
  struct Step {
    std::string name;                     // an instance, "worker@1"
    std::optional<ServiceConfig> config;  // reload-config: its new definition, applied
                                          // when its turn comes (none: restart as it is)
  };

  std::string service;             // the template, "worker"
  std::vector<std::string> names;  // every instance it was asked to restart
  size_t parallel = 1;
  std::deque<Step> queue;              // not begun yet, in order
  std::vector<std::string> active;     // restarting: the new process is not ready yet
  std::vector<std::string> restarted;  // done: the new process is ready
  std::string failure;                 // the first instance that failed, and why
  std::string stopped;                 // why it ended early without a failure of its own
  std::vector<std::string> untouched;  // left in the queue when it ended early

  bool over() const { return active.empty() && queue.empty(); }
  // Ends it early: what is queued is not begun (what is active finishes on its own).
  void end_early(std::string why) {
    for (const Step& step : queue) untouched.push_back(step.name);
    queue.clear();
    if (failure.empty() && stopped.empty()) stopped = std::move(why);
  }
  // "worker@1: backoff: not ready after 2s; worker@2 not restarted", "" when all went well.
  std::string outcome() const {
    std::string out = !failure.empty() ? failure : stopped;
    if (out.empty()) return out;
    for (size_t i = 0; i < untouched.size(); ++i) out += (i == 0 ? "; " : ", ") + untouched[i];
    if (!untouched.empty()) out += " not restarted";
    return out;
  }
};

using RollPtr = std::shared_ptr<const Roll>;

}  // namespace superd
