/* testprog: the service that tests and benchmarks run under superd. Its arguments are
 * actions, done in order:
 *
 *   --stamp FILE        append "pid realtime_ns" of this start to FILE (O_APPEND)
 *   --info FILE         write uid, gid, groups, umask, nofile limit, cwd, environment,
 *                       open fds and capabilities to FILE (written to FILE.tmp, renamed)
 *   --print TEXT        write TEXT and a newline to stdout
 *   --print-to FILE TEXT  append "PID TEXT" to FILE (O_APPEND: one ordered record of
 *                       events from several processes)
 *   --lines N           write N numbered lines ("line 1 <padding>") to stdout, fast
 *   --line-bytes N      length of each line written by --lines (default 100)
 *   --line-start N      number the next --lines / --lines-until from N (default: go on
 *                       from the last line written, starting at 1)
 *   --lines-until FILE  numbered lines as --lines, in bursts of 1000 with a 1 ms pause,
 *                       until FILE exists (at most 60 s)
 *   --ticks-until FILE  one numbered line ("tick N") every millisecond, each a write of
 *                       its own, until FILE exists (at most 60 s)
 *   --eprint TEXT       write TEXT and a newline to stderr
 *   --ignore-term       ignore SIGTERM from now on
 *   --term-delay MS     on SIGTERM, wait MS, write "term done" and exit 0
 *   --term-log FILE MS  on SIGTERM, append "PID term" to FILE, wait MS, append
 *                       "PID exit" and exit 0
 *   --child ARGS... --  fork a child in the same process group running ARGS as actions
 *   --orphan MS         fork a child that forks a grandchild living MS ms, and exits at
 *                       once: the grandchild is reparented to superd
 *   --orphan-report FILE MS
 *                       as --orphan, and the grandchild, once reparented, appends
 *                       "PID PPID" (its new parent) to FILE before its MS ms
 *   --wait-file FILE    wait until FILE exists (at most 60 s, then exit 93)
 *   --wait-while FILE   wait while FILE exists (at most 60 s, then exit 93)
 *   --alive FILE PID    append "PID alive" or "PID gone" (gone: no such process, or a
 *                       zombie) to FILE
 *   --pidfile FILE      write this process's pid to FILE
 *   --sleep MS          sleep MS
 *   --exit CODE         exit with CODE now
 *   --kill-self SIG     raise SIG
 *   --notify TEXT       send TEXT as a datagram to $NOTIFY_SOCKET
 *   --hand-over FILE    fork a child that writes its pid to FILE, sends
 *                       "MAINPID=<its pid>\nREADY=1" and pauses; this process then
 *                       pauses without ever reaping it (a binary upgrade's old master)
 *   --hup-print TEXT    from now on, write TEXT and a newline to stdout on each SIGHUP
 *   --usr1-print TEXT   from now on, write TEXT and a newline to stdout on each SIGUSR1
 *   --daemonize FILE    double-fork: a grandchild in a session of its own (setsid)
 *                       that ignores TERM, writes its pid to FILE and pauses forever;
 *                       the process group does not hold it, only a cgroup does
 *   --alloc MB          allocate MB megabytes and touch every page
 *   --fork-loop N       fork up to N children that pause, until fork fails; write
 *                       "forked K" to stdout (K children made)
 *   --burn MS           use MS milliseconds of CPU time
 *   --children N MS     fork N children that each leave the process group (setsid),
 *                       live MS ms and exit, without waiting for them: once this process
 *                       is gone they are orphans no stop of the service reaches
 *   --children-while N FILE  as --children, each child living while FILE exists (at
 *                       most 60 s)
 *   --pause             wait for signals forever (the default at the end)
 *
 * Probes, for the sandbox tests: each tries one thing from inside the process and
 * prints one line to stdout, "probe WHAT: ok" or "probe WHAT: ENAME" (the errno's name):
 *
 *   --try-write PATH    create PATH and write to it
 *   --try-read PATH     open PATH (a directory: list it) for reading
 *   --list DIR          print "list DIR: name name ..." (sorted), or the errno
 *   --try-socket FAM    socket(FAM) for inet, inet6, unix, packet or netlink
 *   --try-bind H:PORT   bind an IPv4 TCP socket to H:PORT
 *   --try-mmap-wx       an anonymous mapping both writable and executable
 *   --try-syscall NAME  a harmless call of: chroot, sync, sethostname, setuid, unshare-net,
 *                       personality, sched-fifo, chmod-suid, adjtimex, syslog, init_module
 *   --status            print the Cap*, NoNewPrivs and Seccomp lines of /proc/self/status
 *   --accept N          accept N connections on fd 3, writing "hi" to each
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

static int term_delay_ms = -1;
static const char* term_log = NULL;

static void append_line(const char* path, const char* what) {
  char line[64];
  int n = snprintf(line, sizeof line, "%d %s\n", (int)getpid(), what);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (fd >= 0) {
    ssize_t w = write(fd, line, n);
    (void)w;
    close(fd);
  }
}

static void on_term_log(int sig) {
  (void)sig;
  append_line(term_log, "term");
  sleep_ms(term_delay_ms);
  append_line(term_log, "exit");
  _exit(0);
}


static void on_term(int sig) {
  (void)sig;
  sleep_ms(term_delay_ms);
  static const char msg[] = "term done\n";
  ssize_t n = write(1, msg, sizeof msg - 1);
  (void)n;
  _exit(0);
}

static const char* hup_text = NULL;
static const char* usr1_text = NULL;

static void on_print_signal(int sig) {
  const char* text = sig == SIGHUP ? hup_text : usr1_text;
  if (!text) return;
  int saved = errno;
  struct iovec iov[2] = {{(void*)text, strlen(text)}, {"\n", 1}};
  ssize_t n = writev(1, iov, 2);
  (void)n;
  errno = saved;
}

static void print_on(int sig, const char* text) {
  if (sig == SIGHUP) hup_text = text;
  else usr1_text = text;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_print_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

static void write_file_atomic(const char* path, const char* text) {
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE* f = fopen(tmp, "w");
  if (!f) {
    perror(tmp);
    exit(90);
  }
  fputs(text, f);
  fclose(f);
  if (rename(tmp, path) < 0) {
    perror(path);
    exit(90);
  }
}

static void stamp(const char* path) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char line[128];
  int n = snprintf(line, sizeof line, "%d %lld\n", (int)getpid(),
                   (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (fd < 0 || write(fd, line, n) != n) {
    perror(path);
    exit(91);
  }
  close(fd);
}

static void info(const char* path) {
  static char buf[1 << 16];
  size_t len = 0;
#define ADD(...) len += snprintf(buf + len, sizeof buf - len, __VA_ARGS__)
  ADD("pid %d\npgid %d\nsid %d\n", (int)getpid(), (int)getpgrp(), (int)getsid(0));
  ADD("uid %d\neuid %d\ngid %d\negid %d\n", (int)getuid(), (int)geteuid(), (int)getgid(),
      (int)getegid());
  gid_t groups[256];
  int n = getgroups(256, groups);
  ADD("groups");
  for (int i = 0; i < n; i++) ADD(" %d", (int)groups[i]);
  ADD("\n");
  mode_t mask = umask(0);
  umask(mask);
  ADD("umask %03o\n", (unsigned)mask);
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  ADD("nofile %llu %llu\n", (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
  char cwd[PATH_MAX];
  ADD("cwd %s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
  DIR* d = opendir("/proc/self/fd");
  ADD("fds");
  struct dirent* e;
  int dfd = d ? dirfd(d) : -1;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == dfd) continue;
    ADD(" %s", e->d_name);
  }
  if (d) closedir(d);
  ADD("\n");
  FILE* st = fopen("/proc/self/status", "r");
  char line[512];
  while (st && fgets(line, sizeof line, st)) {
    if (!strncmp(line, "Cap", 3)) {
      for (char* c = line; *c; c++) {
        if (*c == '\t') *c = ' ';
      }
      ADD("%s", line);
    }
  }
  if (st) fclose(st);
  for (char** env = environ; *env; env++) ADD("env %s\n", *env);
  write_file_atomic(path, buf);
#undef ADD
}

static long next_line = 1;

static void write_all_or_exit(const char* buf, size_t len) {
  size_t off = 0;
  while (off < len) {
    ssize_t w = write(1, buf + off, len - off);
    if (w < 0) exit(92);
    off += (size_t)w;
  }
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* count lines numbered from next_line; with until_file, bursts until it exists. */
static void lines_to(long count, long width, const char* until_file) {
  static char out[1 << 16];
  size_t used = 0;
  const long deadline = now_ms() + 60000;
  for (long k = 0; until_file || k < count; k++) {
    if (until_file && k % 1000 == 0 && k > 0) {
      write_all_or_exit(out, used);
      used = 0;
      if (access(until_file, F_OK) == 0 || now_ms() > deadline) break;
      sleep_ms(1);
    }
    char line[4096];
    int n = snprintf(line, sizeof line, "line %ld ", next_line++);
    while (n < width - 1 && n < (int)sizeof line - 2) line[n++] = 'x';
    line[n++] = '\n';
    if (used + n > sizeof out) {
      write_all_or_exit(out, used);
      used = 0;
    }
    memcpy(out + used, line, n);
    used += n;
  }
  write_all_or_exit(out, used);
}

