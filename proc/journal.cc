#include "proc/journal.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace superd {

int strip_level_prefix(std::string_view* line, int default_priority) {
  // systemd's syslog_parse_priority(..., with_facility=false): '<', 1-3 digits, '>',
  // a value 0..7 (leading zeros allowed, a facility not).
  const std::string_view s = *line;
  if (s.size() < 3 || s[0] != '<') return default_priority;
  const size_t close = s.find('>');
  if (close == std::string_view::npos || close < 2 || close > 4) return default_priority;
  int value = 0;
  for (size_t i = 1; i < close; ++i) {
    if (s[i] < '0' || s[i] > '9') return default_priority;
    value = value * 10 + (s[i] - '0');
  }
  if (value > 7) return default_priority;
  line->remove_prefix(close + 1);
  return value;
}

std::string journal_entry(std::string_view message, std::string_view identifier, pid_t pid, int priority) {
  std::string d;
  d.reserve(message.size() + identifier.size() * 2 + 96);
  d += "PRIORITY=";
  d += static_cast<char>('0' + priority);
  d += "\nSYSLOG_IDENTIFIER=";
  d += identifier;
  d += "\nSUPERD_SERVICE=";
  d += identifier;
  if (pid > 0) {
    // SYSLOG_PID for every reader; OBJECT_PID lets journald (trusting root) add the
    // process's own fields (_COMM, _EXE, the unit) as OBJECT_* fields.
    d += "\nSYSLOG_PID=" + std::to_string(pid);
    d += "\nOBJECT_PID=" + std::to_string(pid);
  }
  if (message.find('\n') == std::string_view::npos) {
    d += "\nMESSAGE=";
    d += message;
    d += '\n';
    return d;
  }
  d += "\nMESSAGE\n";
  uint64_t size = message.size();
  for (int i = 0; i < 8; ++i) d += static_cast<char>((size >> (8 * i)) & 0xff);  // little endian
  d += message;
  d += '\n';
  return d;
}

std::shared_ptr<JournalSocket> JournalSocket::open(std::string path, Trouble trouble, std::string* error) {
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    *error = "journal socket path " + path + " is too long for a Unix socket";
    return nullptr;
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) {
    *error = std::string("journal socket: ") + std::strerror(errno);
    return nullptr;
  }
  // Room for bursts while journald catches up (the kernel may grant less).
  int size = 8 << 20;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  return std::shared_ptr<JournalSocket>(new JournalSocket(std::move(fd), std::move(path), std::move(trouble)));
}

JournalSocket::JournalSocket(UniqueFd fd, std::string path, Trouble trouble)
    : fd_(std::move(fd)), path_(std::move(path)), trouble_(std::move(trouble)) {}

bool JournalSocket::send(const std::string& datagram) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.data(), path_.size());
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path_.size() + 1);
  ssize_t n;
  do {
    n = ::sendto(fd_.get(), datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&addr), len);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) {
    if (failing_errno_ != 0 && trouble_) {
      trouble_("sending to " + path_ + " works again; " + std::to_string(dropped_in_episode_) +
               " journal lines were dropped meanwhile");
    }
    failing_errno_ = 0;
    dropped_in_episode_ = 0;
    return true;
  }
  const int e = errno;
  ++dropped_;
  ++dropped_in_episode_;
  if (failing_errno_ != e && trouble_) {
    trouble_("sending to " + path_ + ": " + std::strerror(e) +
             (e == EAGAIN ? " (journald is not keeping up)" : "") +
             "; journal lines are dropped and counted (superctl log NAME)");
  }
  failing_errno_ = e;
  return false;
}

void JournalLines::line(std::string_view text, pid_t pid) {
  const int priority = strip_level_prefix(&text, default_priority_);
  if (!socket_ || !socket_->send(journal_entry(text, identifier_, pid, priority))) ++dropped_;
}

std::string JournalLines::describe() const {
  return "the journal (SYSLOG_IDENTIFIER=" + identifier_ + ", PRIORITY " +
         std::to_string(default_priority_) + " by default, via " + (socket_ ? socket_->path() : "no socket") + ")";
}

}  // namespace superd
