"""Execute notebooks and store their outputs the same way every time (``make notebooks``)."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

# Every kernel: progress bars off, so stored outputs never depend on who ran them.
QUIET_ENV = {"GENAI_COURSE_PROGRESS": "0", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
# Stored outputs are made with 2 torch threads, what a reader running one notebook on a 2-core
# machine gets by default; `make test` checks them with 1 thread per kernel (see conftest.py).
STORE_THREADS = "2"


@contextmanager
def _environment(extra: dict):
    """Set environment variables for the kernel (it inherits this process's), then restore them."""
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def execute_notebook(path: Path, timeout: int = 900, allow_errors: bool = False, env: dict | None = None):
    """Run every cell with a fresh kernel in the notebook's folder; return (notebook, seconds)."""
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    start = time.perf_counter()
    with _environment({**QUIET_ENV, **(env or {})}):
        client.execute()
    return nb, time.perf_counter() - start


def normalize(nb) -> None:
    """Drop what changes from run to run without meaning anything (timestamps, kernel versions)."""
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}


def execute_in_place(path: Path, repo_url: str, revision: str, timeout: int = 900) -> float:
    """Pin the setup cell to ``revision``, execute, state the measured run time in the title cell, store.

    Returns the run time the notebook measured for itself (from ``setup()`` to its last cell).
    """
    import nbformat

    from .setup_cell import measured_run_time, set_stated_run_time, sync_setup_cell

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    sync_setup_cell(nb, repo_url, revision)
    nbformat.write(nb, path)
    nb, seconds = execute_notebook(path, timeout, env={"GENAI_COURSE_THREADS": STORE_THREADS})
    measured = measured_run_time(nb)
    if measured is None:
        raise ValueError(f"{path}: no 'notebook run time: N s' printed; end the notebook with run_time()")
    set_stated_run_time(nb, measured)
    normalize(nb)
    nbformat.write(nb, path)
    return measured
