"""Student versions: solutions removed, outputs cleared, runnable, and the checks say 'not attempted'."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from genai_course.cli import main
from genai_course.course.check import check_results, check_submission
from genai_course.course.student import BEGIN, END, NotebookError, strip_code_solution, to_student

ROOT = Path(__file__).resolve().parents[1]
ATTENTION = ROOT / "notebooks" / "01_transformers" / "01_attention.ipynb"


def test_code_solution_becomes_not_implemented_keeping_indentation():
    src = f"def f(x):\n    {BEGIN}\n    return x + 1\n    {END}\n\nprint(f)"
    out = strip_code_solution(src, "cell")
    assert "return x + 1" not in out and "    raise NotImplementedError()" in out and "print(f)" in out


@pytest.mark.parametrize(
    "src, message",
    [
        (f"{BEGIN}\nx = 1", "without a matching"),
        (f"x = 1\n{END}", "without a '### BEGIN"),
        (f"{BEGIN}\n{BEGIN}\n{END}", "appears twice"),
    ],
)
def test_malformed_markers_are_reported(src, message):
    with pytest.raises(NotebookError, match=message):
        strip_code_solution(src, "nb, cell 3")


def test_solution_dropdowns_removed_and_outputs_cleared():
    nb = to_student(nbformat.read(ATTENTION, as_version=4))
    text = "\n".join(c.source for c in nb.cells)
    assert "{solution}" not in text and "{exercise}" in text
    assert "masked_fill(~mask" not in "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert all(c.outputs == [] and c.execution_count is None for c in nb.cells if c.cell_type == "code")


def test_cli_writes_student_versions(tmp_path):
    assert main(["student", str(ATTENTION.parent), str(tmp_path / "out")]) == 0
    written = sorted((tmp_path / "out").rglob("*.ipynb"))
    assert [p.name for p in written] == sorted(p.name for p in ATTENTION.parent.glob("*.ipynb"))


def test_cli_rejects_missing_and_malformed_input(tmp_path, capsys):
    assert main(["student", str(tmp_path / "nope.ipynb"), str(tmp_path / "out")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    assert main(["student", str(bad), str(tmp_path / "out")]) == 2
    assert "not a valid notebook" in capsys.readouterr().err
    unbalanced = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"{BEGIN}\nx = 1")])
    nbformat.write(unbalanced, tmp_path / "unbalanced.ipynb")
    assert main(["student", str(tmp_path / "unbalanced.ipynb"), str(tmp_path / "out")]) == 2
    assert "without a matching" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert main(["student", str(ATTENTION.parent), str(ATTENTION.parent)]) == 2
    assert "must differ" in capsys.readouterr().err


def test_cli_exits_nonzero_with_one_line_in_a_subprocess(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "genai_course", "student", str(tmp_path / "x"), str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_student_version_runs_and_its_check_says_not_attempted(tmp_path):
    assert main(["student", str(ATTENTION), str(tmp_path)]) == 0
    report = check_submission(tmp_path / ATTENTION.name, ATTENTION, timeout=300)
    assert len(report.checks) == 1 and report.complete
    assert not report.checks[0].passed and "Not attempted" in report.checks[0].message
    assert all(note[1] == "ERROR" and "NotImplementedError" in note[2] for note in report.notes)
    solved = check_submission(ATTENTION, ATTENTION, timeout=300)  # the worked notebook passes its own checks
    assert solved.ok and solved.passed == 1


def test_check_command_reports_reference_notebook_passes(tmp_path, capsys):
    nb = nbformat.read(ATTENTION, as_version=4)  # stored outputs of the reference solution
    results = check_results(nb)
    assert results and all(passed for _, passed, _ in results)
    assert json.loads(ATTENTION.read_text())["nbformat"] == 4


@pytest.mark.parametrize(
    "path", sorted((ROOT / "notebooks").rglob("*.ipynb")), ids=lambda p: p.relative_to(ROOT).as_posix()
)
def test_student_versions_only_call_exercise_functions_in_their_checks(path):
    """In a student version an exercise function raises NotImplementedError; a later cell that calls
    it (other than the check) would stop the notebook there, so the rest must use the library's version."""
    import re

    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or BEGIN not in cell.source:
            continue
        for name in re.findall(r"^def (\w+)", cell.source, re.M):
            later = [
                j
                for j, c in enumerate(nb.cells)
                if j > i and c.cell_type == "code" and re.search(rf"\b{name}\(", c.source) and "check_" not in c.source
            ]
            assert not later, f"cells {later} call the exercise function {name}()"


# --- bad and hostile input ---------------------------------------------------------------------

SECRET = "return 'THE-SECRET'"


def _solved(path: Path, secret: str = SECRET) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=[new_code_cell(f"def f():\n    {BEGIN}\n    {secret}\n    {END}")]), path)
    return path


def _texts(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob("*.ipynb"))}


@pytest.mark.parametrize(
    "src, out",
    [
        ("course", "course/ch1"),  # OUT inside SRC: replaced course/ch1/a.ipynb, nested on every run
        ("course", "course"),
        ("course/ch1", "course"),  # SRC inside OUT: course/a.ipynb would be replaced by ch1's student copy
        ("course/a.ipynb", "course"),  # the source itself
        ("course/ch1/a.ipynb", "course"),
    ],
)
def test_output_overlapping_the_source_is_refused_and_nothing_changes(tmp_path, capsys, monkeypatch, src, out):
    monkeypatch.chdir(tmp_path)
    _solved(tmp_path / "course" / "a.ipynb", "return 'A'")
    _solved(tmp_path / "course" / "ch1" / "a.ipynb", "return 'CH1'")
    before = _texts(tmp_path)
    assert main(["student", src, out]) == 2
    err = capsys.readouterr().err
    assert "choose a folder outside it" in err and err.count("\n") == 1
    assert _texts(tmp_path) == before


