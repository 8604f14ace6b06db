"""Pairwise human evaluation: intervals, Elo, Bradley–Terry, power, and the Elo-update checker."""

import math

import numpy as np
import pytest

from genai_course.exercises.preferences import check_elo_update
from genai_course.metrics import preferences as P

# --- votes and raters ------------------------------------------------------------------------------


def test_rater_probabilities_sum_to_one_and_favour_the_better_image():
    p_a, p_tie, p_b = P.rater_probabilities(np.array([0.0, 0.5, 1.0]), np.array([0.5, 0.5, 0.0]))
    assert np.allclose(p_a + p_tie + p_b, 1) and (p_tie >= 0).all()
    assert p_a[0] < p_b[0] and p_a[2] > p_b[2]
    assert p_a[1] == pytest.approx(p_b[1]) and p_tie[1] == pytest.approx(math.tanh(0.5))


def test_simulated_votes_are_seeded_and_follow_quality():
    quality = np.array([[1.0] * 40, [0.5] * 40, [0.5] * 40])
    first = P.simulate_votes(quality, np.random.default_rng(1), raters=5)
    again = P.simulate_votes(quality, np.random.default_rng(1), raters=5)
    assert len(first) == 40 * 3 * 5 and np.array_equal(first.score_a, again.score_a)
    assert np.mean(first.between(0, 1)) > 0.8  # the better model wins most votes
    assert abs(np.mean(first.between(1, 2)) - 0.5) < 0.1  # equal models split
    ties = np.mean(first.between(1, 2) == 0.5)
    assert abs(ties - math.tanh(0.5)) < 0.12
    assert 0.3 < np.mean(first.a == 0) < 0.7, "the order of the two images is random"


def test_bad_input_is_named():
    with pytest.raises(TypeError, match="numpy Generator"):
        P.simulate_votes(np.zeros((2, 3)), rng=0)
    with pytest.raises(ValueError, match="m ≥ 2"):
        P.simulate_votes(np.zeros(3), np.random.default_rng(0))
    with pytest.raises(ValueError, match="score_a"):
        P.Votes(np.array([0]), np.array([1]), np.array([0.7]), np.array([0]))
    with pytest.raises(ValueError, match="ties"):
        P.win_rate([1, 0], ties="ignore")
    with pytest.raises(ValueError, match="0 ≤ k ≤ n"):
        P.wilson_interval(5, 3)


# --- win rate and intervals ------------------------------------------------------------------------


def test_ties_half_or_dropped():
    scores = [1, 1, 1, 0, 0.5, 0.5]
    assert P.win_rate(scores, "half") == (4.0, 6.0)
    assert P.win_rate(scores, "drop") == (3.0, 4.0)


def test_wilson_matches_a_hand_computed_value():
    # k = 8 of n = 10, z = 1.959964: centre (0.8 + z²/20) / (1 + z²/10), half z·√(0.016 + z²/400) / (1 + z²/10)
    z = 1.959963984540054
    centre = (0.8 + z**2 / 20) / (1 + z**2 / 10)
    half = z * math.sqrt(0.8 * 0.2 / 10 + z**2 / 400) / (1 + z**2 / 10)
    lo, hi = P.wilson_interval(8, 10)
    assert (lo, hi) == pytest.approx((centre - half, centre + half), abs=1e-12)
    assert (lo, hi) == pytest.approx((0.4902, 0.9433), abs=1e-4)  # the textbook value
    assert P.wilson_interval(0, 10)[0] == 0 and P.wilson_interval(0, 10)[1] > 0.2
    assert P.normal_interval(0, 10) == (0.0, 0.0)


def test_wilson_interval_is_the_set_of_p_the_score_test_accepts():
    k, n, z = 13, 40, 1.959963984540054
    lo, hi = P.wilson_interval(k, n)
    for p in (lo, hi):
        assert abs(k / n - p) == pytest.approx(z * math.sqrt(p * (1 - p) / n), abs=1e-10)


def test_binomial_pmf_and_exact_coverage():
    pmf = P.binomial_pmf(30, 0.3)
    assert pmf.sum() == pytest.approx(1) and pmf[9] == pytest.approx(math.comb(30, 9) * 0.3**9 * 0.7**21)
    # the Wilson interval keeps close to 95 % where the normal one falls well short
    for p, n in ((0.05, 40), (0.1, 30), (0.9, 50)):
        assert P.coverage(P.wilson_interval, p, n) > 0.90
        assert P.coverage(P.normal_interval, p, n) < P.coverage(P.wilson_interval, p, n)


