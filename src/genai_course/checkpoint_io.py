"""Writing and reading checkpoint files safely: the one place every checkpoint goes through.

- :func:`atomic_write` (and :func:`save_torch`, :func:`write_text`): write to a temporary file in
  the same folder, fsync, then ``os.replace`` onto the real name. An interrupted or failed write
  never leaves a half-written file under the real name, the temporary file is removed, and the
  error is one line (:class:`~genai_course.errors.CheckpointWriteError`).
- :func:`read_torch`: read a checkpoint with ``weights_only=True`` (tensors and plain data only,
  never arbitrary pickled objects). A missing, truncated or corrupt file raises one
  :class:`~genai_course.errors.CheckpointError` naming the file and how to remake it.
- The checkpoints shipped in ``genai_course/checkpoints`` are listed in its ``MANIFEST.json``
  with their SHA-256 and the command that makes each. :func:`read_torch` verifies a shipped file
  against it, so a damaged or altered file is refused instead of loading with changed weights.
  Files anywhere else (the ones you train) are not in the manifest and load without the check.
  The commands that make the shipped files re-record their hash (:func:`record_shipped`).

``python -m genai_course.checkpoint_io`` checks every shipped file against the manifest.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import torch

from .errors import CheckpointError, CheckpointMissing, CheckpointWriteError

SHIPPED_DIR = Path(__file__).resolve().parent / "checkpoints"
MANIFEST = "MANIFEST.json"
MANIFEST_ABOUT = (
    "SHA-256 of every checkpoint shipped in this folder. Loaders refuse a shipped file whose hash "
    "differs; `command` remakes the file (and re-records its hash here). "
    "Check them all with `python -m genai_course.checkpoint_io`."
)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:160] if text else type(err).__name__


# ------------------------------------------------------------------------------ writing


def atomic_write(path, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, fsync it, then rename it to ``path``.

    On any failure (or Ctrl-C) the temporary file is removed and ``path`` keeps its old content;
    failures raise :class:`CheckpointWriteError` with a one-line message.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CheckpointWriteError(f"cannot write {path}: cannot create its folder ({_first_line(err)})") from None
    if path.is_dir():
        raise CheckpointWriteError(f"cannot write {path}: it is a folder")
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        # O_EXCL: never follow or reuse an existing file; mode 0o666 & ~umask, like open()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(err, (KeyboardInterrupt, SystemExit, CheckpointWriteError)):
            raise
        raise CheckpointWriteError(
            f"could not write {path} ({type(err).__name__}: {_first_line(err)}); nothing was changed under that name"
        ) from None
    try:  # make the rename itself durable (not possible on every platform)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
    return path


def save_torch(path, obj) -> Path:
    """``torch.save(obj, path)``, atomically."""
    return atomic_write(path, lambda f: torch.save(obj, f))


def write_text(path, text: str) -> Path:
    """Write a text file (UTF-8) atomically."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def write_json(path, data) -> Path:
    return write_text(path, json.dumps(data, indent=2) + "\n")


# ------------------------------------------------------------------------------ the manifest


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_shipped_location(path) -> bool:
    """True when ``path`` lies directly in the shipped checkpoint folder."""
    try:
        return Path(path).resolve().parent == Path(SHIPPED_DIR).resolve()
    except OSError:
        return False


def load_manifest() -> dict:
    """``{file name: {"sha256", "bytes", "command"}}`` of the shipped checkpoints."""
    path = Path(SHIPPED_DIR) / MANIFEST
    try:
        files = json.loads(path.read_text())["files"]
        if not isinstance(files, dict) or not all(isinstance(e, dict) and "sha256" in e for e in files.values()):
            raise ValueError("malformed entries")
    except FileNotFoundError:
        raise CheckpointError(
            f"{path} is missing: the shipped checkpoints cannot be verified; reinstall genai-course"
        ) from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is damaged ({_first_line(err)}); reinstall genai-course") from None
    return files


def shipped_entry(path) -> dict | None:
    """The manifest entry of a shipped checkpoint, or None for a file outside the shipped folder."""
    if not is_shipped_location(path):
        return None
    return load_manifest().get(Path(path).name)


