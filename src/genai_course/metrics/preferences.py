"""Human evaluation by pairwise preference: simulated raters, win rates with intervals, and ratings.

A rater sees two images made for the same prompt and says which is better, or "not sure". From
many such votes we estimate:

- a **win rate** with a 95 % confidence interval (the Wilson score interval; the normal one beside it);
- **ratings** for every model at once, as chatbot arenas compute them (Chiang et al. 2024): online
  Elo (Elo 1978) and the Bradley–Terry model (Bradley & Terry 1952) fitted by maximum likelihood
  with the MM algorithm of Hunter (2004), with bootstrap intervals;
- how many votes it takes to tell two models apart (power analysis).

The raters here are simulated from the course judge, so every vote has a known cause; see
:func:`simulate_votes` for what such a rater can and cannot stand in for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

TIES = ("half", "drop")


def _rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    return rng


def _z(alpha: float) -> float:
    """The two-sided critical value z_{1−α/2} of the standard normal (1.96 for α = 0.05)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    return NormalDist().inv_cdf(1 - alpha / 2)


# ----------------------------------------------------------------------------------------------
# Votes
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Votes:
    """Pairwise votes, one entry per vote (v,): models ``a`` and ``b`` (indices), ``score_a`` 1 when
    a won, 0 when b won and 0.5 when the rater was not sure, and the ``prompt`` index it was about."""

    a: np.ndarray
    b: np.ndarray
    score_a: np.ndarray
    prompt: np.ndarray

    def __post_init__(self):
        n = len(self.a)
        if not (len(self.b) == len(self.score_a) == len(self.prompt) == n):
            raise ValueError("a, b, score_a and prompt must have one entry per vote (the same length)")
        if n and np.any(self.a == self.b):
            raise ValueError("a vote compares two different models: found a == b")
        if n and not np.isin(self.score_a, (0.0, 0.5, 1.0)).all():
            raise ValueError("score_a must be 1 (a won), 0 (b won) or 0.5 (not sure)")

    def __len__(self) -> int:
        return len(self.a)

    def take(self, index) -> Votes:
        """The votes at ``index`` (an integer array or a boolean mask), in that order."""
        return Votes(self.a[index], self.b[index], self.score_a[index], self.prompt[index])

    def between(self, i: int, j: int) -> np.ndarray:
        """Model i's score in each vote between models i and j: 1, 0.5 or 0 (v_ij,)."""
        forward, backward = (self.a == i) & (self.b == j), (self.a == j) & (self.b == i)
        return np.concatenate([self.score_a[forward], 1 - self.score_a[backward]])


def judged_quality(images, prompts) -> np.ndarray:
    """The fraction of each prompt's named attributes that the course judge finds right (n,), in [0, 1].

    The attributes are those of :func:`genai_course.data.shapes.attribute_accuracy`: colour, shape,
    count (and nothing else in the picture), and size or position when the prompt names them.
    """
    from ..data.shapes import attribute_accuracy

    if len(images) != len(prompts):
        raise ValueError(f"got {len(images)} images but {len(prompts)} prompts")
    out = []
    for i in range(len(prompts)):
        verdict = attribute_accuracy(images[i : i + 1], [prompts[i]])
        named = [v for key, v in verdict.items() if key != "prompt" and not math.isnan(v)]
        out.append(float(np.mean(named)))
    return np.array(out)


def rater_probabilities(quality_a, quality_b, sharpness: float = 8.0, indifference: float = 1.0):
    """P(a preferred), P(not sure), P(b preferred) for a rater comparing qualities in [0, 1].

    A thresholded logistic rater (a Bradley–Terry comparison with a tie zone, as in Rao and Kupper's
    model for ties): with d = quality_a − quality_b,

        P(a) = σ(β·d − θ),   P(b) = σ(−β·d − θ),   P(not sure) = 1 − P(a) − P(b),

    β = ``sharpness`` (how strongly a difference shows) and θ = ``indifference`` (how readily the
    rater says "not sure"; at d = 0 that happens with probability tanh(θ/2)).
    """
    if sharpness < 0 or indifference < 0:
        raise ValueError(f"sharpness and indifference must be ≥ 0, got {sharpness!r} and {indifference!r}")
    d = np.asarray(quality_a, dtype=float) - np.asarray(quality_b, dtype=float)
    p_a = 1 / (1 + np.exp(-(sharpness * d - indifference)))
    p_b = 1 / (1 + np.exp(-(-sharpness * d - indifference)))
    return p_a, 1 - p_a - p_b, p_b


