"""The checkpoint store: the one place every checkpoint is written, read and verified.

- :func:`atomic_write` (and :func:`save_torch`, :func:`write_text`): write to a temporary file in
  the same folder, fsync, then ``os.replace`` onto the real name. An interrupted or failed write
  never leaves a half-written file under the real name, the temporary file is removed, and the
  error is one line (:class:`~genai_course.errors.CheckpointWriteError`).
- :func:`read_torch`: read a checkpoint with ``weights_only=True`` (tensors and plain data only,
  never arbitrary pickled objects). A missing, truncated or corrupt file raises one
  :class:`~genai_course.errors.CheckpointError` naming the file and how to remake it.
- :func:`save_state` / :func:`load_state` / :func:`build_model`: the common container,
  ``{"format", "config", "state_dict"}``, with the metrics measured when it was made in a
  ``.json`` beside it (:func:`load_metrics`). The GAN, diffusion and classifier checkpoints use
  it; the GPT and RLHF ones store their own dicts through the same :func:`save_torch` and
  :func:`read_torch`.
- The checkpoints shipped in ``genai_course/checkpoints`` are listed in its ``MANIFEST.json``
  with their SHA-256, size, the recipe command that makes each, and their recorded metrics.
  :func:`read_torch` verifies a shipped file against it, so a damaged or altered file is refused
  instead of loading with changed weights. Files anywhere else (the ones you train) are not in
  the manifest and load without the check.
- The manifest is never edited by hand: every save into the shipped folder re-records its entry
  (:func:`record_shipped`) and every recipe rewrites it from the files on disk at the end
  (:func:`write_manifest`). ``genai-course recipe --manifest`` does only the latter, after a
  shipped file was replaced; ``genai-course recipe --check`` (or ``python -m
  genai_course.checkpoint_io``) checks every shipped file against it.

Every problem with a checkpoint is a :class:`~genai_course.errors.CheckpointError` whose one-line
message names the file, says what is wrong, and quotes the command that remakes it.
"""

from __future__ import annotations

import hashlib
import io
import json
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
    "Every file shipped in this folder: its SHA-256 and size, the recipe command that makes it, and "
    "the metrics recorded when it was made (its .json). Loaders refuse a shipped file whose hash "
    "differs. Written by the recipes, never by hand: after replacing a file, rewrite this manifest "
    "with `genai-course recipe --manifest`; check every file with `genai-course recipe --check`."
)


def recipe_command(name: str) -> str:
    """The command that remakes the shipped file(s) of recipe ``name`` (a recipe is named after its file)."""
    return f"genai-course recipe {name}"


def checkpoint_path(name: str) -> Path:
    """Where the shipped checkpoint (or table) called ``name`` lives."""
    return Path(SHIPPED_DIR) / name


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


def write_record(path, made_by: str, **fields) -> dict:
    """A shipped table of results (not weights) as JSON: the command that made it, the torch release
    and the thread count first, then ``fields``. Returns the record."""
    record = {"made_by": made_by, "torch": torch.__version__, "threads": torch.get_num_threads(), **fields}
    write_json(path, record)
    return record


