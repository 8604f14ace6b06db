"""Checkers for chapter 8's deployment notebooks (latency budgets)."""

from __future__ import annotations

import math

from .checks import Feedback, call_student, fail, run_check


def _nearest_rank(times, q):
    values = sorted(times)
    return values[math.ceil(q / 100 * len(values)) - 1]


def check_percentile_latency(percentile_latency) -> Feedback:
    """``percentile_latency(times, q) -> float``: the nearest-rank q-th percentile (0 < q ≤ 100) of a list of
    times, the ⌈q/100 · n⌉-th smallest, as serving dashboards report p50/p95/p99."""
    import random

    def body() -> str:
        gen = random.Random(0)
        times20 = [round(gen.uniform(5, 50), 3) for _ in range(20)]  # distinct, unsorted
        cases = [
            (times20, 95),  # 0.95 · 20 = 19 exactly: rank 19, not 20
            (times20, 50),  # rank 10
            (times20, 90),
            (times20[:7], 50),  # 3.5 → rank 4: rounds up
            (times20[:7], 99),
            (times20, 100),  # the slowest call
            ([12.5], 95),  # one measurement: it is every percentile
        ]
        for times, q in cases:
            expected = _nearest_rank(times, q)
            got = call_student(percentile_latency, list(times), q)
            if isinstance(got, bool) or not isinstance(got, (int, float)) and not hasattr(got, "__float__"):
                fail(f"percentile_latency({len(times)} times, q={q}): expected a number, got {type(got).__name__}.")
            got = float(got)
            if math.isclose(got, expected, abs_tol=1e-9):
                continue
            values = sorted(times)
            n, rank = len(times), math.ceil(q / 100 * len(times))
            where = f"With n = {n} times and q = {q} you returned {got:g}, expected {expected:g}."
            if not any(math.isclose(got, t, abs_tol=1e-9) for t in times):
                fail(
                    where + " That is not one of the measured times: nearest rank does not interpolate"
                    " (np.percentile's default does). Hint: return sorted(times)[rank − 1] with rank = ⌈q/100 · n⌉."
                )
            if 0 < rank <= n and math.isclose(got, times[rank - 1], abs_tol=1e-9):
                fail(where + " Hint: sort the times first; the rank counts from the fastest call.")
            if rank < n and math.isclose(got, values[rank], abs_tol=1e-9):
                fail(
                    where + " One rank too slow. Hint: rank = ⌈q/100 · n⌉ is 1-based, so the value is"
                    " sorted(times)[rank − 1]; and when q/100 · n is a whole number it is the rank itself."
                )
            if rank >= 2 and math.isclose(got, values[rank - 2], abs_tol=1e-9):
                fail(
                    where + " One rank too fast. Hint: round q/100 · n UP (math.ceil), not down or to"
                    " the nearest: the p-th percentile is the smallest time with at least p % of calls at or below it."
                )
            fail(where + " Hint: q is a percentage (0–100); rank = ⌈q/100 · n⌉, value = sorted(times)[rank − 1].")
        return (
            "Correct: the nearest-rank percentile is always a time that was actually measured."
            " With 20 calls, p95 is the 19th fastest: one slow call in twenty does not move it, two do."
        )

    return run_check(body)
