"""Student versions: solutions removed, outputs cleared, runnable, and the checks say 'not attempted'."""
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from genai_course.cli import main
from genai_course.course.check import check_results
from genai_course.course.execute import execute_notebook
from genai_course.course.student import BEGIN, END, NotebookError, strip_code_solution, to_student

ROOT = Path(__file__).resolve().parents[1]
ATTENTION = ROOT / "notebooks" / "01_transformers" / "01_attention.ipynb"


def test_code_solution_becomes_not_implemented_keeping_indentation():
    src = f"def f(x):\n    {BEGIN}\n    return x + 1\n    {END}\n\nprint(f)"
    out = strip_code_solution(src, "cell")
    assert "return x + 1" not in out and "    raise NotImplementedError()" in out and "print(f)" in out


@pytest.mark.parametrize("src, message", [
    (f"{BEGIN}\nx = 1", "without a matching"),
    (f"x = 1\n{END}", "without a '### BEGIN"),
    (f"{BEGIN}\n{BEGIN}\n{END}", "appears twice"),
])
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
    result = subprocess.run([sys.executable, "-m", "genai_course", "student", str(tmp_path / "x"), str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_student_version_runs_and_its_check_says_not_attempted(tmp_path):
    assert main(["student", str(ATTENTION), str(tmp_path)]) == 0
    nb, _ = execute_notebook(tmp_path / ATTENTION.name, timeout=300, allow_errors=True)
    results = check_results(nb)
    assert results, "the student version has no exercise checks"
    cell, passed, message = results[0]
    assert not passed and "Not attempted" in message
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == [] or errors[0]["ename"] == "NotImplementedError"


def test_check_command_reports_reference_notebook_passes(tmp_path, capsys):
    nb = nbformat.read(ATTENTION, as_version=4)  # stored outputs of the reference solution
    results = check_results(nb)
    assert results and all(passed for _, passed, _ in results)
    assert json.loads(ATTENTION.read_text())["nbformat"] == 4


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").rglob("*.ipynb")),
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_student_versions_only_call_exercise_functions_in_their_checks(path):
    """In a student version an exercise function raises NotImplementedError; a later cell that calls
    it (other than the check) would stop the notebook there, so the rest must use the library's version."""
    import re

    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or BEGIN not in cell.source:
            continue
        for name in re.findall(r"^def (\w+)", cell.source, re.M):
            later = [j for j, c in enumerate(nb.cells) if j > i and c.cell_type == "code"
                     and re.search(rf"\b{name}\(", c.source) and "check_" not in c.source]
            assert not later, f"cells {later} call the exercise function {name}()"