def simulate_votes(
    quality, rng, raters: int = 3, sharpness: float = 8.0, indifference: float = 1.0, pairs=None
) -> Votes:
    """Votes of simulated raters on every pair of models for every prompt.

    ``quality`` (m n): the judged quality of model i's image for prompt p. Each of ``raters`` raters
    votes on each pair (or only on ``pairs``, a list of (i, j)) for each prompt, drawing from
    :func:`rater_probabilities`; which model is shown as ``a`` is a coin flip.

    Such a rater stands in for a person who checks the prompt's words against the picture. It
    cannot capture what people add: taste (a nicer picture with one attribute wrong), disagreement
    between people, a bias for the left image, fatigue, or anything the judge cannot see.
    """
    rng = _rng(rng)
    quality = np.asarray(quality, dtype=float)
    if quality.ndim != 2 or quality.shape[0] < 2:
        raise ValueError(f"quality must be (m n) with m ≥ 2 models, got shape {quality.shape}")
    if isinstance(raters, bool) or not isinstance(raters, int) or raters < 1:
        raise ValueError(f"raters must be an int ≥ 1, got {raters!r}")
    m, n = quality.shape
    pairs = [(i, j) for i in range(m) for j in range(i + 1, m)] if pairs is None else list(pairs)
    if not pairs or any(not (0 <= i < m and 0 <= j < m and i != j) for i, j in pairs):
        raise ValueError(f"pairs must be (i, j) of two different models among 0..{m - 1}, got {pairs!r}")
    i, j = np.array(pairs).T  # (pairs,)
    first = np.repeat(np.tile(i, n), raters)  # (v,) votes ordered by prompt, pair, rater
    second = np.repeat(np.tile(j, n), raters)
    prompt = np.repeat(np.repeat(np.arange(n), len(pairs)), raters)
    swap = rng.random(len(first)) < 0.5  # which image is shown as "a"
    a, b = np.where(swap, second, first), np.where(swap, first, second)
    p_a, p_tie, _ = rater_probabilities(quality[a, prompt], quality[b, prompt], sharpness, indifference)
    u = rng.random(len(a))
    score_a = np.where(u < p_a, 1.0, np.where(u < p_a + p_tie, 0.5, 0.0))
    return Votes(a, b, score_a, prompt)


# ----------------------------------------------------------------------------------------------
# A win rate and its interval
# ----------------------------------------------------------------------------------------------


def win_rate(scores, ties: str = "half") -> tuple[float, float]:
    """(wins, n) from one model's scores (v,) of 1, 0.5 (not sure) and 0.

    ``ties="half"`` counts "not sure" as half a win and keeps every vote; ``ties="drop"`` leaves those
    votes out, so n is the number of decided votes. The win rate is wins / n either way.
    """
    scores = np.asarray(scores, dtype=float)
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    if ties == "drop":
        scores = scores[scores != 0.5]
    return float(scores.sum()), float(len(scores))


def _check_counts(k, n) -> None:
    if not (n > 0 and 0 <= k <= n):
        raise ValueError(f"need 0 ≤ k ≤ n and n > 0 (k successes of n votes), got k={k!r}, n={n!r}")


def normal_interval(k, n, alpha: float = 0.05) -> tuple[float, float]:
    """The normal-approximation (Wald) interval p̂ ± z·√(p̂(1−p̂)/n), clipped to [0, 1]."""
    _check_counts(k, n)
    p, z = k / n, _z(alpha)
    half = z * math.sqrt(p * (1 - p) / n)
    return max(0.0, p - half), min(1.0, p + half)


def wilson_interval(k, n, alpha: float = 0.05) -> tuple[float, float]:
    """The Wilson score interval: every p for which |p̂ − p| ≤ z·√(p(1−p)/n), solved for p:

        (p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n).

    Unlike the normal interval it never has zero width at p̂ = 0 or 1 and stays inside [0, 1].
    """
    _check_counts(k, n)
    p, z = k / n, _z(alpha)
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo, hi = (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)
    # at k = 0 (k = n) the bound is exactly 0 (1); computed, it can miss by a rounding error
    return (0.0 if k == 0 else lo), (1.0 if k == n else hi)


def binomial_pmf(n: int, p: float) -> np.ndarray:
    """P(K = k) for k = 0..n, K ~ Binomial(n, p), computed in log space so large n is safe (n+1,)."""
    k = np.arange(n + 1)
    log_choose = np.array([math.lgamma(n + 1) - math.lgamma(x + 1) - math.lgamma(n - x + 1) for x in k])
    with np.errstate(divide="ignore"):
        log_p = log_choose + k * np.log(p) + (n - k) * np.log1p(-p)
    return np.exp(log_p)


