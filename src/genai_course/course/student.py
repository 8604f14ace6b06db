"""Student versions of notebooks: solutions removed, outputs cleared.

Code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's markup) becomes
``raise NotImplementedError``; MyST ``solution`` blocks (``` ```{solution} ``` or
``:::{solution}``) are dropped from Markdown cells, and so is everything from a
sphinx-exercise ``{solution-start}`` block to its ``{solution-end}`` (the cells between
included); every output is cleared.

Anything that looks like a solution marker but is not one of these exactly (``#### BEGIN
SOLUTION``, ``###BEGIN SOLUTION``, ``### begin solution``, ``{Solution}``, a marker in a raw
cell, in a Markdown cell or in metadata, ...) stops the conversion with a message naming the
notebook, the cell and the line: a marker this module did not act on would leak its solution
into the student version.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from .setup_cell import remove_exercise_link

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")  # nbgrader's code stub for Python

# Exact MyST openings this module acts on: a fence of 3+ backticks or colons, then the directive.
_FENCE_OPEN = re.compile(r"^(\s*)(`{3,}|:{3,})\{solution\}")
_GATED_START = re.compile(r"^\s*(`{3,}|:{3,})\{solution-start\}")
_GATED_END = re.compile(r"^\s*(`{3,}|:{3,})\{solution-end\}")
# What a solution marker might look like, in any case and spacing: anything matching these that
# is not one of the exact forms above is an error, never silently kept.
_LOOSE_CODE_MARKER = re.compile(  # in a comment in any case, or in capitals anywhere
    r"(?i:#.*\b(?:begin|end)[\s_-]*(?:solution|hidden[\s_-]*tests?))|\b(?:BEGIN|END)[\s_-]*(?:SOLUTION|HIDDEN[\s_-]*TESTS?)"
)
_LOOSE_DIRECTIVE = re.compile(r"(?i)\{\s*solution[^}]*\}")


class NotebookError(ValueError):
    """A notebook that cannot be converted; the message says which and why."""


def _line_no(i: int) -> str:
    return f"line {i + 1}"


def strip_code_solution(source: str, where: str) -> str:
    """Replace each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region with nbgrader's stub."""
    out, inside = [], False
    for n, line in enumerate(source.splitlines()):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise NotebookError(f"{where}: '{BEGIN}' appears twice without '{END}' between them")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + stub for stub in STUB]
        elif stripped == END:
            if not inside:
                raise NotebookError(f"{where}: '{END}' without a '{BEGIN}' before it")
            inside = False
        elif _LOOSE_CODE_MARKER.search(line):
            raise NotebookError(
                f"{where}, {_line_no(n)}: {stripped!r} looks like a solution marker but is not exactly "
                f"'{BEGIN}' or '{END}' on a line of its own; fix it, or the solution would leak into the "
                "student version"
            )
        elif not inside:
            out.append(line)
    if inside:
        raise NotebookError(f"{where}: '{BEGIN}' without a matching '{END}'")
    return "\n".join(out)


def _closes(line: str, fence: str) -> bool:
    """A closing fence: only the fence character, at least as many as the opening (CommonMark)."""
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def _check_markdown_line(line: str, n: int, where: str) -> None:
    if _LOOSE_CODE_MARKER.search(line):
        raise NotebookError(
            f"{where}, {_line_no(n)}: {line.strip()!r}: solution markers in a Markdown cell are not "
            "supported (the solution would leak); use a ```{solution}``` block"
        )
    if _LOOSE_DIRECTIVE.search(line) and not (
        _FENCE_OPEN.match(line) or _GATED_START.match(line) or _GATED_END.match(line)
    ):
        raise NotebookError(
            f"{where}, {_line_no(n)}: {line.strip()!r} looks like a solution directive but is not "
            "'```{solution}', '```{solution-start}' or '```{solution-end}' at the start of a line; "
            "fix it, or the solution would leak into the student version"
        )


def strip_markdown_solutions(source: str, where: str = "cell") -> str:
    """Drop ``{solution}`` blocks from one Markdown cell (gated blocks: see ``to_student``)."""
    out, fence = [], None
    for n, line in enumerate(source.splitlines()):
        if fence is None:
            _check_markdown_line(line, n, where)
            match = _FENCE_OPEN.match(line)
            if match:
                fence = match.group(2)
                continue
            out.append(line)
        elif _closes(line, fence):
            fence = None
    return "\n".join(out).rstrip("\n") if source.strip() else source


