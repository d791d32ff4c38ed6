/* benchprog: the one service that tests/bench/run gives every supervisor. It reads
 * CLOCK_MONOTONIC first thing in main, so every latency the benchmark reports comes from
 * the service's own clock, not from polling. Options are done in this order:
 *
 *   -s FILE   append "PID START_NS\n" to FILE (O_APPEND; one write, so lines of many
 *             services sharing FILE never interleave)
 *   -e FILE   on SIGTERM append "PID EXIT_NS\n" to FILE and exit 0; -x appends it too
 *   -g FILE   fork a child (same process group and session) that ignores SIGTERM,
 *             appends "PID\n" to FILE and waits forever
 *   -n N FILE fork N children (same process group) that wait for signals; each appends
 *             "PID\n" to FILE (one service of N + 1 processes)
 *   -w BYTES  width of each line written by -l, newline included (default 100)
 *   -l N      write N lines "line I xxx...\n" of exactly BYTES each to stdout, fast
 *   -d FILE   append "PID NOW_NS" to FILE (after -l: when the last line was written)
 *   -x CODE   exit with CODE (after appending "PID EXIT_NS" to the -e FILE, if any)
 *   -a        accept connections on fd 3 (a listening socket the supervisor holds) for
 *             ever, writing "ok\n" to each and closing it
 *   (then)    wait for signals forever
 *
 *   benchprog --respawn-floor N FILE   the least any supervisor can do: start
 *             `benchprog -s FILE` with posix_spawn (vfork+exec), wait for it to die,
 *             start it again at once, N times. tests/bench/run kills its children as it
 *             kills a service.
 *
 *   benchprog --splice-floor MAX OUT CPUFILE   the least a logger can spend: moves its
 *             stdin (a pipe, sized 1 MiB as superd sizes a capture pipe) into OUT.0, OUT.1,
 *             ... of MAX bytes each with splice(2), the one copy into the page cache and
 *             nothing else (no line is looked at; cuts fall anywhere), then writes the
 *             CPU seconds it used (user + system) to CPUFILE.
 *
 *   benchprog --ask SOCKET REQUEST   the least a control client can do: connect to the
 *             Unix socket, send REQUEST and a newline, read the reply line and write it to
 *             stdout; exit 0 when the reply says "ok":true. The floor superctl is held to.
 *
 *   benchprog --verify N BYTES FILE...   checks that the FILEs, concatenated in the
 *             order given, are exactly lines 1..N as -l writes them (every line once,
 *             in order, nothing else); prints "ok BYTES" or where it first differs, and
 *             how many FILEs other than the last end in the middle of a line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static struct timespec started;
static const char* exit_file;

static long long ns_of(const struct timespec* ts) {
  return (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static void append(const char* path, const char* text, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) _exit(91);
  if (write(fd, text, len) != (ssize_t)len) _exit(91);
  close(fd);
}

static void stamp(const char* path, const struct timespec* ts) {
  char line[64];
  int n = snprintf(line, sizeof line, "%d %lld\n", (int)getpid(), ns_of(ts));
  append(path, line, (size_t)n);
}

static void on_term(int sig) {
  (void)sig;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  stamp(exit_file, &now);
  _exit(0);
}

/* Line i of width w, newline included; returns w (or 0 if w is too small). */
static size_t make_line(char* out, long i, long w) {
  int n = snprintf(out, (size_t)w, "line %ld ", i);
  if (n < 0 || n >= w) return 0;
  memset(out + n, 'x', (size_t)(w - 1 - n));
  out[w - 1] = '\n';
  return (size_t)w;
}

static void write_all(const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      _exit(92);
    }
    p += w;
    n -= (size_t)w;
  }
}

static void lines(long count, long width) {
  static char buf[1 << 18];
  size_t used = 0;
  for (long i = 1; i <= count; i++) {
    if (used + (size_t)width > sizeof buf) {
      write_all(buf, used);
      used = 0;
    }
    if (!make_line(buf + used, i, width)) _exit(93);
    used += (size_t)width;
  }
  write_all(buf, used);
}

static int verify(long count, long width, int nfiles, char** files) {
  static char buf[1 << 20];
  char expect[4096];
  if (width < 16 || width > (long)sizeof expect) {
    printf("bad width %ld\n", width);
    return 2;
  }
  long line = 1;
  size_t pos = 0; /* bytes of the current expected line already matched */
  long long total = 0;
  int torn = 0;
  size_t elen = make_line(expect, line, width);
  for (int f = 0; f < nfiles; f++) {
    int fd = open(files[f], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      printf("cannot open %s\n", files[f]);
      return 1;
    }
    long long off = 0;
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        printf("read error %s\n", files[f]);
        return 1;
      }
      if (n == 0) break;
      for (ssize_t i = 0; i < n;) {
        if (line > count) {
          printf("extra bytes after line %ld in %s at offset %lld\n", count, files[f], off + i);
          return 1;
        }
        size_t take = elen - pos;
        if ((size_t)(n - i) < take) take = (size_t)(n - i);
        if (memcmp(buf + i, expect + pos, take) != 0) {
          printf("mismatch in %s at offset %lld: expected line %ld\n", files[f], off + i, line);
          return 1;
        }
        pos += take;
        i += (ssize_t)take;
        total += (long long)take;
        if (pos == elen) {
          pos = 0;
          line++;
          if (line <= count) elen = make_line(expect, line, width);
        }
      }
      off += n;
    }
    close(fd);
    if (pos != 0 && f + 1 < nfiles) torn++;
  }
  if (line <= count) {
    printf("missing: got %ld of %ld lines\n", line - 1, count);
    return 1;
  }
  printf("ok %lld torn %d\n", total, torn);
  return 0;
}

