"""Give every notebook output image an alt text, without editing the notebooks.

MyST-NB renders a figure that a code cell displays as an ``<img>`` whose alt is only the file
path (or nothing). Screen readers then read a hash. This extension, run when a page is read,
describes each such image by where it comes from: the first comment line of the cell that drew
it (our cells start with one, e.g. ``# attention weights of head 0``) and the section it sits
in. A cell can still set its own alt through MyST-NB's ``mystnb: image: alt:`` metadata; that
one is kept.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.application import Sphinx


def _first_comment(cell: nodes.Element) -> str:
    for block in cell.findall(nodes.literal_block):
        if block.parent is not None and block.parent.get("nb_element") == "cell_code_source":
            for line in block.astext().splitlines():
                line = line.strip()
                if line.startswith("#") and not line.startswith("#|") and len(line.strip("# ")) > 3:
                    return line.lstrip("#").strip()
            return ""
    return ""


def _section_title(node: nodes.Node) -> str:
    while node is not None:
        if isinstance(node, nodes.section) and node.children and isinstance(node[0], nodes.title):
            return node[0].astext()
        node = node.parent
    return ""


def _cell_of(node: nodes.Node) -> nodes.Element | None:
    while node is not None:
        if isinstance(node, nodes.Element) and node.get("nb_element") == "cell_code":
            return node
        node = node.parent
    return None


def add_alt_text(app: Sphinx, doctree: nodes.document) -> None:
    for image in doctree.findall(nodes.image):
        if image.get("alt"):
            continue
        cell = _cell_of(image)
        if cell is None:
            continue
        comment, section = _first_comment(cell), _section_title(cell)
        parts = ["Figure drawn by the code cell above"]
        if comment:
            parts.append(f"({comment})")
        if section:
            parts.append(f"in the section “{section}”")
        image["alt"] = " ".join(parts)


def setup(app: Sphinx) -> dict:
    app.connect("doctree-read", add_alt_text)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