def test_the_course_layout_sibling_folders_works_and_repeated_runs_do_not_nest(tmp_path, capsys):
    _solved(tmp_path / "notebooks" / "ch1" / "a.ipynb")
    for _ in range(2):
        assert main(["student", str(tmp_path / "notebooks"), str(tmp_path / "student")]) == 0
    assert sorted(_texts(tmp_path / "student")) == ["ch1/a.ipynb"]
    assert "THE-SECRET" not in (tmp_path / "student" / "ch1" / "a.ipynb").read_text()
    assert sorted(_texts(tmp_path / "notebooks")) == ["ch1/a.ipynb"]


def test_an_existing_notebook_with_solutions_or_a_link_to_the_source_is_not_overwritten(tmp_path, capsys):
    src = _solved(tmp_path / "src" / "a.ipynb")
    other = _solved(tmp_path / "out" / "a.ipynb", "return 'OTHER'")  # someone's solutions, not a student version
    assert main(["student", str(src), str(other.parent)]) == 2
    assert "holds solutions" in capsys.readouterr().err and "OTHER" in other.read_text()
    link = tmp_path / "out2" / "a.ipynb"
    link.parent.mkdir()
    link.symlink_to(src)
    assert main(["student", str(src), str(link.parent)]) == 2
    assert "is a source notebook" in capsys.readouterr().err and "THE-SECRET" in src.read_text()


@pytest.mark.parametrize(
    "cell, message",
    [
        (
            new_code_cell("def f():\n    #### BEGIN SOLUTION\n    return 1\n    #### END SOLUTION"),
            "looks like a solution marker",
        ),
        (
            new_code_cell("def f():\n    ###BEGIN SOLUTION\n    return 1\n    ###END SOLUTION"),
            "looks like a solution marker",
        ),
        (
            new_code_cell("def f():\n    ### begin solution\n    return 1\n    ### end solution"),
            "looks like a solution marker",
        ),
        (new_code_cell("def f():\n    # BEGIN_SOLUTION\n    return 1"), "looks like a solution marker"),
        (new_code_cell(f"x = 1  {BEGIN}\ny = 2\n{END}"), "looks like a solution marker"),
        (new_markdown_cell(f"{BEGIN}\nThe answer is 42.\n{END}"), "Markdown cell are not supported"),
        (new_markdown_cell("```{Solution} ex\nThe answer is 42.\n```"), "looks like a solution directive"),
        (new_markdown_cell("``` {solution} ex\nThe answer is 42.\n```"), "looks like a solution directive"),
        (new_raw_cell(f"{BEGIN}\nThe answer is 42.\n{END}"), "raw cell"),
        (new_raw_cell("```{solution}\nThe answer is 42.\n```"), "raw cell"),
        (new_code_cell("x = 1", metadata={"tags": ["solution"]}), "metadata"),
        (new_code_cell("answer = 42", metadata={"nbgrader": {"solution": True, "grade_id": "a"}}), "nbgrader.solution"),
        (new_markdown_cell("```{solution-start} ex\n```\nThe answer is 42."), "no matching"),
        (new_markdown_cell("```{solution-end}\n```"), "without a '{solution-start}'"),
    ],
)
def test_near_miss_markers_fail_loudly_instead_of_leaking(cell, message):
    nb = new_notebook(cells=[new_markdown_cell("# Title"), cell])
    with pytest.raises(NotebookError, match=message):
        to_student(nb, "nb.ipynb")


def test_solutions_named_in_notebook_metadata_fail_loudly():
    nb = new_notebook(cells=[new_code_cell("x = 1")], metadata={"solutions": {"f": "return 42"}})
    with pytest.raises(NotebookError, match="notebook metadata.solutions"):
        to_student(nb, "nb.ipynb")


def test_nbgrader_solution_cells_with_markers_are_converted():
    cell = new_code_cell(
        f"def f():\n    {BEGIN}\n    {SECRET}\n    {END}",
        metadata={"nbgrader": {"solution": True, "grade": False, "grade_id": "f_solution"}},
    )
    out = to_student(new_notebook(cells=[cell]), "nb.ipynb")
    assert "THE-SECRET" not in out.cells[0].source and "raise NotImplementedError()" in out.cells[0].source


def test_gated_solutions_are_removed_with_the_cells_between_them():
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Title"),
            new_markdown_cell("Before the solution.\n\n```{solution-start} ex-f\n:class: dropdown\n```\nWe write:"),
            new_code_cell(SECRET.replace("return", "answer =")),
            new_markdown_cell("It works because ... THE-SECRET"),
            new_markdown_cell("```{solution-end}\n```\nAfter the solution."),
            new_code_cell("print('kept')"),
        ]
    )
    out = to_student(nb, "nb.ipynb")
    text = "\n".join(c.source for c in out.cells)
    assert "THE-SECRET" not in text and "solution-start" not in text and "solution-end" not in text
    assert [c.source for c in out.cells] == ["# Title", "Before the solution.", "After the solution.", "print('kept')"]


def test_a_notebook_without_exercises_gets_a_warning_on_stderr(tmp_path, capsys):
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), tmp_path / "plain.ipynb")
    assert main(["student", str(tmp_path / "plain.ipynb"), str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert "warning" in captured.err and "no exercises" in captured.err and "plain.ipynb" in captured.err
    assert "wrote" in captured.out
