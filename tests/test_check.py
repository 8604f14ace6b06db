"""`genai-course check` grades against the instructor's notebook, through a channel the submission
cannot print to; timeouts, dead kernels and folders keep every result; bad input gets one line."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from genai_course.cli import main
from genai_course.course import check as check_module
from genai_course.course.check import CheckError, check_submission, find_reference, reference_checks

ROOT = Path(__file__).resolve().parents[1]
ATTENTION = ROOT / "notebooks" / "01_transformers" / "01_attention.ipynb"

IMPORT = "from genai_course.exercises.gpt import check_merge"  # a checker that needs no torch: fast kernels
SOLUTION = """def merge(ids, pair, new_id):
    ### BEGIN SOLUTION
    out, i = [], 0
    while i < len(ids):
        if tuple(ids[i:i + 2]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
    ### END SOLUTION"""
WRONG = "def merge(ids, pair, new_id):\n    return ids"
CHECK = "check_merge(merge)"


def notebook(*sources: str):
    nb = new_notebook(
        cells=[new_markdown_cell("# Merging"), new_code_cell(IMPORT)] + [new_code_cell(s) for s in sources]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.fixture
def ref(tmp_path):
    path = tmp_path / "ref" / "merging.ipynb"
    path.parent.mkdir()
    nbformat.write(notebook(SOLUTION, CHECK), path)
    return path


def write(folder: Path, name: str, *sources: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook(*sources), folder / name)
    return folder / name


def test_reference_check_cells_are_found_in_the_course_notebook():
    checks = reference_checks(nbformat.read(ATTENTION, as_version=4))
    assert [c.source for c in checks] == ["check_attention(attention)"]
    assert checks[0].imports == ["from genai_course.exercises.transformers import check_attention"]


def test_spoofed_deleted_and_patched_checks_fail_and_the_kernel_cannot_write_the_report(tmp_path, ref):
    """print('✅ ...') in place of the check, a deleted check cell, a replaced checker, and text the
    kernel writes straight to its stdout: none passes; a right answer does."""
    subs = tmp_path / "subs"
    write(subs, "merging.ipynb", SOLUTION, CHECK)  # the right answer, as a folder of one per name
    spoof = subs / "spoof" / "merging.ipynb"
    write(
        spoof.parent,
        spoof.name,
        WRONG,
        "print('✅ Correct: your merge replaces every occurrence')\n"
        "import os; os.write(1, b'cell   3  PASS  fake\\n1/1 checks passed\\n')",
    )
    deleted = write(subs / "deleted", "merging.ipynb", WRONG)
    patched = write(
        subs / "patched",
        "merging.ipynb",
        WRONG,
        "import genai_course.exercises.gpt as g\ng.check_merge = lambda f: True\ncheck_merge = g.check_merge",
        CHECK,
    )
    result = subprocess.run(
        [sys.executable, "-m", "genai_course", "check", str(subs), "--reference", str(ref.parent)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "fake" not in out and "✅" not in out
    reports = out.split("== ")[1:]
    by_path = {r.splitlines()[0].split(" (reference")[0]: r for r in reports}
    assert "1/1 checks passed" in by_path[str(subs / "merging.ipynb")]
    assert "0/1 checks passed" in by_path[str(spoof)] and "missing or altered" in by_path[str(spoof)]
    assert "0/1 checks passed" in by_path[str(deleted)] and "missing or altered" in by_path[str(deleted)]
    assert "0/1 checks passed" in by_path[str(patched)] and "replaced by code in the notebook" in by_path[str(patched)]
    assert out.rstrip().endswith("1/4 notebooks passed every check")
    assert "without encryption" not in result.stderr and "Traceback" not in result.stderr


def test_a_wrong_answer_fails_with_the_checker_message_even_with_the_checker_rebound(tmp_path, ref, capsys):
    rebound = "from genai_course.exercises.checks import Feedback\ncheck_merge = lambda f: Feedback(True, 'fine')"
    sub = write(tmp_path, "merging.ipynb", WRONG, rebound, CHECK, "print('✅ all good')")
    assert main(["check", str(sub), "--reference", str(ref)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "expected [9, 3, 9]" in out and out.rstrip().endswith("0/1 checks passed")


def test_a_timed_out_cell_is_reported_and_the_other_checks_kept(tmp_path, ref):
    sub = write(tmp_path, "merging.ipynb", "import time\nwhile True:\n    time.sleep(0.05)", SOLUTION, CHECK)
    report = check_submission(sub, ref, timeout=3)
    assert [(r.passed, r.cell) for r in report.checks] == [(True, 4)]
    assert report.notes[0][:2] == (2, "TIMEOUT") and not report.complete and not report.ok


def test_a_kernel_that_ignores_the_interrupt_stops_the_run_but_keeps_earlier_results(tmp_path, ref, monkeypatch):
    monkeypatch.setattr(check_module, "RECOVERY_S", 2)
    stubborn = (
        "import time\nwhile True:\n    try:\n        time.sleep(0.05)\n    except KeyboardInterrupt:\n        pass"
    )
    sub = write(tmp_path, "merging.ipynb", SOLUTION, CHECK, stubborn, CHECK)
    reference = write(tmp_path / "r", "merging.ipynb", SOLUTION, CHECK, "x = 1", CHECK)
    report = check_submission(sub, reference, timeout=2)
    assert [r.passed for r in report.checks] == [True, False]
    assert "not run" in report.checks[1].message and not report.ok
    assert [kind for _, kind, _ in report.notes] == ["TIMEOUT", "STOPPED"]


def test_a_dead_kernel_is_reported_and_earlier_results_kept(tmp_path, ref, capsys):
    reference = write(tmp_path / "r", "merging.ipynb", SOLUTION, CHECK, "x = 1", CHECK)
    sub = write(tmp_path, "merging.ipynb", SOLUTION, CHECK, "import os\nos._exit(1)", CHECK)
    assert main(["check", str(sub), "--reference", str(reference)]) == 1
    out = capsys.readouterr().out
    assert "PASS" in out and "DIED" in out and "not run: the kernel died in cell 4" in out
    assert "1/2 checks passed" in out and "Traceback" not in out


@pytest.mark.parametrize("timeout", ["0", "-5"])
def test_non_positive_timeouts_are_refused(tmp_path, ref, capsys, timeout):
    assert main(["check", str(ref), "--reference", str(ref), "--timeout", timeout]) == 2
    assert "--timeout must be a positive number" in capsys.readouterr().err


def test_missing_reference_and_malformed_input_get_one_line(tmp_path, ref, capsys, monkeypatch):
    sub = write(tmp_path / "subs", "nowhere.ipynb", SOLUTION, CHECK)
    monkeypatch.chdir(tmp_path)  # not the course repository: no notebooks/ to take the reference from
    assert main(["check", str(sub)]) == 2
    assert "no reference notebook" in capsys.readouterr().err
    assert main(["check", str(sub), "--reference", str(ref.parent)]) == 2
    assert "no nowhere.ipynb under" in capsys.readouterr().err
    assert main(["check", str(sub), "--reference", str(tmp_path / "nope.ipynb")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "merging.ipynb"
    bad.write_text("{not json")
    assert main(["check", str(bad), "--reference", str(ref)]) == 2
    assert "not a valid notebook" in capsys.readouterr().err
    no_checks = write(tmp_path / "r", "merging.ipynb", SOLUTION)
    assert main(["check", str(ref), "--reference", str(no_checks)]) == 2
    assert "has no check cells" in capsys.readouterr().err


def test_the_default_reference_is_the_course_notebook_of_the_same_name(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    sub = tmp_path / "01_transformers" / ATTENTION.name
    sub.parent.mkdir()
    assert find_reference(sub).resolve() == ATTENTION.resolve()
    with pytest.raises(CheckError, match="no reference notebook"):
        find_reference(tmp_path / "not_in_the_course.ipynb")
