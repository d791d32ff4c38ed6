// What the tests of service output share (logs_*_test.cc): a service table, a
// long-running child (superctl log -f) stopped by pid, and a check that numbered lines
// ("line N xxx", testprog --lines) arrived each exactly once, in order, whole.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace superd::test {

inline std::string service(const std::string& name, const std::vector<std::string>& args,
                           const std::string& extra = "") {
  return "[service." + name + "]\ncommand = " + cmd(args) + "\nstart_seconds = \"50ms\"\n" + extra + "\n";
}

// Numbered lines of `width` bytes (newline included) in `texts`, in order: how many were
// out of place (a gap, a repeat, a line out of order) or torn; the last number seen.
struct Numbered {
  long last = 0;
  long bad = 0;       // not the next number
  long torn = 0;      // not a whole numbered line
  long other = 0;     // lines that are not numbered (markers, notices)
  std::string first_problem;
};

inline void check_numbered(const std::string& text, size_t width, Numbered& n, size_t skip_prefix = 0) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    std::string line = l.size() >= skip_prefix ? l.substr(skip_prefix) : l;
    if (line.rfind("line ", 0) != 0) {
      ++n.other;
      continue;
    }
    long k = 0;
    if (line.size() != width - 1 || std::sscanf(line.c_str(), "line %ld", &k) != 1) {
      if (n.first_problem.empty()) n.first_problem = "torn: " + line.substr(0, 80);
      ++n.torn;
      continue;
    }
    if (k != n.last + 1) {
      if (n.first_problem.empty()) {
        n.first_problem = "line " + std::to_string(k) + " after line " + std::to_string(n.last);
      }
      ++n.bad;
    }
    n.last = k;
  }
}

// PATH.N .. PATH.1, PATH: a rotated log from its oldest file to its newest.
inline std::vector<std::string> rotated_files(const std::string& path, int backups) {
  std::vector<std::string> files;
  for (int i = backups; i >= 1; --i) {
    if (file_exists(path + "." + std::to_string(i))) files.push_back(path + "." + std::to_string(i));
  }
  if (file_exists(path)) files.push_back(path);
  return files;
}

}  // namespace superd::test
