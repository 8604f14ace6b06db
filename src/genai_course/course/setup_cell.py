"""The setup cell that opens every notebook, generated from one template.

In Colab it installs this package from the course repository (the URL in ``_config.yml``);
elsewhere the install is skipped. Everywhere it fixes threads, seeds and picks the device.
``genai-course sync-setup`` writes the current version into notebooks; a test checks them.
"""
from __future__ import annotations

import re
from pathlib import Path

TEMPLATE = '''\
# Setup: in Colab, install the course package; everywhere, fix seeds and threads and pick the device.
import sys

if "google.colab" in sys.modules:
    %pip install --quiet "genai-course[reference] @ git+{repo_url}"

from genai_course.utils import setup

device = setup(seed=0)'''


def setup_cell_source(repo_url: str) -> str:
    return TEMPLATE.format(repo_url=repo_url.rstrip("/"))


def repository_url(config_path: str | Path) -> str:
    """``repository.url`` from a Jupyter Book ``_config.yml`` (read without needing PyYAML)."""
    text = Path(config_path).read_text(encoding="utf-8")
    match = re.search(r"^repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+url:\s*['\"]?([^'\"\s#]+)", text, re.M)
    if not match:
        raise ValueError(f"{config_path}: no repository.url found")
    return match.group(1)


def first_code_cell(nb):
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.strip():
            return cell
    return None


def sync_setup_cell(nb, repo_url: str) -> bool:
    """Make the notebook's first code cell the current setup cell; True when it changed."""
    import nbformat

    wanted = setup_cell_source(repo_url)
    cell = first_code_cell(nb)
    if cell is not None and "google.colab" in cell.source:
        if cell.source == wanted:
            return False
        cell.source = wanted
        return True
    index = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
    nb.cells.insert(index, nbformat.v4.new_code_cell(wanted))
    return True
