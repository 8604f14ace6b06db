"""`genai-course execute` and `sync-setup` on bad input: every notebook is validated before any is
changed, errors name the file in one line without colour codes, and Ctrl-C stores nothing."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from genai_course.cli import main

TITLE = "# A notebook\n\n**Run time**: about 1 seconds on a 2-core CPU"


@pytest.fixture
def repo(tmp_path, monkeypatch):
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://github.com/example/course\n  branch: main\n")
    (tmp_path / "notebooks").mkdir()
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(git + ["init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(git + ["commit", "-q", "--allow-empty", "-m", "init"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _write(path: Path, *cells) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def _snapshot(folder: Path) -> dict:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*.ipynb"))}


@pytest.mark.parametrize("command", ["execute", "sync-setup"])
def test_a_malformed_notebook_in_a_folder_stops_everything_and_is_named(repo, capsys, command):
    _write(repo / "notebooks" / "a.ipynb", new_markdown_cell(TITLE), new_code_cell("x = 1"))
    (repo / "notebooks" / "b.ipynb").write_text('{"cells": [')  # truncated JSON
    before = _snapshot(repo)
    assert main([command, "notebooks"]) == 2
    err = capsys.readouterr().err
    assert "notebooks/b.ipynb is not a valid notebook" in err and "nothing was" in err and err.count("\n") == 1
    assert _snapshot(repo) == before


@pytest.mark.parametrize("command", ["execute", "sync-setup"])
def test_a_notebook_without_a_run_time_line_is_named_before_anything_changes(repo, capsys, command):
    _write(repo / "notebooks" / "a.ipynb", new_markdown_cell(TITLE), new_code_cell("x = 1"))
    _write(repo / "notebooks" / "z.ipynb", new_markdown_cell("# No run time"), new_code_cell("x = 1"))
    before = _snapshot(repo)
    assert main([command, "notebooks"]) == 2
    err = capsys.readouterr().err
    assert "notebooks/z.ipynb: the title cell has no '**Run time**" in err
    assert _snapshot(repo) == before


def test_sync_setup_refuses_a_notebook_outside_the_repository(repo, tmp_path_factory, capsys):
    outside = _write(tmp_path_factory.mktemp("elsewhere") / "a.ipynb", new_markdown_cell(TITLE), new_code_cell("x = 1"))
    assert main(["sync-setup", str(outside)]) == 2
    assert "is not inside the repository" in capsys.readouterr().err


@pytest.mark.parametrize("timeout", ["0", "-1"])
def test_execute_refuses_non_positive_timeouts(repo, capsys, timeout):
    _write(repo / "notebooks" / "a.ipynb", new_markdown_cell(TITLE), new_code_cell("x = 1"))
    assert main(["execute", "notebooks", "--timeout", timeout]) == 2
    assert "--timeout must be a positive number" in capsys.readouterr().err


def test_execute_reports_a_failing_cell_in_one_line_without_colour_codes(repo, capsys):
    path = _write(
        repo / "notebooks" / "a.ipynb", new_markdown_cell(TITLE), new_code_cell("raise ValueError('the data is wrong')")
    )
    assert main(["execute", str(path.relative_to(repo))]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "\x1b[" not in err and "a cell failed, outputs not stored: ValueError: the data is wrong" in err
    assert all(not c.get("outputs") for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")


def test_ctrl_c_during_execute_exits_130_in_one_line_and_stores_no_outputs(repo):
    marker = repo / "started"
    path = _write(
        repo / "notebooks" / "a.ipynb",
        new_markdown_cell(TITLE),
        new_code_cell(f"import pathlib, time\npathlib.Path({str(marker)!r}).touch()\nprint('half')\ntime.sleep(120)"),
        new_code_cell("print('notebook run time: 1 s')"),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "genai_course", "execute", "notebooks/a.ipynb"],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert marker.exists(), proc.communicate()[1]
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends: the whole foreground group
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "AssertionError" not in err
    assert err.strip().splitlines()[-1].startswith("genai-course execute: interrupted while running notebooks/a.ipynb")
    stored = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in stored.cells if c.cell_type == "code"), (
        "a half-executed notebook was stored"
    )
