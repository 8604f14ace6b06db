"""The operating-system layers of the code sandbox, and the runner process that applies them.

:mod:`.sandbox` is the part you call; this file is the part that runs on the other side. It is
executed as a script, ``python -I -S isolation.py`` (isolated mode, no ``site``: no environment
variables, no user or site packages, not even the script's own folder on ``sys.path``), once per
untrusted program. It therefore imports nothing but the standard library, and as little of it as
it can: every millisecond here is paid once per program, hundreds of times per notebook.

One run is three processes::

    sandbox.execute (your Python)
     └─ supervisor   enters new user, mount, network, pid, IPC and UTS namespaces; keeps the wall
         │           clock; kills whatever is left at the end (it is a "child subreaper")
         └─ init     pid 1 of the new pid namespace: read-only mounts, resource limits, Landlock,
             │       no capabilities
             └─ program  pid 2: compiles and runs the untrusted text, then proves it finished
                 └─ anything the program starts

Why three? ``unshare(CLONE_NEWPID)`` puts only the caller's *children* into the new pid
namespace, so someone must fork after it (the supervisor). The first process in the namespace is
its init, and when init exits the kernel kills every process left in the namespace, however it
detached itself (``setsid``, double fork, ignored signals): that is how nothing outlives a run. The
program must not be init itself, because the kernel protects init from signals sent inside its
namespace: ``os.kill(os.getpid(), 9)`` would silently do nothing.

Each layer is a Linux feature usable without root, reached through :mod:`ctypes`:

- **namespaces** (``unshare``): a user namespace (so that the others need no privileges), a
  network namespace holding only a loopback device that is down (no network, not even
  ``127.0.0.1``), a pid namespace (above), IPC and UTS namespaces, and a mount namespace in which
  every mount except the temp dir is made read-only (``mount_setattr``): Landlock does not cover
  ``chmod``, ``utime`` or extended attributes, a read-only mount does.
- **resource limits** (``setrlimit``) with hard limit = soft limit, so the program cannot raise
  them again; ``RLIMIT_NPROC`` is set *after* entering the user namespace, where the kernel
  counts only the namespace's own processes (outside one it counts every process of your user
  id on the machine, so without a user namespace the limit is set to what runs now plus the
  program's share). The kernel never applies ``RLIMIT_NPROC`` to root, so the pid namespace's
  own ``pid_max`` (Linux ≥ 6.14) is a second bound on the number of processes.
- **Landlock** (Linux ≥ 5.13, ``landlock_create_ruleset`` & co., syscalls 444-446): the program
  may write only inside its temporary directory, read only the Python installation and the
  system's shared libraries, make no TCP connection (ABI ≥ 4), and send no signal to, nor reach
  the abstract Unix sockets of, any process outside the sandbox (ABI ≥ 6). Landlock also forbids
  ``ptrace`` of processes outside the sandbox and reading their ``/proc/<pid>/environ``.
- **no_new_privs** and an empty capability set: what the user namespace granted is given back.

Every step may fail on a given machine (Colab, containers, old kernels). The runner then goes on
without that layer and reports it as missing, with the reason; it never reports a layer it did
not apply. :func:`genai_course.codex.sandbox.layers` prints that report.

**The verdict.** A program passes only if its code ran to the end in its own process. The parent
writes a random *nonce* into the runner's stdin pipe behind the configuration; the runner reads
only the configuration and leaves the nonce in the pipe, which it keeps open on a spare file
descriptor. Only after ``exec`` of the program's code has *returned normally* does the runner read
the nonce and write it to the verdict pipe. A program that exits early (``sys.exit(0)``,
``os._exit(0)``), kills itself, crashes, or prints "passed" never gets there; a child it forked
that reaches the end is not the program's own process and is not believed either.

**Residual limit of the verdict.** The untrusted code and the runner share one process, so code
written *against this harness* can still forge a pass: it can scan its file descriptors, read the
nonce from the pipe and write it to the verdict pipe. Nothing in-process can prevent that; the
nonce makes it a deliberate attack rather than an accident or a naive trick. It does not weaken
the isolation of the host, which the layers above enforce from outside the program's reach.
"""

