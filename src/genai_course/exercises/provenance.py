"""Checkers for chapter 8's notebook on watermarks and provenance."""

from __future__ import annotations

import math

from .checks import Feedback, call_student, fail, run_check


def _toy_is_green(prev: int, token: int) -> bool:
    """A fixed stand-in for a key's green lists: the order of the arguments matters."""
    return (31 * prev + 17 * token + prev * prev) % 4 == 0


def _cases():
    import random

    rng = random.Random(8)
    yield [rng.randrange(20) for _ in range(60)], 0.25
    yield [rng.randrange(50) for _ in range(201)], 0.25
    yield [rng.randrange(9) for _ in range(31)], 0.5


def _z(n_green: float, t: int, gamma: float) -> float:
    return (n_green - gamma * t) / math.sqrt(t * gamma * (1 - gamma))


def check_green_z_score(green_z_score) -> Feedback:
    """``green_z_score(tokens, is_green, gamma) -> float``: the one-proportion z of Kirchenbauer et al. (2023),
    scoring token i (i ≥ 1) green when ``is_green(tokens[i-1], tokens[i])``."""
    from ..provenance.text_watermark import z_score

    def body() -> str:
        for tokens, gamma in _cases():
            got = call_student(green_z_score, list(tokens), _toy_is_green, gamma)
            if isinstance(got, bool) or not isinstance(got, (int, float)) or not math.isfinite(got):
                fail(f"expected a finite float z-score, got {got!r}.")
            n = len(tokens)
            flags = [_toy_is_green(tokens[i - 1], tokens[i]) for i in range(1, n)]
            g, t = sum(flags), n - 1
            want = z_score(g, t, gamma)
            if abs(got - want) < 1e-6:
                continue
            what = f"for {n} tokens with γ = {gamma}: got {got:.4f}, expected {want:.4f}."
            wrapped = g + _toy_is_green(tokens[-1], tokens[0])  # tokens[i - 1] at i = 0 is tokens[-1]
            swapped = sum(_toy_is_green(tokens[i], tokens[i - 1]) for i in range(1, n))
            wrong = {
                "first": (_z(wrapped, n, gamma), _z(g, n, gamma)),
                "swapped": (z_score(swapped, t, gamma),),
                "no sqrt": ((g - gamma * t) / (t * gamma * (1 - gamma)),),
                "sqrt T only": ((g - gamma * t) / (math.sqrt(t) * gamma * (1 - gamma)),),
                "fraction": ((g / t - gamma) / math.sqrt(t * gamma * (1 - gamma)),),
                "variance γT": ((g - gamma * t) / math.sqrt(t * gamma),),
            }
            hit = next((k for k, vals in wrong.items() if any(abs(got - v) < 1e-6 for v in vals)), None)
            if hit == "first":
                fail(
                    f"{what} You scored the first token too. It has no previous token, so no green list: a text of n"
                    " tokens has T = n − 1 scored tokens (and tokens[i − 1] at i = 0 is tokens[−1] in Python)."
                )
            if hit == "swapped":
                fail(
                    f"{what} The green list is chosen by the *previous* token: call is_green(tokens[i − 1], tokens[i])."
                )
            if hit in ("no sqrt", "sqrt T only", "variance γT"):
                fail(
                    f"{what} Check the denominator: the green count of T fair coin flips of probability γ has variance"
                    " Tγ(1 − γ), and z divides by its square root, √(Tγ(1 − γ))."
                )
            if hit == "fraction":
                fail(
                    f"{what} You used the green *fraction* |s|_G / T in the numerator. Either use the count,"
                    " (|s|_G − γT) / √(Tγ(1 − γ)), or divide the fraction's deviation by its own standard deviation √(γ(1 − γ)/T)."
                )
            fail(
                f"{what} Count the green tokens |s|_G among tokens 1 … n − 1 (T = n − 1), then (|s|_G − γT) / √(Tγ(1 − γ))."
            )
        return "Correct: z counts standard deviations above what text written without the key would show."

    return run_check(body)
