"""Saving and loading the small checkpoints shipped in ``genai_course/checkpoints``.

A checkpoint is ``torch.save({"format": ..., "config": dict, "state_dict": ...})`` next to a
``.json`` file with the metrics measured when it was made. Both are written atomically (see
:mod:`genai_course.checkpoint_io`), so an interrupted write never leaves a corrupt file, and a
file written into the shipped folder has its SHA-256 recorded in ``MANIFEST.json``. Loading
verifies a shipped file against that hash, checks the format, and turns a missing, corrupt or
altered file into one clear error (:class:`~genai_course.errors.CheckpointError`, a ``ValueError``)
instead of a deep traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..checkpoint_io import (
    SHIPPED_DIR,
    check_state_dict,
    read_torch,
    record_shipped,
    remake_hint,
    save_torch,
    write_text,
)
from ..errors import CheckpointError

CHECKPOINT_DIR = SHIPPED_DIR


def checkpoint_path(name: str) -> Path:
    return CHECKPOINT_DIR / name


def save_state(path, fmt: str, config: dict, state_dict: dict, metrics: dict | None = None) -> None:
    """Write ``path`` (.pt) and, if ``metrics`` is given, ``path`` with suffix .json (each atomically).

    Without ``metrics`` an existing .json is left as it was (it describes the last complete run).
    """
    path = Path(path)
    state = {k: v.detach().cpu().clone() for k, v in state_dict.items()}
    save_torch(path, {"format": fmt, "config": dict(config), "state_dict": state})
    record_shipped(path)
    if metrics is not None:
        write_text(path.with_suffix(".json"), json.dumps(metrics, indent=2, sort_keys=True) + "\n")


def load_state(path, fmt: str) -> tuple[dict, dict]:
    """Read a checkpoint written by :func:`save_state`: returns ``(config, state_dict)``.

    A missing file raises :class:`~genai_course.errors.CheckpointMissing` (a ``FileNotFoundError``
    and a ``ValueError``); anything else wrong raises :class:`~genai_course.errors.CheckpointError`.
    """
    path = Path(path)
    blob = read_torch(path)
    hint = remake_hint(path)
    if not isinstance(blob, dict) or blob.get("format") != fmt or "state_dict" not in blob:
        got = blob.get("format") if isinstance(blob, dict) else type(blob).__name__
        raise CheckpointError(f"checkpoint {path} has format {got!r}, expected {fmt!r}{hint}")
    if not isinstance(blob.get("config"), dict):
        raise CheckpointError(f"checkpoint {path} is malformed: its config is not a dict{hint}")
    return blob["config"], check_state_dict(blob["state_dict"], path, hint)


def build_model(path, build, config: dict, state: dict) -> torch.nn.Module:
    """``build(config)`` then load ``state`` into it; a config or weights that do not fit → CheckpointError."""
    hint = remake_hint(path)
    try:
        model = build(config)
    except (TypeError, ValueError, KeyError, AttributeError) as err:
        raise CheckpointError(
            f"checkpoint {path} has a malformed config ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}){hint}"
        ) from None
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(f"checkpoint {path} does not fit its model: {str(err).splitlines()[0]}{hint}") from None
    return model


def load_metrics(path) -> dict:
    """The metrics recorded next to a checkpoint (its .json)."""
    return json.loads(Path(path).with_suffix(".json").read_text())
