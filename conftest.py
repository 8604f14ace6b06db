"""pytest configuration shared by unit tests and nbval."""

import fcntl
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# Progress bars off, so that re-executed notebooks print exactly what their stored outputs show.
os.environ.setdefault("GENAI_COURSE_PROGRESS", "0")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
# One torch thread per notebook kernel. `make test` runs two notebooks side by side (pytest -n 2)
# on a 2-core machine, and two kernels of 2 threads each would fight over the cores. The stored
# outputs were executed with 2 threads (`make notebooks`), so checking with 1 also proves that no
# checked cell depends on the thread count (see "What nbval compares" in the README).
os.environ.setdefault("GENAI_COURSE_THREADS", "1")

# nbval waits 5 s for each of a cell's outputs after the cell has run; on a busy 2-core machine
# (two kernels side by side) an output can take longer to arrive, and the cell then fails with
# "Timeout of 5 seconds exceeded waiting for output" although it ran correctly.
try:
    from nbval.plugin import IPyNbCell

    _nbval_cell_init = IPyNbCell.__init__

    def _patient_cell_init(self, *args, **kwargs):
        _nbval_cell_init(self, *args, **kwargs)
        self.output_timeout = 60

    IPyNbCell.__init__ = _patient_cell_init
except ImportError:  # nbval is a dev dependency; unit tests run without it
    pass

# Per-notebook time table at the end of `pytest --nbval` (with xdist, reports reach the main process).
NOTEBOOK_BUDGET_S = 120
_notebook_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] = _notebook_seconds.get(path, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    if not _notebook_seconds:
        return
    threads = os.environ.get("GENAI_COURSE_THREADS")
    terminalreporter.section(f"notebook run times (torch threads per kernel: {threads}; budget {NOTEBOOK_BUDGET_S} s)")
    for path, seconds in sorted(_notebook_seconds.items()):
        flag = "  OVER BUDGET" if seconds > NOTEBOOK_BUDGET_S else ""
        terminalreporter.write_line(f"{seconds:7.1f} s  {path}{flag}")
    terminalreporter.write_line(f"{sum(_notebook_seconds.values()):7.1f} s  all notebooks (summed over both workers)")


# --- The rendered book, built once per test session --------------------------------------------
# Tests that look at the built HTML (tests/test_browser.py; tests/test_book.py can use it too) share
# one build: with pytest-xdist the first worker to ask builds, the others wait on a file lock and
# read its result. GENAI_COURSE_BOOK_HTML=path/to/_build/html reuses a build you already have
# (e.g. from `make book`) and skips building.

ROOT = Path(__file__).resolve().parent


@dataclass
class BookBuild:
    html: Path  # the _build/html folder
    returncode: int
    output: str  # what jupyter-book printed (stdout + stderr)


@pytest.fixture(scope="session")
def book_build(tmp_path_factory) -> BookBuild:
    if given := os.environ.get("GENAI_COURSE_BOOK_HTML"):
        return BookBuild(Path(given).resolve(), 0, "")
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by all workers of this run
    out, result_file = base / "book", base / "book-build.json"
    with open(base / "book-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result_file.exists():
            jb = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
            assert jb, "jupyter-book is not installed (pip install -e '.[book]')"
            cmd = [jb, "build", str(ROOT), "-W", "-n", "--keep-going", "--path-output", str(out)]
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
            result_file.write_text(
                json.dumps({"returncode": result.returncode, "output": result.stdout + result.stderr})
            )
        saved = json.loads(result_file.read_text())
    return BookBuild(out / "_build" / "html", saved["returncode"], saved["output"])