from __future__ import annotations

import os
import stat
import sys

# --- constants of the Linux interfaces used below (from <linux/sched.h>, <linux/prctl.h>, <linux/landlock.h>)

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP = 1, 4, 24
PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 36, 38, 47, 4

MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000
SYS_MOUNT_SETATTR, MOUNT_ATTR_RDONLY, AT_FDCWD, AT_RECURSIVE = 442, 0x1, -100, 0x8000

# Landlock's syscalls arrived after Linux unified syscall numbers, so they are 444-446 on x86_64,
# aarch64, riscv64, ppc64 and s390x alike.
LANDLOCK_SYSCALLS = {"create_ruleset": 444, "add_rule": 445, "restrict_self": 446}
LANDLOCK_ARCHES = ("x86_64", "aarch64", "arm64", "riscv64", "ppc64le", "ppc64", "s390x")
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1

# Filesystem rights, one bit each; the ABI version says which the kernel knows.
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_ALL_ABI1 = (1 << 13) - 1  # execute … make_sym: the 13 rights of ABI 1
FS_REFER, FS_TRUNCATE, FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15  # ABI 2, 3, 5
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6

# Lines of the configuration header and of the report are "key value", parsed by hand: importing
# json would cost this process more than everything else it does (it pulls in re and enum).
HEADER_DIGITS = 8


def _libc():
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return ctypes, libc


def _os_error(ctypes, what: str) -> OSError:
    err = ctypes.get_errno()
    return OSError(err, f"{what}: {os.strerror(err)}")


def prctl(option: int, arg: int = 0) -> None:
    ctypes, libc = _libc()
    if libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        raise _os_error(ctypes, f"prctl({option})")


# --- namespaces


def enter_namespaces() -> tuple[list[str], str]:
    """Move this process into new user, mount, network, pid, IPC and UTS namespaces (the pid one
    takes effect for its children). Returns the names entered and, if fewer than all, why."""
    ctypes, libc = _libc()
    uid, gid = os.getuid(), os.getgid()
    others = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    if libc.unshare(CLONE_NEWUSER | others) == 0:
        # Map our own ids into the namespace (a single line is all an unprivileged process may
        # write); without a mapping we would be "nobody" and could not even create files.
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            try:
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
            except OSError:
                if name != "setgroups":  # kernels before 3.19 have no setgroups file
                    raise
        return ["user", "mount", "net", "pid", "ipc", "uts"], ""
    why = f"unshare(CLONE_NEWUSER) failed: {os.strerror(ctypes.get_errno())}"
    # Root (or CAP_SYS_ADMIN, as in some containers) needs no user namespace for the others.
    if libc.unshare(others) == 0:
        return ["mount", "net", "pid", "ipc", "uts"], why
    return [], why + f"; unshare without it: {os.strerror(ctypes.get_errno())}"


def limit_pids(count: int) -> str:
    """Cap pids in our pid namespace (Linux ≥ 6.14 keeps pid_max per namespace). Call as its init."""
    try:
        with open("/proc/sys/kernel/pid_max", "w") as f:
            f.write(str(count))
        with open("/proc/sys/kernel/pid_max") as f:
            got = int(f.read())
    except (OSError, ValueError) as e:
        return f"missing: cannot set pid_max in the pid namespace ({e.strerror if isinstance(e, OSError) else e})"
    if got != count:
        return f"missing: pid_max reads {got}, not {count} (a kernel before 6.14 has one pid_max for all)"
    return f"active: at most {count - 1} pids in the pid namespace"


