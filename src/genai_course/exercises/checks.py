"""The machinery every checker shares: call the student's code safely and compare results.

A checker is a ``body()`` run by :func:`run_check`: the body returns the success message, or
stops at the first fault with :func:`fail` (directly, or through :func:`call_student` and
:func:`expect_tensor`, which call it). ``fail`` is the one way a checker stops with feedback.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

PASS, FAIL = "✅", "❌"


@dataclass
class Feedback:
    """The outcome of a check: ``passed`` and a message for the student."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"{PASS if self.passed else FAIL} {self.message}"

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the message, not the dataclass
        printer.text(repr(self))


class _Stop(Exception):
    """Raised by :func:`fail` to end the check with this feedback; only :func:`run_check` catches it."""

    def __init__(self, feedback: Feedback):
        super().__init__(feedback.message)
        self.feedback = feedback


def not_attempted() -> Feedback:
    return Feedback(
        False, "Not attempted yet: replace `raise NotImplementedError` with your code, then run this cell again."
    )


def call_student(fn: Callable, *args, **kwargs) -> Any:
    """Call the student's function; turn any exception into feedback naming the error and the line."""
    if not callable(fn):
        fail(f"Expected a function, got {type(fn).__name__}.")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        fail(not_attempted().message)
    except Exception as err:  # the student's bug: show its message and where, not a deep traceback
        frames = [f for f in traceback.extract_tb(err.__traceback__) if "genai_course" not in f.filename]
        where = f" (line {frames[-1].lineno}: `{frames[-1].line}`)" if frames and frames[-1].line else ""
        fail(f"Your code raised {type(err).__name__}: {err}{where}")


def expect_tensor(
    got, expected, what: str, axes: str = "", atol: float = 1e-5, rtol: float = 1e-4, hint: str = ""
) -> None:
    """Compare a student's tensor with the expected one: type, shape, then values."""
    import torch

    if not isinstance(got, torch.Tensor):
        fail(f"{what}: expected a torch.Tensor, got {type(got).__name__}.")
    axes_note = f" ({axes})" if axes else ""
    if tuple(got.shape) != tuple(expected.shape):
        fail(f"{what}: wrong shape — expected {tuple(expected.shape)}{axes_note}, got {tuple(got.shape)}.")
    got_f, exp_f = got.detach().double(), expected.detach().double()
    if torch.isnan(got_f).any() and not torch.isnan(exp_f).any():
        fail(f"{what}: contains NaN at {_first_index(torch.isnan(got_f))}." + _hint(hint))
    diff = (got_f - exp_f).abs()
    bad = diff > atol + rtol * exp_f.abs()
    if bad.any():
        idx = _first_index(bad)
        fail(
            f"{what}: wrong values — {int(bad.sum())} of {bad.numel()} entries differ; the largest difference is "
            f"{diff.max().item():.3g}. First at index {idx}: expected {exp_f[idx].item():.4g}, got {got_f[idx].item():.4g}."
            + _hint(hint)
        )


def fail(message: str) -> NoReturn:
    """End the check with this message for the student: the one way a checker reports a fault.

    :func:`call_student` and :func:`expect_tensor` call it for the common faults; a checker calls
    it for the rest (a wrong return type, a missing gradient, a wrong count). Only inside a body
    run by :func:`run_check`, which turns it into failed :class:`Feedback`.
    """
    # `from None`: the student sees the message, never a chained traceback of the checker's own
    raise _Stop(Feedback(False, message)) from None


def _first_index(mask) -> tuple:
    return tuple(int(i) for i in mask.nonzero()[0])


def _hint(hint: str) -> str:
    return f" Hint: {hint}" if hint else ""


def run_check(body: Callable[[], str]) -> Feedback:
    """Run a checker's body: it returns the success message, or stops early with :func:`fail`."""
    try:
        return Feedback(True, body())
    except _Stop as stop:
        return stop.feedback
