"""The book builds with warnings as errors, and every notebook page has an 'Open in Colab' link."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from genai_course.course.setup_cell import repository_url

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_book_builds_without_warnings(tmp_path):
    jb = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    assert jb, "jupyter-book is not installed (pip install -e '.[book]')"
    result = subprocess.run(
        [jb, "build", str(ROOT), "-W", "-n", "--keep-going", "--path-output", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert not re.search(r"WARNING|ERROR", output), output[-4000:]
    html = tmp_path / "_build" / "html"
    notebooks = sorted((ROOT / "notebooks").rglob("*.ipynb"))
    repo = repository_url(ROOT / "_config.yml").removeprefix("https://github.com/")
    for nb in notebooks:
        rel = nb.relative_to(ROOT).with_suffix(".html")
        page = (html / rel).read_text(encoding="utf-8")
        colab = f"colab.research.google.com/github/{repo}/blob/main/{nb.relative_to(ROOT).as_posix()}"
        assert colab in page, f"{rel} has no Open-in-Colab link"