def read_only_mounts(writable: str) -> str:
    """In our own mount namespace, make every mount read-only except ``writable``. Landlock does
    not cover metadata (chmod, utime, extended attributes): a read-only mount does.

    The namespace's mounts are copies: nothing here changes what the rest of the machine sees."""
    ctypes, libc = _libc()

    class MountAttr(ctypes.Structure):
        _fields_ = [(n, ctypes.c_uint64) for n in ("attr_set", "attr_clr", "propagation", "userns_fd")]

    def setattr_(path: str, attr, flags: int) -> None:
        # mount_setattr(dirfd, path, flags, attr, size)
        if libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), flags, ctypes.byref(attr), ctypes.c_size_t(32)):
            raise _os_error(ctypes, f"mount_setattr({path})")

    try:
        # Private first, so that no mount event of ours can propagate back to the host.
        if libc.mount(None, b"/", None, ctypes.c_ulong(MS_REC | MS_PRIVATE), None):
            raise _os_error(ctypes, "making mounts private")
        # The temp dir becomes a mount of its own, so that it alone can stay writable.
        if libc.mount(writable.encode(), writable.encode(), None, ctypes.c_ulong(MS_BIND | MS_REC), None):
            raise _os_error(ctypes, "bind-mounting the temp dir")
        setattr_("/", MountAttr(attr_set=MOUNT_ATTR_RDONLY), AT_RECURSIVE)
        setattr_(writable, MountAttr(attr_clr=MOUNT_ATTR_RDONLY), 0)
        os.chdir(writable)  # the old working directory still points into the read-only mount below
    except OSError as e:
        return f"missing: {e.strerror or e}"
    return "active: every mount but the temp dir is read-only (no chmod, utime or xattr outside it)"


# --- capabilities


def drop_capabilities() -> str:
    """Give back the capabilities that creating a user namespace granted (bounding, ambient,
    effective, permitted, inheritable). Landlock already needs no_new_privs; this is belt and braces."""
    ctypes, libc = _libc()
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)):
            if ctypes.get_errno() == 22:  # EINVAL: past the last capability this kernel knows
                break
            # EPERM: no CAP_SETPCAP, i.e. we are an ordinary user with an empty set anyway
    libc.prctl(
        PR_CAP_AMBIENT,
        ctypes.c_ulong(PR_CAP_AMBIENT_CLEAR_ALL),
        ctypes.c_ulong(0),
        ctypes.c_ulong(0),
        ctypes.c_ulong(0),
    )
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # {effective, permitted, inheritable} × 2 words, all zero
    if libc.capset(header, data) != 0:
        return f"missing: capset failed ({os.strerror(ctypes.get_errno())})"
    libc.capget(header, data)
    if any(data):
        return "missing: capabilities remain after capset"
    return "active: effective, permitted, inheritable, ambient and bounding sets emptied"


# --- Landlock


def landlock_abi() -> int:
    """The Landlock ABI version of this kernel, or 0 if it has none (or it is disabled)."""
    if sys.platform != "linux" or os.uname().machine not in LANDLOCK_ARCHES:
        return 0
    ctypes, libc = _libc()
    version = libc.syscall(LANDLOCK_SYSCALLS["create_ruleset"], None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(version), 0)


