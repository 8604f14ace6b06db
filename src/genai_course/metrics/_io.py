"""Saving and loading the small checkpoints shipped in ``genai_course/checkpoints``.

A checkpoint is ``torch.save({"format": ..., "config": dict, "state_dict": ...})`` next to a
``.json`` file with the metrics measured when it was made. Loading checks the format and
turns a missing or corrupt file into one clear error instead of a deep traceback.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"


def checkpoint_path(name: str) -> Path:
    return CHECKPOINT_DIR / name


def save_state(path, fmt: str, config: dict, state_dict: dict, metrics: dict | None = None) -> None:
    """Write ``path`` (.pt) and, if ``metrics`` is given, ``path`` with suffix .json."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in state_dict.items()}
    torch.save({"format": fmt, "config": dict(config), "state_dict": state}, path)
    if metrics is not None:
        path.with_suffix(".json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")


def load_state(path, fmt: str) -> tuple[dict, dict]:
    """Read a checkpoint written by :func:`save_state`: returns ``(config, state_dict)``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds of errors for a damaged file
        raise ValueError(f"checkpoint {path} is corrupt or not a torch checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(blob, dict) or blob.get("format") != fmt or "state_dict" not in blob:
        got = blob.get("format") if isinstance(blob, dict) else type(blob).__name__
        raise ValueError(f"checkpoint {path} has format {got!r}, expected {fmt!r}")
    return blob["config"], blob["state_dict"]


def load_metrics(path) -> dict:
    """The metrics recorded next to a checkpoint (its .json)."""
    return json.loads(Path(path).with_suffix(".json").read_text())
