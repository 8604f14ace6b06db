"""Check a submitted notebook against the instructor's version of it (the reference).

The grade comes from the reference, never from what the submission prints:

1. The reference's *check cells* (code cells that call a ``check_*`` function, e.g.
   ``check_attention(attention)`` or ``assert check_attention(attention)``) are the list of
   checks. The submission must hold each of them unchanged (same code up to formatting), in the
   same order; one that is missing or altered counts as failed.
2. The submission runs cell by cell in a fresh kernel. In place of each of its check cells, the
   *reference's* check code runs in a separate, hidden step (not stored in the kernel's history),
   with the checker functions imported afresh from their modules, in a copy of the notebook's
   namespace; the verdict (the checker's ``Feedback``: passed and message) is written as JSON to
   a file in a private temporary folder whose name the notebook never sees, and read before the
   next cell of the submission runs. Whatever the notebook prints, ✅ included, is ignored; so is
   whatever the kernel writes to its own stdout and stderr.
3. A cell that runs over the time limit is interrupted and reported, and the rest still runs; a
   kernel that dies (``os._exit``, a crash, out of memory) is reported, and the checks it could
   not reach fail; every result obtained before is kept.

This is not a sandbox: the submission runs with your permissions (see book/instructors.md).
"""

from __future__ import annotations

import ast
import copy
import json
import secrets
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..exercises.checks import FAIL, PASS

RECOVERY_S = 30  # after a timeout: how long an interrupted kernel may take to answer again


class CheckError(ValueError):
    """The check cannot be run (no reference, a malformed notebook, no kernel); one line."""


def check_results(nb) -> list[tuple[int, bool, str]]:
    """(cell index, passed, message) for every ✅ / ❌ line in a notebook's *stored outputs*.

    For reading what a notebook displays (e.g. the course's own stored outputs); it trusts the
    outputs, so never grade with it: ``check_submission`` does not.
    """
    results = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            text = out.get("text") or out.get("data", {}).get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            for line in text.splitlines():
                if line.startswith(PASS) or line.startswith(FAIL):
                    results.append((i, line.startswith(PASS), line[len(PASS) :].strip()))
            if out.get("output_type") == "error" and not any(r[0] == i for r in results):
                results.append((i, False, f"the cell raised {out.get('ename')}: {out.get('evalue')}"))
    return results


# ----------------------------------------------------------------------------------------------
# The reference's check cells