def landlock_restrict(writable: str, readable: list[str], read_write_files: list[str]) -> dict[str, str]:
    """Restrict this process and its future children with Landlock.

    - ``writable``: the one directory where everything is allowed (the program's temp dir);
    - ``readable``: directories and files that may be read and executed, nothing more;
    - ``read_write_files``: single files such as ``/dev/null``.

    Everything else, including every TCP bind and connect (ABI ≥ 4) and signals or abstract Unix
    sockets across the sandbox's boundary (ABI ≥ 6), is denied. Returns a layer report."""
    abi = landlock_abi()
    if abi == 0:
        why = "not on this kernel or architecture, or disabled (needs Linux ≥ 5.13 with lsm=landlock)"
        return {"landlock filesystem": f"missing: {why}", "landlock network": f"missing: {why}"}
    ctypes, libc = _libc()

    class RulesetAttr(ctypes.Structure):
        _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]

    class PathBeneathAttr(ctypes.Structure):
        _pack_ = 1  # the kernel's struct is __attribute__((packed)): 12 bytes
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    fs_all = FS_ALL_ABI1 | (FS_REFER if abi >= 2 else 0) | (FS_TRUNCATE if abi >= 3 else 0)
    fs_all |= FS_IOCTL_DEV if abi >= 5 else 0
    attr = RulesetAttr(fs_all, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0, 0)
    if abi >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
    size = 8 if abi < 4 else 16 if abi < 6 else 24  # older kernels know a shorter struct
    ruleset = libc.syscall(
        LANDLOCK_SYSCALLS["create_ruleset"], ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)
    )
    if ruleset < 0:
        raise _os_error(ctypes, "landlock_create_ruleset")
    file_rights = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | (FS_TRUNCATE if abi >= 3 else 0)
    read_rights = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
    try:
        rules = (
            [(writable, fs_all)] + [(p, read_rights) for p in readable] + [(p, file_rights) for p in read_write_files]
        )
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # e.g. no /lib64 on this system
            try:
                if not stat.S_ISDIR(os.fstat(fd).st_mode):
                    # A rule on a file may carry only the rights that make sense for a file.
                    rights &= FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
                rule = PathBeneathAttr(rights, fd)
                if libc.syscall(
                    LANDLOCK_SYSCALLS["add_rule"], ruleset, LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule), 0
                ):
                    raise _os_error(ctypes, f"landlock_add_rule({path})")
            finally:
                os.close(fd)
        # The kernel requires no_new_privs first, so a set-user-id program cannot shed the rules.
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        if libc.syscall(LANDLOCK_SYSCALLS["restrict_self"], ruleset, 0):
            raise _os_error(ctypes, "landlock_restrict_self")
    finally:
        os.close(ruleset)
    report = {
        "landlock filesystem": f"active (ABI {abi}): writes only in the temp dir; reads only Python and system libraries"
    }
    if abi >= 4:
        report["landlock network"] = f"active (ABI {abi}): every TCP bind and connect denied"
    else:
        report["landlock network"] = f"missing: TCP rules need Landlock ABI 4 (Linux 6.7), this kernel has ABI {abi}"
    if abi >= 6:
        report["landlock scopes"] = f"active (ABI {abi}): no signals or abstract Unix sockets across the boundary"
    else:
        report["landlock scopes"] = f"missing: scopes need Landlock ABI 6 (Linux 6.12), this kernel has ABI {abi}"
    return report


# --- resource limits


def set_limits(limits: dict[str, int], in_user_namespace: bool) -> dict[str, str]:
    """setrlimit with hard = soft, so that the program cannot raise a limit back up."""
    import resource

    report = {}
    applied = []
    for name, key in (
        ("RLIMIT_AS", "memory"),
        ("RLIMIT_FSIZE", "file_size"),
        ("RLIMIT_NOFILE", "open_files"),
        ("RLIMIT_CORE", "core"),
    ):
        resource.setrlimit(getattr(resource, name), (limits[key], limits[key]))
        applied.append(f"{key} {limits[key]}")
    # CPU: SIGXCPU at the soft limit (kills, unless ignored), SIGKILL one second later.
    resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu"], limits["cpu"] + 1))
    applied.append(f"cpu {limits['cpu']} s")
    report["rlimits"] = "active: " + ", ".join(applied)
    nproc = limits["processes"]
    if os.getuid() == 0:
        report["process limit"] = "missing: the kernel does not apply RLIMIT_NPROC to root (uid 0)"
    elif in_user_namespace:
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        report["process limit"] = f"active: RLIMIT_NPROC {nproc}, counted inside the user namespace"
    else:
        # Outside a user namespace the kernel counts every process and thread of your user id on
        # the machine, so the limit is what runs now plus the program's share.
        running = _count_my_tasks()
        resource.setrlimit(resource.RLIMIT_NPROC, (running + nproc, running + nproc))
        report["process limit"] = f"active: RLIMIT_NPROC {running} (your tasks now) + {nproc}"
    return report


def _count_my_tasks() -> int:
    """Processes and threads of this real user id, as RLIMIT_NPROC counts them."""
    uid, count = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                pass  # it ended meanwhile
    return count


# --- the runner: supervisor → init → program


