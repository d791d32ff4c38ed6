#!/usr/bin/python3
"""End-to-end tests of the deployment (issue 5): the blog's real stack under superd.

    sudo SUPERD_BIN=build/superd SUPERCTL_BIN=build/superctl \
        /usr/bin/python3 tests/e2e/test_stack.py -v

Runs as root (etc/demo/setup creates the user `www`; superd drops privileges). It lays
out the demo with etc/demo/setup in a temporary directory on free loopback ports, starts
superd with the rendered config (redis, app, worker, flower, nginx), waits until every
service runs, and checks issue 5's "End-to-end tests" through nginx, then issue 6's
zero-downtime restart: 8 clients (threads, a new connection per request) for 8 s through
the shipped nginx site while `superctl restart app` runs, while `reload-config` changes
app, and while a restart to a broken release (its code does not import) fails; each time
0 failed requests, and a new master serving afterwards with no old process left (or, for
the broken release, the old master still serving). nginx retries a request that a
leaving worker reset, so it could hide a drop: one more `restart app` runs under load
sent straight to gunicorn's port (the socket superd holds, no proxy in between), and it
too must fail no request. It also checks the shipped files that
need no daemon: `nginx -t` on etc/nginx, `systemd-analyze verify` on
etc/superd.service (a copy whose ExecStart=/ExecReload= name the built binaries:
verify insists that they exist, and /usr/local/bin/superd is not installed in tests).

Standard library only. Every wait is bounded (polls of 20-50 ms against a deadline), the
whole run is cut at E2E_TIMEOUT seconds (default 240), and everything the suite started
is stopped by pid even when a test fails or the run is interrupted. Ports are taken from
below the kernel's ephemeral range and reserved, for as long as the suite runs, with the
same flocks (/tmp/superd-test-ports/PORT) as the integration tests. Timing is reported,
not asserted, beyond bounds no loaded machine reaches: tests/bench measures it. Environment:
  SUPERD_BIN, SUPERCTL_BIN   the binaries (default BUILD_DIR/superd, BUILD_DIR/superctl,
                             BUILD_DIR defaulting to <repo>/build)
  E2E_KEEP=1                 keep the demo directory (it is always kept after a failure)
  FLOWER_SRC                 passed to etc/demo/setup (a missing path runs without Flower)
  E2E_RESULTS=FILE           write {"passed": [...], "failed": [[name, why]...], "skipped":
                             [[name, why]...]} to FILE (tests/run-all's summary)
At the end it prints the figures issue 5's closing note asks for: time from superd's
start to every service running, kill -9 recovery time, Celery round-trip time; and how
long the restart and reload-config under load took and the longest request meanwhile
(tests/bench/zero_downtime measures those properly).
"""
import atexit
import html
import http.client
import importlib.machinery
import importlib.util
import json
import os
import pwd
import grp
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
BUILD_DIR = Path(os.environ.get("BUILD_DIR") or REPO / "build")
SUPERD = os.environ.get("SUPERD_BIN") or str(BUILD_DIR / "superd")
SUPERCTL = os.environ.get("SUPERCTL_BIN") or str(BUILD_DIR / "superctl")
SETUP = REPO / "etc" / "demo" / "setup"
SUITE_TIMEOUT = float(os.environ.get("E2E_TIMEOUT", "240"))
POLL = 0.05

SERVICE_USER = "www"
STARTUP_LIMIT = 90.0      # superd start -> every service running
KILL9_TARGET = 2.0        # issue 5: a new master's worker answers within 2 s (reported)
KILL9_LIMIT = 20.0        # asserted: only a superd that does not respawn reaches it


def log(msg):
    print(f"[e2e] {msg}", file=sys.stderr, flush=True)


class Abort(Exception):
    """Raised from inside a wait when waiting longer cannot help (superd died, a
    service went fatal): wait_for passes it on at once."""


class SuiteTimeout(KeyboardInterrupt):
    """Raised by the suite's alarm. A KeyboardInterrupt, so unittest lets it through
    and the atexit cleanup stops everything."""


# ---------------------------------------------------------------------------------------
# Waiting