def _python(source: str) -> str:
    """Cell source as plain Python (IPython magics such as ``%pip`` turned into calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(_python(source))
    except (SyntaxError, ValueError):
        return None


def _callee(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _check_call(stmt: ast.stmt) -> ast.Call | None:
    """The ``check_*(...)`` call a statement is, or asserts; None for any other statement."""
    node = stmt.value if isinstance(stmt, ast.Expr) else stmt.test if isinstance(stmt, ast.Assert) else None
    if isinstance(node, ast.Call) and _callee(node.func).startswith("check_"):
        return node
    return None


@dataclass
class CheckCell:
    """A check cell of the reference notebook."""

    index: int  # cell index in the reference
    source: str
    n_checks: int  # check calls in it (each one verdict)
    imports: list[str] = field(default_factory=list)  # the reference's imports of the names it uses

    @property
    def key(self) -> str:
        return _normalized(self.source)


def _normalized(source: str) -> str:
    tree = _parse(source)
    return ast.dump(tree) if tree is not None else source.strip()


def _import_statements(nb, names: set[str]) -> list[str]:
    """Top-level imports in the reference that bind any of ``names``, reduced to those names."""
    found = []
    for cell in nb.cells:
        tree = _parse(cell.source) if cell.cell_type == "code" else None
        for stmt in tree.body if tree is not None else []:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                aliases = [a for a in stmt.names if (a.asname or a.name.split(".")[0]) in names and a.name != "*"]
                if aliases:
                    node = copy.copy(stmt)
                    node.names = aliases
                    found.append(ast.unparse(node))
    return found


def reference_checks(nb) -> list[CheckCell]:
    """The check cells of the reference notebook, in order."""
    checks = []
    for i, cell in enumerate(nb.cells):
        tree = _parse(cell.source) if cell.cell_type == "code" else None
        if tree is None:
            continue
        n = sum(_check_call(stmt) is not None for stmt in tree.body)
        if n:
            names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
            checks.append(CheckCell(i, cell.source, n, _import_statements(nb, names)))
    return checks


def course_notebook_folders(start: Path | None = None) -> list[Path]:
    """``notebooks/`` of the course repository that ``start`` (default: the working folder) is in."""
    start = (start or Path.cwd()).resolve()
    for folder in [start, *start.parents]:
        if (folder / "notebooks").is_dir() and (folder / "_config.yml").is_file():
            return [folder / "notebooks"]
    return []


def find_reference(submission: Path, reference: Path | None = None) -> Path:
    """The instructor's notebook for ``submission``: ``reference`` itself when it is a notebook,
    else the notebook of the same file name under ``reference`` (a folder) or, by default, under
    the course's ``notebooks/`` folder."""
    from .student import find_notebooks

    if reference is not None:
        if not reference.exists():
            raise CheckError(f"reference {reference} does not exist")
        if reference.is_file():
            return reference
        folders = [reference]
    else:
        folders = course_notebook_folders()
        if not folders:
            raise CheckError(
                f"no reference notebook for {submission}: not run from the course repository "
                "(no notebooks/ folder beside a _config.yml here or above); pass --reference "
                "PATH, the instructor's version of the notebook"
            )
    found = {p.resolve(): p for folder in folders for p in find_notebooks(folder) if p.name == submission.name}
    candidates = list(found.values())
    if len(candidates) > 1:  # prefer the one in a folder of the same name (student/01_x/a → notebooks/01_x/a)
        candidates = [p for p in candidates if p.parent.name == submission.resolve().parent.name] or candidates
    if len(candidates) == 1:
        return candidates[0]
    where = ", ".join(map(str, folders))
    if not candidates:
        raise CheckError(
            f"no reference notebook for {submission}: no {submission.name} under {where}; "
            "pass --reference PATH, the instructor's version of the notebook"
        )
    raise CheckError(
        f"several reference notebooks named {submission.name} under {where} "
        f"({', '.join(map(str, candidates))}); pass --reference PATH"
    )


# ----------------------------------------------------------------------------------------------
# Running a submission


@dataclass
class CheckResult:
    cell: int | None  # the submission's cell (None: the check cell is missing)
    passed: bool
    message: str


@dataclass
class Report:
    path: Path
    reference: Path
    checks: list[CheckResult] = field(default_factory=list)
    notes: list[tuple[int, str, str]] = field(default_factory=list)  # (cell, TIMEOUT/DIED/ERROR, message)
    complete: bool = True  # every cell ran to its end within the time limit

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.checks)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and self.passed == len(self.checks) and self.complete

    def lines(self) -> list[str]:
        rows = [(r.cell, "PASS" if r.passed else "FAIL", r.message) for r in self.checks]
        rows += [(cell, kind, message) for cell, kind, message in self.notes]
        rows.sort(key=lambda row: -1 if row[0] is None else row[0])
        out = [f"cell {'-' if cell is None else cell:>3}  {kind:<7}  {message}" for cell, kind, message in rows]
        return out + [
            f"{self.passed}/{len(self.checks)} checks passed"
            + ("" if self.complete else " (the notebook did not run to the end)")
        ]