def _metadata_problems(metadata, path: str = "metadata") -> list[str]:
    """Places in a metadata tree that mention a solution (key or string value)."""
    found = []
    if isinstance(metadata, dict):
        for key, value in metadata.items():
            where = f"{path}.{key}"
            if where.endswith(".nbgrader") and path.startswith("cell"):
                continue  # nbgrader's own cell metadata: its solution flag is checked by the caller
            if "solution" in str(key).lower():
                found.append(where)
            else:
                found += _metadata_problems(value, where)
    elif isinstance(metadata, list):
        for i, value in enumerate(metadata):
            found += _metadata_problems(value, f"{path}[{i}]")
    elif isinstance(metadata, str) and ("solution" in metadata.lower() or _LOOSE_CODE_MARKER.search(metadata)):
        found.append(f"{path} = {metadata[:60]!r}")
    return found


def _check_metadata(nb, name: str) -> None:
    problems = _metadata_problems(dict(nb.metadata), "notebook metadata")
    for i, cell in enumerate(nb.cells):
        problems += _metadata_problems(dict(cell.get("metadata", {})), f"cell {i} metadata")
        nbgrader = cell.get("metadata", {}).get("nbgrader", {})
        if isinstance(nbgrader, dict) and nbgrader.get("solution") is True:
            if cell.cell_type != "code" or not any(line.strip() == BEGIN for line in cell.source.splitlines()):
                problems.append(
                    f"cell {i} is marked as a solution (metadata.nbgrader.solution) but has no "
                    f"'{BEGIN}' ... '{END}' region"
                )
    if problems:
        raise NotebookError(
            f"{name}: {problems[0]}: solutions marked in metadata are not supported (they would "
            f"leak into the student version); mark them with '{BEGIN}' / '{END}' or a "
            "{solution} block"
        )


def _drop_unused_attachments(cell) -> None:
    attachments = cell.get("attachments")
    if attachments:
        for key in [k for k in attachments if f"attachment:{k}" not in cell.source]:
            del attachments[key]
        if not attachments:
            del cell["attachments"]


def _strip_gated(lines: list[str], state: dict, where: str) -> list[str]:
    """Drop what lies between ``{solution-start}`` and the end of ``{solution-end}``'s block."""
    out = []
    for n, line in enumerate(lines):
        if state["mode"] == "normal":
            if _GATED_END.match(line):
                raise NotebookError(
                    f"{where}, {_line_no(n)}: '{{solution-end}}' without a '{{solution-start}}' before it"
                )
            if _GATED_START.match(line):
                state.update(mode="gated", started=where)
                continue
            out.append(line)
        elif state["mode"] == "gated":
            if _GATED_START.match(line):
                raise NotebookError(
                    f"{where}, {_line_no(n)}: a second '{{solution-start}}' before "
                    f"'{{solution-end}}' (the first: {state['started']})"
                )
            match = _GATED_END.match(line)
            if match:
                state.update(mode="closing", fence=match.group(1))
        elif _closes(line, state["fence"]):  # closing the {solution-end} block
            state["mode"] = "normal"
    return out


def count_solutions(nb) -> int:
    """How many solution regions and solution blocks the notebook holds."""
    count = 0
    for cell in nb.cells:
        for line in cell.source.splitlines():
            if cell.cell_type == "code":
                count += line.strip() == BEGIN
            elif cell.cell_type == "markdown":
                count += bool(_FENCE_OPEN.match(line) or _GATED_START.match(line))
    return count


def has_solutions(nb) -> bool:
    return count_solutions(nb) > 0


def to_student(nb, name: str = "notebook"):
    """Return a student copy of a notebook node (the input is not modified).

    Raises NotebookError, naming the cell and line, for anything that looks like a solution
    marker but is not one this function removes.
    """
    nb = copy.deepcopy(nb)
    _check_metadata(nb, name)
    cells, gated = [], {"mode": "normal"}
    for i, cell in enumerate(nb.cells):
        where = f"{name}, cell {i}"
        if gated["mode"] != "normal" and cell.cell_type != "markdown":
            continue  # inside a {solution-start} ... {solution-end} region: the solution itself
        if cell.cell_type == "code":
            cell.source = strip_code_solution(cell.source, where)
            cell.outputs, cell.execution_count = [], None
        elif cell.cell_type == "markdown":
            original = cell.source
            was_gated = gated["mode"] != "normal"
            lines = _strip_gated(original.splitlines(), gated, where)
            if was_gated or len(lines) != len(original.splitlines()):
                kept = "\n".join(lines)
                if not kept.strip():
                    continue  # the cell held only (part of) a gated solution
                cell.source = kept
            cell.source = strip_markdown_solutions(cell.source, where)
            if i == 0:  # the title's link to the student version would point at itself
                cell.source = remove_exercise_link(cell.source)
            if cell.source != original:
                _drop_unused_attachments(cell)
        else:  # raw cells are copied as they are: they must not hold a solution
            for n, line in enumerate(cell.source.splitlines()):
                if _LOOSE_CODE_MARKER.search(line) or _LOOSE_DIRECTIVE.search(line):
                    raise NotebookError(
                        f"{where} (a raw cell), {_line_no(n)}: {line.strip()!r}: solution "
                        "markers in raw cells are not supported (the solution would leak)"
                    )
        cell.metadata.pop("execution", None)
        cells.append(cell)
    if gated["mode"] != "normal":
        raise NotebookError(
            f"{name}: '{{solution-start}}' in {gated['started']} has no matching '{{solution-end}}' block"
        )
    nb.cells = cells
    return nb