def wait_for(what, fn, timeout, interval=POLL):
    """Calls fn until it returns something truthy; fails after `timeout` seconds with the
    last value or exception fn produced."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = fn()
            if value:
                return value
            last = value
        except Abort:
            raise
        except Exception as e:  # noqa: BLE001 - reported below
            last = f"{type(e).__name__}: {e}"
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; last: {last}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------
# Processes, from /proc

class Proc:
    __slots__ = ("pid", "comm", "state", "ppid", "pgrp", "session", "starttime",
                 "uids", "gids", "groups", "cmdline")

    def key(self):
        return (self.pid, self.starttime)

    def __repr__(self):
        return (f"<pid {self.pid} ppid {self.ppid} sid {self.session} uid {self.uids[0]} "
                f"{self.state} {self.cmdline[:80]!r}>")


def read_proc(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("utf-8", "replace")
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    p = Proc()
    p.pid = pid
    lpar, rpar = stat.index("("), stat.rindex(")")
    p.comm = stat[lpar + 1:rpar]
    fields = stat[rpar + 2:].split()
    p.state = fields[0]
    p.ppid, p.pgrp, p.session = int(fields[1]), int(fields[2]), int(fields[3])
    p.starttime = int(fields[19])
    p.uids = p.gids = ()
    p.groups = set()
    for line in status.splitlines():
        if line.startswith("Uid:"):
            p.uids = tuple(int(x) for x in line.split()[1:])
        elif line.startswith("Gid:"):
            p.gids = tuple(int(x) for x in line.split()[1:])
        elif line.startswith("Groups:"):
            p.groups = {int(x) for x in line.split()[1:]}
    p.cmdline = cmdline or f"[{p.comm}]"
    return p


def all_procs(include_zombies=False):
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            p = read_proc(int(name))
            if p and (include_zombies or p.state != "Z"):
                out.append(p)
    return out


def alive(key):
    """The process (pid, starttime) still exists and is not a zombie."""
    p = read_proc(key[0])
    return p is not None and p.starttime == key[1] and p.state != "Z"


def session_procs(sid):
    return [p for p in all_procs() if p.session == sid]


def children(pid):
    return [p for p in all_procs() if p.ppid == pid]


def descendants(root_pid):
    procs = all_procs(include_zombies=True)
    kids = {}
    for p in procs:
        kids.setdefault(p.ppid, []).append(p)
    out, todo = [], [root_pid]
    while todo:
        for p in kids.get(todo.pop(), []):
            out.append(p)
            todo.append(p.pid)
    return out


def user_procs(uid):
    return [p for p in all_procs() if uid in p.uids]


# ---------------------------------------------------------------------------------------
# Small parsers

def parse_duration(value):
    if isinstance(value, (int, float)):
        return float(value)
    m = re.fullmatch(r"\s*([0-9.]+)\s*(ms|s|m|h)?\s*", value)
    if not m:
        raise ValueError(f"bad duration {value!r}")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


def read_shell_env(path):
    env = {}
    for line in Path(path).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            env[k.strip()] = v.strip()
    return env


_PORT_LOCKS = []   # open files holding the flocks: released when the suite exits


def free_ports(n):
    """n loopback ports that nothing else takes while the suite runs: from below the
    ephemeral range (no bind to port 0 or outgoing connection on the machine gets them),
    free when taken, and flocked as the integration tests' harness does, so no test of
    theirs (nor a second call here) gets them either."""
    import fcntl
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low_ephemeral = int(f.read().split()[0])
    low, high = 20000, max(21000, low_ephemeral)
    os.makedirs("/tmp/superd-test-ports", exist_ok=True)
    ports = []
    start = (os.getpid() * 7919) % (high - low)
    for i in range(high - low):
        port = low + (start + i) % (high - low)
        f = open(f"/tmp/superd-test-ports/{port}", "a")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            finally:
                s.close()
        except OSError:
            f.close()
            continue
        _PORT_LOCKS.append(f)
        ports.append(port)
        if len(ports) == n:
            return ports
    raise AssertionError(f"only {len(ports)} free ports in {low}..{high}")


# ---------------------------------------------------------------------------------------
# The stack: the demo directory, superd, and everything to stop at the end

class Stack:
    def __init__(self):
        self.dir = None
        self.superd = None          # Popen
        self.superd_out = None
        self.sessions = set()       # every service main pid (= session id) seen
        self.failed = False
        self.cleaned = False
        self.metrics = {}
        self.notify_sock = None
        self.notify_msgs = []       # (monotonic time, text)
        self.notify_thread = None
        self.notify_stop = threading.Event()
        self.flower = False
        self.config = None
        self.env = None
        self.lock = threading.Lock()

    # -- set up --------------------------------------------------------------------------

    def setup_demo(self):
        self.dir = Path(tempfile.mkdtemp(prefix="superd-e2e-"))
        ports = free_ports(4)
        env = dict(os.environ,
                   DEMO_HTTP_PORT=str(ports[0]), DEMO_APP_PORT=str(ports[1]),
                   DEMO_REDIS_PORT=str(ports[2]), DEMO_FLOWER_PORT=str(ports[3]))
        # Twice: README command 1 runs it at every start, so it must be idempotent.
        keys = []
        for attempt in (1, 2):
            r = subprocess.run([str(SETUP), str(self.dir)], env=env, capture_output=True,
                               text=True, timeout=120)
            if attempt == 2 or r.returncode != 0:
                for line in (r.stdout + r.stderr).splitlines():
                    log(line if line.startswith("setup:") else f"setup: {line}")
            if r.returncode != 0:
                raise AssertionError(f"etc/demo/setup (run {attempt}) failed with status "
                                     f"{r.returncode}")
            keys.append((self.dir / "blog.env").read_text())
        if keys[0] != keys[1]:
            raise AssertionError("etc/demo/setup changed SECRET_KEY on its second run")
        self.env = read_shell_env(self.dir / "demo.env")
        self.flower = self.env.get("FLOWER") == "1"
        with open(self.env["SUPER_CONFIG"], "rb") as f:
            self.config = tomllib.load(f)
        self.socket = self.env["SUPER_SOCKET"]
        self.http_port = int(self.env["HTTP_PORT"])
        self.app_port = int(self.env["APP_PORT"])   # gunicorn's, held by superd

    def start_notify_listener(self):
        path = str(self.dir / "notify.sock")
        self.notify_sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify_sock.bind(path)
        self.notify_sock.settimeout(0.2)

        def loop():
            while not self.notify_stop.is_set():
                try:
                    data = self.notify_sock.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return
                with self.lock:
                    self.notify_msgs.append((time.monotonic(), data.decode("utf-8", "replace")))

        self.notify_thread = threading.Thread(target=loop, daemon=True)
        self.notify_thread.start()
        return path

    def notified(self, assignment):
        with self.lock:
            return [t for t, text in self.notify_msgs if assignment in text.split("\n")]

    def start_superd(self):
        notify_path = self.start_notify_listener()
        env = dict(os.environ, NOTIFY_SOCKET=notify_path)
        self.superd_out = open(self.dir / "superd.out", "wb")
        self.t_start = time.monotonic()
        # Its own session: a Ctrl-C at the terminal reaches the suite, which stops superd.
        self.superd = subprocess.Popen([SUPERD, "-c", self.env["SUPER_CONFIG"]],
                                       stdin=subprocess.DEVNULL, stdout=self.superd_out,
                                       stderr=subprocess.STDOUT, env=env,
                                       start_new_session=True, cwd="/")
        log(f"superd pid {self.superd.pid}, config {self.env['SUPER_CONFIG']}")

    # -- superd and superctl -------------------------------------------------------------

    def superctl(self, *args, timeout=90):
        r = subprocess.run([SUPERCTL, "-s", self.socket, *args], capture_output=True,
                           text=True, timeout=timeout)
        return r

    def status(self):
        """{name: ServiceStatus} from `superctl --json status`; remembers main pids."""
        if self.superd is not None and self.superd.poll() is not None:
            raise Abort(f"superd exited with status {self.superd.returncode}")
        r = self.superctl("--json", "status", timeout=10)
        if r.returncode not in (0, 3):
            raise AssertionError(f"superctl status exited {r.returncode}: {r.stderr.strip()}")
        data = json.loads(r.stdout)
        if isinstance(data, dict) and "result" in data:
            data = data["result"]
        services = data["services"] if isinstance(data, dict) else data
        out = {s["name"]: s for s in services}
        with self.lock:
            self.sessions.update(s["pid"] for s in services if s.get("pid"))
        return out

    def service_names(self):
        return list(self.config["service"])

    def wait_running(self, names, timeout):
        def check():
            st = self.status()
            bad = [f"{n}: {st[n]['state']} ({st[n].get('reason') or st[n].get('last_exit')})"
                   for n in names if st[n]["state"] == "fatal"]
            if bad:
                raise Abort("fatal service(s): " + "; ".join(bad))
            not_yet = [f"{n}={st[n]['state']}" for n in names if st[n]["state"] != "running"]
            return st if not not_yet else None
        return wait_for(f"{', '.join(names)} running", check, timeout)

    def wait_state(self, names, state, timeout):
        return wait_for(f"{', '.join(names)} {state}",
                        lambda: (lambda st: st if all(st[n]["state"] == state for n in names)
                                 else None)(self.status()), timeout)

    # -- HTTP through nginx --------------------------------------------------------------

    def get(self, path, timeout=5.0):
        """(status, headers, body bytes) of GET path through the demo's nginx."""
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        try:
            conn.request("GET", path, headers={"Host": "127.0.0.1"})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def get_json(self, path, timeout=5.0):
        code, _, body = self.get(path, timeout)
        if code != 200:
            raise AssertionError(f"GET {path}: {code} {body[:200]!r}")
        return json.loads(body)

    # -- users of the config -------------------------------------------------------------

    def identity(self, name):
        """(uid, gid, supplementary group set) the service must run with."""
        svc = self.config["service"][name]
        defaults = self.config.get("defaults", {})
        user = svc.get("user", defaults.get("user"))
        pw = pwd.getpwnam(user) if user else pwd.getpwuid(0)
        group = svc.get("group", defaults.get("group"))
        gid = grp.getgrnam(group).gr_gid if group else pw.pw_gid
        return pw.pw_uid, gid, set(os.getgrouplist(pw.pw_name, gid))

    # -- tearing down --------------------------------------------------------------------

    def cleanup(self):
        if self.cleaned:
            return
        self.cleaned = True
        try:
            self._stop_everything()
        finally:
            self.notify_stop.set()
            if self.notify_sock:
                self.notify_sock.close()
            if self.superd_out:
                self.superd_out.close()
            self._report()
            if self.dir:
                keep = self.failed or os.environ.get("E2E_KEEP") == "1"
                if self.failed:
                    self._dump_logs()
                if keep:
                    log(f"kept {self.dir} (logs in {self.dir}/log, superd's output in "
                        f"{self.dir}/superd.out)")
                else:
                    shutil.rmtree(self.dir, ignore_errors=True)

    def _stop_everything(self):
        """superd by its pid (TERM, then KILL); then any process left in a session of a
        service or descended from superd, by pid."""
        sessions = set(self.sessions)
        tree = []
        if self.superd is not None and self.superd.poll() is None:
            tree = [p for p in descendants(self.superd.pid) if p.state != "Z"]
            sessions |= {p.session for p in tree}
            self.superd.send_signal(signal.SIGTERM)
            try:
                self.superd.wait(timeout=75)
            except subprocess.TimeoutExpired:
                log(f"superd {self.superd.pid} ignored SIGTERM for 75 s: SIGKILL")
                self.superd.kill()
                self.superd.wait(timeout=10)
        sessions.discard(0)
        sessions.discard(os.getsid(0))
        tree_keys = {p.key() for p in tree}
        leftovers = [p for p in all_procs() if p.session in sessions or p.key() in tree_keys]
        for p in leftovers:
            log(f"cleanup: killing leftover {p}")
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if leftovers:
            self.failed = True

    def _report(self):
        if self.metrics:
            log("figures: " + ", ".join(f"{k} {v:.3f} s" for k, v in self.metrics.items()))

    def _dump_logs(self):
        files = sorted((self.dir / "log").glob("*.log")) + [self.dir / "superd.out"]
        for f in files:
            try:
                lines = f.read_text(errors="replace").splitlines()[-25:]
            except OSError:
                continue
            log(f"---- last lines of {f}")
            for line in lines:
                print(f"    {line}", file=sys.stderr)