static int respawn_floor(const char* self, long count, char* file) {
  extern char** environ;
  char* args[] = {(char*)self, "-s", file, NULL};
  for (long i = 0; i <= count; i++) {
    pid_t pid;
    if (posix_spawn(&pid, self, NULL, NULL, args, environ) != 0) return 1;
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
  }
  return 0;
}

static int splice_floor(long long max, const char* out, const char* cpufile) {
  char path[4096];
  long long size = 0;
  int n = 0, fd = -1;
  fcntl(0, F_SETPIPE_SZ, 1 << 20);
  for (;;) {
    if (fd < 0) {
      snprintf(path, sizeof path, "%s.%d", out, n++);
      fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) return 1;
      size = 0;
    }
    size_t len = 1 << 20;
    if (size + (long long)len > max) len = (size_t)(max - size);
    ssize_t k = splice(0, NULL, fd, NULL, len, SPLICE_F_MOVE);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return 1;
    if (k == 0) break;
    size += k;
    if (size >= max) {
      close(fd);
      fd = -1;
    }
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  FILE* f = fopen(cpufile, "w");
  if (!f) return 1;
  fprintf(f, "%.6f\n", ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
                           ru.ru_stime.tv_usec / 1e6);
  return fclose(f) == 0 ? 0 : 1;
}

static int ask(const char* path, const char* request) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) return 2;
  strcpy(addr.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr*)&addr, sizeof addr) < 0) return 2;
  size_t len = strlen(request);
  char* line = malloc(len + 1);
  memcpy(line, request, len);
  line[len] = '\n';
  if (write(fd, line, len + 1) != (ssize_t)(len + 1)) return 2;
  size_t cap = 1 << 16, used = 0;
  char* reply = malloc(cap);
  for (;;) {
    if (used == cap) reply = realloc(reply, cap *= 2);
    ssize_t k = read(fd, reply + used, cap - used);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return 2;
    used += (size_t)k;
    if (reply[used - 1] == '\n') break;
  }
  if (write(1, reply, used) != (ssize_t)used) return 2;
  return memmem(reply, used, "\"ok\":true", 9) || memmem(reply, used, "\"ok\": true", 10) ? 0 : 1;
}

int main(int argc, char** argv) {
  clock_gettime(CLOCK_MONOTONIC, &started);
  if (argc >= 4 && !strcmp(argv[1], "--verify"))
    return verify(atol(argv[2]), atol(argv[3]), argc - 4, argv + 4);
  if (argc == 4 && !strcmp(argv[1], "--ask")) return ask(argv[2], argv[3]);
  if (argc == 5 && !strcmp(argv[1], "--splice-floor"))
    return splice_floor(atoll(argv[2]), argv[3], argv[4]);
  if (argc == 4 && !strcmp(argv[1], "--respawn-floor"))
    return respawn_floor(argv[0], atol(argv[2]), argv[3]);
  long width = 100;
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : "";
    if (!strcmp(a, "-s")) {
      stamp(v, &started);
      i++;
    } else if (!strcmp(a, "-e")) {
      exit_file = v;
      signal(SIGTERM, on_term);
      i++;
    } else if (!strcmp(a, "-g")) {
      pid_t pid = fork();
      if (pid == 0) {
        signal(SIGTERM, SIG_IGN);
        char text[32];
        int n = snprintf(text, sizeof text, "%d\n", (int)getpid());
        append(v, text, (size_t)n);
        for (;;) pause();
      }
      i++;
    } else if (!strcmp(a, "-n")) {
      const char* file = i + 2 < argc ? argv[i + 2] : "";
      for (long k = atol(v); k > 0; k--) {
        if (fork() == 0) {
          char text[32];
          int n = snprintf(text, sizeof text, "%d\n", (int)getpid());
          append(file, text, (size_t)n);
          for (;;) pause();
        }
      }
      i += 2;
    } else if (!strcmp(a, "-d")) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      stamp(v, &now);
      i++;
    } else if (!strcmp(a, "-w")) {
      width = atol(v);
      i++;
    } else if (!strcmp(a, "-l")) {
      lines(atol(v), width);
      i++;
    } else if (!strcmp(a, "-a")) {
      for (;;) {
        int c = accept4(3, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
          if (errno == EINTR || errno == ECONNABORTED) continue;
          perror("benchprog: accept on fd 3");
          return 1;
        }
        (void)!write(c, "ok\n", 3);
        close(c);
      }
    } else if (!strcmp(a, "-x")) {
      if (exit_file) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        stamp(exit_file, &now);
      }
      return atoi(v);
    } else {
      fprintf(stderr, "benchprog: unknown option %s\n", a);
      return 2;
    }
  }
  for (;;) pause();
}
