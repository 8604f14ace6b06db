"""Every notebook follows the course's anatomy: listed in the book, current setup cell, executed, no errors."""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from genai_course.course.setup_cell import (
    SETUP_HEADER,
    exercise_link,
    first_code_cell,
    measured_run_time,
    pinned_revision,
    repository_branch,
    repository_url,
    run_time_phrase,
    setup_cell_source,
    stated_run_time,
    student_path,
)
from genai_course.course.student import BEGIN, END, to_student

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
TOC_ENTRIES = re.findall(r"^\s*-?\s*(?:file|root):\s*(\S+)", (ROOT / "_toc.yml").read_text(), re.M)
IDS = [p.relative_to(ROOT).as_posix() for p in NOTEBOOKS]


def test_there_are_notebooks_and_toc_entries_exist():
    assert NOTEBOOKS
    for entry in TOC_ENTRIES:
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), f"_toc.yml lists missing {entry}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_listed_in_toc(path):
    assert path.relative_to(ROOT).with_suffix("").as_posix() in TOC_ENTRIES


CONFIG = ROOT / "_config.yml"


def _git(*args) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_setup_cell_is_current(path):
    nb = nbformat.read(path, as_version=4)
    revision = pinned_revision(nb)
    assert revision, "the setup cell pins no commit: run `make notebooks NB=...`"
    expected = setup_cell_source(repository_url(CONFIG), revision)
    assert first_code_cell(nb).source == expected, "run: genai-course sync-setup " + path.relative_to(ROOT).as_posix()
    setups = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.startswith(SETUP_HEADER)]
    assert len(setups) == 1, f"cells {setups} are all setup cells: keep only the first"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_colab_installs_a_commit_of_this_repository(path):
    """Colab installs the commit the notebook was executed with: it must be in main's history."""
    if _git("rev-parse", "--is-shallow-repository").stdout.strip() != "false":
        pytest.skip("not a full git clone: the pinned commit cannot be looked up")
    revision = pinned_revision(nbformat.read(path, as_version=4))
    assert _git("merge-base", "--is-ancestor", revision, "HEAD").returncode == 0, (
        f"pinned commit {revision} is not an ancestor of HEAD"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_title_links_to_the_student_version(path):
    nb = nbformat.read(path, as_version=4)
    rel = path.relative_to(ROOT)
    link = exercise_link(repository_url(CONFIG), repository_branch(CONFIG), rel)
    assert link in nb.cells[0].source.split("\n"), "run: genai-course sync-setup " + rel.as_posix()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_student_version_is_committed_and_in_sync(path):
    """The student version that the book links to is what `genai-course student` makes today."""
    rel = path.relative_to(ROOT)
    student = ROOT / student_path(rel)
    assert student.exists(), f"missing {student.relative_to(ROOT)}: run `make student`"
    expected = nbformat.writes(to_student(nbformat.read(path, as_version=4), str(rel)))
    assert student.read_text(encoding="utf-8").rstrip("\n") == expected.rstrip("\n"), "run: make student"


def test_no_student_version_without_a_notebook():
    students = sorted((ROOT / "student").rglob("*.ipynb"))
    expected = {student_path(p.relative_to(ROOT)) for p in NOTEBOOKS}
    stale = [p.relative_to(ROOT).as_posix() for p in students if p.relative_to(ROOT).as_posix() not in expected]
    assert not stale, f"student versions of notebooks that no longer exist: {stale}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_stated_run_time_is_the_measured_one(path):
    nb = nbformat.read(path, as_version=4)
    measured = measured_run_time(nb)
    assert measured is not None, "the last cell prints 'notebook run time: N s' (run_time())"
    assert run_time_phrase(measured) in nb.cells[0].source, (
        f"title says about {stated_run_time(nb):.0f} s, the stored run took {measured:.0f} s: run make notebooks"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_clock_outputs_are_not_compared(path):
    """A printed time differs on every run: cells that print one are tagged nbval-ignore-output."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and re.search(r"run_time\(\)|\bt_\w*\(\)|timer\(\)", cell.source):
            assert "nbval-ignore-output" in cell.metadata.get("tags", []), f"cell {i} prints a time"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_anatomy(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "starts with a title"
    assert "What you will learn" in first.source and "Run time" in first.source
    text = "\n".join(c.source for c in nb.cells)
    assert "What we measured" in text, "closing 'What we measured' section"
    assert "run_time()" in text, "prints its own run time"
    # one bibliography for the whole book: a second {bibliography} block makes "duplicate citation" warnings
    assert "{bibliography}" not in text, "list cited works with {cite:t}; the bibliography page holds the entries"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_executed_without_errors(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert all(c.execution_count is not None for c in code), "run: make notebooks"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"stored error: {errors[0]['ename'] if errors else ''}"
    counts = [c.execution_count for c in code]
    assert counts == sorted(counts), "cells were executed out of order"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_exercise_markup_is_balanced(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        assert cell.source.count(BEGIN) == cell.source.count(END), f"cell {i}"
    n_solutions = sum(c.source.count(BEGIN) for c in nb.cells)
    n_exercises = sum(c.source.count("{exercise}") for c in nb.cells)
    assert n_solutions <= n_exercises, "every solution region belongs to an exercise"


def test_every_chapter_with_notebooks_has_at_least_two_exercises():
    chapters = {p.parent for p in NOTEBOOKS}
    for chapter in chapters:
        n = sum(
            c.source.count("{exercise}")
            for p in chapter.glob("*.ipynb")
            for c in nbformat.read(p, as_version=4).cells
            if c.cell_type == "markdown"
        )
        assert n >= 2, f"{chapter.name} has {n} exercises"


def test_shared_course_check_is_clean():
    tool = ROOT.parent / "shared" / "tools" / "course_check.py"
    if not tool.exists():
        pytest.skip("../shared/tools/course_check.py is not beside this checkout")
    result = subprocess.run([sys.executable, str(tool), str(ROOT), "--strict"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_control_characters_in_cells(path):
    """LaTeX written in a non-raw Python string loses its backslash: "\\frac" becomes a form feed and
    "\\approx" a bell, and the rendered math shows an error. Only newlines belong in a cell."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        bad = sorted({hex(ord(ch)) for ch in cell.source if ord(ch) < 32 and ch != "\n"})
        assert not bad, f"cell {i} holds control characters {bad}: a LaTeX backslash lost in a non-raw string?"