STACK = Stack()
atexit.register(STACK.cleanup)


def _interrupt(signo, _frame):
    raise KeyboardInterrupt(f"signal {signo}")


def _timeout(_signo, _frame):
    STACK.failed = True
    raise SuiteTimeout(f"the e2e suite ran over E2E_TIMEOUT={SUITE_TIMEOUT:g} s")


# ---------------------------------------------------------------------------------------
# Load during a restart (issue 6)

LOAD_CLIENTS = 8
LOAD_SECONDS = 8.0


class Load:
    """LOAD_CLIENTS threads through the demo's nginx, each a new connection per request
    (GET /whoami, which says which worker and master answered), until finish_at() says
    when: at least `duration` seconds, longer when a restart runs long, never more than
    duration + 60 s. Every request is kept: (start, end, outcome, pid, ppid)."""

    def __init__(self, port, clients=LOAD_CLIENTS, duration=LOAD_SECONDS, path="/whoami"):
        self.port, self.path = port, path
        self.records = []
        self.lock = threading.Lock()
        self.t_begin = time.monotonic()
        self.t_min_end = self.t_begin + duration
        self.t_cap = self.t_min_end + 60
        self.t_end = self.t_cap   # until finish_at()
        self.threads = [threading.Thread(target=self._client, daemon=True)
                        for _ in range(clients)]
        for t in self.threads:
            t.start()

    def finish_at(self, t):
        self.t_end = min(self.t_cap, max(self.t_min_end, t))

    def answered(self):
        with self.lock:
            return sum(1 for r in self.records if r[2] == "ok")

    def _client(self):
        while True:
            t0 = time.monotonic()
            if t0 >= self.t_end:
                return
            outcome, pid, ppid = "ok", 0, 0
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                conn.request("GET", self.path, headers={"Host": "127.0.0.1",
                                                        "Connection": "close"})
                resp = conn.getresponse()
                body = resp.read()
                if resp.status != 200:
                    outcome = f"HTTP {resp.status}"
                else:
                    info = json.loads(body)
                    pid, ppid = info["pid"], info["ppid"]
            except Exception as e:  # noqa: BLE001 - every failure is a result here
                outcome = f"{type(e).__name__}: {e}"
            finally:
                conn.close()
            with self.lock:
                self.records.append((t0, time.monotonic(), outcome, pid, ppid))

    def join(self):
        deadline = self.t_cap + 15   # a request's own timeout is 10 s
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        if any(t.is_alive() for t in self.threads):
            raise AssertionError("load clients still running 15 s after the load's end")
        with self.lock:
            return sorted(self.records)


