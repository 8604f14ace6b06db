"""Sub-commands for instructors and authors: ``student``, ``check``, ``execute``, ``sync-setup``.

Each validates all of its input before it changes anything, reports a problem as one line
naming the file (``genai-course CMD: error: ...``, exit status 2), and never leaves a
half-written notebook behind.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def register(sub) -> None:
    p = sub.add_parser(
        "student",
        help="write student versions: solutions removed, outputs cleared",
        description="Write student versions of notebooks: code between '### BEGIN SOLUTION' and "
        "'### END SOLUTION' becomes 'raise NotImplementedError()', solution dropdowns "
        "and {solution-start}...{solution-end} regions are removed and outputs are "
        "cleared. Anything that looks like a solution marker but is not exact stops "
        "it, before anything is written. OUT must lie outside SRC (and not contain it).",
    )
    p.add_argument("src", type=Path, help="a notebook or a folder of notebooks")
    p.add_argument("out", type=Path, help="output folder (mirrors SRC's layout)")
    p.set_defaults(run=_student)

    p = sub.add_parser(
        "check",
        help="run a submitted notebook and report each exercise check",
        description="Execute a notebook with a fresh kernel and grade it with the check cells of "
        "the instructor's version (the reference): each check runs the reference's "
        "code and reports through a channel the notebook cannot print to; a missing "
        "or altered check cell fails. The submission's code runs with your "
        "permissions, unsandboxed. Exit status 0 when all pass, 1 otherwise.",
    )
    p.add_argument("notebook", type=Path, help="a submitted notebook, or a folder of them (each checked)")
    p.add_argument(
        "--reference",
        type=Path,
        default=None,
        help="the instructor's notebook, or a folder holding it under the same file name "
        "(default: the course's notebooks/ folder, found from the working folder)",
    )
    p.add_argument("--timeout", type=int, default=900, help="seconds allowed per cell (default 900)")
    p.set_defaults(run=_check)

    p = sub.add_parser(
        "execute",
        help="(authors) re-execute notebooks and store their outputs",
        description="Re-execute notebooks in place with a fresh kernel, 2 torch threads and progress bars off; "
        "pin the Colab install to the current commit, state the measured run time "
        "in the title cell, and store normalized outputs.",
    )
    p.add_argument("notebooks", type=Path, nargs="+")
    p.add_argument("--timeout", type=int, default=900, help="seconds allowed per cell (default 900)")
    p.add_argument("--config", type=Path, default=Path("_config.yml"))
    p.set_defaults(run=_execute)

    p = sub.add_parser(
        "sync-setup",
        help="(authors) write the current setup cell into notebooks",
        description="Make the first code cell of each notebook the course's setup cell "
        "(repository URL from _config.yml, keeping the pinned commit), and put "
        "the link to its student version in the title cell.",
    )
    p.add_argument("notebooks", type=Path, nargs="+")
    p.add_argument("--config", type=Path, default=Path("_config.yml"))
    p.set_defaults(run=_sync_setup)


def _existing_notebooks(paths: list[Path]) -> list[Path]:
    from ..cli import CommandError
    from .student import find_notebooks

    out, seen = [], set()
    for path in paths:
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        if path.is_dir():
            found = find_notebooks(path)
        elif path.suffix != ".ipynb":
            raise CommandError(f"{path} is not a .ipynb notebook")
        else:
            found = [path]
        for p in found:
            if p.resolve() not in seen:
                seen.add(p.resolve())
                out.append(p)
    if not out:
        raise CommandError("no notebooks found in " + ", ".join(map(str, paths)))
    return out


def _read_all(paths: list[Path]) -> list:
    """Every notebook parsed, before any is changed; a bad one stops everything, named."""
    from ..cli import CommandError
    from .student import NotebookError, read_notebook

    try:
        return [read_notebook(path) for path in paths]
    except NotebookError as err:
        raise CommandError(f"{err}; nothing was changed") from None


def _positive_timeout(seconds: int) -> int:
    from ..cli import CommandError

    if seconds <= 0:
        raise CommandError(f"--timeout must be a positive number of seconds, got {seconds}")
    return seconds


def _config(path: Path) -> Path:
    from ..cli import CommandError

    if not path.is_file():
        raise CommandError(f"{path} not found: run from the repository root, or pass --config")
    return path


def _one_line(text: str) -> str:
    lines = [line.strip() for line in _ANSI.sub("", str(text)).splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _student(args) -> int:
    from ..cli import CommandError
    from .student import NotebookError, write_student_versions

    def warn(message: str) -> None:
        print(f"genai-course student: warning: {message}", file=sys.stderr)

    try:
        written = write_student_versions(args.src, args.out, warn=warn)
    except NotebookError as err:
        raise CommandError(str(err)) from None
    for path in written:
        print(f"wrote {path}")
    return 0


def _check(args) -> int:
    from ..cli import CommandError
    from .check import CheckError, check_submission, find_reference

    timeout = _positive_timeout(args.timeout)
    paths = _existing_notebooks([args.notebook])
    batch = args.notebook.is_dir()
    if batch and args.reference is not None and args.reference.is_file() and len(paths) > 1:
        raise CommandError(
            f"--reference {args.reference} is one notebook but {args.notebook} holds {len(paths)}; "
            "pass the folder of reference notebooks instead"
        )
    try:  # every reference found before anything runs
        references = {path: find_reference(path, args.reference) for path in paths}
    except CheckError as err:
        raise CommandError(str(err)) from None
    n_ok = 0
    for path in paths:
        print(f"{'== ' if batch else ''}{path} (reference: {references[path]})", flush=True)
        try:
            report = check_submission(path, references[path], timeout=timeout)
        except CheckError as err:
            if not batch:
                raise CommandError(str(err)) from None
            print(f"FAIL  {err}")
            continue
        for line in report.lines():
            print(line, flush=True)
        n_ok += report.ok
    if batch:
        print(f"{n_ok}/{len(paths)} notebooks passed every check")
    return 0 if n_ok == len(paths) else 1


def _execute(args) -> int:
    import copy

    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    from ..cli import CommandError
    from .execute import execute_in_place
    from .setup_cell import current_revision, repository_url, set_stated_run_time, sync_setup_cell

    timeout = _positive_timeout(args.timeout)
    config = _config(args.config)
    url = repository_url(config)
    revision = current_revision(config.resolve().parent)
    paths = _existing_notebooks(args.notebooks)
    for path, nb in zip(paths, _read_all(paths), strict=True):  # what execute_in_place would fail on after the run
        try:
            trial = copy.deepcopy(nb)
            sync_setup_cell(trial, url, revision)
            set_stated_run_time(trial, 1.0)
        except ValueError as err:
            raise CommandError(f"{path}: {err}; nothing was executed") from None
    _warn_if_source_uncommitted(config.resolve().parent)
    for done, path in enumerate(paths):
        try:
            seconds = _interruptible(execute_in_place, path, url, revision, timeout=timeout)
        except KeyboardInterrupt:
            print(
                f"genai-course execute: interrupted while running {path}; its outputs were not stored "
                f"({done} of {len(paths)} notebooks done)",
                file=sys.stderr,
            )
            return 130
        except CellExecutionError as err:  # keep the failing cell's own error, drop nbclient's stack
            raise CommandError(
                f"{path}: a cell failed, outputs not stored: {_one_line(err) or 'see the notebook'}"
            ) from None
        except CellTimeoutError:
            raise CommandError(f"{path}: a cell ran over {timeout} s, outputs not stored (raise --timeout?)") from None
        except DeadKernelError:
            raise CommandError(
                f"{path}: the kernel died (a crash, os._exit or out of memory), outputs not stored"
            ) from None
        except (RuntimeError, NoSuchKernel) as err:  # e.g. a kernel that does not start
            raise CommandError(f"{path}: {type(err).__name__}: {_one_line(err)}, outputs not stored") from None
        print(f"{seconds:6.0f} s  {path}", flush=True)
    return 0


def _interruptible(fn, *args, **kwargs):
    """Run ``fn`` in a worker thread, so that Ctrl-C reaches this thread as KeyboardInterrupt.

    In the main thread nbclient takes SIGINT over, shuts the kernel down and then fails inside
    its own clean-up (an AssertionError); in a worker it cannot install signal handlers. On
    Ctrl-C the kernels the worker started are stopped, so it fails before it stores anything,
    and KeyboardInterrupt is raised here once it has finished.
    """
    import threading

    result: dict = {}
    before = _child_pids()

    def target():
        try:
            result["value"] = fn(*args, **kwargs)
        except BaseException as err:  # handed to the main thread
            result["error"] = err

    worker = threading.Thread(target=target, name="genai-course-execute", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        _terminate(_child_pids() - before)
        worker.join(60)
        raise KeyboardInterrupt from None
    if "error" in result:
        raise result["error"]
    return result["value"]


def _child_pids() -> set[int]:
    """This process's descendants (the kernels it started and their children)."""
    import os

    try:
        import psutil

        return {p.pid for p in psutil.Process().children(recursive=True)}
    except ImportError:
        pass
    parents = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):  # Linux without psutil
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
            parents[int(entry.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def _terminate(pids: set[int]) -> None:
    import os
    import signal

    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _warn_if_source_uncommitted(root: Path) -> None:
    """Colab installs the pinned commit: code changed since then would not reach the reader."""
    import subprocess

    status = subprocess.run(
        ["git", "status", "--porcelain", "--", "src", "pyproject.toml"], cwd=root, capture_output=True, text=True
    )
    if status.stdout.strip():
        print(
            "warning: src/ or pyproject.toml has uncommitted changes; Colab will install the last commit, "
            "without them. Commit first, then execute again.",
            file=sys.stderr,
        )


def _sync_setup(args) -> int:
    import nbformat

    from ..cli import CommandError
    from .setup_cell import (
        current_revision,
        exercise_link,
        pinned_revision,
        repository_branch,
        repository_url,
        sync_exercise_link,
        sync_setup_cell,
    )

    config = _config(args.config)
    root = config.resolve().parent
    url, branch = repository_url(config), repository_branch(config)
    paths = _existing_notebooks(args.notebooks)
    changed = []
    for path, nb in zip(paths, _read_all(paths), strict=True):  # all in memory first: a bad notebook changes nothing
        try:
            rel = path.resolve().relative_to(root)
        except ValueError:
            raise CommandError(f"{path} is not inside the repository {root}; nothing was changed") from None
        try:
            revision = pinned_revision(nb) or current_revision(root)
            updated = sync_setup_cell(nb, url, revision)
            updated |= sync_exercise_link(nb, exercise_link(url, branch, rel))
        except ValueError as err:
            raise CommandError(f"{path}: {err}; nothing was changed") from None
        if updated:
            changed.append((path, nb))
    for path, nb in changed:
        nbformat.write(nb, path)
        print(f"updated {path}")
    return 0
