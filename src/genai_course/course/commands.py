"""Sub-commands for instructors and authors: ``student``, ``check``, ``execute``, ``sync-setup``."""
from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("student", help="write student versions: solutions removed, outputs cleared",
                       description="Write student versions of notebooks: code between '### BEGIN SOLUTION' and "
                                   "'### END SOLUTION' becomes 'raise NotImplementedError()', solution dropdowns "
                                   "are removed and outputs are cleared.")
    p.add_argument("src", type=Path, help="a notebook or a folder of notebooks")
    p.add_argument("out", type=Path, help="output folder (mirrors SRC's layout)")
    p.set_defaults(run=_student)

    p = sub.add_parser("check", help="run a submitted notebook and report each exercise check",
                       description="Execute a notebook with a fresh kernel and report every exercise check. "
                                   "Exit status 0 when all pass, 1 otherwise.")
    p.add_argument("notebook", type=Path)
    p.add_argument("--timeout", type=int, default=900, help="seconds allowed per cell (default 900)")
    p.set_defaults(run=_check)

    p = sub.add_parser("execute", help="(authors) re-execute notebooks and store their outputs",
                       description="Re-execute notebooks in place with a fresh kernel, 2 torch threads and progress bars off; "
                                   "pin the Colab install to the current commit, state the measured run time "
                                   "in the title cell, and store normalized outputs.")
    p.add_argument("notebooks", type=Path, nargs="+")
    p.add_argument("--timeout", type=int, default=900)
    p.add_argument("--config", type=Path, default=Path("_config.yml"))
    p.set_defaults(run=_execute)

    p = sub.add_parser("sync-setup", help="(authors) write the current setup cell into notebooks",
                       description="Make the first code cell of each notebook the course's setup cell "
                                   "(repository URL from _config.yml, keeping the pinned commit), and put "
                                   "the link to its student version in the title cell.")
    p.add_argument("notebooks", type=Path, nargs="+")
    p.add_argument("--config", type=Path, default=Path("_config.yml"))
    p.set_defaults(run=_sync_setup)


def _existing_notebooks(paths: list[Path]) -> list[Path]:
    from ..cli import CommandError

    out = []
    for path in paths:
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        if path.is_dir():
            out += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.suffix != ".ipynb":
            raise CommandError(f"{path} is not a .ipynb notebook")
        else:
            out.append(path)
    if not out:
        raise CommandError("no notebooks found in " + ", ".join(map(str, paths)))
    return out


def _student(args) -> int:
    from ..cli import CommandError
    from .student import NotebookError, write_student_versions

    try:
        written = write_student_versions(args.src, args.out)
    except NotebookError as err:
        raise CommandError(str(err)) from None
    for path in written:
        print(f"wrote {path}")
    return 0


def _check(args) -> int:
    from ..cli import CommandError
    from .check import check_submission
    from .student import NotebookError, read_notebook

    [path] = _existing_notebooks([args.notebook])
    try:
        read_notebook(path)
    except NotebookError as err:
        raise CommandError(str(err)) from None
    results = check_submission(path, timeout=args.timeout)
    if not results:
        print(f"{path}: no exercise checks found")
        return 1
    for cell, passed, message in results:
        print(f"cell {cell:3d}  {'PASS' if passed else 'FAIL'}  {message}")
    n_pass = sum(passed for _, passed, _ in results)
    print(f"{n_pass}/{len(results)} checks passed")
    return 0 if n_pass == len(results) else 1


def _execute(args) -> int:
    from nbclient.exceptions import CellExecutionError

    from ..cli import CommandError
    from .execute import execute_in_place
    from .setup_cell import current_revision, repository_url

    url = repository_url(args.config)
    revision = current_revision(args.config.resolve().parent)
    _warn_if_source_uncommitted(args.config.resolve().parent)
    for path in _existing_notebooks(args.notebooks):
        try:
            seconds = execute_in_place(path, url, revision, timeout=args.timeout)
        except CellExecutionError as err:  # keep the failing cell's own error, drop nbclient's stack
            lines = [line for line in str(err).splitlines() if line.strip()]
            raise CommandError(f"{path}: a cell failed, outputs not stored: {lines[-1] if lines else err}") from None
        print(f"{seconds:6.0f} s  {path}", flush=True)
    return 0


def _warn_if_source_uncommitted(root: Path) -> None:
    """Colab installs the pinned commit: code changed since then would not reach the reader."""
    import subprocess
    import sys

    status = subprocess.run(["git", "status", "--porcelain", "--", "src", "pyproject.toml"], cwd=root,
                            capture_output=True, text=True)
    if status.stdout.strip():
        print("warning: src/ or pyproject.toml has uncommitted changes; Colab will install the last commit, "
              "without them. Commit first, then execute again.", file=sys.stderr)


def _sync_setup(args) -> int:
    import nbformat

    from .setup_cell import (current_revision, exercise_link, pinned_revision, repository_branch,
                             repository_url, sync_exercise_link, sync_setup_cell)

    root = args.config.resolve().parent
    url, branch = repository_url(args.config), repository_branch(args.config)
    for path in _existing_notebooks(args.notebooks):
        nb = nbformat.read(path, as_version=4)
        revision = pinned_revision(nb) or current_revision(root)
        changed = sync_setup_cell(nb, url, revision)
        changed |= sync_exercise_link(nb, exercise_link(url, branch, path.resolve().relative_to(root)))
        if changed:
            nbformat.write(nb, path)
            print(f"updated {path}")
    return 0
