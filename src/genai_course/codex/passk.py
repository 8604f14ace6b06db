r"""pass@k: the chance that at least one of k samples of a program passes its unit tests.

Codex (Chen et al. 2021, §2.1) grades a code model by *functional correctness*: sample programs
for a problem, run each against hidden unit tests, and ask how likely it is that at least one of
k samples passes. If one sample passes with probability p, the truth is

    pass@k = 1 − (1 − p)^k.

p is unknown. Drawing exactly k samples per problem and counting the problems solved works, but
has high variance. The paper instead draws n ≥ k samples, counts the c that pass, and estimates
pass@k by the chance that k samples drawn *without replacement* from those n include a passing
one:

    pass@k ≈ 1 − C(n − c, k) / C(n, k)                    (Chen et al. 2021, eq. 1)

This estimator is **unbiased**: averaged over the binomial distribution of c it equals
1 − (1 − p)^k exactly (:func:`expected_estimate` checks it in exact rational arithmetic). The
tempting plug-in estimate p̂ = c / n, pass@k ≈ 1 − (1 − p̂)^k (:func:`naive_pass_at_k`), is
**biased low** for k > 1: 1 − (1 − x)^k is concave in x, so by Jensen's inequality its mean
over the noise in p̂ is below its value at the true p.

Written with factorials the ratio overflows a float (200! ≈ 10³⁷⁵, floats end near 10³⁰⁸);
Python's exact integers (``math.comb``) cope, but numpy's floats do not. The paper therefore
computes the ratio as a product of terms in [0, 1]:

    C(n − c, k) / C(n, k) = ∏_{i = n−c+1}^{n} (1 − k / i),

whose partial products never leave [0, 1]. All estimators here take ``n`` samples of which ``c`` passed.

Reference: M. Chen et al., "Evaluating Large Language Models Trained on Code", arXiv:2107.03374.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from numbers import Integral, Rational

import numpy as np


def _check_counts(n, c, k) -> tuple[int, int, int]:
    """Validate one (n, c, k): integers with 1 ≤ k ≤ n and 0 ≤ c ≤ n, or a ValueError saying which."""
    for name, value in (("n", n), ("c", c), ("k", k)):
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise ValueError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    n, c, k = int(n), int(c), int(k)
    if n < 1:
        raise ValueError(f"n (the number of samples) must be at least 1, got n={n}")
    if not 0 <= c <= n:
        raise ValueError(f"c (the number of correct samples) must be between 0 and n={n}, got c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and n={n}: pass@k needs at least k samples, got k={k}")
    return n, c, k


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of pass@k from ``n`` samples of which ``c`` passed (Chen et al. 2021, eq. 1)."""
    n, c, k = _check_counts(n, c, k)
    if n - c < k:  # every k-subset contains a passing sample: C(n − c, k) = 0
        return 1.0
    # 1 − C(n−c, k)/C(n, k) = 1 − ∏_{i=n−c+1}^{n} (1 − k/i): the paper's numerically stable form
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_exact(n: int, c: int, k: int) -> Fraction:
    """eq. 1 in exact rational arithmetic, 1 − C(n − c, k) / C(n, k): the definition, for checking."""
    n, c, k = _check_counts(n, c, k)
    return 1 - Fraction(math.comb(n - c, k), math.comb(n, k))  # math.comb(m, k) is 0 when k > m


def naive_pass_at_k(n: int, c: int, k: int) -> float:
    """The biased plug-in estimate 1 − (1 − c/n)^k: the truth's formula with p replaced by p̂ = c/n."""
    n, c, k = _check_counts(n, c, k)
    return 1.0 - (1.0 - c / n) ** k


