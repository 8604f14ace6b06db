"""Small fixes to the pages the theme writes, so that the book is clean in a browser.

- **Each inline script once.** Jupyter Book sets up sphinx-thebe and sphinx-togglebutton so that
  their inline configuration scripts (``const THEBE_JS_URL = ...``, ``var togglebuttonSelector``)
  land in the ``<head>`` of every page twice; the second ``const`` is a SyntaxError in the console
  of every page. Once the HTML is written, we keep the first copy of each identical inline
  ``<script>`` line of a page's head.
- **Citations as list items.** docutils writes the bibliography as ``<div role="list">`` holding
  ``<div role="doc-biblioentry">`` entries. ARIA 1.2 deprecates ``doc-biblioentry``, so a screen
  reader (and axe: ``aria-required-children``, critical) sees a list without items. Each entry
  becomes ``role="listitem"``.
"""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.application import Sphinx

INLINE_SCRIPT = re.compile(r"^\s*<script>.*</script>\s*$")


def dedupe_head_scripts(html: str) -> str:
    head_end = html.find("</head>")
    if head_end == -1:
        return html
    seen, kept = set(), []
    for line in html[:head_end].splitlines(keepends=True):
        if INLINE_SCRIPT.match(line):
            if line.strip() in seen:
                continue
            seen.add(line.strip())
        kept.append(line)
    return "".join(kept) + html[head_end:]


def citations_as_list_items(html: str) -> str:
    return html.replace('role="doc-biblioentry"', 'role="listitem"')


def fix_pages(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = citations_as_list_items(dedupe_head_scripts(text))
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")


def setup(app: Sphinx) -> dict:
    app.connect("build-finished", fix_pages)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
