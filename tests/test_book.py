"""The book builds with warnings as errors, and every notebook page has an 'Open in Colab' link."""

import re
from pathlib import Path

import pytest

from genai_course.course.setup_cell import repository_url

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_book_builds_without_warnings(book_build):
    """One build per test session (conftest's ``book_build``), shared with the browser test."""
    if not book_build.output:
        pytest.skip("GENAI_COURSE_BOOK_HTML reuses a build made elsewhere: its warnings are not seen here")
    assert book_build.returncode == 0, book_build.output[-4000:]
    assert not re.search(r"WARNING|ERROR", book_build.output), book_build.output[-4000:]
    html = book_build.html
    notebooks = sorted((ROOT / "notebooks").rglob("*.ipynb"))
    repo = repository_url(ROOT / "_config.yml").removeprefix("https://github.com/")
    for nb in notebooks:
        rel = nb.relative_to(ROOT).with_suffix(".html")
        page = (html / rel).read_text(encoding="utf-8")
        colab = f"colab.research.google.com/github/{repo}/blob/main/{nb.relative_to(ROOT).as_posix()}"
        assert colab in page, f"{rel} has no Open-in-Colab link"