class StatusPoller:
    """`superctl --json status` of app every 100 ms in a thread, while a swap runs."""

    def __init__(self):
        self.samples = []   # (monotonic time, pid, old_pid, state)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop_event.is_set():
            try:
                app = STACK.status()["app"]
                self.samples.append((time.monotonic(), app.get("pid", 0),
                                     app.get("old_pid", 0), app["state"]))
            except Exception:  # noqa: BLE001 - a missed sample is no result
                pass
            self.stop_event.wait(0.1)

    def stop(self):
        self.stop_event.set()
        self.thread.join(15)
        return self.samples


class Swap:
    """What happened while an action (restart, reload-config) ran under load."""

    def __init__(self, old, records, t0, t1, result, samples, survivors):
        self.old, self.records, self.t0, self.t1 = old, records, t0, t1
        self.result, self.samples, self.survivors = result, samples, survivors
        self.failures = [r for r in records if r[2] != "ok"]

    def failure_report(self):
        counts = {}
        for r in self.failures:
            counts[r[2]] = counts.get(r[2], 0) + 1
        first = [f"{(r[0] - self.t0) * 1000:+.0f} ms: {r[2]}" for r in self.failures[:5]]
        return (f"{len(self.failures)} of {len(self.records)} requests failed {counts}; "
                f"first (from the command's start): {first}")

    def answered_after(self):
        """ppids of the answers to requests sent after the action returned."""
        return {r[4] for r in self.records if r[0] > self.t1 and r[2] == "ok"}

    def max_latency_ms(self):
        window = [r[1] - r[0] for r in self.records if r[0] <= self.t1 and r[1] >= self.t0]
        return max(window, default=0.0) * 1000

    def new_masters_seen(self):
        return {pid for _, pid, _, _ in self.samples if pid and pid != self.old}


def rewrite_app_config(change):
    """Applies change(app table) to the rendered config and writes it back (with
    etc/demo/setup's own TOML writer); returns the new config."""
    loader = importlib.machinery.SourceFileLoader("demo_setup", str(SETUP))
    spec = importlib.util.spec_from_loader("demo_setup", loader)
    setup = importlib.util.module_from_spec(spec)
    loader.exec_module(setup)
    path = Path(STACK.env["SUPER_CONFIG"])
    with open(path, "rb") as f:
        doc = tomllib.load(f)
    change(doc["service"]["app"])
    text = setup.dump_toml(doc, "# etc/demo/setup's config, changed by the e2e suite")
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(text)
    os.chmod(tmp, 0o644)
    tmp.rename(path)
    STACK.config = tomllib.loads(text)
    return STACK.config


# ---------------------------------------------------------------------------------------
# Tests that need no daemon