static void lines(long count, long width) { lines_to(count, width, NULL); }

static void ticks_until(const char* until_file) {
  const long deadline = now_ms() + 60000;
  for (long k = 1; access(until_file, F_OK) != 0 && now_ms() < deadline; k++) {
    char line[64];
    int n = snprintf(line, sizeof line, "tick %ld\n", k);
    write_all_or_exit(line, (size_t)n);
    sleep_ms(1);
  }
}

static void notify(const char* text) {
  const char* path = getenv("NOTIFY_SOCKET");
  if (!path) {
    fprintf(stderr, "testprog: NOTIFY_SOCKET not set\n");
    return;
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
  socklen_t alen = offsetof(struct sockaddr_un, sun_path) + strlen(path);
  if (sendto(fd, text, strlen(text), 0, (struct sockaddr*)&addr, alen) < 0) perror("sendto");
  close(fd);
}

static void hand_over(const char* pidfile) {
  pid_t child = fork();
  if (child == 0) {
    char text[64];
    snprintf(text, sizeof text, "%d\n", (int)getpid());
    write_file_atomic(pidfile, text);
    snprintf(text, sizeof text, "MAINPID=%d\nREADY=1", (int)getpid());
    notify(text);
    for (;;) pause();
  }
  for (;;) pause();
}

static void probe_result(const char* what, const char* arg, int rc) {
  if (rc >= 0) {
    printf("probe %s %s: ok\n", what, arg);
  } else {
    const char* name = strerrorname_np(errno);
    printf("probe %s %s: %s\n", what, arg, name ? name : "E?");
  }
}

static void try_write(const char* path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int rc = fd;
  if (fd >= 0) {
    rc = write(fd, "x\n", 2) == 2 ? 0 : -1;
    close(fd);
  }
  probe_result("write", path, rc);
}

static void try_read(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  int rc = fd;
  if (fd >= 0) {
    DIR* d = fdopendir(fd);
    if (d) {
      errno = 0;
      rc = readdir(d) || errno == 0 ? 0 : -1;
      closedir(d);
    } else {
      char c;
      rc = read(fd, &c, 1) >= 0 ? 0 : -1;
      close(fd);
    }
  }
  probe_result("read", path, rc);
}

static int by_name(const void* a, const void* b) {
  return strcmp(*(const char* const*)a, *(const char* const*)b);
}

static void list_dir(const char* path) {
  DIR* d = opendir(path);
  if (!d) {
    probe_result("list", path, -1);
    return;
  }
  static char names[256][256];
  const char* sorted[256];
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d)) && n < 256) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(names[n], sizeof names[n], "%s", e->d_name);
    sorted[n] = names[n];
    n++;
  }
  closedir(d);
  qsort(sorted, n, sizeof sorted[0], by_name);
  // One write for the whole line: a child of the same service writes to the same pipe.
  static char line[1 << 16];
  size_t len = (size_t)snprintf(line, sizeof line, "list %s:", path);
  for (int i = 0; i < n && len < sizeof line; i++) len += (size_t)snprintf(line + len, sizeof line - len, " %s", sorted[i]);
  if (len >= sizeof line) len = sizeof line - 1;
  line[len++] = '\n';
  ssize_t w = write(1, line, len);
  (void)w;
}

