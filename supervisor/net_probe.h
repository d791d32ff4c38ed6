// One attempt of a `tcp` or `http` check: connect (and for http, GET the URL and read
// the status line), bounded by a deadline. Asynchronous on the loop; the callback runs
// exactly once, with whether it passed and a short description of what was seen.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <variant>

#include "base/endpoint.h"

namespace superd {

// What one attempt connects to: a tcp address, or an http URL to GET. Both come typed
// and resolved from the config (Check::tcp, Check::http).
using ProbeTarget = std::variant<HostPort, HttpUrl>;

using ProbeDone = std::function<void(bool ok, const std::string& detail)>;

// Starts the attempt; the returned handle cancels it when destroyed (the callback then
// never runs).
class NetProbe;
std::shared_ptr<NetProbe> start_net_probe(uv_loop_t* loop, const ProbeTarget& target,
                                          std::chrono::milliseconds timeout, ProbeDone done);

}  // namespace superd