def _read_exactly(fd: int, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _read_header() -> tuple[dict[str, str], list[tuple[str, str]], int]:
    """Read the configuration from stdin, *leaving the nonce behind it in the pipe*; keep that
    pipe on a spare descriptor and put /dev/null on stdin."""
    length = int(_read_exactly(0, HEADER_DIGITS))
    lines = _read_exactly(0, length).decode().splitlines()
    pairs = [tuple(line.split(" ", 1)) for line in lines if line]
    config = dict(pairs)
    nonce_fd = os.dup(0)  # close-on-exec: a program started with exec never holds it
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    return config, pairs, nonce_fd


def _report(fd: int, entries: dict[str, str]) -> None:
    clean = {k: " ".join(str(v).split()) for k, v in entries.items()}  # one line each, no tabs
    text = "".join(f"{k}\t{v}\n" for k, v in clean.items())
    os.write(fd, text.encode())


def _kill_leftovers() -> int:
    """Kill every remaining descendant. As a child subreaper we inherit every orphan below us, so
    repeatedly killing our direct children reaches the whole tree, whatever it did to detach."""
    import signal

    killed = 0
    children_file = f"/proc/self/task/{os.getpid()}/children"
    while True:
        try:
            with open(children_file) as f:
                pids = [int(p) for p in f.read().split()]
        except OSError:
            return killed
        if not pids:
            return killed
        for pid in pids:  # a child is never reaped behind our back, so its pid cannot be reused
            os.kill(pid, signal.SIGKILL)
        for pid in pids:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        killed += len(pids)


def _run_program(verdict_fd: int, nonce_fd: int) -> None:
    """pid 2: run the untrusted program; write the nonce only if its code returned normally."""
    import builtins

    # Bind what we need after the program now: it may replace module attributes (os.write = …),
    # but not the function objects we already hold.
    getpid, read, write, exit_now = os.getpid, os.read, os.write, os._exit
    my_pid = getpid()
    sys.argv = ["program.py"]
    namespace = {"__name__": "__main__", "__builtins__": builtins, "__file__": "program.py"}
    try:
        with open("program.py", "rb") as f:  # bytes: compile() decodes, honouring a coding line
            source = f.read()
        exec(compile(source, "program.py", "exec"), namespace)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt included: the tests did not finish
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, SystemExit):
            reason = f"SystemExit({exc.code!r}) raised before the end of the program"
        try:
            import traceback

            # Skip our own frame: the student reads the program's traceback, not the runner's.
            traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next)
        except BaseException:
            pass
        _flush()
        try:
            write(verdict_fd, b"!" + reason[:300].encode("utf-8", "replace"))
        except OSError:
            pass
        exit_now(1)
    _flush()
    if getpid() == my_pid:  # a forked child that reaches the end is not the program
        try:
            write(verdict_fd, read(nonce_fd, 64))
        except OSError:
            pass
    exit_now(0)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def _init(config: dict[str, str], readable: list[str], files: list[str], namespaces: list[str], layers: dict) -> None:
    """pid 1 of the sandbox: limit, restrict, start the program, report how it ended."""
    import signal

    report_fd, verdict_fd, nonce_fd = int(config["report_fd"]), int(config["verdict_fd"]), int(config["nonce_fd"])
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # if the supervisor dies, so do we, and with us the namespace
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    if "pid" in namespaces:
        layers["pid_max"] = limit_pids(int(config["pid_max"]))
    disabled = config.get("disable", "").split(",")
    if "mounts" in disabled:
        layers["read-only mounts"] = "missing: disabled by the caller"
    elif "mount" in namespaces:  # after pid_max: /proc/sys becomes read-only too
        layers["read-only mounts"] = read_only_mounts(config["workdir"])
    else:
        layers["read-only mounts"] = "missing: no mount namespace"
    limits = {k: int(config[k]) for k in ("memory", "file_size", "open_files", "core", "cpu", "processes")}
    layers.update(set_limits(limits, "user" in namespaces))
    layers["no_new_privs"] = "active: no set-user-id or file-capability gains across exec"
    try:
        prctl(PR_SET_NO_NEW_PRIVS, 1)
    except OSError as e:
        layers["no_new_privs"] = f"missing: {e}"
    if "landlock" in disabled:
        layers["landlock filesystem"] = layers["landlock network"] = "missing: disabled by the caller"
    else:
        try:
            layers.update(landlock_restrict(config["workdir"], readable, files))
        except OSError as e:
            layers["landlock filesystem"] = layers["landlock network"] = f"missing: {e}"
    layers["capabilities"] = drop_capabilities()
    prctl(PR_SET_DUMPABLE, 0)  # init's memory cannot be read or ptraced by the program
    program = os.fork()
    if program == 0:
        os.close(report_fd)
        prctl(PR_SET_DUMPABLE, 1)
        _run_program(verdict_fd, nonce_fd)
    os.close(verdict_fd)
    os.close(nonce_fd)
    _, status, usage = os.wait4(program, 0)
    entries = dict(layers)
    if os.WIFSIGNALED(status):
        entries["program_signal"] = os.WTERMSIG(status)
    else:
        entries["program_exit"] = os.waitstatus_to_exitcode(status)
    entries["program_cpu"] = f"{usage.ru_utime + usage.ru_stime:.3f}"
    _report(report_fd, entries)
    os._exit(0)  # as pid 1 this kills whatever the program left behind (else the subreaper does)