def remake_hint(path, default: str | None = None) -> str:
    """'; remake it with `COMMAND`' for a shipped file (its manifest command), else ``default``'s."""
    command = None
    if is_shipped_location(path):
        try:
            command = (load_manifest().get(Path(path).name) or {}).get("command")
        except CheckpointError:
            command = None
    command = command or default
    return f"; remake it with `{command}`" if command else ""


def verify_bytes(path, data: bytes, expected_sha256: str, command: str | None = None) -> None:
    """Raise :class:`CheckpointError` unless ``data`` (the content of ``path``) has the expected hash."""
    got = sha256_of(data)
    if got != expected_sha256:
        fix = f"remake it with `{command}`" if command else "remake it"
        raise CheckpointError(
            f"checkpoint {path} is damaged or was changed since it was shipped (its SHA-256 "
            f"{got[:12]}… differs from {expected_sha256[:12]}… in {MANIFEST}); {fix}, "
            f"or reinstall genai-course"
        )


def record_shipped(path, command: str | None = None) -> None:
    """Record the hash of a freshly written shipped checkpoint in the manifest (no-op elsewhere)."""
    path = Path(path)
    if not is_shipped_location(path):
        return
    manifest_path = Path(SHIPPED_DIR) / MANIFEST
    try:
        files = load_manifest()
    except CheckpointError:
        if manifest_path.exists():
            raise
        files = {}
    data = path.read_bytes()
    old = files.get(path.name, {})
    files[path.name] = {
        "sha256": sha256_of(data),
        "bytes": len(data),
        "command": command or old.get("command") or "see checkpoints/README.md",
    }
    write_json(manifest_path, {"about": MANIFEST_ABOUT, "files": dict(sorted(files.items()))})


# ------------------------------------------------------------------------------ reading


def read_torch(path, remake: str | None = None, what: str = "checkpoint"):
    """Load a torch file with ``weights_only=True``; a shipped file is first checked against the manifest.

    ``remake`` is the command that makes the file again, quoted in errors (a shipped file's own
    command from the manifest wins). Returns whatever was saved (for the course, a dict).
    """
    path = Path(path)
    hint = remake_hint(path, remake)
    if not path.is_file():
        state = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise CheckpointMissing(f"{what} {path} {state}{hint}")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CheckpointError(f"cannot read {what} {path} ({_first_line(err)})") from None
    entry = shipped_entry(path)
    if entry is not None:
        verify_bytes(path, data, entry["sha256"], entry.get("command") or remake)
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001  torch raises many kinds of errors for a damaged file
        # torch's own text may advise turning weights_only off: never repeat that advice
        raise CheckpointError(
            f"{what} {path} is truncated or corrupt (torch cannot read it as a "
            f"tensors-only checkpoint: {type(err).__name__}){hint}"
        ) from None


def check_state_dict(state, path, hint: str = "", finite: bool = True) -> dict:
    """``state`` must map names to tensors (and, with ``finite``, hold no NaN or infinite value)."""
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise CheckpointError(f"checkpoint {path} is malformed: its weights are not a name → tensor mapping{hint}")
    if finite:
        for name, tensor in state.items():
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise CheckpointError(
                    f"checkpoint {path} has NaN or infinite weights ({name}): the run that wrote it diverged{hint}"
                )
    return state


def is_finite_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def main(argv=None) -> int:
    """Check every shipped checkpoint against the manifest."""
    files = load_manifest()
    present = sorted(p.name for p in Path(SHIPPED_DIR).glob("*.pt"))
    bad = 0
    for name in sorted(set(files) | set(present)):
        path = Path(SHIPPED_DIR) / name
        if name not in files:
            print(f"{name}: not in {MANIFEST}")
            bad += 1
        elif not path.exists():
            print(f"{name}: missing (make it with `{files[name].get('command')}`)")
            bad += 1
        elif sha256_of(path.read_bytes()) != files[name]["sha256"]:
            print(f"{name}: SHA-256 differs (remake it with `{files[name].get('command')}`)")
            bad += 1
        else:
            print(f"{name}: ok")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