def read_record(path, made_by: str) -> dict:
    """A shipped table written by :func:`write_record`. A missing file, or one that is not valid JSON, is a
    clear error that names ``made_by``, the command that remakes it: a damaged record is remade, not half-read."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointMissing(f"{path} is missing; make it with `{made_by}`") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is not valid JSON ({err}); remake it with `{made_by}`") from None


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
    """``{file name: {"sha256", "bytes", "recipe", "command", "metrics"?}}`` of the shipped files."""
    path = Path(SHIPPED_DIR) / MANIFEST
    try:
        files = json.loads(path.read_text())["files"]
        if not isinstance(files, dict) or not all(isinstance(e, dict) and "sha256" in e for e in files.values()):
            raise ValueError("malformed entries")
    except FileNotFoundError:
        raise CheckpointError(
            f"{path} is missing: the shipped checkpoints cannot be verified; rewrite it with "
            f"`genai-course recipe --manifest` or reinstall genai-course"
        ) from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
        raise CheckpointError(
            f"{path} is damaged ({_first_line(err)}); rewrite it with `genai-course recipe --manifest` "
            f"or reinstall genai-course"
        ) from None
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


def manifest_entry(path, recipe: str, command: str | None = None) -> dict:
    """The manifest entry of the shipped file ``path`` as it is on disk now.

    A checkpoint's metrics are those of its ``.json`` (absent when there is none); a ``.json``
    that is itself the shipped file (a table) has no separate metrics.
    """
    path = Path(path)
    data = path.read_bytes()
    entry = {
        "sha256": sha256_of(data),
        "bytes": len(data),
        "recipe": recipe,
        "command": command or recipe_command(recipe),
    }
    sidecar = path.with_suffix(".json")
    if path.suffix != ".json" and sidecar.is_file():
        try:
            entry["metrics"] = json.loads(sidecar.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as err:
            raise CheckpointError(f"metrics file {sidecar} is not valid JSON ({_first_line(err)})") from None
    return entry


def _write_manifest_files(files: dict) -> None:
    write_json(Path(SHIPPED_DIR) / MANIFEST, {"about": MANIFEST_ABOUT, "files": dict(sorted(files.items()))})


def write_manifest(recipes: dict[str, str]) -> dict:
    """Rewrite ``MANIFEST.json`` from the files on disk; ``recipes`` maps each shipped file to its recipe.

    Files of the mapping that do not exist are left out (and reported by :func:`check_manifest`).
    Returns the new ``files`` table.
    """
    files = {}
    for name, recipe in recipes.items():
        path = Path(SHIPPED_DIR) / name
        if path.is_file():
            files[name] = manifest_entry(path, recipe)
    _write_manifest_files(files)
    return files


def record_shipped(path, command: str | None = None) -> None:
    """Re-record the entry of a freshly written shipped file in the manifest (no-op elsewhere).

    Its recipe and command are kept from the old entry (a new file is named after its recipe).
    """
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
    old = files.get(path.name, {})
    recipe = old.get("recipe") or path.stem
    files[path.name] = manifest_entry(path, recipe, command or old.get("command"))
    _write_manifest_files(files)


# ------------------------------------------------------------------------------ reading


def read_torch(path, remake: str | None = None, what: str = "checkpoint"):
    """Load a torch file with ``weights_only=True``; a shipped file is first checked against the manifest.

    ``remake`` is the command that makes the file again, quoted in errors (a shipped file's own
    command from the manifest wins). Returns whatever was saved (for the course, a dict).
    """
    path = Path(path)
    hint = remake_hint(path, remake)
    if not path.is_file():
        raise missing(path, what, remake)
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


def missing(path, what: str = "checkpoint", remake: str | None = None) -> CheckpointMissing:
    """The error for a checkpoint that is not there (raise it)."""
    path = Path(path)
    state = "is a folder, not a file" if path.is_dir() else "does not exist"
    return CheckpointMissing(f"{what} {path} {state}{remake_hint(path, remake)}")


# ------------------------------------------------------------------------------ the common container


def save_state(path, fmt: str, config: dict, state_dict: dict, metrics: dict | None = None) -> None:
    """Write ``{"format", "config", "state_dict"}`` to ``path`` and ``metrics`` to its ``.json``.

    Each file is written atomically (a failed write leaves both as they were); a shipped file's
    manifest entry is re-recorded last, with these metrics. Without ``metrics`` an existing
    ``.json`` is left as it was (it describes the last complete run).
    """
    path = Path(path)
    state = {k: v.detach().cpu().clone() for k, v in state_dict.items()}
    save_torch(path, {"format": fmt, "config": dict(config), "state_dict": state})
    if metrics is not None:
        write_text(path.with_suffix(".json"), json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    record_shipped(path)


def load_state(path, fmt: str, remake: str | None = None) -> tuple[dict, dict]:
    """Read a checkpoint written by :func:`save_state`: returns ``(config, state_dict)``.

    ``remake`` is the command that makes the file, quoted in errors when the manifest has none.
    A missing file raises :class:`~genai_course.errors.CheckpointMissing` (a ``FileNotFoundError``
    and a ``ValueError``); anything else wrong raises :class:`~genai_course.errors.CheckpointError`.
    """
    path = Path(path)
    blob = read_torch(path, remake=remake)
    hint = remake_hint(path, remake)
    if not isinstance(blob, dict) or blob.get("format") != fmt or "state_dict" not in blob:
        got = blob.get("format") if isinstance(blob, dict) else type(blob).__name__
        raise CheckpointError(f"checkpoint {path} is of the wrong kind: format {got!r}, expected {fmt!r}{hint}")
    if not isinstance(blob.get("config"), dict):
        raise CheckpointError(f"checkpoint {path} is malformed: its config is not a dict{hint}")
    return blob["config"], check_state_dict(blob["state_dict"], path, hint)


def build_model(path, build, config: dict, state: dict, remake: str | None = None) -> torch.nn.Module:
    """``build(config)`` then load ``state`` into it; a config or weights that do not fit → CheckpointError."""
    hint = remake_hint(path, remake)
    try:
        model = build(config)
    except (TypeError, ValueError, KeyError, AttributeError) as err:
        raise CheckpointError(
            f"checkpoint {path} has a malformed config ({type(err).__name__}: {_first_line(err)}){hint}"
        ) from None
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        # torch's first line only says "Error(s) in loading state_dict"; the second says which
        detail = " ".join(line.strip() for line in str(err).splitlines()[:2])[:200]
        raise CheckpointError(f"checkpoint {path} does not fit its model: {detail}{hint}") from None
    return model


def load_shipped_model(name: str, fmt: str, build, device=None) -> torch.nn.Module:
    """The shipped model ``name``.pt (made by ``genai-course recipe name``): verified against the
    manifest, built by ``build(config)``, its weights loaded, in eval mode and frozen, on ``device``
    (left on the CPU when None). A missing, damaged or mismatched file raises a clear error."""
    path = checkpoint_path(f"{name}.pt")
    remake = recipe_command(name)
    config, state = load_state(path, fmt, remake)
    model = build_model(path, build, config, state, remake).eval().requires_grad_(False)
    return model.to(device) if device is not None else model


def load_metrics(path) -> dict:
    """The metrics recorded next to a checkpoint (its ``.json``)."""
    path = Path(path).with_suffix(".json")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointMissing(f"metrics file {path} does not exist{remake_hint(path.with_suffix('.pt'))}") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise CheckpointError(f"metrics file {path} is not valid JSON ({_first_line(err)})") from None


def check_manifest(out=print) -> int:
    """Check every shipped file against the manifest (and the manifest's metrics against the
    ``.json`` files); print one line per file; return the number of problems."""
    files = load_manifest()
    present = {p.name for p in Path(SHIPPED_DIR).glob("*.pt")}
    bad = 0
    for name in sorted(set(files) | present):
        path = Path(SHIPPED_DIR) / name
        entry = files.get(name)
        if entry is None:
            problem = f"not in {MANIFEST} (rewrite it with `genai-course recipe --manifest`)"
        elif not path.exists():
            problem = f"missing (make it with `{entry.get('command')}`)"
        elif sha256_of(path.read_bytes()) != entry["sha256"]:
            problem = (
                f"SHA-256 differs from {MANIFEST} (remake it with `{entry.get('command')}`, or, if the "
                f"file was replaced on purpose, `genai-course recipe --manifest`)"
            )
        elif path.suffix != ".json" and entry.get("metrics") != manifest_entry(path, "").get("metrics"):
            problem = f"its .json differs from the metrics in {MANIFEST} (`genai-course recipe --manifest`)"
        else:
            problem = None
        out(f"{name}: {problem or 'ok'}")
        bad += problem is not None
    return bad


if __name__ == "__main__":
    sys.exit(1 if check_manifest() else 0)
