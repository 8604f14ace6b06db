"""Execute notebooks in place and store their outputs the same way every time (``make notebooks``)."""
from __future__ import annotations

import os
import time
from pathlib import Path

QUIET_ENV = {"GENAI_COURSE_PROGRESS": "0", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
             "OMP_WAIT_POLICY": "PASSIVE"}  # idle threads sleep: kernels run side by side without spinning


def execute_notebook(path: Path, timeout: int = 900, allow_errors: bool = False):
    """Run every cell with a fresh kernel in the notebook's folder; return (notebook, seconds)."""
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    os.environ.update(QUIET_ENV)  # the kernel inherits this process's environment
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    start = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - start


def normalize(nb) -> None:
    """Drop what changes from run to run without meaning anything (timestamps, kernel versions)."""
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}


def execute_in_place(path: Path, timeout: int = 900) -> float:
    import nbformat

    nb, seconds = execute_notebook(path, timeout)
    normalize(nb)
    nbformat.write(nb, path)
    return seconds
