#!/usr/bin/python3
"""The layering of superd's rooms, checked against every #include of the tree.

    base/        <- everything may use it; it uses nothing of the project
    proc/        -> base                 (spawning, reaping, capture: no configs, no services)
    ipc/         -> base                 (protocol, codec, client, server: no processes)
    import/      -> base                 (superd import: linked only into superd's main)
    supervisor/  -> base, proc, ipc      (the daemon), and main.cc also -> import

and within ipc/, the client half that superctl links has no event loop: it may not
include the server half or libuv. Third-party libraries are kept to the rooms made for
them (toml++ to the config loader's room, spdlog and libsystemd to the daemon's).

Usage: check_includes.py [ROOT]        exit 0 when the tree keeps the rules, 1 otherwise
       check_includes.py --self-test   builds a tree with one bad include of each kind
                                       and checks that every one is caught
"""
import os
import re
import sys
import tempfile

ROOMS = {  # room -> rooms it may include (itself always)
    "base": set(),
    "proc": {"base"},
    "ipc": {"base"},
    "import": {"base"},
    "supervisor": {"base", "proc", "ipc"},
}
# Files with rules of their own: file -> (rooms it may include, or None for its room's).
EXTRA_ROOMS = {"supervisor/main.cc": {"import"}}
# superctl's half of ipc/: these files may include only base/ and each other.
IPC_CLIENT = {"ipc/protocol.h", "ipc/codec.h", "ipc/codec.cc", "ipc/client.h", "ipc/client.cc",
              "ipc/status_format.h", "ipc/status_format.cc", "ipc/superctl.h", "ipc/cli.h",
              "ipc/superctl_main.cc", "ipc/superctl_verbs.cc", "ipc/superctl_output.cc",
              "ipc/superctl_security.cc"}
# Third-party headers (by prefix) and the rooms that may not include them.
LIBRARIES = {
    "toml++/": {"base", "proc", "ipc", "import"},
    "spdlog/": {"base", "proc", "ipc", "import"},
    "fmt/": {"base", "proc", "ipc", "import"},
    "systemd/": {"base", "proc", "ipc", "import"},
    "uv.h": {"import"},
    "nlohmann/": {"base", "proc", "import"},
}
IPC_CLIENT_FORBIDDEN = ("uv.h", "base/uv_handle.h")
GENERATED = {"version.h"}  # written by CMake into the build tree; any room may use it
SOURCE = re.compile(r".*\.(h|hh|hpp|cc|cpp|c|h\.in)$")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def rel(root, path):
    return os.path.relpath(path, root).replace(os.sep, "/")


def sources(root):
    for room in ROOMS:
        top = os.path.join(root, room)
        for dirpath, _, names in os.walk(top):
            for name in sorted(names):
                if SOURCE.match(name):
                    yield rel(root, os.path.join(dirpath, name))


def check_line(path, room, kind, target):
    """The reason `path` may not include `target`, or None."""
    if kind == "<":
        for prefix, banned in LIBRARIES.items():
            if target.startswith(prefix) and room in banned:
                return f"{room}/ may not use {prefix.rstrip('/')}"
        if path in IPC_CLIENT and target in IPC_CLIENT_FORBIDDEN:
            return "superctl's half of ipc/ has no event loop"
        return None
    if target in GENERATED:
        return None
    other = target.split("/", 1)[0] if "/" in target else room
    if other not in ROOMS:
        return f'"{target}" is in no room'
    if path in IPC_CLIENT:
        if target in IPC_CLIENT_FORBIDDEN:
            return "superctl's half of ipc/ has no event loop"
        if other == "ipc" and target not in IPC_CLIENT:
            return "superctl's half of ipc/ may include only base/ and itself"
    allowed = ROOMS[room] | EXTRA_ROOMS.get(path, set()) | {room}
    if other not in allowed:
        may = ", ".join(sorted(r + "/" for r in ROOMS[room] | EXTRA_ROOMS.get(path, set())))
        return f"{room}/ may include only {may or 'itself'}"
    return None


def check(root):
    problems = []
    checked = 0
    for path in sources(root):
        checked += 1
        room = path.split("/", 1)[0]
        try:
            with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
                lines = f.readlines()
        except OSError as e:
            problems.append(f"{path}: cannot be read: {e.strerror}")
            continue
        for number, line in enumerate(lines, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            why = check_line(path, room, m.group(1), m.group(2))
            if why:
                problems.append(f'{path}:{number}: includes {m.group(1)}{m.group(2)}'
                                f'{">" if m.group(1) == "<" else chr(34)}: {why}')
    return checked, problems


def self_test():
    bad = {
        "proc/spawn.h": '#include "supervisor/config.h"\n',
        "ipc/client.h": '#include "proc/fd.h"\n',
        "ipc/superctl_main.cc": '#include "ipc/server.h"\n#include <uv.h>\n',
        "base/values.h": '#include "supervisor/config.h"\n',
        "supervisor/daemon.cc": '#include "import/import.h"\n',
        "proc/log_sink.cc": "#include <spdlog/spdlog.h>\n",
        "import/cli.cc": '#include "unknown/thing.h"\n',
    }
    good = {
        "supervisor/main.cc": '#include "import/import.h"\n#include "supervisor/daemon.h"\n',
        "proc/spawn.cc": '#include "base/fd.h"\n#include "proc/spawn.h"\n#include <uv.h>\n',
        "ipc/client.cc": '#include "ipc/codec.h"\n#include "base/fd.h"\n#include "version.h"\n',
    }
    with tempfile.TemporaryDirectory(prefix="superd-layering-") as root:
        for path, text in {**bad, **good}.items():
            os.makedirs(os.path.join(root, os.path.dirname(path)), exist_ok=True)
            with open(os.path.join(root, path), "w") as f:
                f.write(text)
        _, problems = check(root)
    caught = {p.split(":", 1)[0] for p in problems}
    failed = False
    for path in bad:
        if path not in caught:
            print(f"self-test: the bad include in {path} was not caught")
            failed = True
    for path in good:
        if path in caught:
            print(f"self-test: a good include in {path} was refused")
            failed = True
    expected = 8  # ipc/superctl_main.cc has two bad lines
    if len(problems) != expected:
        print(f"self-test: {len(problems)} problems reported, expected {expected}")
        failed = True
    for p in problems:
        print("caught: " + p)
    print("self-test: " + ("FAILED" if failed else "every bad include caught, every good one kept"))
    return 1 if failed else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    root = argv[1] if len(argv) > 1 else os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    checked, problems = check(root)
    for p in problems:
        print(p)
    if checked == 0:
        print(f"no source files under {root}: wrong root?")
        return 1
    print(f"layering: {checked} files checked, {len(problems)} includes cross a forbidden direction")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