def coverage(interval, p: float, n: int, alpha: float = 0.05) -> float:
    """The exact probability that ``interval(k, n, alpha)`` contains p when K ~ Binomial(n, p)."""
    if not 0 < p < 1:
        raise ValueError(f"p must be in (0, 1), got {p!r}")
    pmf = binomial_pmf(n, p)
    covers = [lo <= p <= hi for lo, hi in (interval(k, n, alpha) for k in range(n + 1))]
    return float(pmf[np.array(covers)].sum())


# ----------------------------------------------------------------------------------------------
# Ratings: online Elo and Bradley–Terry
# ----------------------------------------------------------------------------------------------


def expected_score(r_a, r_b, scale: float = 400.0, base: float = 10.0):
    """Elo's expected score of a against b: E_a = 1 / (1 + base^((r_b − r_a) / scale))."""
    return 1 / (1 + base ** ((np.asarray(r_b, dtype=float) - np.asarray(r_a, dtype=float)) / scale))


def elo_update(r_a: float, r_b: float, score_a: float, k: float = 32.0) -> tuple[float, float]:
    """One Elo update (Elo 1978): r_a' = r_a + K (S_a − E_a), r_b' = r_b − K (S_a − E_a).

    What a gains b loses, so the sum of ratings never changes.
    """
    if score_a not in (0, 0.5, 1):
        raise ValueError(f"score_a must be 1 (a won), 0.5 (not sure) or 0 (b won), got {score_a!r}")
    change = k * (score_a - float(expected_score(r_a, r_b)))
    return r_a + change, r_b - change


def online_elo(votes: Votes, m: int, k: float = 32.0, initial: float = 1000.0, order=None) -> np.ndarray:
    """Ratings (m,) after one pass of :func:`elo_update` over the votes, in ``order`` (default: as stored).

    The result depends on the order: the last votes move the ratings most.
    """
    ratings = np.full(m, float(initial))
    for v in range(len(votes)) if order is None else order:
        a, b = votes.a[v], votes.b[v]
        ratings[a], ratings[b] = elo_update(ratings[a], ratings[b], float(votes.score_a[v]), k)
    return ratings


def win_matrix(votes: Votes, m: int, ties: str = "half") -> np.ndarray:
    """W (m m): W[i, j] = the votes i won against j; a "not sure" counts half to each (``ties="half"``)
    or not at all (``ties="drop"``)."""
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    if len(votes) and max(votes.a.max(), votes.b.max()) >= m:
        raise ValueError(f"votes name a model index ≥ m = {m}")
    keep = np.ones(len(votes), bool) if ties == "half" else votes.score_a != 0.5
    wins = np.zeros((m, m))
    np.add.at(wins, (votes.a[keep], votes.b[keep]), votes.score_a[keep])
    np.add.at(wins, (votes.b[keep], votes.a[keep]), 1 - votes.score_a[keep])
    return wins


def _strongly_connected(beats: np.ndarray) -> bool:
    """Can every model be reached from every other along "i beat j at least once" edges?"""
    reach = beats | np.eye(len(beats), dtype=bool)
    for _ in range(len(beats)):
        reach = reach | ((reach.astype(int) @ reach.astype(int)) > 0)
    return bool(reach.all())


def bradley_terry(wins, max_iter: int = 100_000, tol: float = 1e-12) -> np.ndarray:
    """Bradley–Terry strengths (m,) by maximum likelihood, with Hunter's (2004) MM algorithm.

    Model: P(i beats j) = p_i / (p_i + p_j). ``wins`` (m m) holds W[i, j], the (possibly fractional)
    wins of i over j. Each MM step (Hunter 2004) is

        p_i ← W_i / Σ_{j≠i} N_ij / (p_i + p_j),   W_i = Σ_j W[i, j],  N_ij = W[i, j] + W[j, i],

    which never decreases the likelihood; the p are then rescaled to geometric mean 1 (only ratios
    are identified). The maximum exists only if the "beat" graph is strongly connected (every model
    beat, and lost to, some chain of others); otherwise this raises ValueError.
    """
    wins = np.asarray(wins, dtype=float)
    if wins.ndim != 2 or wins.shape[0] != wins.shape[1] or wins.shape[0] < 2:
        raise ValueError(f"wins must be a square (m m) matrix with m ≥ 2, got shape {wins.shape}")
    if (wins < 0).any() or not np.isfinite(wins).all():
        raise ValueError("wins must be finite and ≥ 0")
    wins = wins * (1 - np.eye(len(wins)))  # a model does not play itself
    if not _strongly_connected(wins > 0):
        raise ValueError(
            "the Bradley–Terry maximum does not exist: some group of models never lost (or never won) "
            "against the rest, so its strength would go to infinity; collect more votes or add a prior"
        )
    games, total = wins + wins.T, wins.sum(1)  # N_ij (m m), W_i (m,)
    p = np.ones(len(wins))
    for _ in range(max_iter):
        new = total / (games / (p[:, None] + p[None, :])).sum(1)
        new = new / np.exp(np.log(new).mean())  # geometric mean 1
        done = np.abs(np.log(new) - np.log(p)).max() < tol
        p = new
        if done:
            break
    return p