def read_notebook(path: Path):
    import nbformat

    try:
        json.loads(Path(path).read_text(encoding="utf-8"))
        return nbformat.read(path, as_version=4)
    except (UnicodeDecodeError, ValueError) as err:
        raise NotebookError(f"{path} is not a valid notebook: {err}") from None
    except OSError as err:
        raise NotebookError(f"cannot read {path}: {err.strerror or err}") from None
    except Exception as err:  # nbformat's own validation errors
        raise NotebookError(f"{path} is not a valid notebook: {type(err).__name__}: {err}") from None


def find_notebooks(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def write_atomically(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder: a reader never sees half a file, and a
    symlink at ``path`` is replaced, not followed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _refuse_to_overwrite(target: Path) -> None:
    """An existing file at ``target`` may only be an earlier student version."""
    if target.is_dir():
        raise NotebookError(f"{target} is a folder; cannot write a notebook there")
    if not target.exists():
        return
    try:
        nb = read_notebook(target)
    except NotebookError:
        raise NotebookError(f"{target} exists and is not a notebook; not overwriting it") from None
    if any(_LOOSE_CODE_MARKER.search(c.source) or _LOOSE_DIRECTIVE.search(c.source) for c in nb.cells):
        raise NotebookError(
            f"{target} exists and holds solutions (it is not a student version); not overwriting it: choose another OUT"
        )


def write_student_versions(src: Path, out: Path, warn: Callable[[str], None] | None = None) -> list[Path]:
    """Convert one notebook or every notebook under a folder; returns the files written.

    All or nothing: every notebook is read and converted, and every target checked, before the
    first file is written. OUT may not be SRC, lie inside SRC, or contain SRC. ``warn`` receives
    one line for each notebook that has no exercises.
    """
    import nbformat

    src, out = Path(src), Path(out)
    if not src.exists():
        raise NotebookError(f"{src} does not exist")
    src_r, out_r = src.resolve(), out.resolve()
    if src.is_file():
        if src.suffix != ".ipynb":
            raise NotebookError(f"{src} is not a .ipynb notebook")
        pairs = [(src, out / src.name)]
        if _inside(src_r, out_r):
            raise NotebookError(
                f"OUT ({out}) contains the source notebook {src}: the student version could "
                "overwrite a notebook with solutions; choose a folder outside it"
            )
    else:
        if _inside(out_r, src_r):
            what = "must differ from" if out_r == src_r else "lies inside"
            raise NotebookError(
                f"OUT ({out}) {what} the source folder {src}: the solutions would be overwritten "
                "and a second run would convert the student versions again; choose a folder "
                "outside it"
            )
        if _inside(src_r, out_r):
            raise NotebookError(
                f"OUT ({out}) contains the source folder {src}: the student versions could "
                "overwrite notebooks with solutions; choose a folder outside it"
            )
        found = find_notebooks(src)
        if not found:
            raise NotebookError(f"{src} holds no .ipynb notebooks")
        pairs = [(p, out / p.relative_to(src)) for p in found]
    sources = {p.resolve() for p, _ in pairs}
    converted = []
    for path, target in pairs:  # all or nothing: convert and check everything before writing
        if target.resolve() in sources:
            raise NotebookError(f"{target} is a source notebook; not overwriting it")
        _refuse_to_overwrite(target)
        nb = read_notebook(path)
        if warn is not None and not has_solutions(nb):
            warn(f"{path}: no exercises (no '{BEGIN}' region and no {{solution}} block)")
        text = nbformat.writes(to_student(nb, str(path)))
        converted.append((target, text if text.endswith("\n") else text + "\n"))  # as nbformat.write
    for target, text in converted:
        write_atomically(target, text)
    return [t for t, _ in converted]
