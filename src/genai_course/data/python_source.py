"""Python's own standard library as a code corpus (chapter 3), read from the running interpreter.

Codex was trained on 159 GB of Python from GitHub (Chen et al. 2021, section 3.1); the course
uses the ~8 MB of Python that every CPython install already carries, found through
``sysconfig.get_paths()["stdlib"]``, so nothing is downloaded and every reader has the same kind
of corpus. The *exact* files differ between Python versions (3.11 and 3.12 ship different
modules), so numbers measured live on the corpus are asserted with ranges.

Excluded: the test suites (``test/``, ``unittest/test``…), GUI and demo code (``idlelib``,
``tkinter``, ``turtledemo``), generated tables (``encodings``, ``pydoc_data``) and installed
packages (``site-packages``): they are mostly data, not the idiomatic code we want to imitate.

Held-out modules: a file is held out when the SHA-1 of its relative path falls in the first
1/20 of hash space. The split depends only on the path, so a module keeps its side on every
machine and Python version, and whole modules are held out: the held-out loss measures how well
the model predicts code it has never seen any part of, not the next lines of a file it has read.
"""

from __future__ import annotations

import hashlib
import sysconfig
from pathlib import Path

EXCLUDED_DIRS = frozenset(
    {
        "test",
        "tests",
        "idlelib",
        "tkinter",
        "turtledemo",
        "lib2to3",
        "ensurepip",
        "encodings",
        "pydoc_data",
        "site-packages",
        "dist-packages",
        "__pycache__",
        "__phello__",
    }
)
HELDOUT_BUCKETS = 20  # a module is held out when its path hash is 0 modulo this
FILE_SEPARATOR = "\n\n\n"  # between files: two blank lines, as PEP 8 puts between top-level definitions


def stdlib_dir() -> Path:
    """The folder of the running interpreter's standard library."""
    return Path(sysconfig.get_paths()["stdlib"])


def is_heldout(relative_path: str) -> bool:
    """True for the ~5 % of modules never shown in training (decided by the path's SHA-1 alone)."""
    digest = hashlib.sha1(relative_path.replace("\\", "/").encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % HELDOUT_BUCKETS == 0


def stdlib_files(split: str = "train", root: Path | None = None) -> list[Path]:
    """The ``*.py`` files of the standard library in sorted path order: ``split`` is ``"train"``,
    ``"heldout"`` or ``"all"``."""
    if split not in ("train", "heldout", "all"):
        raise ValueError(f"split must be 'train', 'heldout' or 'all', got {split!r}")
    root = Path(root) if root is not None else stdlib_dir()
    if not root.is_dir():
        raise ValueError(f"the standard library folder {root} does not exist")
    files = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if set(rel.parts[:-1]) & EXCLUDED_DIRS or rel.name.startswith("test_"):
            continue
        if split == "all" or (split == "heldout") == is_heldout(rel.as_posix()):
            files.append(path)
    return files


def read_source(path: Path) -> str | None:
    """A file's text, or None when it is not UTF-8 (a handful of stdlib files carry Latin-1 examples)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None


def load_stdlib_code(split: str = "train", max_chars: int | None = None, root: Path | None = None) -> str:
    """The source of the ``split`` modules joined by :data:`FILE_SEPARATOR`, in path order, with
    tabs expanded and trailing whitespace removed; at most ``max_chars`` (whole files only)."""
    parts, total = [], 0
    for path in stdlib_files(split, root):
        text = read_source(path)
        if text is None:
            continue
        text = "\n".join(line.rstrip() for line in text.expandtabs(4).splitlines()).strip("\n") + "\n"
        if max_chars is not None and total + len(text) > max_chars and parts:
            break
        parts.append(text)
        total += len(text) + len(FILE_SEPARATOR)
    if not parts:
        raise ValueError(f"no Python files found for split {split!r} under {root or stdlib_dir()}")
    return FILE_SEPARATOR.join(parts)
