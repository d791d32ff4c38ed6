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
 *   --hup-print TEXT    from now on, write TEXT and a newline to stdout on each SIGHUP
 *   --usr1-print TEXT   from now on, write TEXT and a newline to stdout on each SIGUSR1
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

static void lines(long count, long width) {
  static char out[1 << 16];
  size_t used = 0;
  for (long i = 1; i <= count; i++) {
    char line[4096];
    int n = snprintf(line, sizeof line, "line %ld ", i);
    while (n < width - 1 && n < (int)sizeof line - 2) line[n++] = 'x';
    line[n++] = '\n';
    if (used + n > sizeof out) {
      size_t off = 0;
      while (off < used) {
        ssize_t w = write(1, out + off, used - off);
        if (w < 0) exit(92);
        off += (size_t)w;
      }
      used = 0;
    }
    memcpy(out + used, line, n);
    used += n;
  }
  size_t off = 0;
  while (off < used) {
    ssize_t w = write(1, out + off, used - off);
    if (w < 0) exit(92);
    off += (size_t)w;
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
    else if (!strcmp(a, "--hup-print")) print_on(SIGHUP, v), i++;
    else if (!strcmp(a, "--usr1-print")) print_on(SIGUSR1, v), i++;
    else if (!strcmp(a, "--pause")) break;
    else {
      fprintf(stderr, "testprog: unknown action %s\n", a);
      return 2;
    }
  }
  for (;;) pause();
}