static void try_socket(const char* family) {
  int af = !strcmp(family, "inet")      ? AF_INET
           : !strcmp(family, "inet6")   ? AF_INET6
           : !strcmp(family, "unix")    ? AF_UNIX
           : !strcmp(family, "packet")  ? AF_PACKET
           : !strcmp(family, "netlink") ? AF_NETLINK
                                        : -1;
  int type = af == AF_PACKET ? SOCK_RAW : af == AF_NETLINK ? SOCK_RAW : SOCK_STREAM;
  int fd = socket(af, type | SOCK_CLOEXEC, 0);
  probe_result("socket", family, fd);
  if (fd >= 0) close(fd);
}

static void try_bind(const char* host_port) {
  char host[64];
  snprintf(host, sizeof host, "%s", host_port);
  char* colon = strrchr(host, ':');
  if (!colon) return;
  *colon = '\0';
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
  inet_pton(AF_INET, host, &addr.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr*)&addr, sizeof addr);
  probe_result("bind", host_port, rc);
  if (fd >= 0) close(fd);
}

static void try_mmap_wx(void) {
  void* p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  probe_result("mmap", "wx", p == MAP_FAILED ? -1 : 0);
  if (p != MAP_FAILED) munmap(p, 4096);
}

// Each call is made raw (the filters judge syscalls, not libc functions) with arguments
// that change nothing even when it is allowed.
static void try_syscall(const char* name) {
  long rc = -1;
  errno = ENOSYS;
  if (!strcmp(name, "chroot")) {
    rc = syscall(SYS_chroot, "/");
  } else if (!strcmp(name, "sync")) {
    rc = syscall(SYS_sync);
  } else if (!strcmp(name, "sethostname")) {
    char host[256] = "";
    gethostname(host, sizeof host);
    rc = syscall(SYS_sethostname, host, strlen(host));
  } else if (!strcmp(name, "setuid")) {
    rc = syscall(SYS_setuid, getuid());
  } else if (!strcmp(name, "unshare-net")) {
    rc = syscall(SYS_unshare, CLONE_NEWNET);
  } else if (!strcmp(name, "personality")) {
    rc = syscall(SYS_personality, PER_LINUX32);
    if (rc >= 0) syscall(SYS_personality, PER_LINUX);
  } else if (!strcmp(name, "sched-fifo")) {
    struct sched_param sp = {.sched_priority = 1};
    rc = syscall(SYS_sched_setscheduler, 0, SCHED_FIFO, &sp);
    if (rc >= 0) {
      sp.sched_priority = 0;
      syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &sp);
    }
  } else if (!strcmp(name, "chmod-suid")) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/testprog-suid-%d", (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) close(fd);
    rc = syscall(SYS_chmod, path, 04755);
    int saved = errno;
    unlink(path);
    errno = saved;
  } else if (!strcmp(name, "adjtimex")) {
    struct timex tx = {.modes = 0};  // a read
    rc = syscall(SYS_adjtimex, &tx);
  } else if (!strcmp(name, "syslog")) {
    rc = syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
  } else if (!strcmp(name, "init_module")) {
    rc = syscall(SYS_init_module, NULL, 0, "");
  }
  probe_result("syscall", name, rc < 0 ? -1 : 0);
}

