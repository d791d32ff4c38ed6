#!/usr/bin/python3
"""What can be checked of the image and the manifest on a machine without a container
engine (tests/container/check.py, run by tests/run-all):

  - etc/container/Containerfile installs the deployment's packages as .ci/install-deps
    lists them, builds superd with -dev packages from the same list, ships every shared
    library build/superd needs (from ldd), lays the stack out with the very script the
    demo uses (etc/demo/setup --container), and runs superd as its entrypoint;
  - etc/kubernetes/blog.yaml is a Deployment and a Service whose probes are `superctl
    status`, whose grace period is above the stack's stop budget, and whose ports agree
    with the image;
  - `etc/demo/setup --container DIR` (the Containerfile's step) renders a config that
    `superd --check` accepts, with console logs and the critical services.

What it cannot do here: build or run the image (no engine runs on this machine).
tests/e2e/test_container.py runs the stack the way the image would, with superd as
PID 1 of a real PID namespace.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import unittest

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONTAINERFILE = os.path.join(ROOT, "etc", "container", "Containerfile")
MANIFEST = os.path.join(ROOT, "etc", "kubernetes", "blog.yaml")
INSTALL_DEPS = os.path.join(ROOT, ".ci", "install-deps")
SETUP = os.path.join(ROOT, "etc", "demo", "setup")
BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build"))


def read(path):
    with open(path) as f:
        return f.read()


def install_deps_groups():
    """The package list of .ci/install-deps, by its comment headings."""
    text = read(INSTALL_DEPS)
    body = text[text.index("packages=(") + len("packages=("):text.index("\n)")]
    groups, current = {}, None
    for line in body.splitlines():
        line = line.strip()
        if line.startswith("#"):
            current = line.lstrip("# ").split(":")[0].split(" (")[0]
            groups[current] = []
        elif line and current:
            groups[current] += line.split()
    return groups


def stages():
    """The Containerfile as [(stage name, [instructions])], continuations joined."""
    text = read(CONTAINERFILE).replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("FROM "):
            m = re.match(r"FROM (\S+)(?: AS (\S+))?", line)
            out.append((m.group(2) or "final", m.group(1), []))
        else:
            out[-1][2].append(line)
    return out


def apt_packages(instructions):
    pkgs = []
    for ins in instructions:
        m = re.search(r"apt-get install (.*?)(?:&&|$)", ins)
        if m:
            pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
    return pkgs


class Containerfile(unittest.TestCase):
    def setUp(self):
        self.stages = stages()
        self.groups = install_deps_groups()

    def test_two_stages_on_debian_12(self):
        self.assertEqual([s[1] for s in self.stages], ["debian:12", "debian:12"])
        self.assertEqual(self.stages[0][0], "build")

    def test_runtime_installs_the_deployment_as_install_deps_lists_it(self):
        runtime = set(apt_packages(self.stages[-1][2]))
        deployment = [g for g in self.groups if g.startswith("the deployment")]
        flower = [g for g in self.groups if g.startswith("Flower")]
        self.assertTrue(deployment and flower, self.groups.keys())
        for pkg in self.groups[deployment[0]] + self.groups[flower[0]]:
            self.assertIn(pkg, runtime, f"{pkg} is in .ci/install-deps but not in the image")

    def test_build_stage_uses_dev_packages_of_install_deps(self):
        build = set(apt_packages(self.stages[0][2]))
        known = set(p for pkgs in self.groups.values() for p in pkgs)
        for pkg in build:
            self.assertIn(pkg, known, f"the image builds with {pkg}, which .ci/install-deps lacks")

    def test_runtime_ships_every_library_superd_needs(self):
        superd = os.path.join(BUILD, "superd")
        if not os.access(superd, os.X_OK):
            self.skipTest(f"{superd} not built")
        ldd = subprocess.run(["ldd", superd], capture_output=True, text=True, check=True).stdout
        runtime = set(apt_packages(self.stages[-1][2]))
        for lib in re.findall(r"=> (/\S+)", ldd):
            owner = subprocess.run(["dpkg", "-S", os.path.realpath(lib)], capture_output=True,
                                   text=True)
            if owner.returncode != 0:
                owner = subprocess.run(["dpkg", "-S", lib], capture_output=True, text=True)
            pkg = owner.stdout.split(":")[0]
            if pkg in ("libc6", "libstdc++6", "libgcc-s1", "libgcrypt20", "liblzma5", "libzstd1",
                       "liblz4-1", "libgpg-error0", "libcap2"):
                continue  # in debian:12 itself (or pulled in by what is installed)
            self.assertIn(pkg, runtime, f"superd needs {lib} from {pkg}, which the image lacks")

    def test_layout_by_the_demos_own_setup_and_superd_as_entrypoint(self):
        final = " ".join(self.stages[-1][2])
        self.assertRegex(final, r"RUN .*etc/demo/setup --container /srv/blog")
        self.assertIn('ENTRYPOINT ["/usr/local/bin/superd", "-c", "/srv/blog/super.toml"]', final)
        self.assertIn("EXPOSE 8080", final)
        self.assertIn("STOPSIGNAL SIGTERM", final)
        for ins in self.stages[0][2] + self.stages[-1][2]:
            m = re.match(r"COPY (?!--from)(\S+) ", ins)
            if m:
                self.assertTrue(os.path.exists(os.path.join(ROOT, m.group(1))), ins)


class Manifest(unittest.TestCase):
    def setUp(self):
        self.docs = {d["kind"]: d for d in yaml.safe_load_all(read(MANIFEST))}

    def test_a_deployment_and_a_service(self):
        self.assertEqual(set(self.docs), {"Deployment", "Service"})
        self.assertEqual(self.docs["Service"]["spec"]["selector"],
                         self.docs["Deployment"]["spec"]["selector"]["matchLabels"])

    def test_probes_are_superctl_status(self):
        c = self.docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(c["readinessProbe"]["exec"]["command"],
                         ["/usr/local/bin/superctl", "status", "app"])
        self.assertEqual(c["livenessProbe"]["exec"]["command"],
                         ["/usr/local/bin/superctl", "status"])
        self.assertEqual(c["ports"][0]["containerPort"], 8080)

    def test_grace_period_is_above_the_stacks_stop_budget(self):
        spec = self.docs["Deployment"]["spec"]["template"]["spec"]
        m = re.search(r'CONTAINER_SHUTDOWN_TIMEOUT = "(\d+)s"', read(SETUP))
        budget = int(m.group(1)) + 2  # shutdown_timeout, then TERM .. KILL of what is left
        self.assertGreater(spec["terminationGracePeriodSeconds"], budget)


class RenderedConfig(unittest.TestCase):
    """The Containerfile's own step, run here."""

    def test_setup_container_renders_a_config_superd_accepts(self):
        superd = os.path.join(BUILD, "superd")
        if os.geteuid() != 0 or not os.access(superd, os.X_OK):
            self.skipTest("needs root and build/superd")
        with tempfile.TemporaryDirectory(prefix="superd-container-", dir="/srv"
                                         if os.path.isdir("/srv") else None) as d:
            os.chmod(d, 0o755)
            env = dict(os.environ, DEMO_HTTP_PORT="18080", DEMO_APP_PORT="18000",
                       DEMO_REDIS_PORT="16379", DEMO_FLOWER_PORT="15555")
            subprocess.run([SETUP, "--container", d], check=True, env=env,
                           stdout=subprocess.DEVNULL)
            conf = os.path.join(d, "super.toml")
            doc = tomllib.loads(read(conf))
            for name, svc in doc["service"].items():
                self.assertEqual(svc.get("stdout"), "console", name)
            self.assertTrue(doc["service"]["app"].get("critical"))
            self.assertTrue(doc["service"]["worker"].get("critical"))
            self.assertIn("listen 18080;", read(os.path.join(d, "nginx", "blog.conf")))
            check = subprocess.run([superd, "--check", "-c", conf], capture_output=True, text=True)
            self.assertEqual(check.returncode, 0, check.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
