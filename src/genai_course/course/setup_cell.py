"""What every notebook carries from one template: the setup cell, the run-time line, the exercise link.

- **The setup cell** (the first code cell). In Colab it installs this package, pinned to the
  commit the notebook was executed with, so a notebook opened from the book runs the code
  that produced its stored outputs; elsewhere the install is skipped. Everywhere it fixes
  threads and seeds and picks the device. Colab already has torch, ipywidgets, matplotlib,
  tqdm and friends, and pip installs only what is missing: nothing Colab ships is upgraded.
- **The run time** in the title cell, ``**Run time**: about N seconds on a 2-core CPU``,
  rewritten from the measured time whenever ``genai-course execute`` stores outputs.
- **The exercise link** in the title cell: the student version of the notebook (blank
  exercises, intact checks) in Colab.

``genai-course sync-setup`` writes the current versions; ``tests/test_conventions.py`` checks them.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

TEMPLATE = """\
# Setup: in Colab, install the course package; everywhere, fix seeds and threads and pick the device.
import sys

if "google.colab" in sys.modules:  # the package at the commit these outputs were made with
    %pip install --quiet "genai-course[reference] @ git+{repo_url}@{revision}"

from genai_course.utils import setup

device = setup(seed=0)"""
# the first line of every setup cell, current or outdated, with or without the Colab install
SETUP_HEADER = TEMPLATE.split("\n", 1)[0]

REVISION = re.compile(r"git\+\S+?@([0-9a-f]{40})\"")
RUN_TIME_LINE = re.compile(r"(\*\*Run time\*\*: )(.*?)( on a 2-core CPU)", re.S)
MEASURED_RUN_TIME = re.compile(r"notebook run time: (\d+) s")
STUDENT_DIR = "student"
EXERCISE_LINK_PREFIX = "**Exercises**: "


def setup_cell_source(repo_url: str, revision: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{40}", revision):
        raise ValueError(f"revision must be a full 40-character commit hash, got {revision!r}")
    return TEMPLATE.format(repo_url=repo_url.rstrip("/"), revision=revision)


def _config_value(config_path: str | Path, section: str, key: str) -> str:
    """``section.key`` from a Jupyter Book ``_config.yml`` (read without needing PyYAML)."""
    text = Path(config_path).read_text(encoding="utf-8")
    match = re.search(rf"^{section}:\s*\n(?:[ \t]+.*\n)*?[ \t]+{key}:\s*['\"]?([^'\"\s#]+)", text, re.M)
    if not match:
        raise ValueError(f"{config_path}: no {section}.{key} found")
    return match.group(1)


def repository_url(config_path: str | Path) -> str:
    return _config_value(config_path, "repository", "url")


def repository_branch(config_path: str | Path) -> str:
    return _config_value(config_path, "repository", "branch")


def current_revision(repo_root: str | Path = ".") -> str:
    """The commit checked out in ``repo_root`` (what Colab will install)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_root, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as err:
        raise ValueError(f"cannot read the current git commit in {repo_root}: {err}") from None
    return out.stdout.strip()


def pinned_revision(nb) -> str | None:
    """The commit the notebook's setup cell installs in Colab, or None."""
    cell = first_code_cell(nb)
    match = REVISION.search(cell.source) if cell is not None else None
    return match.group(1) if match else None


def first_code_cell(nb):
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.strip():
            return cell
    return None


def sync_setup_cell(nb, repo_url: str, revision: str | None = None) -> bool:
    """Make the first code cell the current setup cell; True when it changed.

    ``revision`` None keeps the commit the cell already pins (``execute`` sets a new one).
    """
    import nbformat

    revision = revision or pinned_revision(nb)
    if revision is None:
        raise ValueError("the notebook pins no commit yet: run `genai-course execute` on it")
    wanted = setup_cell_source(repo_url, revision)
    cell = first_code_cell(nb)
    # an older setup cell, or one written by hand without the Colab line, is replaced, never kept
    # below a new one (a reader would run the setup twice)
    if cell is not None and ("google.colab" in cell.source or cell.source.startswith(SETUP_HEADER)):
        if cell.source == wanted:
            return False
        cell.source = wanted
        return True
    index = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
    nb.cells.insert(index, nbformat.v4.new_code_cell(wanted))
    return True


