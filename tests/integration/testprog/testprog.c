/* testprog: the service that tests and benchmarks run under superd. Its arguments are
 * actions, done in order:
 *
 *   --stamp FILE        append "pid realtime_ns" of this start to FILE (O_APPEND)
 *   --info FILE         write uid, gid, groups, umask, nofile limit, cwd, environment,
 *                       open fds and capabilities to FILE (written to FILE.tmp, renamed)
 *   --print TEXT        write TEXT and a newline to stdout
 *   --lines N           write N numbered lines ("line 1 <padding>") to stdout, fast
 *   --line-bytes N      length of each line written by --lines (default 100)
 *   --line-start N      number the next --lines / --lines-until from N (default: go on
 *                       from the last line written, starting at 1)
 *   --lines-until FILE  numbered lines as --lines, in bursts of 1000 with a 1 ms pause,
 *                       until FILE exists (at most 60 s)
 *   --eprint TEXT       write TEXT and a newline to stderr
 *   --ignore-term       ignore SIGTERM from now on
 *   --term-delay MS     on SIGTERM, wait MS, write "term done" and exit 0
 *   --term-log FILE MS  on SIGTERM, append "PID term" to FILE, wait MS, append
 *                       "PID exit" and exit 0
 *   --child ARGS... --  fork a child in the same process group running ARGS as actions
 *   --orphan MS         fork a child that forks a grandchild living MS ms, and exits at
 *                       once: the grandchild is reparented to superd
 *   --pidfile FILE      write this process's pid to FILE
 *   --sleep MS          sleep MS
 *   --exit CODE         exit with CODE now
 *   --kill-self SIG     raise SIG
 *   --notify TEXT       send TEXT as a datagram to $NOTIFY_SOCKET
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
 *   --pause             wait for signals forever (the default at the end)
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
#include <sys/prctl.h>
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
    else if (!strcmp(a, "--line-bytes")) width = atol(v), i++;
    else if (!strcmp(a, "--lines")) lines(atol(v), width), i++;
    else if (!strcmp(a, "--line-start")) next_line = atol(v), i++;
    else if (!strcmp(a, "--lines-until")) lines_to(0, width, v), i++;
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
    } else if (!strcmp(a, "--pidfile")) {
      char text[32];
      snprintf(text, sizeof text, "%d\n", (int)getpid());
      write_file_atomic(v, text);
      i++;
    } else if (!strcmp(a, "--sleep")) sleep_ms(atol(v)), i++;
    else if (!strcmp(a, "--exit")) exit(atoi(v));
    else if (!strcmp(a, "--kill-self")) raise(atoi(v)), i++;
    else if (!strcmp(a, "--notify")) notify(v), i++;
    else if (!strcmp(a, "--hup-print")) print_on(SIGHUP, v), i++;
    else if (!strcmp(a, "--usr1-print")) print_on(SIGUSR1, v), i++;
    else if (!strcmp(a, "--daemonize")) daemonize(v), i++;
    else if (!strcmp(a, "--alloc")) alloc_touch(atol(v)), i++;
    else if (!strcmp(a, "--fork-loop")) fork_loop(atol(v)), i++;
    else if (!strcmp(a, "--burn")) burn(atol(v)), i++;
    else if (!strcmp(a, "--children") && i + 2 < argc) {
      long n = atol(v), ms = atol(argv[i + 2]);
      int ready[2];
      if (pipe(ready) < 0) exit(92);
      for (long k = 0; k < n; ++k) {
        if (fork() == 0) {
          close(ready[0]);
          setsid();
          char one = 1;
          if (write(ready[1], &one, 1) != 1) _exit(1);
          close(ready[1]);
          sleep_ms(ms);
          _exit(0);
        }
      }
      close(ready[1]);
      /* Every child has left the group before this process may end. */
      char buf[64];
      long seen = 0;
      ssize_t got;
      while (seen < n && (got = read(ready[0], buf, sizeof buf)) > 0) seen += got;
      close(ready[0]);
      i += 2;
    }
    else if (!strcmp(a, "--pause")) break;
    else {
      fprintf(stderr, "testprog: unknown action %s\n", a);
      return 2;
    }
  }
  for (;;) pause();
}