static void print_status(void) {
  FILE* st = fopen("/proc/self/status", "r");
  char line[512];
  while (st && fgets(line, sizeof line, st)) {
    if (!strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs", 10) || !strncmp(line, "Seccomp", 7) ||
        !strncmp(line, "Uid", 3)) {
      for (char* c = line; *c; c++) {
        if (*c == '\t') *c = ' ';
      }
      printf("status %s", line);
    }
  }
  if (st) fclose(st);
}

static void accept_on_fd3(long count) {
  for (long i = 0; i < count; i++) {
    int c = accept4(3, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) {
      probe_result("accept", "fd3", -1);
      return;
    }
    ssize_t n = write(c, "hi\n", 3);
    (void)n;
    close(c);
    probe_result("accept", "fd3", 0);
  }
}

static void daemonize(const char* pidfile) {
  pid_t child = fork();
  if (child == 0) {
    setsid();
    if (fork() == 0) {
      signal(SIGTERM, SIG_IGN);
      char text[32];
      snprintf(text, sizeof text, "%d\n", (int)getpid());
      write_file_atomic(pidfile, text);
      for (;;) pause();
    }
    _exit(0);
  }
  waitpid(child, NULL, 0);
}

/* Polls every 2 ms: this is the service under test, and a gate it waits at is opened
 * by the test at a moment of its choosing. */
