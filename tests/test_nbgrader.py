"""nbgrader compatibility, proven by nbgrader: its own ClearSolutions, with its default markers and
Python stub, leaves exactly the code cells that `genai-course student` writes."""

import copy
import re
from pathlib import Path

import nbformat
import pytest

from genai_course.course.student import STUB, to_student

preprocessors = pytest.importorskip("nbgrader.preprocessors", reason="nbgrader is not installed (pip install nbgrader)")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").rglob("*.ipynb"))
OUR_STUB = "\n".join(STUB)


def stubs_marked(source: str, stub: str) -> tuple[str, int]:
    """Each (indented) occurrence of ``stub`` replaced by ``<STUB>``, and how many there were."""
    lines = stub.split("\n")
    pattern = r"(?m)^([ \t]*)" + r"\n\1".join(re.escape(line) for line in lines) + r"$"
    return re.subn(pattern, r"\1<STUB>", source)


def nbgrader_student_version(nb):
    clear = preprocessors.ClearSolutions(enforce_metadata=False)  # our cells carry no nbgrader metadata
    assert (clear.begin_solution_delimeter, clear.end_solution_delimeter) == ("BEGIN SOLUTION", "END SOLUTION")
    out, _ = clear.preprocess(copy.deepcopy(nb), {})
    return out, clear.code_stub["python"]


def test_nbgrader_clears_the_same_code_as_genai_course_student():
    replaced = 0
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        theirs, stub = nbgrader_student_version(nb)
        ours = to_student(nb, str(path))
        theirs_code = [stubs_marked(c.source, stub)[0] for c in theirs.cells if c.cell_type == "code"]
        ours_code = [stubs_marked(c.source, OUR_STUB) for c in ours.cells if c.cell_type == "code"]
        assert [s for s, _ in ours_code] == theirs_code, (
            f"{path.relative_to(ROOT)}: nbgrader and genai-course student differ"
        )
        replaced += sum(n for _, n in ours_code)
    assert replaced >= 10, "expected the course's exercises to be cleared"  # the comparison is not vacuous