def elo_scale(strengths, anchor: int = 0, anchor_rating: float = 1000.0) -> np.ndarray:
    """Strengths on the Elo scale: 400·log10(p_i / p_anchor) + anchor_rating, so that a 400-point gap
    means 10-to-1 odds, as Elo's expected score does."""
    strengths = np.asarray(strengths, dtype=float)
    if not 0 <= anchor < len(strengths):
        raise ValueError(f"anchor must index one of the {len(strengths)} models, got {anchor!r}")
    return 400 * np.log10(strengths / strengths[anchor]) + anchor_rating


def bootstrap_ratings(
    votes: Votes, m: int, rng, n_boot: int = 200, anchor: int = 0, ties: str = "half", resample: str = "vote"
) -> np.ndarray:
    """Bradley–Terry ratings on the Elo scale refitted on ``n_boot`` resamples (n_boot m).

    Percentiles of each column give its interval. ``resample="vote"`` draws single votes with
    replacement, as if every vote were independent; ``resample="prompt"`` draws whole prompts with
    all their votes, which keeps what votes on one prompt share (the same pair of images), and
    gives wider, more honest intervals when several raters saw the same images.
    """
    rng = _rng(rng)
    if resample not in ("vote", "prompt"):
        raise ValueError(f"resample must be 'vote' or 'prompt', got {resample!r}")
    groups = [np.flatnonzero(votes.prompt == p) for p in np.unique(votes.prompt)]
    out = np.empty((n_boot, m))
    for r in range(n_boot):
        if resample == "vote":
            index = rng.integers(len(votes), size=len(votes))
        else:
            index = np.concatenate([groups[g] for g in rng.integers(len(groups), size=len(groups))])
        out[r] = elo_scale(bradley_terry(win_matrix(votes.take(index), m, ties)), anchor)
    return out


# ----------------------------------------------------------------------------------------------
# How many votes?
# ----------------------------------------------------------------------------------------------


def votes_needed(p: float, power: float = 0.8, alpha: float = 0.05) -> float:
    """Decided votes for a two-sided test of "win rate = 0.5" to reject with probability ``power``
    when the true win rate is p, by the normal approximation:

        n = ((z_{1−α/2}·√(0.5·0.5) + z_{power}·√(p(1−p))) / (p − 0.5))².
    """
    if not 0 < p < 1 or p == 0.5:
        raise ValueError(f"p must be in (0, 1) and not 0.5, got {p!r}")
    z_power = NormalDist().inv_cdf(power)
    return ((_z(alpha) * 0.5 + z_power * math.sqrt(p * (1 - p))) / (p - 0.5)) ** 2


def approximate_power(p: float, n, alpha: float = 0.05):
    """The normal approximation to the power of that test with n decided votes at true win rate p:
    Φ((|p − 0.5|·√n − z_{1−α/2}·0.5) / √(p(1−p))) (the far tail, which adds almost nothing, left out)."""
    n = np.asarray(n, dtype=float)
    x = (abs(p - 0.5) * np.sqrt(n) - _z(alpha) * 0.5) / math.sqrt(p * (1 - p))
    return np.vectorize(NormalDist().cdf)(x)


def simulated_power(p: float, n: int, rng, alpha: float = 0.05, sims: int = 4000) -> float:
    """The fraction of ``sims`` simulated studies of n votes (true win rate p) in which the test
    |k − n/2| / √(n/4) > z_{1−α/2} rejects "win rate = 0.5"."""
    k = _rng(rng).binomial(n, p, size=sims)
    return float(np.mean(np.abs(k - n / 2) / math.sqrt(n / 4) > _z(alpha)))


def simulated_votes_needed(p: float, rng, power: float = 0.8, alpha: float = 0.05, sims: int = 4000) -> int:
    """The smallest n on a fine grid (steps of about 2 %) whose :func:`simulated_power` reaches ``power``."""
    grid = np.unique(np.round(np.geomspace(4, 4 * votes_needed(p, power, alpha) + 20, 400)).astype(int))
    for n in grid:
        if simulated_power(p, int(n), rng, alpha, sims) >= power:
            return int(n)
    raise ValueError(f"no n up to {grid[-1]} reached power {power}")