static void wait_for_file(const char* path, int want_exists) {
  for (long waited = 0; waited < 60000; waited += 2) {
    if ((access(path, F_OK) == 0) == want_exists) return;
    sleep_ms(2);
  }
  fprintf(stderr, "testprog: gave up waiting for %s to %s\n", path,
          want_exists ? "exist" : "go away");
  exit(93);
}

/* A live process, not a zombie (a zombie's pid still answers kill(pid, 0)). */
static int process_alive(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0; /* ENOENT or ESRCH: gone */
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0; /* ESRCH: it ended between open and read */
  buf[n] = '\0';
  const char* close_paren = strrchr(buf, ')');
  if (!close_paren || close_paren[1] == '\0') return 0;
  char state = close_paren[2];
  return state != 'Z' && state != 'X';
}

static void report_alive(const char* path, pid_t pid) {
  char line[64];
  int n = snprintf(line, sizeof line, "%d %s\n", (int)pid, process_alive(pid) ? "alive" : "gone");
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (fd < 0 || write(fd, line, n) != n) {
    perror(path);
    exit(91);
  }
  close(fd);
}

/* The grandchild of --orphan-report: once its parent has exited, its parent is whoever
 * adopted it (superd when superd is a subreaper, else init). */
static void orphan_report(const char* path, long ms) {
  pid_t child = fork();
  if (child == 0) {
    pid_t parent = getpid();
    if (fork() == 0) {
      for (int i = 0; i < 5000 && getppid() == parent; i++) sleep_ms(1);
      char line[64];
      int n = snprintf(line, sizeof line, "%d %d\n", (int)getpid(), (int)getppid());
      int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
      if (fd >= 0) {
        ssize_t w = write(fd, line, n);
        (void)w;
        close(fd);
      }
      sleep_ms(ms);
      _exit(0);
    }
    _exit(0);
  }
  waitpid(child, NULL, 0);
}

/* N children that each leave the process group (setsid) and live MS ms, or, with a
 * gate, while GATE exists; this process goes on once every one has left the group. */
static void fork_children(long n, long ms, const char* gate) {
  int ready[2];
  if (pipe(ready) < 0) exit(92);
  for (long k = 0; k < n; ++k) {
    if (fork() == 0) {
      close(ready[0]);
      setsid();
      char one = 1;
      if (write(ready[1], &one, 1) != 1) _exit(1);
      close(ready[1]);
      if (gate) {
        wait_for_file(gate, 0);
      } else {
        sleep_ms(ms);
      }
      _exit(0);
    }
  }
  close(ready[1]);
  char buf[64];
  long seen = 0;
  ssize_t got;
  while (seen < n && (got = read(ready[0], buf, sizeof buf)) > 0) seen += got;
  close(ready[0]);
}

static void alloc_touch(long mb) {
  size_t bytes = (size_t)mb << 20;
  char* p = malloc(bytes);
  if (!p) exit(93);
  for (size_t off = 0; off < bytes; off += 4096) p[off] = 1;
  printf("allocated %ld MB\n", mb);
}

static void fork_loop(long n) {
  long made = 0;
  for (; made < n; made++) {
    pid_t pid = fork();
    if (pid < 0) break;
    if (pid == 0) {
      for (;;) pause();
    }
  }
  printf("forked %ld\n", made);
}

static void burn(long ms) {
  struct timespec start, now;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);
  volatile unsigned long x = 0;
  do {
    for (int k = 0; k < 100000; k++) x += (unsigned long)k;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < ms);
}

static int run(int argc, char** argv);

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  return run(argc - 1, argv + 1);
}

