"""Picking one of n samples and the overlap of two score distributions."""

import itertools

import numpy as np
import pytest

from genai_course.codex.passk import mean_pass_at_k
from genai_course.codex.ranking import (
    best_temperature,
    oracle,
    pick_by_score,
    prob_higher,
    random_pick,
    scores_by_text,
)


def test_pick_by_score_takes_the_best_and_averages_ties():
    passed = [[False, True, False], [True, False, False], [True, False, True, False]]
    scores = [[0.1, 0.9, 0.2], [-1.0, 0.5, 0.5], [2.0, 2.0, 2.0, 1.0]]
    # problem 0: the best passes (1); problem 1: two tied best, neither passes (0); problem 2: 2 of 3 tied pass
    assert pick_by_score(passed, scores) == pytest.approx((1 + 0 + 2 / 3) / 3)


def test_equal_scores_give_the_random_pick_which_is_pass_at_1():
    rng = np.random.default_rng(0)
    passed = [list(rng.random(7) < p) for p in (0.1, 0.5, 0.9, 0.0)]
    flat = [[0.0] * len(v) for v in passed]
    assert pick_by_score(passed, flat) == pytest.approx(random_pick(passed))
    assert random_pick(passed) == pytest.approx(mean_pass_at_k(7, [sum(v) for v in passed], 1))
    assert oracle(passed) == pytest.approx(mean_pass_at_k(7, [sum(v) for v in passed], 7))


def test_pick_by_score_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        pick_by_score([[True]], [[0.1, 0.2]])
    with pytest.raises(ValueError):
        pick_by_score([[True]], [])


def test_prob_higher_equals_counting_all_pairs():
    rng = np.random.default_rng(1)
    for _ in range(20):
        x = rng.integers(0, 5, rng.integers(1, 8)).tolist()  # small integers: many ties
        y = rng.integers(0, 5, rng.integers(1, 8)).tolist()
        pairs = [(a > b) + 0.5 * (a == b) for a, b in itertools.product(x, y)]
        assert prob_higher(x, y) == pytest.approx(np.mean(pairs))
    assert prob_higher([3, 4], [1, 2]) == 1.0
    assert prob_higher([1], [1]) == 0.5
    with pytest.raises(ValueError):
        prob_higher([], [1])


def test_scores_by_text_scores_each_distinct_text_once():
    seen = []

    def score(texts):
        seen.append(list(texts))
        return [float(len(t)) for t in texts]

    assert scores_by_text(score, ["ab", "a", "ab", "abc", "a"]) == [2.0, 1.0, 2.0, 3.0, 1.0]
    assert seen == [["ab", "a", "abc"]]


def test_best_temperature_prefers_the_lowest_on_a_tie():
    assert best_temperature({0.2: 0.5, 0.8: 0.7, 1.0: 0.6}) == 0.8
    assert best_temperature({0.2: 0.7, 0.8: 0.7}) == 0.2