def student_path(notebook_rel: str | Path) -> str:
    """``notebooks/01_x/02_y.ipynb`` → ``student/01_x/02_y.ipynb`` (paths relative to the repository)."""
    parts = Path(notebook_rel).parts
    if not parts or parts[0] != "notebooks":
        raise ValueError(f"expected a path under notebooks/, got {notebook_rel}")
    return Path(STUDENT_DIR, *parts[1:]).as_posix()


def exercise_link(repo_url: str, branch: str, notebook_rel: str | Path) -> str:
    """The title-cell line that opens the student version of a notebook in Colab."""
    github = repo_url.rstrip("/").removeprefix("https://github.com/")
    url = f"https://colab.research.google.com/github/{github}/blob/{branch}/{student_path(notebook_rel)}"
    return (
        f"{EXERCISE_LINK_PREFIX}[open the exercise version in Colab]({url}): the exercises are "
        "blank there and the checks tell you how you did."
    )


def _without_exercise_link(text: str) -> str:
    return re.sub(r"\n\n" + re.escape(EXERCISE_LINK_PREFIX) + r"[^\n]*", "", text)


def sync_exercise_link(nb, link: str) -> bool:
    """Put ``link`` in its own paragraph after the run-time paragraph of the title; True when it changed."""
    title = nb.cells[0]
    text = _without_exercise_link(title.source)
    match = RUN_TIME_LINE.search(text)
    if match is None:
        raise ValueError("the title cell has no '**Run time**: ... on a 2-core CPU' line")
    end = text.find("\n\n", match.end())
    end = len(text) if end == -1 else end
    new = text[:end] + "\n\n" + link + text[end:]
    if new == title.source:
        return False
    title.source = new
    return True


def remove_exercise_link(source: str) -> str:
    """The title without the link (a student version would link to itself)."""
    return _without_exercise_link(source)


def run_time_phrase(seconds: float) -> str:
    """How the title cell states a measured run time: 'about 40 seconds', 'about 1.5 minutes'."""
    if seconds < 55:
        return f"about {max(10, 10 * round(seconds / 10))} seconds"
    minutes = max(1.0, round(seconds / 30) / 2)
    return f"about {minutes:g} minute{'s' if minutes != 1 else ''}"


def stated_run_time(nb) -> float:
    """The run time in seconds that the title cell states (only the course's own phrases)."""
    match = RUN_TIME_LINE.search(nb.cells[0].source)
    if match is None:
        raise ValueError("the title cell has no '**Run time**: ... on a 2-core CPU' line")
    phrase = match.group(2)
    found = re.fullmatch(r"about (\d+(?:\.\d+)?) (seconds|minutes?)", phrase)
    if found is None:
        raise ValueError(f"run time {phrase!r} is not in the form 'about N seconds' or 'about N minutes'")
    value = float(found.group(1))
    return value if found.group(2) == "seconds" else 60 * value


def set_stated_run_time(nb, seconds: float) -> None:
    title = nb.cells[0]
    if RUN_TIME_LINE.search(title.source) is None:
        raise ValueError("the title cell has no '**Run time**: ... on a 2-core CPU' line")
    title.source = RUN_TIME_LINE.sub(
        lambda m: m.group(1) + run_time_phrase(seconds) + m.group(3), title.source, count=1
    )


def measured_run_time(nb) -> float | None:
    """The run time the notebook printed for itself (``notebook run time: N s``) in its stored outputs."""
    for cell in reversed(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            match = MEASURED_RUN_TIME.search("".join(text) if isinstance(text, list) else text)
            if match:
                return float(match.group(1))
    return None
