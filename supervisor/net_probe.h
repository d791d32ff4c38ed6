// One attempt of a `tcp` or `http` check: connect (and for http, GET the URL and read
// the status line), bounded by a deadline. Asynchronous on the loop; the callback runs
// exactly once, with whether it passed and a short description of what was seen.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace superd {

struct ProbeTarget {
  bool http = false;
  std::string host;  // an IP literal ("localhost" means 127.0.0.1)
  int port = 0;
  std::string path = "/";  // http only
  // "127.0.0.1:8000" (tcp) or "http://127.0.0.1:8000/health" (http); nullopt if bad.
  static std::optional<ProbeTarget> parse(const std::string& text, bool http);
};

using ProbeDone = std::function<void(bool ok, const std::string& detail)>;

// Starts the attempt; the returned handle cancels it when destroyed (the callback then
// never runs).
class NetProbe;
std::shared_ptr<NetProbe> start_net_probe(uv_loop_t* loop, const ProbeTarget& target,
                                          std::chrono::milliseconds timeout, ProbeDone done);

}  // namespace superd