def main() -> None:
    """The supervisor (stage 0): namespaces, then init, then the clock."""
    import signal
    import time

    started = time.monotonic()
    config, pairs, nonce_fd = _read_header()
    config["nonce_fd"] = str(nonce_fd)
    readable = [v for k, v in pairs if k == "read"]
    files = [v for k, v in pairs if k == "read_write_file"]
    report_fd = int(config["report_fd"])
    deadline = started + float(config["timeout"])
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # if the parent dies, we die (and init follows)
    layers = {}
    disabled = config.get("disable", "").split(",")
    try:
        namespaces, why = enter_namespaces() if "namespaces" not in disabled else ([], "disabled by the caller")
    except OSError as e:
        namespaces, why = [], str(e)
    for name, what in (
        ("user", "ids mapped to your own; the other namespaces need no privileges"),
        ("mount", "mount changes stay inside the sandbox"),
        ("net", "a loopback device that is down: no network, not even 127.0.0.1"),
        ("pid", "the program's processes die with its init"),
        ("ipc", "no System V IPC or POSIX message queues shared with the host"),
    ):
        layers[f"{name} namespace"] = f"active: {what}" if name in namespaces else f"missing: {why}"
    try:
        prctl(PR_SET_CHILD_SUBREAPER, 1)
        if not os.path.exists(f"/proc/self/task/{os.getpid()}/children"):
            raise OSError("/proc/<pid>/task/<tid>/children is missing (kernel built without CONFIG_PROC_CHILDREN)")
        layers["subreaper"] = "active: orphans of the program are killed when it ends"
    except OSError as e:
        layers["subreaper"] = f"missing: {e}"
    # Block SIGCHLD so that sigtimedwait can sleep until init ends or the deadline comes.
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])
    init = os.fork()
    if init == 0:
        try:
            _init(config, readable, files, namespaces, layers)
        except BaseException:  # a harness error, not the program's: say what it was
            import traceback

            traceback.print_exc()
        os._exit(70)
    for fd in (int(config["verdict_fd"]), nonce_fd):
        os.close(fd)
    # If the parent ever has to kill us, it also needs init's pid to wait for the namespace to go.
    _report(report_fd, {"init_pid": init})
    timed_out = False
    ended, status = os.waitpid(init, os.WNOHANG)
    while not ended:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            os.kill(init, signal.SIGKILL)  # with a pid namespace the kernel kills everything inside
            ended, status = os.waitpid(init, 0)
            break
        signal.sigtimedwait([signal.SIGCHLD], remaining)  # wakes when any child changes state
        ended, status = os.waitpid(init, os.WNOHANG)
    leftovers = _kill_leftovers()  # finds something only without a pid namespace
    _report(report_fd, {"timed_out": int(timed_out), "init_status": status, "leftovers_killed": leftovers})
    os._exit(0)


if __name__ == "__main__":
    main()