def test_exact_coverage_agrees_with_simulation():
    rng = np.random.default_rng(0)
    p, n = 0.1, 30
    k = rng.binomial(n, p, size=20_000)
    simulated = np.mean([lo <= p <= hi for lo, hi in (P.wilson_interval(x, n) for x in k)])
    assert simulated == pytest.approx(P.coverage(P.wilson_interval, p, n), abs=0.01)


# --- Elo ---------------------------------------------------------------------------------------------


def test_elo_update_known_values_and_zero_sum():
    assert P.elo_update(1000, 1000, 1) == pytest.approx((1016, 984))
    r_a, r_b = P.elo_update(1200, 1000, 0)
    e_a = 1 / (1 + 10 ** (-200 / 400))
    assert r_a == pytest.approx(1200 - 32 * e_a) and r_a + r_b == pytest.approx(2200)
    assert P.expected_score(1400, 1000) == pytest.approx(10 / 11)


def test_online_elo_depends_on_order():
    rng = np.random.default_rng(0)
    votes = P.simulate_votes(rng.random((3, 30)), rng)
    ratings = [P.online_elo(votes, 3, order=rng.permutation(len(votes))) for _ in range(5)]
    assert all(r.sum() == pytest.approx(3000) for r in ratings)
    assert np.ptp(np.array(ratings), axis=0).max() > 1.0


# --- Bradley–Terry ------------------------------------------------------------------------------------


def _sklearn_bradley_terry(wins):
    from sklearn.linear_model import LogisticRegression

    m = len(wins)
    rows, labels, weights = [], [], []
    for i in range(m):
        for j in range(m):
            if i != j and wins[i, j] > 0:
                x = np.zeros(m)
                x[i], x[j] = 1.0, -1.0  # the ±1 design matrix: i won against j
                rows += [x, -x]  # both classes, as LMSYS's fit does: the same likelihood, counted twice
                labels += [1, 0]
                weights += [wins[i, j], wins[i, j]]
    fit = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-12, max_iter=100_000)
    fit.fit(np.array(rows), np.array(labels), sample_weight=np.array(weights))
    return fit.coef_[0] - fit.coef_[0].mean()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mm_equals_logistic_regression(seed):
    rng = np.random.default_rng(seed)
    votes = P.simulate_votes(rng.random((5, 30)), rng)
    wins = P.win_matrix(votes, 5)
    log_p = np.log(P.bradley_terry(wins))
    assert log_p.mean() == pytest.approx(0, abs=1e-12)
    assert np.abs(log_p - _sklearn_bradley_terry(wins)).max() < 1e-4


def test_bradley_terry_recovers_known_strengths():
    rng = np.random.default_rng(0)
    true = np.array([1.0, 2.0, 0.5, 4.0])
    m = len(true)
    wins = np.zeros((m, m))
    for i in range(m):
        for j in range(i + 1, m):
            k = rng.binomial(20_000, true[i] / (true[i] + true[j]))
            wins[i, j], wins[j, i] = k, 20_000 - k
    got = P.bradley_terry(wins)
    assert np.allclose(got / got[0], true, rtol=0.03)
    ratings = P.elo_scale(got, anchor=0)
    assert ratings[0] == 1000 and ratings[3] == pytest.approx(1000 + 400 * math.log10(4), abs=10)


def test_bradley_terry_scale_and_ties():
    wins = np.array([[0, 3], [1, 0]])
    p = P.bradley_terry(wins)
    assert p[0] / (p[0] + p[1]) == pytest.approx(0.75)  # two models: the win rate itself
    votes = P.Votes(np.array([0, 0, 1]), np.array([1, 1, 0]), np.array([1.0, 0.5, 0.5]), np.zeros(3, int))
    assert P.win_matrix(votes, 2, "half")[0, 1] == 2.0 and P.win_matrix(votes, 2, "half")[1, 0] == 1.0
    assert P.win_matrix(votes, 2, "drop")[0, 1] == 1.0 and P.win_matrix(votes, 2, "drop")[1, 0] == 0.0


def test_bradley_terry_without_a_maximum_is_refused():
    undefeated = np.array([[0, 5, 5], [0, 0, 2], [0, 2, 0]])
    with pytest.raises(ValueError, match="does not exist"):
        P.bradley_terry(undefeated)
    with pytest.raises(ValueError, match="square"):
        P.bradley_terry(np.ones((2, 3)))


