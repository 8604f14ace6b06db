"""Checkers for chapter 8's human-evaluation notebook: one Elo update."""

from __future__ import annotations

import math

from ..metrics.preferences import elo_update as reference
from .checks import Feedback, call_student, fail, run_check


def _expected(r_a: float, r_b: float, base: float = 10.0, scale: float = 400.0, sign: float = 1.0) -> float:
    return 1 / (1 + base ** (sign * (r_b - r_a) / scale))


def _update(r_a, r_b, s, k, expected, b_sign: float = -1.0) -> tuple[float, float]:
    change = k * (s - expected)
    return r_a + change, r_b + b_sign * change


def _as_pair(got, what: str) -> tuple[float, float]:
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        fail(f"{what}: return a pair (new r_a, new r_b), got {got!r}.")
    try:
        pair = float(got[0]), float(got[1])
    except (TypeError, ValueError):
        fail(f"{what}: the two new ratings must be numbers, got {got!r}.")
    if not all(math.isfinite(x) for x in pair):
        fail(f"{what}: the new ratings must be finite numbers, got {pair!r}.")
    return pair


def _diagnose(got, r_a, r_b, s, k, what: str) -> None:
    """Name the usual mistake when ``got`` matches it; otherwise say what was expected."""

    def close(pair) -> bool:
        return all(abs(x - y) < 1e-6 for x, y in zip(got, pair, strict=True))

    expect = reference(r_a, r_b, s, k)
    if close(expect):
        return
    mistakes = [
        (
            _update(r_a, r_b, s, k, _expected(r_a, r_b, sign=-1.0)),
            "the expected score has the wrong sign: a stronger a should be *expected* to win, "
            "E_a = 1 / (1 + 10^((r_b − r_a) / 400)), with r_b − r_a in the exponent.",
        ),
        (
            _update(r_a, r_b, s, k, _expected(r_a, r_b, base=math.e)),
            "you used base e: Elo's scale is base 10, so 400 points mean 10-to-1 odds: 10 ** ((r_b − r_a) / 400).",
        ),
        (
            _update(r_a, r_b, s, k, _expected(r_a, r_b, scale=1.0)),
            "the rating difference must be divided by 400 before it becomes an exponent of 10.",
        ),
        (
            _update(r_a, r_b, s, k, _expected(r_a, r_b), b_sign=1.0),
            "b's rating moved the same way as a's: what a gains, b loses, r_b' = r_b − K (S_a − E_a).",
        ),
        (
            _update(r_a, r_b, s, k, _expected(r_a, r_b), b_sign=0.0),
            "b's rating did not change: b's score is 1 − S_a, so r_b' = r_b − K (S_a − E_a).",
        ),
        (
            _update(r_a, r_b, s, 1.0, _expected(r_a, r_b)),
            "the change must be multiplied by the K-factor k.",
        ),
        (
            _update(r_a, r_b, s, k, _expected(r_a, r_b))[::-1],
            "the two ratings come back swapped: return (new r_a, new r_b).",
        ),
    ]
    for pair, hint in mistakes:
        if close(pair):
            fail(f"{what}: {hint}")
    fail(
        f"{what}: expected ({expect[0]:.3f}, {expect[1]:.3f}), got ({got[0]:.3f}, {got[1]:.3f}). "
        "Hint: E_a = 1 / (1 + 10^((r_b − r_a) / 400)); r_a' = r_a + k (S_a − E_a); r_b' = r_b − k (S_a − E_a)."
    )


def check_elo_update(elo_update) -> Feedback:
    """``elo_update(r_a, r_b, score_a, k=32) -> (new_r_a, new_r_b)``: one Elo update, base 10, scale 400;
    score_a is 1 (a won), 0.5 (not sure) or 0 (b won)."""

    def body() -> str:
        cases = [
            (1000.0, 1000.0, 1.0, 32.0, "equal ratings, a wins"),
            (1200.0, 1000.0, 0.0, 32.0, "a rated 200 higher, b wins (an upset)"),
            (1000.0, 1300.0, 0.5, 32.0, "a rated 300 lower, not sure"),
            (1500.0, 1100.0, 1.0, 4.0, "a rated 400 higher wins, k = 4"),
        ]
        for r_a, r_b, s, k, what in cases:
            got = _as_pair(call_student(elo_update, r_a, r_b, s, k=k), what)
            _diagnose(got, r_a, r_b, s, k, what)
        got = _as_pair(call_student(elo_update, 1000.0, 1000.0, 1.0), "the default k")
        _diagnose(got, 1000.0, 1000.0, 1.0, 32.0, "called without k (the default must be 32)")
        return (
            "Correct: an expected win earns little, an upset a lot, and the sum of the two ratings never changes. "
            "Equal players move by k/2 = 16 points."
        )

    return run_check(body)
