"""Checkers for chapter 8's deployment notebooks (latency budgets for text and for images)."""

from __future__ import annotations

import math

from .checks import Feedback, call_student, expect_tensor, fail, run_check


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


def check_distill_target(distill_target) -> Feedback:
    """``distill_target(z_t, z_end, alpha_t, sigma_t, alpha_end, sigma_end) -> x̃`` (b c h w): the clean-image
    guess whose ONE deterministic DDIM step from z_t lands on z_end (Salimans & Ho 2022, Alg. 2),
    x̃ = (z_end − (σ_end/σ_t) z_t) / (α_end − (σ_end/σ_t) α_t); α and σ are (b 1 1 1)."""
    import torch

    from ..deploy.progressive import ddim_move, x0_target

    def body() -> str:
        gen = torch.Generator("cpu").manual_seed(0)
        b = 4
        abar_t = torch.tensor([0.30, 0.55, 0.80, 0.95]).view(b, 1, 1, 1)  # z_t: noisier than z_end
        abar_end = torch.tensor([0.60, 0.85, 0.97, 1.00]).view(b, 1, 1, 1)  # the last one is clean data
        a_t, s_t = abar_t.sqrt(), (1 - abar_t).sqrt()
        a_e, s_e = abar_end.sqrt(), (1 - abar_end).sqrt()
        z_t = torch.randn(b, 1, 4, 4, generator=gen)
        z_end = torch.randn(b, 1, 4, 4, generator=gen)
        got = call_student(distill_target, z_t.clone(), z_end.clone(), a_t, s_t, a_e, s_e)
        expected = x0_target(z_t, z_end, a_t, s_t, a_e, s_e)
        if isinstance(got, torch.Tensor) and got.shape == expected.shape:
            numerator = z_end - (s_e / s_t) * z_t
            swapped = (z_end - (s_t / s_e) * z_t) / (a_e - (s_t / s_e) * a_t)
            if torch.allclose(got, numerator, atol=1e-5) and not torch.allclose(got, expected, atol=1e-5):
                fail(
                    "You returned the numerator only. Hint: divide by α_end − (σ_end/σ_t) α_t, the amount of"
                    " x̃ that survives the step."
                )
            if torch.isfinite(got[:3]).all() and torch.allclose(got[:3], swapped[:3], atol=1e-5):
                fail(
                    "The noise ratio is upside down. Hint: a DDIM step keeps the fraction σ_end/σ_t of the noise in"
                    " z_t − α_t x̂, so the ratio is σ_end / σ_t (smaller than 1 when stepping towards clean data)."
                )
        expect_tensor(
            got,
            expected,
            "x̃",
            axes="b c h w",
            hint=(
                "solve z_end = α_end x̃ + (σ_end/σ_t)(z_t − α_t x̃) for x̃. The last example steps to clean data"
                " (α_end = 1, σ_end = 0), where x̃ must equal z_end."
            ),
        )
        landed = ddim_move(got, z_t, a_t, s_t, a_e, s_e)
        if not torch.allclose(landed, z_end, atol=1e-4):  # guards the definition, not just the formula
            fail("One DDIM step from z_t with your x̃ does not land on z_end.")
        return (
            "Correct: one DDIM step with x̃ lands exactly where the teacher's two steps did, so x̃ is the"
            " student's target; at the last step (σ_end = 0) it is the teacher's final image itself."
        )

    return run_check(body)
