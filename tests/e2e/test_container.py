#!/usr/bin/python3
"""The blog stack in a container's shape (issue 16), without a container runtime.

    sudo SUPERD_BIN=build/superd SUPERCTL_BIN=build/superctl \
        /usr/bin/python3 tests/e2e/test_container.py -v

What the image runs (etc/container/Containerfile): the layout of `etc/demo/setup
--container DIR` (every service logs to the console, nginx on all addresses at 8080, app
and worker `critical`, an 8 s shutdown_timeout), and superd as PID 1 of its namespace.
Here the namespace is made with `unshare --pid --fork --mount-proc`, and the whole suite
first moves into a network namespace of its own (only a loopback, brought up here), so
the container's fixed ports and its all-addresses listen reach nothing outside. Checks:

  - superd is PID 1 of the namespace, every service runs, the site answers through nginx;
  - the console: superd's stdout carries the services' lines, each whole and prefixed
    "NAME | ", from more than one service;
  - `superctl restart app` under load through nginx fails no request;
  - SIGTERM to PID 1 stops the stack inside docker stop's 10 s: exit status 0, every
    service stopped by its own stop (superd had no process left to TERM or KILL), and
    the stop time is printed.

Helpers (waiting, /proc, the load generator) are the main suite's (test_stack.py).
Environment as test_stack.py's; E2E_RESULTS names the results file as there.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_stack as ts  # noqa: E402 - after the path it is found on

STOP_BUDGET = 10.0   # docker stop's default grace before it sends SIGKILL
HTTP_PORT = 8080     # the container's (etc/demo/setup's default)


def log(msg):
    print(f"[container] {msg}", file=sys.stderr, flush=True)


class Container:
    """The demo laid out for a container, and superd as PID 1 of a PID namespace."""

    def __init__(self):
        self.dir = None
        self.unshare = None   # Popen of unshare(1); its child is superd, PID 1 inside
        self.host_pid = 0     # superd's pid as this (the parent) namespace sees it
        self.failed = False
        self.stop_seconds = None

    def setup(self):
        self.dir = Path(tempfile.mkdtemp(prefix="superd-container-"))
        r = subprocess.run([str(ts.SETUP), "--container", str(self.dir)],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise AssertionError(f"etc/demo/setup --container failed ({r.returncode}):\n"
                                 f"{r.stdout}{r.stderr}")
        self.env = ts.read_shell_env(self.dir / "demo.env")
        self.config_path = self.env["SUPER_CONFIG"]
        with open(self.config_path, "rb") as f:
            self.config = tomllib.load(f)
        self.socket = self.env["SUPER_SOCKET"]

    def start(self):
        # Pipes, as a container runtime gives PID 1 (docker logs reads them), drained
        # into files by threads of the suite.
        self.out = open(self.dir / "console.out", "wb")
        self.err = open(self.dir / "console.err", "wb")
        self.t_start = time.monotonic()
        self.unshare = subprocess.Popen(
            ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc", ts.SUPERD,
             "-c", self.config_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True, cwd="/")

        def drain(pipe, file):
            for chunk in iter(lambda: pipe.read1(65536), b""):
                file.write(chunk)
                file.flush()
        self.drains = [threading.Thread(target=drain, args=(p, f), daemon=True)
                       for p, f in ((self.unshare.stdout, self.out),
                                    (self.unshare.stderr, self.err))]
        for t in self.drains:
            t.start()

        def superd_child():
            if self.unshare.poll() is not None:
                raise ts.Abort(f"unshare exited with {self.unshare.returncode}: "
                               f"{self.stderr_text()[-2000:]}")
            kids = ts.children(self.unshare.pid)
            return kids[0].pid if kids else 0
        self.host_pid = ts.wait_for("superd, the child of unshare", superd_child, 10)

    def superctl(self, *args, timeout=90):
        return subprocess.run([ts.SUPERCTL, "-s", self.socket, *args], capture_output=True,
                              text=True, timeout=timeout)

    def status(self):
        if self.unshare.poll() is not None:
            raise ts.Abort(f"superd exited with {self.unshare.returncode}")
        r = self.superctl("--json", "status", timeout=10)
        if r.returncode not in (0, 3):
            raise AssertionError(f"superctl status exited {r.returncode}: {r.stderr}")
        data = json.loads(r.stdout)
        services = data["services"] if isinstance(data, dict) else data
        return {s["name"]: s for s in services}

    def wait_running(self, timeout):
        names = list(self.config["service"])

        def check():
            st = self.status()
            fatal = [n for n in names if st[n]["state"] == "fatal"]
            if fatal:
                raise ts.Abort(f"fatal: {fatal}: {self.stderr_text()[-2000:]}")
            return st if all(st[n]["state"] == "running" for n in names) else None
        return ts.wait_for("every service running", check, timeout)

    def stdout_text(self):
        return (self.dir / "console.out").read_text(errors="replace")

    def stderr_text(self):
        return (self.dir / "console.err").read_text(errors="replace")

    def cleanup(self):
        if self.unshare is not None and self.unshare.poll() is None:
            self.failed = True
            log(f"superd (pid {self.host_pid}) still runs at the end: SIGKILL, which ends "
                "its namespace")
            if self.host_pid:
                os.kill(self.host_pid, signal.SIGKILL)
            self.unshare.wait(timeout=20)
        for t in getattr(self, "drains", []):
            t.join(10)
        for f in (getattr(self, "out", None), getattr(self, "err", None)):
            if f:
                f.close()
        if self.dir:
            if self.failed or os.environ.get("E2E_KEEP") == "1":
                for name in ("console.out", "console.err"):
                    lines = (self.dir / name).read_text(errors="replace").splitlines()[-30:]
                    log(f"---- last lines of {self.dir / name}")
                    for line in lines:
                        print(f"    {line}", file=sys.stderr)
                log(f"kept {self.dir}")
            else:
                shutil.rmtree(self.dir, ignore_errors=True)


BOX = Container()


def get(path, port=HTTP_PORT, timeout=5.0):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": "127.0.0.1"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class ContainerTest(unittest.TestCase):
    """In order (test_NN_): the last one stops the container."""

    @classmethod
    def setUpClass(cls):
        cls.addClassCleanup(BOX.cleanup)
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root: namespaces, users, privilege drop")
        BOX.setup()
        r = subprocess.run([ts.SUPERD, "--check", "-c", BOX.config_path],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise AssertionError(f"superd --check rejects the container config:\n"
                                 f"{r.stdout}{r.stderr}")
        BOX.start()
        BOX.wait_running(ts.STARTUP_LIMIT)
        log(f"superd start to every service running: {time.monotonic() - BOX.t_start:.2f} s")

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result and len(result.failures) + len(result.errors) > before:
            BOX.failed = True
        return out

    def test_00_superd_is_pid_1_of_its_namespace(self):
        status = Path(f"/proc/{BOX.host_pid}/status").read_text()
        nspid = next(line.split()[1:] for line in status.splitlines()
                     if line.startswith("NSpid:"))
        self.assertEqual(nspid, [str(BOX.host_pid), "1"])
        self.assertEqual(Path(f"/proc/{BOX.host_pid}/comm").read_text().strip(), "superd")

    def test_01_the_site_answers_on_the_containers_port(self):
        code, body = get("/")
        self.assertEqual(code, 200, body[:300])
        self.assertIn(b'id="whoami"', body)

    def test_02_console_lines_are_whole_and_prefixed(self):
        services = set(BOX.config["service"])
        for name, svc in BOX.config["service"].items():
            self.assertEqual(svc.get("stdout"), "console", name)
        # Lines from at least two services (redis logs to stdout, gunicorn and celery
        # to stderr: both are the console here).
        prefix = re.compile(r"^([A-Za-z0-9_.@-]+) \| ")

        def seen():
            text = BOX.stdout_text()
            whole = text[:text.rfind("\n") + 1]
            names = set()
            for line in whole.splitlines():
                m = prefix.match(line)
                self.assertIsNotNone(m, f"a console line without a service prefix: {line!r}")
                self.assertIn(m.group(1), services, line)
                names.add(m.group(1))
            return names if len(names) >= 2 else None
        names = ts.wait_for("console lines from two services", seen, 20)
        log(f"console lines from: {sorted(names)}")

    def test_03_restart_app_under_load_drops_no_request(self):
        old = BOX.status()["app"]["pid"]
        load = ts.Load(HTTP_PORT)
        try:
            ts.wait_for("100 answers before the restart", lambda: load.answered() >= 100, 30)
            t0 = time.monotonic()
            r = BOX.superctl("restart", "app")
            t1 = time.monotonic()
        finally:
            load.finish_at(time.monotonic() + 1.0)
            records = load.join()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        failures = [x for x in records if x[2] != "ok"]
        self.assertEqual(failures, [], f"{len(failures)} of {len(records)} failed")
        new = BOX.wait_running(30)["app"]["pid"]
        self.assertNotEqual(new, old)
        after = {x[4] for x in records if x[0] > t1 and x[2] == "ok"}
        self.assertEqual(after, {new}, "masters whose workers answered after the restart")
        log(f"restart app under load: {len(records)} requests, 0 failed, took "
            f"{t1 - t0:.2f} s")

    def test_04_sigterm_to_pid_1_stops_the_stack_inside_the_budget(self):
        mains = [s["pid"] for s in BOX.status().values() if s.get("pid")]
        keys = [p.key() for p in ts.descendants(BOX.host_pid) if p.state != "Z"]
        self.assertGreater(len(keys), len(mains))
        t0 = time.monotonic()
        os.kill(BOX.host_pid, signal.SIGTERM)
        rc = BOX.unshare.wait(timeout=60)
        BOX.stop_seconds = time.monotonic() - t0
        log(f"SIGTERM to PID 1 until superd exited: {BOX.stop_seconds:.2f} s "
            f"(docker stop allows {STOP_BUDGET:g} s)")
        self.assertEqual(rc, 0, BOX.stderr_text()[-3000:])
        self.assertLess(BOX.stop_seconds, STOP_BUDGET)
        err = BOX.stderr_text()
        self.assertIsNone(re.search(r"sent (TERM|KILL) to \d+ process", err),
                          "a service left processes that only the final sweep stopped:\n"
                          + err[-3000:])
        self.assertEqual([k for k in keys if ts.alive(k)], [])


def enter_private_network():
    """Re-runs this script in a network namespace of its own with its loopback up: the
    container's ports (8080 on all addresses, 8000, 6379, 5555) then collide with
    nothing and reach nothing but the suite."""
    if os.environ.get("SUPERD_CONTAINER_NETNS") == "1":
        subprocess.run(["/usr/sbin/ip", "link", "set", "lo", "up"], check=True)
        return
    env = dict(os.environ, SUPERD_CONTAINER_NETNS="1")
    os.execve("/usr/bin/unshare", ["unshare", "--net", "--", sys.executable,
                                   str(Path(__file__).resolve()), *sys.argv[1:]], env)


def main():
    if os.geteuid() == 0:
        enter_private_network()
    signal.signal(signal.SIGTERM, ts._interrupt)
    signal.signal(signal.SIGALRM, ts._timeout)
    signal.setitimer(signal.ITIMER_REAL, ts.SUITE_TIMEOUT)
    runner = unittest.TextTestRunner(verbosity=int(os.environ.get("E2E_VERBOSITY", "2")),
                                     resultclass=ts.RecordingResult)
    prog = None
    try:
        prog = unittest.main(exit=False, testRunner=runner)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        BOX.cleanup()
        if os.environ.get("E2E_RESULTS") and prog is not None:
            ts.write_results(os.environ["E2E_RESULTS"], prog.result)
    sys.exit(0 if prog.result.wasSuccessful() and not BOX.failed else 1)


if __name__ == "__main__":
    main()
