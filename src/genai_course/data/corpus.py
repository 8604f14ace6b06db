"""The course's English corpus (Python's own documentation) and a loader for any UTF-8 text file.

``pydoc_data.topics`` ships with CPython: about 465 k characters of English prose and code,
so every reader has the same corpus without a download. The split follows nanoGPT: the first
90 % trains, the last 10 % validates, so losses compare across tools.
"""

from __future__ import annotations

from pathlib import Path


def load_course_text() -> str:
    """The ``pydoc_data.topics`` texts joined in sorted key order with blank lines."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key] for key in sorted(topics))


def train_val_split(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """First ``1 - val_fraction`` of ``text`` for training, the rest for validation (as nanoGPT)."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie strictly between 0 and 1, got {val_fraction}")
    n = int(len(text) * (1.0 - val_fraction))
    return text[:n], text[n:]


def load_text_file(path) -> str:
    """Read a UTF-8 text file; a missing, empty or non-UTF-8 file raises ``ValueError`` in one line."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"text file {path} does not exist")
    if not path.is_file():
        raise ValueError(f"{path} is not a regular file")
    data = path.read_bytes()
    if not data:
        raise ValueError(f"text file {path} is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{path} is not UTF-8 text: byte 0x{data[err.start]:02x} at offset {err.start} cannot be decoded"
        ) from None
    if not text.strip():
        raise ValueError(f"text file {path} contains only whitespace")
    return text
