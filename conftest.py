"""pytest configuration shared by unit tests and nbval."""

import os

# Progress bars off, so that re-executed notebooks print exactly what their stored outputs show.
os.environ.setdefault("GENAI_COURSE_PROGRESS", "0")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
# One torch thread per notebook kernel. `make test` runs two notebooks side by side (pytest -n 2)
# on a 2-core machine, and two kernels of 2 threads each would fight over the cores. The stored
# outputs were executed with 2 threads (`make notebooks`), so checking with 1 also proves that no
# checked cell depends on the thread count (see "What nbval compares" in the README).
os.environ.setdefault("GENAI_COURSE_THREADS", "1")

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