# Runs in the kernel, in place of a check cell; the arguments are literals built by _grading_code.
_GRADER = r"""
def _genai_course_grade(source, imports, channel):
    import ast, json
    verdicts = []
    try:
        from genai_course.exercises.checks import Feedback
        ns = dict(globals())  # a copy: the check's own statements do not touch the notebook's namespace
        for statement in imports:  # the checkers as their modules define them, not as the notebook left them
            exec(statement, ns)
        for stmt in ast.parse(source).body:
            node = stmt.value if isinstance(stmt, ast.Expr) else stmt.test if isinstance(stmt, ast.Assert) else None
            func = getattr(node, "func", None)
            name = getattr(func, "id", None) or getattr(func, "attr", None) or ""
            if not (isinstance(node, ast.Call) and name.startswith("check_")):
                exec(compile(ast.Module([stmt], []), "<check>", "exec"), ns)
                continue
            if getattr(ns.get(name), "__module__", None) == "__main__":
                verdicts.append([False, f"{name} was replaced by code in the notebook"])
                continue
            try:
                value = eval(compile(ast.Expression(node), "<check>", "eval"), ns)
            except Exception as err:
                verdicts.append([False, f"the check raised {type(err).__name__}: {err}"])
                continue
            if type(value) is Feedback:
                verdicts.append([value.passed is True, str(value.message)])
            elif type(value) is bool:
                verdicts.append([value, "passed" if value else "failed"])
            else:
                verdicts.append([False, f"{name} returned {type(value).__name__}, not a verdict"])
    except Exception as err:
        verdicts.append([False, f"the check cell raised {type(err).__name__}: {err}"])
    with open(channel, "w", encoding="utf-8") as f:
        json.dump(verdicts, f)

try:
    _genai_course_grade({source!r}, {imports!r}, {channel!r})
finally:
    del _genai_course_grade
"""


def _grading_code(check: CheckCell, channel: Path) -> str:
    return (
        _GRADER.replace("{source!r}", repr(_python(check.source)))
        .replace("{imports!r}", repr(check.imports))
        .replace("{channel!r}", repr(str(channel)))
    )


