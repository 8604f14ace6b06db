"""Which way imports may point inside the package, read from the source with ``ast`` (nothing is imported).

The package is layered; a module may import its own layer and the layers listed for it:

==============  ==========================================================  =====================
layer           modules                                                     may import
==============  ==========================================================  =====================
bottom          ``utils``, ``rng``, ``errors``, ``shape_check``             bottom
data            ``data/``                                                   data
nn              ``nn/``                                                     nn, bottom
library         everything else (``gpt/``, ``gan/``, ``diffusion/``, ...)   library, nn, data, bottom
exercises       ``exercises/``                                              all of the above
entry points    ``cli.py``, ``__main__.py``, ``course/``, ``recipes``,      anything
                the command modules named in ``cli.COMMAND_MODULES``
==============  ==========================================================  =====================

So datasets load on their own (``data/`` needs nothing else, not even ``utils`` or ``rng``: a
dataset is a function of its seed), a building block never knows which dataset feeds it, and no
library code depends on the command line, the training recipes, the course tooling or the
checkers. Every import counts, including those inside functions, which only delay the import.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "genai_course"

BOTTOM = {"genai_course", "genai_course.utils", "genai_course.rng", "genai_course.errors", "genai_course.shape_check"}
MAY_IMPORT = {
    "bottom": {"bottom"},
    "data": {"data"},
    "nn": {"nn", "bottom"},
    "library": {"library", "nn", "data", "bottom"},
    "exercises": {"exercises", "library", "nn", "data", "bottom"},
    "entry": {"entry", "exercises", "library", "nn", "data", "bottom"},
}

# Known violations in files this change does not own, as (importing module, imported module),
# each with a comment, to be removed once its file is fixed. test_allow_list_is_current fails
# when an entry is no longer needed. Empty: keep it so.
ALLOWED_FOR_NOW: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def command_modules() -> set[str]:
    """The CLI's command modules: the strings in ``COMMAND_MODULES = [...]`` of cli.py."""
    for node in ast.parse((PACKAGE / "cli.py").read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "COMMAND_MODULES" for t in node.targets):
            return set(ast.literal_eval(node.value))
    raise AssertionError("cli.py no longer defines COMMAND_MODULES: update tests/test_layout.py")


COMMANDS = command_modules()


def layer(module: str) -> str:
    top = module.split(".")[1] if "." in module else ""
    if module in BOTTOM:
        return "bottom"
    if top in ("cli", "__main__", "course", "recipes") or module in COMMANDS:
        return "entry"
    if top in ("data", "nn", "exercises"):
        return top
    return "library"


def imports_of(module: str) -> list[tuple[int, str]]:
    """(line, imported module) for every import of the package in ``module``, relative ones resolved."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:  # `from .pkg import mod` imports the module pkg.mod
                sub = f"{target}.{alias.name}"
                found.append((node.lineno, sub if sub in MODULES else target))
    return [(line, name) for line, name in found if name == "genai_course" or name.startswith("genai_course.")]


@cache
def violations() -> list[tuple[str, str, str]]:
    """(importer, imported, where and why) for every import that points the wrong way."""
    bad = []
    for module, path in MODULES.items():
        for line, imported in imports_of(module):
            if layer(imported) not in MAY_IMPORT[layer(module)]:
                where = f"{path.relative_to(SRC.parent)}:{line}"
                bad.append(
                    (module, imported, f"{where}: {module} ({layer(module)}) imports {imported} ({layer(imported)})")
                )
    return bad


def test_the_scan_sees_the_package():
    # guards against a silently empty scan (a moved src/ or a broken resolver)
    assert len(MODULES) > 40 and "genai_course.nn.vqa" in MODULES
    assert "genai_course.nn.transformer" in {name for _, name in imports_of("genai_course.nn.vit")}
    assert layer("genai_course.data.vqa") == "data" and layer("genai_course.gpt.commands") == "entry"
    assert layer("genai_course.shape_check") == "bottom" and layer("genai_course.gan.dcgan") == "library"


@pytest.mark.parametrize("from_layer", ["bottom", "data", "nn", "library", "exercises"])
def test_imports_point_down(from_layer):
    bad = [
        why
        for importer, imported, why in violations()
        if layer(importer) == from_layer and (importer, imported) not in ALLOWED_FOR_NOW
    ]
    allowed = ", ".join(sorted(MAY_IMPORT[from_layer]))
    assert not bad, f"{from_layer} may import only {allowed}:\n" + "\n".join(bad)


def test_allow_list_is_current():
    found = {(importer, imported) for importer, imported, _ in violations()}
    stale = sorted(ALLOWED_FOR_NOW - found)
    assert not stale, f"fixed, so remove from ALLOWED_FOR_NOW in tests/test_layout.py: {stale}"