static int run(int argc, char** argv) {
  long width = 100;
  for (int i = 0; i < argc; i++) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : "";
    if (!strcmp(a, "--stamp")) stamp(v), i++;
    else if (!strcmp(a, "--info")) info(v), i++;
    else if (!strcmp(a, "--print")) printf("%s\n", v), i++;
    else if (!strcmp(a, "--print-to")) append_line(v, i + 2 < argc ? argv[i + 2] : ""), i += 2;
    else if (!strcmp(a, "--line-bytes")) width = atol(v), i++;
    else if (!strcmp(a, "--lines")) lines(atol(v), width), i++;
    else if (!strcmp(a, "--line-start")) next_line = atol(v), i++;
    else if (!strcmp(a, "--lines-until")) lines_to(0, width, v), i++;
    else if (!strcmp(a, "--ticks-until")) ticks_until(v), i++;
    else if (!strcmp(a, "--eprint")) fprintf(stderr, "%s\n", v), i++;
    else if (!strcmp(a, "--ignore-term")) signal(SIGTERM, SIG_IGN);
    else if (!strcmp(a, "--term-delay")) {
      term_delay_ms = atoi(v);
      i++;
      signal(SIGTERM, on_term);
    } else if (!strcmp(a, "--term-log")) {
      term_log = v;
      term_delay_ms = i + 2 < argc ? atoi(argv[i + 2]) : 0;
      i += 2;
      signal(SIGTERM, on_term_log);
    } else if (!strcmp(a, "--child")) {
      int end = i + 1;
      while (end < argc && strcmp(argv[end], "--")) end++;
      pid_t pid = fork();
      if (pid == 0) {
        argv[end < argc ? end : argc - 1] = NULL;
        exit(run(end - i - 1, argv + i + 1));
      }
      i = end;
    } else if (!strcmp(a, "--orphan")) {
      long ms = atol(v);
      i++;
      pid_t child = fork();
      if (child == 0) {
        if (fork() == 0) {
          sleep_ms(ms);
          _exit(0);
        }
        _exit(0);
      }
      waitpid(child, NULL, 0);
    } else if (!strcmp(a, "--orphan-report")) {
      orphan_report(v, i + 2 < argc ? atol(argv[i + 2]) : 0);
      i += 2;
    } else if (!strcmp(a, "--wait-file")) {
      wait_for_file(v, 1);
      i++;
    } else if (!strcmp(a, "--wait-while")) {
      wait_for_file(v, 0);
      i++;
    } else if (!strcmp(a, "--alive")) {
      report_alive(v, (pid_t)(i + 2 < argc ? atoi(argv[i + 2]) : 0));
      i += 2;
    } else if (!strcmp(a, "--pidfile")) {
      char text[32];
      snprintf(text, sizeof text, "%d\n", (int)getpid());
      write_file_atomic(v, text);
      i++;
    } else if (!strcmp(a, "--sleep")) sleep_ms(atol(v)), i++;
    else if (!strcmp(a, "--exit")) exit(atoi(v));
    else if (!strcmp(a, "--kill-self")) raise(atoi(v)), i++;
    else if (!strcmp(a, "--notify")) notify(v), i++;
    else if (!strcmp(a, "--hand-over")) hand_over(v), i++;
    else if (!strcmp(a, "--hup-print")) print_on(SIGHUP, v), i++;
    else if (!strcmp(a, "--usr1-print")) print_on(SIGUSR1, v), i++;
    else if (!strcmp(a, "--try-write")) try_write(v), i++;
    else if (!strcmp(a, "--try-read")) try_read(v), i++;
    else if (!strcmp(a, "--list")) list_dir(v), i++;
    else if (!strcmp(a, "--try-socket")) try_socket(v), i++;
    else if (!strcmp(a, "--try-bind")) try_bind(v), i++;
    else if (!strcmp(a, "--try-mmap-wx")) try_mmap_wx();
    else if (!strcmp(a, "--try-syscall")) try_syscall(v), i++;
    else if (!strcmp(a, "--status")) print_status();
    else if (!strcmp(a, "--accept")) accept_on_fd3(atol(v)), i++;
    else if (!strcmp(a, "--daemonize")) daemonize(v), i++;
    else if (!strcmp(a, "--alloc")) alloc_touch(atol(v)), i++;
    else if (!strcmp(a, "--fork-loop")) fork_loop(atol(v)), i++;
    else if (!strcmp(a, "--burn")) burn(atol(v)), i++;
    else if (!strcmp(a, "--children") && i + 2 < argc) fork_children(atol(v), atol(argv[i + 2]), NULL), i += 2;
    else if (!strcmp(a, "--children-while") && i + 2 < argc) fork_children(atol(v), 0, argv[i + 2]), i += 2;
    else if (!strcmp(a, "--pause")) break;
    else {
      fprintf(stderr, "testprog: unknown action %s\n", a);
      return 2;
    }
  }
  for (;;) pause();
}