def _match_checks(nb, checks: list[CheckCell]) -> tuple[dict[int, CheckCell], list[CheckCell]]:
    """Submission cell index → reference check cell, in order; and the checks not found."""
    keys = {i: _normalized(c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    matched, missing, start = {}, [], 0
    for check in checks:
        index = next((i for i in sorted(keys) if i >= start and keys[i] == check.key), None)
        if index is None:
            missing.append(check)
        else:
            matched[index], start = check, index + 1
    return matched, missing


def _quiet_logger():
    import logging

    log = logging.getLogger("genai_course.check.kernel")
    log.addHandler(logging.NullHandler())
    log.propagate = False
    return log


def check_submission(path: Path, reference: Path, timeout: int = 900) -> Report:
    """Run ``path`` and grade it with the check cells of ``reference``; see the module's docstring."""
    import nbformat
    from jupyter_core.utils import ensure_async, run_sync
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    from .execute import QUIET_ENV, _environment
    from .student import NotebookError, read_notebook

    if timeout <= 0:
        raise CheckError(f"the timeout must be a positive number of seconds, got {timeout}")
    path, reference = Path(path), Path(reference)
    try:
        sub, ref = read_notebook(path), read_notebook(reference)
    except NotebookError as err:
        raise CheckError(str(err)) from None
    checks = reference_checks(ref)
    if not checks:
        raise CheckError(f"the reference {reference} has no check cells (code cells calling a check_* function)")
    report = Report(path, reference)
    matched, missing = _match_checks(sub, checks)
    for check in missing:
        first_line = check.source.strip().splitlines()[0]
        report.checks += [
            CheckResult(None, False, f"check cell missing or altered: reference cell {check.index} `{first_line}`")
        ] * check.n_checks

    cells = [copy.deepcopy(c) for c in sub.cells]
    scratch = nbformat.v4.new_notebook(cells=cells + [nbformat.v4.new_code_cell("pass")])
    hidden = len(cells)  # the index the hidden steps run at (nbclient stores each cell back by index)
    client = NotebookClient(
        scratch,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        interrupt_on_timeout=False,
        log=_quiet_logger(),
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )

    def run(cell, index=hidden, limit=None) -> str | None:
        """None when the cell ran to its end, else 'timeout' or 'died'. Hidden steps (index
        ``hidden``) are not stored in the kernel's history."""
        saved = client.timeout
        client.timeout = limit or timeout
        try:
            client.execute_cell(cell, index, store_history=index != hidden)
        except CellTimeoutError:
            return "timeout"
        except DeadKernelError:
            return "died"
        finally:
            client.timeout = saved
        return None

    def recover() -> bool:
        """After a timeout: interrupt the kernel and wait until it answers again."""

        async def interrupt():
            await ensure_async(client.km.interrupt_kernel())

        try:
            run_sync(interrupt)()
        except Exception:
            return False
        return run(nbformat.v4.new_code_cell("pass"), limit=RECOVERY_S) is None

    # Two private folders: the kernel's stderr (which the kernel can see) is not where the verdicts go.
    with tempfile.TemporaryDirectory() as private, tempfile.TemporaryDirectory() as logs, _environment(QUIET_ENV):
        private = Path(private)
        stderr_path = Path(logs) / "kernel-stderr.txt"
        with open(stderr_path, "wb") as kernel_stderr:
            try:
                setup = client.setup_kernel(stdout=subprocess.DEVNULL, stderr=kernel_stderr)
                setup.__enter__()
            except Exception as err:
                tail = [line for line in stderr_path.read_text(errors="replace").splitlines() if line.strip()]
                raise CheckError(
                    f"cannot start a python3 kernel: {type(err).__name__}: {err}" + (f" ({tail[-1]})" if tail else "")
                ) from None
            try:
                stopped = None  # why the run stopped early
                for index, cell in enumerate(cells):
                    if cell.cell_type != "code" or not cell.source.strip():
                        continue
                    if stopped:
                        if index in matched:
                            report.checks += [CheckResult(index, False, f"not run: {stopped}")] * matched[
                                index
                            ].n_checks
                        continue
                    check = matched.get(index)
                    if check is None:
                        outcome = run(cell, index)
                        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
                        if outcome is None and errors:
                            report.notes.append(
                                (
                                    index,
                                    "ERROR",
                                    f"the cell raised {errors[0].get('ename')}: "
                                    f"{_one_line(errors[0].get('evalue', ''))}",
                                )
                            )
                    else:
                        channel = private / f"{secrets.token_hex(16)}.json"
                        outcome = run(nbformat.v4.new_code_cell(_grading_code(check, channel)))
                        report.checks += _verdicts(index, check, channel, outcome, timeout)
                    if outcome == "timeout":
                        report.complete = False
                        if check is None:
                            report.notes.append((index, "TIMEOUT", f"ran over {timeout} s and was interrupted"))
                        if not recover():
                            stopped = f"the kernel did not stop after cell {index} timed out"
                            report.notes.append((index, "STOPPED", stopped))
                    elif outcome == "died":
                        report.complete = False
                        stopped = f"the kernel died in cell {index}"
                        report.notes.append(
                            (
                                index,
                                "DIED",
                                "the kernel died (os._exit, a crash or out of memory); the cells after it did not run",
                            )
                        )
            finally:
                try:
                    setup.__exit__(None, None, None)
                except Exception:  # a dead kernel may fail to clean up; its results are already kept
                    pass
    report.checks.sort(key=lambda r: -1 if r.cell is None else r.cell)
    return report


def _one_line(text: str) -> str:
    import re

    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", str(text))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else ""


def _verdicts(index: int, check: CheckCell, channel: Path, outcome: str | None, timeout: int) -> list[CheckResult]:
    if outcome == "timeout":
        return [CheckResult(index, False, f"the check ran over {timeout} s and was interrupted")] * check.n_checks
    if outcome == "died":
        return [CheckResult(index, False, "the kernel died during the check")] * check.n_checks
    try:
        verdicts = json.loads(channel.read_text(encoding="utf-8"))
        channel.unlink()
        results = [CheckResult(index, ok is True, _one_line(message) or "(no message)") for ok, message in verdicts][
            : check.n_checks
        ]
    except (OSError, ValueError, TypeError):
        results = [CheckResult(index, False, "the check returned no verdict")]
    while len(results) < check.n_checks:
        results.append(CheckResult(index, False, "not run: the check cell stopped before this check"))
    return results
