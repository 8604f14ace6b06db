"""Student versions of notebooks: solutions removed, outputs cleared.

Code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's markup) becomes
``raise NotImplementedError``; MyST ``solution`` blocks (``` ```{solution} ``` or
``:::{solution}``) are dropped from Markdown cells; every output is cleared.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .setup_cell import EXERCISE_LINK_PREFIX

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
_FENCE_OPEN = re.compile(r"^(\s*)(`{3,}|:{3,})\{solution\}")


class NotebookError(ValueError):
    """A notebook that cannot be converted; the message says which and why."""


def strip_code_solution(source: str, where: str) -> str:
    out, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if inside:
                raise NotebookError(f"{where}: '{BEGIN}' appears twice without '{END}' between them")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError()"]
        elif stripped.startswith(END):
            if not inside:
                raise NotebookError(f"{where}: '{END}' without a '{BEGIN}' before it")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise NotebookError(f"{where}: '{BEGIN}' without a matching '{END}'")
    return "\n".join(out)


def strip_markdown_solutions(source: str) -> str:
    out, fence = [], None
    for line in source.splitlines():
        if fence is None:
            match = _FENCE_OPEN.match(line)
            if match:
                fence = match.group(2)
                continue
            out.append(line)
        elif line.strip() == fence:
            fence = None
    return "\n".join(out).rstrip("\n") if source.strip() else source


def has_solutions(nb) -> bool:
    return any(BEGIN in c.source or "{solution}" in c.source for c in nb.cells)


def to_student(nb, name: str = "notebook"):
    """Return a student copy of a notebook node (the input is not modified)."""
    import copy

    nb = copy.deepcopy(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.source = strip_code_solution(cell.source, f"{name}, cell {i}")
            cell.outputs, cell.execution_count = [], None
        elif cell.cell_type == "markdown":
            cell.source = strip_markdown_solutions(cell.source)
            if i == 0:  # the title's link to the student version would point at itself
                cell.source = "\n".join(line for line in cell.source.split("\n")
                                        if not line.startswith(EXERCISE_LINK_PREFIX))
        cell.metadata.pop("execution", None)
    return nb


def read_notebook(path: Path):
    import nbformat

    try:
        json.loads(path.read_text(encoding="utf-8"))
        return nbformat.read(path, as_version=4)
    except (UnicodeDecodeError, ValueError) as err:
        raise NotebookError(f"{path} is not a valid notebook: {err}") from None
    except Exception as err:  # nbformat's own validation errors
        raise NotebookError(f"{path} is not a valid notebook: {type(err).__name__}: {err}") from None


def write_student_versions(src: Path, out: Path) -> list[Path]:
    """Convert one notebook or every notebook under a folder; returns the files written."""
    import nbformat

    src, out = Path(src), Path(out)
    if not src.exists():
        raise NotebookError(f"{src} does not exist")
    if src.is_file():
        if src.suffix != ".ipynb":
            raise NotebookError(f"{src} is not a .ipynb notebook")
        pairs = [(src, out / src.name)]
    else:
        found = sorted(p for p in src.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        if not found:
            raise NotebookError(f"{src} holds no .ipynb notebooks")
        pairs = [(p, out / p.relative_to(src)) for p in found]
    if out.resolve() == (src if src.is_dir() else src.parent).resolve():
        raise NotebookError(f"OUT ({out}) must differ from the source folder, or the solutions would be overwritten")
    converted = [(target, to_student(read_notebook(path), str(path))) for path, target in pairs]  # all or nothing
    for target, nb in converted:
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
    return [t for t, _ in converted]
