"""Reproducible set-up shared by every notebook: seeds, device, threads, scale, progress.

Environment variables (all optional):

- ``GENAI_COURSE_SCALE``: multiply model and data sizes for bigger runs (e.g. ``4`` on a GPU).
  The default ``1`` is sized so every notebook runs in about two minutes on a 2-core CPU.
- ``GENAI_COURSE_THREADS``: torch CPU threads (default 2, at most the number of cores). Stored
  outputs are made with 2; ``make test`` runs two notebooks side by side with 1 each. The count
  changes training results at rounding level, which is why nbval never compares them.
- ``GENAI_COURSE_DEVICE``: force a device (``cpu``, ``cuda``, ``mps``).
- ``GENAI_COURSE_PROGRESS``: ``0`` hides progress bars (CI does this so stored outputs compare).
"""

from __future__ import annotations

import os
import random
import time
from contextlib import contextmanager

DEFAULT_THREADS = 2
_SETUP_TIME: float | None = None


def scale() -> float:
    """The size multiplier from ``GENAI_COURSE_SCALE`` (default 1)."""
    raw = os.environ.get("GENAI_COURSE_SCALE", "1")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"GENAI_COURSE_SCALE must be a number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"GENAI_COURSE_SCALE must be positive, got {value}")
    return value


def scaled(n: int, minimum: int = 1) -> int:
    """``n`` multiplied by :func:`scale`, rounded, at least ``minimum``."""
    return max(minimum, int(round(n * scale())))


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (CPU and all GPUs)."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(prefer: str | None = None):
    """``cuda`` when present, else ``mps`` on Apple silicon, else ``cpu``."""
    import torch

    name = prefer or os.environ.get("GENAI_COURSE_DEVICE")
    if name:
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def set_threads(n: int | None = None) -> int:
    """Fix torch's CPU thread count (from ``GENAI_COURSE_THREADS``, default 2)."""
    import torch

    if n is None:
        n = int(os.environ.get("GENAI_COURSE_THREADS", DEFAULT_THREADS))
    n = max(1, min(n, os.cpu_count() or 1))
    torch.set_num_threads(n)
    return n


def setup(seed: int = 0, quiet: bool = True):
    """The one call at the top of every notebook: threads, seeds, device. Returns the device."""
    import matplotlib

    global _SETUP_TIME
    _SETUP_TIME = time.perf_counter()
    set_threads()
    seed_everything(seed)
    matplotlib.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80, "figure.figsize": (6, 3.5)})
    device = pick_device()
    if not quiet:
        print(f"device: {device}, scale: {scale():g}")
    return device


def run_time() -> float:
    """Seconds since :func:`setup` ran: the notebook's run time when printed in its last cell."""
    if _SETUP_TIME is None:
        raise RuntimeError("setup() has not been called in this process")
    return time.perf_counter() - _SETUP_TIME


def progress_enabled() -> bool:
    return os.environ.get("GENAI_COURSE_PROGRESS", "1") != "0"


def progress(iterable=None, **kwargs):
    """A ``tqdm.auto`` progress bar that stays silent when ``GENAI_COURSE_PROGRESS=0``."""
    from tqdm.auto import tqdm

    kwargs.setdefault("disable", not progress_enabled())
    kwargs.setdefault("leave", False)
    return tqdm(iterable, **kwargs)


def _synchronize_cuda() -> None:
    """Wait for queued GPU work, so a timer measures it (CUDA kernels run asynchronously)."""
    import sys

    torch = sys.modules.get("torch")  # a timer never imports torch itself
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


@contextmanager
def timer():
    """``with timer() as t: ...`` then ``t()`` gives the elapsed seconds (also inside the block).

    On a GPU the clock starts and stops only after queued kernels have finished, so the time is
    that of the work, not of launching it.
    """
    _synchronize_cuda()
    start = time.perf_counter()
    end = None

    def elapsed() -> float:
        return (end if end is not None else time.perf_counter()) - start

    try:
        yield elapsed
    finally:
        _synchronize_cuda()
        end = time.perf_counter()


def count_parameters(module, trainable_only: bool = True) -> int:
    """Number of parameters of a torch module: the trainable ones, or all (a frozen, loaded model has no trainable ones)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
