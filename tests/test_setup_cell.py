"""`sync_setup_cell` leaves exactly one current setup cell, whatever the notebook had before."""

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from genai_course.course.setup_cell import SETUP_HEADER, pinned_revision, setup_cell_source, sync_setup_cell

URL, OLD, NEW = "https://github.com/example/course", "a" * 40, "b" * 40
HAND_WRITTEN = f"""\
{SETUP_HEADER}
import sys

from genai_course.utils import setup

device = setup(seed=0)"""


def _setups(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code" and c.source.startswith(SETUP_HEADER)]


def test_an_outdated_setup_cell_is_updated_in_place():
    nb = new_notebook(cells=[new_markdown_cell("# T"), new_code_cell(setup_cell_source(URL, OLD)), new_code_cell("1")])
    assert sync_setup_cell(nb, URL, NEW)
    assert _setups(nb) == [setup_cell_source(URL, NEW)] and len(nb.cells) == 3
    assert not sync_setup_cell(nb, URL, NEW)


def test_a_setup_cell_without_the_colab_line_is_replaced_not_duplicated():
    nb = new_notebook(cells=[new_markdown_cell("# T"), new_code_cell(HAND_WRITTEN), new_code_cell("1")])
    assert sync_setup_cell(nb, URL, NEW)
    assert _setups(nb) == [setup_cell_source(URL, NEW)] and len(nb.cells) == 3
    assert pinned_revision(nb) == NEW


def test_a_notebook_without_a_setup_cell_gets_one_before_its_first_code_cell():
    nb = new_notebook(cells=[new_markdown_cell("# T"), new_code_cell("import torch")])
    assert sync_setup_cell(nb, URL, NEW)
    assert [c.source for c in nb.cells[1:]] == [setup_cell_source(URL, NEW), "import torch"]