def test_bootstrap_intervals_cover_the_fit():
    rng = np.random.default_rng(0)
    votes = P.simulate_votes(np.array([[1.0] * 30, [0.6] * 30, [0.3] * 30]), rng)
    boot = P.bootstrap_ratings(votes, 3, rng, n_boot=100)
    fit = P.elo_scale(P.bradley_terry(P.win_matrix(votes, 3)))
    lo, hi = np.percentile(boot, [2.5, 97.5], axis=0)
    assert (boot[:, 0] == 1000).all() and ((lo[1:] < fit[1:]) & (fit[1:] < hi[1:])).all()
    assert hi[2] < lo[1] or fit[2] < fit[1]
    by_prompt = P.bootstrap_ratings(votes, 3, rng, n_boot=100, resample="prompt")
    assert (by_prompt[:, 0] == 1000).all() and np.isfinite(by_prompt).all()
    with pytest.raises(ValueError, match="resample"):
        P.bootstrap_ratings(votes, 3, rng, resample="rater")


# --- power -------------------------------------------------------------------------------------------


def test_votes_needed_closed_form():
    # p = 0.6: ((1.96·0.5 + 0.8416·√0.24) / 0.1)² ≈ 193.6
    assert P.votes_needed(0.6) == pytest.approx(193.6, abs=0.5)
    assert P.votes_needed(0.52) > P.votes_needed(0.55) > P.votes_needed(0.7)
    for p in (0.52, 0.6, 0.3):
        assert P.approximate_power(p, P.votes_needed(p)) == pytest.approx(0.8, abs=1e-9)
    with pytest.raises(ValueError, match="not 0.5"):
        P.votes_needed(0.5)


def test_simulated_power_agrees_with_the_closed_form():
    rng = np.random.default_rng(0)
    for p in (0.55, 0.7):
        n = P.simulated_votes_needed(p, rng)
        assert n == pytest.approx(P.votes_needed(p), rel=0.15)
        assert P.simulated_power(p, int(2 * n), rng) > 0.9
    assert P.simulated_power(0.5, 400, rng) == pytest.approx(0.05, abs=0.015)


# --- the checker ----------------------------------------------------------------------------------------


def reference(r_a, r_b, score_a, k=32):
    e_a = 1 / (1 + 10 ** ((r_b - r_a) / 400))
    return r_a + k * (score_a - e_a), r_b - k * (score_a - e_a)


def not_attempted(r_a, r_b, score_a, k=32):
    raise NotImplementedError()


def test_checker_accepts_correct_answers():
    assert check_elo_update(reference)
    assert check_elo_update(lambda r_a, r_b, s, k=32: list(P.elo_update(r_a, r_b, s, k)))
    assert check_elo_update(lambda r_a, r_b, s, k=32: tuple(np.array(reference(r_a, r_b, s, k))))


def test_checker_reports_not_attempted():
    feedback = check_elo_update(not_attempted)
    assert not feedback and "Not attempted" in feedback.message
    assert not check_elo_update(None)


def _with_expected(expected, b_sign=-1.0, use_k=True, swap=False):
    def elo(r_a, r_b, s, k=32):
        change = (k if use_k else 1) * (s - expected(r_a, r_b))
        out = (r_a + change, r_b + b_sign * change)
        return out[::-1] if swap else out

    return elo


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (_with_expected(lambda a, b: 1 / (1 + 10 ** ((a - b) / 400))), "wrong sign"),
        (_with_expected(lambda a, b: 1 / (1 + math.exp((b - a) / 400))), "base e"),
        (_with_expected(lambda a, b: 1 / (1 + 10.0 ** (b - a))), "divided by 400"),
        (_with_expected(lambda a, b: 1 / (1 + 10 ** ((b - a) / 400)), b_sign=1.0), "what a gains, b loses"),
        (_with_expected(lambda a, b: 1 / (1 + 10 ** ((b - a) / 400)), b_sign=0.0), "did not change"),
        (_with_expected(lambda a, b: 1 / (1 + 10 ** ((b - a) / 400)), use_k=False), "K-factor"),
        (_with_expected(lambda a, b: 1 / (1 + 10 ** ((b - a) / 400)), swap=True), "swapped"),
        (lambda r_a, r_b, s, k=32: r_a + k * (s - 0.5), "return a pair"),
        (lambda r_a, r_b, s, k=4: reference(r_a, r_b, s, k), "default must be 32"),
        (lambda r_a, r_b, s, k=32: (r_a + 1, r_b - 1), "expected ("),
        (lambda r_a, r_b, s, k=32: (float("nan"), r_b), "finite"),
    ],
)
def test_checker_names_typical_mistakes(wrong, hint):
    feedback = check_elo_update(wrong)
    assert not feedback and hint in feedback.message, feedback.message


def test_checker_reports_an_error_in_student_code():
    def broken(r_a, r_b, s, k=32):
        return r_a / 0

    feedback = check_elo_update(broken)
    assert not feedback and "ZeroDivisionError" in feedback.message