class ShippedFilesTest(unittest.TestCase):
    def test_nginx_config_passes_nginx_t(self):
        prefix = Path(tempfile.mkdtemp(prefix="superd-nginx-t-"))
        try:
            for sub in ("run", "logs", "tmp"):
                (prefix / sub).mkdir()
            r = subprocess.run(["/usr/sbin/nginx", "-e", "stderr", "-t", "-p", f"{prefix}/",
                                "-c", str(REPO / "etc" / "nginx" / "nginx.conf")],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            shutil.rmtree(prefix, ignore_errors=True)
        site = (REPO / "etc" / "nginx" / "blog.conf").read_text()
        flower = site[site.index("location ~ ^/flower/?"):]
        flower = flower[:flower.index("}")]
        for directive in ("proxy_pass http://127.0.0.1:5555;", "proxy_http_version 1.1;",
                          "proxy_set_header Host $host;",
                          "proxy_set_header Upgrade $http_upgrade;",
                          'proxy_set_header Connection "upgrade";'):
            self.assertIn(directive, flower)
        self.assertRegex(site, r"location /static/ \{\s*alias /")
        # / goes to gunicorn through an upstream that lists it twice, so that nginx can
        # retry an idempotent request that a leaving worker reset (issue 6).
        upstream = re.search(r"upstream (\w+) \{([^}]*)\}", site)
        self.assertIsNotNone(upstream, "no upstream block for the app")
        servers = re.findall(r"^\s*server\s+(\S+)([^;]*);", upstream.group(2), re.M)
        self.assertEqual([a for a, _ in servers], ["127.0.0.1:8000"] * 2)
        for _, params in servers:
            self.assertIn("max_fails=0", params)
        root = site[site.index("location / {"):]
        root = root[:root.index("}")]
        self.assertIn(f"proxy_pass http://{upstream.group(1)};", root)
        self.assertRegex(root, r"proxy_next_upstream error timeout;")
        self.assertNotIn("non_idempotent",
                         "\n".join(l.split("#")[0] for l in root.splitlines()))

    def test_app_restarts_new_first_on_uvicorns_startup_line(self):
        """etc/super.toml: app has the held socket and a `log` readiness that matches the
        line each uvicorn worker prints once it serves, and no access-log line."""
        with open(REPO / "etc" / "super.toml", "rb") as f:
            app = tomllib.load(f)["service"]["app"]
        self.assertEqual(app.get("listen"), ["tcp:127.0.0.1:8000"])
        ready = app.get("ready")
        self.assertIsInstance(ready, dict)
        pattern = re.compile(ready["log"])   # ECMAScript in superd; this subset is the same
        self.assertTrue(pattern.search(
            "[2026-11-26 09:09:53 +0000] [2965] [INFO] Application startup complete."))
        for line in ('[2026-11-26 09:09:53 +0000] [2965] [INFO] Waiting for application startup.',
                     '127.0.0.1 - - [26/Nov/2026:09:15:48 +0000] "GET /x HTTP/1.0" 200 136 "-" '
                     '"[x] [1] [INFO] Application startup complete."'):
            self.assertIsNone(pattern.search(line), line)
        self.assertGreaterEqual(parse_duration(ready.get("timeout", "0s")), 10)

    def test_production_config_passes_superd_check(self):
        """etc/super.toml as shipped (the demo checks its rendered copy). Where the
        production paths or the user www do not exist here, only errors naming them are
        allowed."""
        if not os.access(SUPERD, os.X_OK):
            self.skipTest(f"{SUPERD} is not built")
        path = str(REPO / "etc" / "super.toml")
        r = subprocess.run([SUPERD, "--check", "-c", path], capture_output=True, text=True,
                           timeout=30)
        if r.returncode == 0:
            return
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        missing = [p for p in ("/srv/blog", "/etc/super/blog.env", "/var/lib/redis",
                               "/opt/flower-2.0.1", "/var/www/blog/static")
                   if not os.path.exists(p)]
        missing_users = []
        for user in ("www", "redis"):
            try:
                pwd.getpwnam(user)
            except KeyError:
                missing_users.append(user)
        try:
            grp.getgrnam("superops")  # socket_group, made by etc/demo/setup
        except KeyError:
            missing_users.append("superops")
        errors = [line for line in (r.stdout + r.stderr).splitlines()
                  if re.match(re.escape(path) + r":\d+:\d+: ", line)]
        self.assertTrue(errors, f"superd --check failed without a FILE:LINE:COL error:\n"
                        f"{r.stdout}{r.stderr}")
        for line in errors:
            self.assertTrue(any(p in line for p in missing)
                            or any(re.search(rf"\b{u}\b", line) for u in missing_users),
                            f"an error not about a path or user this host lacks: {line}")

    def test_systemd_unit_verifies(self):
        """`systemd-analyze verify` on a copy that names the built binaries (verify
        checks that ExecStart=/ExecReload= executables exist)."""
        unit = (REPO / "etc" / "superd.service").read_text()
        self.assertIn("ExecStart=/usr/local/bin/superd -c /etc/super/super.toml\n", unit)
        self.assertIn("ExecReload=/usr/local/bin/superctl reload-config\n", unit)
        settings = {}
        for line in unit.splitlines():
            if "=" in line and not line.lstrip().startswith(("#", ";")):
                k, v = line.split("=", 1)
                settings[k.strip()] = v.strip()
        # KillMode=process: superd stops its services itself, and they outlive a crash of
        # superd, whose next start adopts them with the fds kept in the fd store (the
        # notify sockets in the preserved runtime directory).
        for key, value in (("Type", "notify"), ("KillMode", "process"),
                           ("Restart", "on-failure"), ("NotifyAccess", "main"),
                           ("RuntimeDirectory", "super"), ("StateDirectory", "super"),
                           ("LogsDirectory", "super"), ("RuntimeDirectoryPreserve", "restart")):
            self.assertEqual(settings.get(key), value, key)
        # Long enough for superd to stop every service itself, one after another.
        with open(REPO / "etc" / "super.toml", "rb") as f:
            config = tomllib.load(f)
        total = sum(parse_duration(s.get("stop_timeout", "30s"))
                    for s in config["service"].values())
        self.assertGreater(parse_duration(settings["TimeoutStopSec"]), total)
        # Room in the fd store for every fd superd keeps there (6 per service at most).
        self.assertGreaterEqual(int(settings["FileDescriptorStoreMax"]), 6 * len(config["service"]))

        superd = SUPERD if os.access(SUPERD, os.X_OK) else "/usr/bin/true"
        superctl = SUPERCTL if os.access(SUPERCTL, os.X_OK) else "/usr/bin/true"
        if superd == "/usr/bin/true":
            log(f"{SUPERD} is not built: verifying the unit with /usr/bin/true in its place")
        tmp = Path(tempfile.mkdtemp(prefix="superd-unit-"))
        try:
            copy = (unit.replace("ExecStart=/usr/local/bin/superd ",
                                 f"ExecStart={os.path.abspath(superd)} ")
                        .replace("ExecReload=/usr/local/bin/superctl ",
                                 f"ExecReload={os.path.abspath(superctl)} "))
            (tmp / "superd.service").write_text(copy)
            r = subprocess.run(["systemd-analyze", "verify", str(tmp / "superd.service")],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            # verify prints problems it does not count as failures; there must be none
            # about this unit.
            self.assertNotIn("superd.service:", r.stdout + r.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# The stack

class StackTest(unittest.TestCase):
    """In order (test_NN_): the later tests stop what the earlier ones use."""

    @classmethod
    def setUpClass(cls):
        cls.addClassCleanup(STACK.cleanup)
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root: etc/demo/setup creates users, superd "
                                    "drops privileges")
        for b in (SUPERD, SUPERCTL):
            if not os.access(b, os.X_OK):
                raise AssertionError(f"{b} is not an executable: build first, or set "
                                     "SUPERD_BIN and SUPERCTL_BIN")
        STACK.setup_demo()
        if not STACK.flower:
            log("Flower is not available (../shared/vendor/flower-2.0.1 not found): the "
                "stack runs without it and the Flower test is skipped")
        r = subprocess.run([SUPERD, "--check", "-c", STACK.env["SUPER_CONFIG"]],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise AssertionError(f"superd --check rejects the demo config:\n{r.stdout}{r.stderr}")
        STACK.start_superd()
        STACK.wait_running(STACK.service_names(), STARTUP_LIMIT)
        STACK.metrics["superd start to all running"] = time.monotonic() - STACK.t_start

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result and len(result.failures) + len(result.errors) > before:
            STACK.failed = True
        return out

    # helpers

    def app_master(self):
        st = STACK.wait_running(["app"], 30)
        return st["app"]["pid"]

    def workers_of(self, master):
        return [p for p in children(master) if p.session == master]

    def wait_app_serving(self, master, timeout):
        """A worker of `master` answers /whoami through nginx; returns its answer."""
        def check():
            info = STACK.get_json("/whoami", timeout=2)
            return info if info["ppid"] == master else None
        return wait_for(f"a worker of gunicorn master {master} to answer", check, timeout)

    @staticmethod
    def whoami_from_root(timeout=5.0):
        """GET / through nginx: 200, and the serving process's info from the page."""
        code, _, body = STACK.get("/", timeout)
        if code != 200:
            raise AssertionError(f"GET /: {code} {body[:200]!r}")
        m = re.search(rb'<pre id="whoami">(.*?)</pre>', body, re.S)
        if not m:
            raise AssertionError(f"GET /: no process info in {body[:300]!r}")
        return json.loads(html.unescape(m.group(1).decode()))

    def task_result(self, task_id, timeout, want="SUCCESS"):
        def check():
            r = STACK.get_json(f"/task/{task_id}")
            if r["state"] in ("FAILURE", "REVOKED"):
                raise Abort(f"task {task_id}: {r}")
            return r if r["state"] == want else None
        return wait_for(f"task {task_id} {want}", check, timeout)

    # tests

    def test_00_superctl_status_all_running(self):
        st = STACK.status()
        self.assertEqual(sorted(st), sorted(STACK.service_names()))
        for name, s in st.items():
            self.assertEqual(s["state"], "running", name)
            self.assertGreater(s["pid"], 0, name)
        r = STACK.superctl("status", timeout=10)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for name in st:
            self.assertRegex(r.stdout, rf"(?m)^\s*{re.escape(name)}\s+running\b")

    def test_01_ready_notified(self):
        # superd is Type=notify: READY=1 once every enabled service has left `starting`.
        wait_for("READY=1 on NOTIFY_SOCKET", lambda: STACK.notified("READY=1"), 5)

    def test_02_root_page_from_uvicorn_worker_as_www(self):
        www = pwd.getpwnam(SERVICE_USER)
        master = self.app_master()
        info = self.whoami_from_root()
        for who in (info, STACK.get_json("/whoami")):
            self.assertEqual(who["uid"], www.pw_uid)
            self.assertNotEqual(who["uid"], 0)
            self.assertEqual(who["euid"], www.pw_uid)
            self.assertEqual(who["server"], "uvicorn")
            self.assertEqual(who["interface"], "asgi")
            # A worker, forked by the master superd started, not the master itself.
            self.assertEqual(who["ppid"], master)
            self.assertNotEqual(who["pid"], master)
            worker = read_proc(who["pid"])
            self.assertIsNotNone(worker)
            self.assertEqual(worker.session, master)

    def test_03_every_process_runs_as_its_user_and_groups(self):
        st = STACK.status()
        seen = {}
        for name, s in st.items():
            uid, gid, groups = STACK.identity(name)
            procs = session_procs(s["pid"])
            self.assertTrue(procs, f"no process in the session of {name} ({s['pid']})")
            seen[name] = len(procs)
            for p in procs:
                self.assertEqual(p.uids, (uid,) * 4, f"{name}: {p}")
                self.assertEqual(p.gids, (gid,) * 4, f"{name}: {p}")
                self.assertEqual(p.groups, groups, f"{name}: {p}")
                if uid != 0:
                    self.assertNotIn(0, p.groups, f"{name}: {p}")
        # The multi-process services show their children too.
        self.assertGreaterEqual(seen["app"], 2)      # master + workers
        self.assertGreaterEqual(seen["worker"], 2)   # main + pool
        self.assertGreaterEqual(seen["nginx"], 2)    # master + workers

    def test_04_static_file(self):
        code, headers, body = STACK.get("/static/blog/site.css")
        self.assertEqual(code, 200)
        self.assertTrue(headers.get("content-type", "").startswith("text/css"), headers)
        self.assertEqual(body, (REPO / "etc" / "blog" / "static" / "blog" / "site.css").read_bytes())

    def test_05_celery_round_trip(self):
        t0 = time.monotonic()
        task_id = STACK.get_json("/task/add?x=2&y=3")["task_id"]
        r = self.task_result(task_id, 30)
        STACK.metrics["celery round trip"] = time.monotonic() - t0
        self.assertEqual(r["result"], 5)

    def test_06_flower_lists_the_worker(self):
        if not STACK.flower:
            self.skipTest("Flower not available: ../shared/vendor/flower-2.0.1 not found")
        STACK.wait_running(["worker", "flower"], 30)
        workers = wait_for("/flower/api/workers to list a worker",
                           lambda: STACK.get_json("/flower/api/workers?refresh=1", timeout=10),
                           30, interval=0.5)
        names = [w for w in workers if w.startswith("celery@")]
        self.assertTrue(names, workers)

        def page():
            code, _, body = STACK.get("/flower/", timeout=10)
            return code == 200 and any(n.encode() in body for n in names)
        wait_for(f"Flower's page to list {names}", page, 20, interval=0.2)

    def test_07_restart_app_gives_a_new_master(self):
        old = self.app_master()
        old_procs = [p.key() for p in session_procs(old)]
        r = STACK.superctl("restart", "app")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        new = STACK.wait_running(["app"], 30)["app"]["pid"]
        self.assertNotEqual(new, old)
        info = self.wait_app_serving(new, 15)
        self.assertEqual(info["uid"], pwd.getpwnam(SERVICE_USER).pw_uid)
        wait_for("the old master and its workers to be gone",
                 lambda: not any(alive(k) for k in old_procs), 30)

    def test_08_reload_app_keeps_master_replaces_workers(self):
        master = self.app_master()
        old = wait_for("gunicorn workers", lambda: self.workers_of(master), 15)
        old_keys = [p.key() for p in old]
        r = STACK.superctl("reload", "app")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        def replaced():
            if any(alive(k) for k in old_keys):
                return None
            return [p for p in self.workers_of(master) if p.key() not in old_keys]
        new = wait_for("new workers in place of the old ones", replaced, 30)
        self.assertEqual(STACK.status()["app"]["pid"], master)
        info = self.wait_app_serving(master, 15)
        self.assertNotIn(info["pid"], [k[0] for k in old_keys])
        self.assertIn(info["pid"], [p.pid for p in self.workers_of(master)])
        self.assertTrue(new)

    def test_09_kill9_master_new_master_serves(self):
        master = self.app_master()
        self.wait_app_serving(master, 15)
        old_workers = wait_for("gunicorn workers", lambda: self.workers_of(master), 15)
        old_keys = [p.key() for p in old_workers]
        master_key = read_proc(master).key()

        os.kill(master, signal.SIGKILL)
        t0 = time.monotonic()
        answer, last = None, None
        while time.monotonic() - t0 < KILL9_LIMIT:   # bounded
            try:
                info = self.whoami_from_root(timeout=1)
                if info["ppid"] != master and info["pid"] not in [k[0] for k in old_keys]:
                    answer = (time.monotonic() - t0, info)
                    break
                last = f"answered by old worker {info['pid']}"
            except (OSError, AssertionError, ValueError, http.client.HTTPException) as e:
                last = f"{type(e).__name__}: {e}"
            time.sleep(0.02)
        self.assertIsNotNone(answer, f"no new master's worker answered GET / within "
                             f"{KILL9_LIMIT:g} s "
                             f"(last: {last}; old workers alive: "
                             f"{[read_proc(k[0]) for k in old_keys if alive(k)]})")
        elapsed, info = answer
        survivors = [k for k in old_keys if alive(k)]
        STACK.metrics["kill -9 recovery"] = elapsed
        self.assertEqual(survivors, [], "old workers still alive when the new master served")
        self.assertFalse(alive(master_key))
        # The 2 s of issue 5 is a figure, not a check: a loaded 2-core machine can take
        # longer to boot a Django worker. Only a superd that never respawns gets to 20 s.
        log(f"kill -9 of the master: a new worker answered after {elapsed:.2f} s (target "
            f"{KILL9_TARGET:g} s{', missed' if elapsed > KILL9_TARGET else ''})")
        new = STACK.wait_running(["app"], 15)["app"]["pid"]
        self.assertNotEqual(new, master)
        self.assertEqual(info["ppid"], new)
        self.assertEqual(session_procs(master), [])

    def test_10_stop_worker_lets_running_task_finish(self):
        st = STACK.wait_running(["worker"], 30)
        main = st["worker"]["pid"]
        # Where superd writes the worker's output: `stdout` relative to log_dir (NAME.log
        # without it). The check below needs that file: it must be there.
        stdout = STACK.config["service"]["worker"].get("stdout", "worker.log")
        self.assertNotIn(stdout, ("console", "journal"),
                         "the warm-shutdown check reads the worker's log file")
        log_file = Path(STACK.config["supervisor"]["log_dir"]) / stdout
        self.assertTrue(log_file.is_file(), f"no worker log at {log_file}")
        log_start = log_file.stat().st_size
        task_id = STACK.get_json("/task/sleep?seconds=3")["task_id"]
        self.task_result(task_id, 15, want="STARTED")
        t_stop = time.monotonic()
        r = STACK.superctl("stop", "worker")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        STACK.wait_state(["worker"], "stopped", 60)
        result = self.task_result(task_id, 15)
        self.assertEqual(result["result"]["slept"], 3)
        self.assertLess(time.monotonic() - t_stop, 60)
        self.assertEqual(session_procs(main), [], "a worker process outlived the stop")
        www = pwd.getpwnam(SERVICE_USER).pw_uid
        celery = [p for p in user_procs(www) if re.search(r"\bcelery\b.*\bworker\b", p.cmdline)]
        self.assertEqual(celery, [])
        with open(log_file, "rb") as f:
            f.seek(log_start)
            text = f.read().decode("utf-8", "replace")
        self.assertNotIn("WorkerLostError", text)
        self.assertIn("Warm shutdown", text)
        # Bring it back for the tests that follow.
        r = STACK.superctl("start", "worker")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        STACK.wait_running(["worker"], 30)

    # Issue 6: zero-downtime restart. superd holds app's port (listen) and starts the new
    # master first, until uvicorn's startup line (ready = { log = ... }) says a new worker
    # serves; nginx retries an idempotent request that a leaving worker resets.

    def swap_under_load(self, action, wait_done=None, port=None):
        """Runs action() once LOAD_SECONDS of load through nginx (or straight at `port`)
        is flowing; wait_done(old master) waits for the swap's end when action() returns
        before it."""
        old = self.app_master()
        self.wait_app_serving(old, 15)
        wait_for(f"two workers of gunicorn master {old}",
                 lambda: len(self.workers_of(old)) >= 2, 30)
        old_keys = [p.key() for p in session_procs(old)]
        load = Load(port or STACK.http_port)
        t1 = time.monotonic()
        try:
            # The action starts once the load is flowing: 100 answers (about 2 s on a quiet
            # machine), not after a fixed time that a loaded one may spend starting threads.
            wait_for("100 answers to the load before the action",
                     lambda: load.answered() >= 100, 30)
            poller = StatusPoller()
            t0 = time.monotonic()
            try:
                result = action()
                if wait_done:
                    wait_done(old)
            finally:
                t1 = time.monotonic()
                survivors = [k for k in old_keys if alive(k)]
                samples = poller.stop()
        finally:
            load.finish_at(t1 + 1.0)   # a second of answers after the swap, too
            records = load.join()
        swap = Swap(old, records, t0, t1, result, samples, survivors)
        swap.old_keys = old_keys
        return swap

    def assert_new_master_took_over(self, swap, what):
        self.assertEqual(len(swap.failures), 0, swap.failure_report())
        self.assertEqual(swap.survivors, [], f"processes of the old master {swap.old} alive "
                         f"after {what}: {[read_proc(k[0]) for k in swap.survivors]}")
        self.assertTrue(any(old_pid == swap.old for _, _, old_pid, _ in swap.samples),
                        f"status never showed old_pid {swap.old} during the swap: "
                        f"{swap.samples[:10]}")
        new = STACK.wait_running(["app"], 15)["app"]["pid"]
        self.assertNotEqual(new, swap.old)
        self.assertEqual(swap.answered_after(), {new},
                         "masters whose workers answered after the swap")
        # The new master got superd's socket, not one of its own.
        env = Path(f"/proc/{new}/environ").read_bytes().split(b"\0")
        self.assertIn(b"LISTEN_FDS=1", env)
        self.assertIn(f"LISTEN_PID={new}".encode(), env)
        STACK.metrics[f"{what} under load: took"] = swap.t1 - swap.t0
        STACK.metrics[f"{what} under load: max latency"] = swap.max_latency_ms() / 1000
        log(f"{what} under load: {len(swap.records)} requests, 0 failed, max latency "
            f"{swap.max_latency_ms():.0f} ms, took {swap.t1 - swap.t0:.2f} s")
        return new

    def test_11_restart_app_under_load_drops_no_request(self):
        swap = self.swap_under_load(lambda: STACK.superctl("restart", "app", timeout=90))
        r = swap.result
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assert_new_master_took_over(swap, "restart")

    def test_11b_restart_app_under_load_straight_at_gunicorn_drops_no_request(self):
        """The same restart with the load sent to the socket superd holds for gunicorn,
        with no nginx in between to retry what a leaving worker reset."""
        swap = self.swap_under_load(lambda: STACK.superctl("restart", "app", timeout=90),
                                    port=STACK.app_port)
        r = swap.result
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assert_new_master_took_over(swap, "restart, direct")

    def test_12_reload_config_changing_app_under_load_drops_no_request(self):
        others = {n: s["pid"] for n, s in STACK.status().items() if n != "app"}
        rewrite_app_config(lambda app: app.setdefault("environment", {}).update(
            BLOG_RELEASE="e2e-reload"))

        def taken_over(old):
            def check():
                app = STACK.status()["app"]
                if app["state"] == "fatal":
                    raise Abort(f"app fatal: {app.get('reason')}")
                return (app["state"] == "running" and app["pid"] != old
                        and not app.get("old_pid"))
            wait_for("the new app master to take over after reload-config", check, 60)

        swap = self.swap_under_load(lambda: STACK.superctl("reload-config", timeout=90),
                                    taken_over)
        r = swap.result
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        new = self.assert_new_master_took_over(swap, "reload-config")
        self.assertIn(b"BLOG_RELEASE=e2e-reload",
                      Path(f"/proc/{new}/environ").read_bytes().split(b"\0"))
        # Only the changed service was touched.
        self.assertEqual({n: s["pid"] for n, s in STACK.status().items() if n != "app"},
                         others)

    def test_13_restart_to_a_broken_release_keeps_the_old_one_serving(self):
        # A bad deploy: the new code does not import, so the new master's workers fail to
        # boot (blog/asgi.py loads the views at import), gunicorn's master exits, and the
        # new instance never becomes ready.
        views = STACK.dir / "blog" / "blog" / "views.py"
        original = views.read_bytes()
        views.write_bytes(b"import blog_release_that_is_not_there  # a broken deploy\n"
                          + original)
        try:
            swap = self.swap_under_load(lambda: STACK.superctl("restart", "app", timeout=90))
        finally:
            views.write_bytes(original)
        r = swap.result
        self.assertEqual(r.returncode, 1, f"restart to a broken release: {r.stdout}{r.stderr}")
        log(f"restart to a broken release: superctl exited 1: {(r.stdout + r.stderr).strip()}")
        self.assertRegex(r.stdout + r.stderr, r"(?i)restart failed",
                         "superctl restart does not say why it failed")
        self.assertEqual(len(swap.failures), 0, swap.failure_report())
        # The old master kept serving, untouched, and is current again.
        self.assertEqual(swap.survivors, swap.old_keys, "the old instance lost processes")
        app = STACK.status()["app"]
        self.assertEqual((app["state"], app["pid"], app.get("old_pid", 0)),
                         ("running", swap.old, 0), app)
        self.assertRegex(app.get("reason", ""), r"(?i)restart failed", app)
        self.assertEqual({rec[4] for rec in swap.records if rec[2] == "ok"}, {swap.old})
        tried = swap.new_masters_seen()
        self.assertTrue(tried, f"status never showed a new instance: {swap.samples[:10]}")
        for pid in tried:
            self.assertEqual(session_procs(pid), [], f"left over of the failed master {pid}")
        # The fixed release goes in as usual.
        r = STACK.superctl("restart", "app", timeout=90)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        new = STACK.wait_running(["app"], 15)["app"]["pid"]
        self.assertNotEqual(new, swap.old)
        self.wait_app_serving(new, 15)
        self.assertFalse(any(alive(k) for k in swap.old_keys))

    def test_14_stop_services_leaves_no_www_process(self):
        names = ["app", "worker"] + (["flower"] if STACK.flower else [])
        STACK.wait_running(names, 30)
        mains = [s["pid"] for n, s in STACK.status().items() if n in names]
        r = STACK.superctl("stop", *names)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        STACK.wait_state(names, "stopped", 90)
        for m in mains:
            self.assertEqual(session_procs(m), [])
        www = pwd.getpwnam(SERVICE_USER).pw_uid
        wait_for("no process of user www left", lambda: not user_procs(www), 5)

    def test_15_sigterm_stops_everything(self):
        st = STACK.status()
        mains = {n: s["pid"] for n, s in st.items() if s.get("pid")}
        tree = [p.key() for p in descendants(STACK.superd.pid)]
        STACK.superd.send_signal(signal.SIGTERM)
        rc = STACK.superd.wait(timeout=90)
        self.assertEqual(rc, 0, "superd's exit status after SIGTERM")
        survivors = [k for k in tree if alive(k)]
        self.assertEqual(survivors, [], [read_proc(k[0]) for k in survivors])
        for name, pid in mains.items():
            self.assertEqual(session_procs(pid), [], name)
        self.assertEqual(user_procs(pwd.getpwnam(SERVICE_USER).pw_uid), [])
        self.assertTrue(STACK.notified("STOPPING=1"), "no STOPPING=1 on NOTIFY_SOCKET")


class RecordingResult(unittest.TextTestResult):
    """Also keeps the tests that passed, for E2E_RESULTS."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = []

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed.append(test)


def test_name(test):
    return test.id().removeprefix("__main__.") if hasattr(test, "id") else str(test)


def write_results(path, result):
    def why(text):
        lines = [l for l in text.strip().splitlines() if l.strip()]
        return lines[-1][:300] if lines else "failed"
    data = {"passed": [test_name(t) for t in getattr(result, "passed", [])],
            "failed": [[test_name(t), why(tb)] for t, tb in result.failures + result.errors],
            "skipped": [[test_name(t), reason] for t, reason in result.skipped]}
    if STACK.failed and not data["failed"]:
        data["failed"].append(["cleanup", "processes were left behind, or the run timed out"])
    Path(path).write_text(json.dumps(data, indent=1))


def main():
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    signal.signal(signal.SIGALRM, _timeout)
    signal.setitimer(signal.ITIMER_REAL, SUITE_TIMEOUT)
    runner = unittest.TextTestRunner(verbosity=int(os.environ.get("E2E_VERBOSITY", "2")),
                                     resultclass=RecordingResult)
    prog = None
    try:
        prog = unittest.main(exit=False, testRunner=runner)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        STACK.cleanup()
        if os.environ.get("E2E_RESULTS") and prog is not None:
            write_results(os.environ["E2E_RESULTS"], prog.result)
    ok = prog.result.wasSuccessful() and not STACK.failed
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