def pass_at_k_per_problem(num_samples: int | Sequence[int], num_correct: Sequence[int], k: int) -> np.ndarray:
    """eq. 1 for every problem at once → (problems,) float64.

    ``num_samples`` is one n for all problems or one per problem; ``num_correct`` holds each
    problem's c. Vectorised through cumulative sums of log(1 − k/i): the log of the product
    ∏_{i=n−c+1}^{n} (1 − k/i) is S[n] − S[n − c] with S[m] = Σ_{i=k+1}^{m} log(1 − k/i).
    """
    correct = np.asarray(num_correct)
    if correct.ndim != 1 or len(correct) == 0:
        raise ValueError(f"num_correct must be a non-empty 1-D sequence of counts, got shape {correct.shape}")
    samples = np.asarray(num_samples)
    if samples.ndim == 0:  # one n for every problem
        samples = np.full(correct.shape, samples)
    elif samples.shape != correct.shape:
        raise ValueError(
            f"num_samples must be one number or one per problem: got {samples.shape} counts for "
            f"{correct.shape[0]} problems"
        )
    for name, values in (("num_samples", samples), ("num_correct", correct)):
        if not np.issubdtype(values.dtype, np.integer):
            raise ValueError(f"{name} must hold integers, got dtype {values.dtype}")
    if isinstance(k, bool) or not isinstance(k, Integral):
        raise ValueError(f"k must be an integer, got {k!r} ({type(k).__name__})")
    bad = np.flatnonzero((samples < 1) | (correct < 0) | (correct > samples) | (samples < k))
    first = int(bad[0]) if len(bad) else 0
    try:  # one scalar check gives the message; all problems are valid when problem `first` is
        _check_counts(int(samples[first]), int(correct[first]), int(k))
    except ValueError as err:
        raise ValueError(f"problem {first}: {err}") from None
    n, c = samples.astype(np.int64), correct.astype(np.int64)
    # S[m] for m = 0 … max n; terms with i ≤ k never enter (n − c ≥ k is checked below), so they are 0
    i = np.arange(int(n.max()) + 1, dtype=np.float64)
    terms = np.zeros_like(i)
    terms[k + 1 :] = np.log1p(-k / i[k + 1 :])
    cumulative = np.cumsum(terms)
    all_subsets_pass = n - c < k
    start = np.where(all_subsets_pass, n, n - c)  # any valid index; the result is overwritten with 1
    # 1 − exp(log ∏ ...) via expm1, accurate when the product is near 1 (few correct samples)
    estimates = 0.0 - np.expm1(cumulative[n] - cumulative[start])  # 0.0 − x, not −x: no −0.0
    return np.where(all_subsets_pass, 1.0, estimates)


def mean_pass_at_k(num_samples: int | Sequence[int], num_correct: Sequence[int], k: int) -> float:
    """The benchmark's pass@k: eq. 1 averaged over problems (see :func:`pass_at_k_per_problem`)."""
    return float(pass_at_k_per_problem(num_samples, num_correct, k).mean())


def true_pass_at_k(p: float | Rational, k: int) -> float | Rational:
    """What the estimators estimate: 1 − (1 − p)^k for a per-sample pass probability ``p``."""
    if not 0 <= p <= 1:
        raise ValueError(f"p must be a probability in [0, 1], got {p}")
    return 1 - (1 - p) ** k


def expected_estimate(estimator: Callable[[int, int, int], float], p: float | Rational, n: int, k: int):
    """E_c[estimator(n, c, k)] for c ~ Binomial(n, p), summed exactly over all n + 1 values of c.

    With a :class:`~fractions.Fraction` ``p`` and an exact estimator (:func:`pass_at_k_exact`)
    the result is an exact Fraction, so unbiasedness is an equality, not a tolerance.
    """
    _check_counts(n, 0, k)
    if not 0 <= p <= 1:
        raise ValueError(f"p must be a probability in [0, 1], got {p}")
    return sum(math.comb(n, c) * p**c * (1 - p) ** (n - c) * estimator(n, c, k) for c in range(n + 1))


def expected_naive(p: float, n: int, k: int) -> float:
    """E_c[naive estimate]: below :func:`true_pass_at_k` for k > 1 and 0 < p < 1 (Jensen)."""
    return expected_estimate(naive_pass_at_k, p, n, k)


def expected_unbiased(p: float, n: int, k: int) -> float:
    """E_c[eq. 1]: equal to :func:`true_pass_at_k` (up to float rounding) for every p, n ≥ k."""
    return expected_estimate(pass_at_k, p, n, k)


__all__ = [
    "expected_estimate",
    "expected_naive",
    "expected_unbiased",
    "mean_pass_at_k",
    "naive_pass_at_k",
    "pass_at_k",
    "pass_at_k_exact",
    "pass_at_k_per_problem",
    "true_pass_at_k",
]
