// Rolling restarts (roll.h): begun by a restart of several instances of one service or
// by a reload-config that changes them, advanced by every scheduling pass.
//
// One roll per service at a time: a newer one (a second restart, a reload-config during
// a roll) supersedes the older, which begins nothing more; the newer takes over the
// definitions the older had not applied yet, and counts the older's instances still
// restarting against its own `parallel`, so no more than K are ever down at once.
#include <algorithm>
#include <map>

#include "supervisor/supervisor.h"

namespace superd {
namespace {

enum class Outcome { waiting, ready, failed, gone };

// How the restart of `s` (begun by its roll) stands. restart() leaves `running` at once
// (a stop, or a new process beside the old one), so `running` again means the new
// process is ready, unless a start-new-first restart failed and the old one kept serving.
Outcome outcome_of(const Service* s) {
  if (!s) return Outcome::gone;
  switch (s->state()) {
    case State::starting:
    case State::stopping:
      return Outcome::waiting;
    case State::running:
      return s->restart_failure().empty() ? Outcome::ready : Outcome::failed;
    case State::backoff:
    case State::fatal:
    case State::exited:
    case State::stopped:
      return Outcome::failed;
  }
  return Outcome::failed;
}

std::string failure_of(const Service& s) {
  if (!s.restart_failure().empty()) {
    return s.name() + ": restart failed: " + s.restart_failure() + "; pid " + std::to_string(s.pid()) +
           " keeps serving";
  }
  return s.name() + ": " + state_name(s.state()) + (s.reason().empty() ? "" : ": " + s.reason());
}

}  // namespace

std::vector<RollPtr> Supervisor::restart(const std::vector<Service*>& services, size_t parallel) {
  std::map<std::string, std::vector<Roll::Step>> by_template;
  std::vector<std::string> order;  // templates in the order they were named
  for (Service* s : services) {
    const std::string& family = s->config().template_name;
    if (family.empty()) continue;
    if (!by_template.count(family)) order.push_back(family);
    by_template[family].push_back({s->name(), std::nullopt});
  }
  std::vector<RollPtr> rolls;
  for (Service* s : services) {
    const std::string& family = s->config().template_name;
    if (!family.empty() && by_template[family].size() > 1) continue;
    pending_start_.erase(s->name());
    s->restart();
  }
  for (const std::string& family : order) {
    if (by_template[family].size() > 1) {
      rolls.push_back(begin_roll(family, std::move(by_template[family]), std::max<size_t>(parallel, 1)));
    }
  }
  schedule();
  return rolls;
}

RollPtr Supervisor::begin_roll(const std::string& service, std::vector<Roll::Step> steps, size_t parallel) {
  auto roll = std::make_shared<Roll>();
  roll->service = service;
  roll->parallel = parallel;
  for (auto& older : rolls_) {
    if (older->service != service) continue;
    for (Roll::Step& queued : older->queue) {
      if (!queued.config) continue;
      auto same = std::find_if(steps.begin(), steps.end(), [&](const Roll::Step& s) { return s.name == queued.name; });
      if (same == steps.end()) steps.push_back(std::move(queued));
      else if (!same->config) same->config = std::move(queued.config);
    }
    older->end_early("superseded by a newer restart of " + service);
  }
  for (const Roll::Step& step : steps) roll->names.push_back(step.name);
  roll->queue.assign(std::make_move_iterator(steps.begin()), std::make_move_iterator(steps.end()));
  rolls_.push_back(roll);
  return roll;
}

size_t Supervisor::in_flight(const std::string& service) const {
  size_t n = 0;
  for (const auto& roll : rolls_) {
    if (roll->service == service) n += roll->active.size();
  }
  return n;
}

void Supervisor::advance_rolls() {
  // Beginning a step makes transitions, whose passes come back here (as reschedules):
  // go over the rolls until none moves.
  for (int bound = 0; bound < 1000; ++bound) {
    bool moved = false;
    for (size_t i = 0; i < rolls_.size(); ++i) moved = advance(*rolls_[i]) || moved;
    if (!moved) break;
  }
  std::erase_if(rolls_, [](const std::shared_ptr<Roll>& roll) { return roll->over(); });
}

// Settles the instances whose new process is ready (or failed), then begins the next
// while fewer than `parallel` of this service restart. True when anything changed.
bool Supervisor::advance(Roll& roll) {
  bool moved = false;
  for (size_t i = 0; i < roll.active.size();) {
    const Service* s = find(roll.active[i]);
    const Outcome outcome = outcome_of(s);
    if (outcome == Outcome::waiting) {
      ++i;
      continue;
    }
    if (outcome == Outcome::ready) roll.restarted.push_back(roll.active[i]);
    if (outcome == Outcome::failed && roll.failure.empty() && roll.stopped.empty()) {
      roll.failure = failure_of(*s);
      roll.end_early("");
    }
    roll.active.erase(roll.active.begin() + static_cast<std::ptrdiff_t>(i));
    moved = true;
  }
  while (!shutting_down_ && !roll.queue.empty() && in_flight(roll.service) < roll.parallel) {
    begin_step(roll);
    moved = true;
  }
  return moved;
}

void Supervisor::begin_step(Roll& roll) {
  Roll::Step step = std::move(roll.queue.front());
  roll.queue.pop_front();
  Service* s = find(step.name);
  if (!s) return;  // removed meanwhile (scaled down): nothing to restart
  if (step.config) {
    // reload-config: redefined now; restarted only if it is still up.
    const bool up = s->want_up() || s->has_processes();
    const ServiceConfig before = s->config();
    s->set_config(std::move(*step.config));
    dependents_stale_ = true;
    host_.reconfigure(*s, before);
    if (!up) return;
  }
  pending_start_.erase(step.name);
  roll.active.push_back(step.name);
  s->restart();
}

}  // namespace superd
