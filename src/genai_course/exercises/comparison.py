"""Checkers for chapter 8's comparison table."""

from __future__ import annotations

from .checks import Feedback, call_student, fail, run_check


def check_pareto_front(pareto_front) -> Feedback:
    """``pareto_front(quality, cost) -> list of row indices``: the rows that no other row beats, where
    higher quality and lower cost are better (a row is beaten by one at least as good in both and better in one)."""
    from ..comparison import pareto_front as reference

    cases = [
        # (quality, cost, what a wrong answer usually got wrong)
        ([0.9, 0.8, 0.7], [3.0, 2.0, 1.0], "every row trades quality for cost here, so none is beaten"),
        ([0.9, 0.8, 0.7], [1.0, 2.0, 3.0], "row 0 is better AND cheaper than the others"),
        ([0.5, 0.5, 0.9], [2.0, 1.0, 5.0], "equal quality at a higher cost is beaten (row 0 by row 1)"),
        ([0.6, 0.6, 0.2], [1.0, 1.0, 0.5], "two identical rows beat neither each other nor are beaten: keep both"),
        ([0.1, 0.4, 0.3, 0.8, 0.8], [0.2, 0.9, 0.3, 1.5, 4.0], "a mixed case"),
    ]

    def body() -> str:
        for quality, cost, why in cases:
            got = call_student(pareto_front, list(quality), list(cost))
            try:
                got_sorted = sorted(int(i) for i in got)
            except (TypeError, ValueError):
                fail(f"return a list of row indices (ints), got {got!r}.")
            expected = reference(quality, cost)
            if got_sorted != expected:
                hint = (
                    " Hint: you kept rows in the wrong direction — higher quality and LOWER cost are better."
                    if got_sorted == reference(quality, [-c for c in cost])
                    else " Hint: a row is beaten only by one that is at least as good in both and strictly better in one;"
                    " a row never beats itself."
                )
                fail(f"for quality={quality}, cost={cost} expected {expected}, got {got_sorted} ({why}).{hint}")
        return "Correct: these are the models worth considering; every other one is beaten on both axes by one of them."

    return run_check(body)
