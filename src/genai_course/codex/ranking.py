"""Choosing one sample out of n, and comparing two score distributions (chapter 3, notebook 3).

When a user gets one answer but the model may draw n, something has to pick. Chen et al. (2021,
section 3.5) compared picking at random, whose expected pass rate is pass@1, with picking the
sample of highest mean log-probability per token, and the "oracle" that picks a passing sample
whenever there is one (pass@n, a ceiling nobody reaches without the hidden tests).

Identical samples get identical scores, so the best score is often shared. :func:`pick_by_score`
breaks ties uniformly at random and returns the *expected* result of that choice, the share of
passing samples among the tied best, so the number does not depend on a random draw.

:func:`prob_higher` is the area under the ROC curve written as a probability: how often a score
of a passing sample beats one of a failing sample (ties count half). 0.5 means the score cannot
tell them apart; 1.0 means it separates them perfectly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def pick_by_score(passed: Sequence[Sequence[bool]], scores: Sequence[Sequence[float]]) -> float:
    """Mean over problems of P(the sample with the highest score passes), ties broken at random.

    ``passed[i][j]`` is the verdict of sample j of problem i and ``scores[i][j]`` its score.
    """
    if len(passed) != len(scores) or not passed:
        raise ValueError(
            f"need one list of scores per problem, got {len(passed)} verdict lists, {len(scores)} score lists"
        )
    rates = []
    for verdicts, values in zip(passed, scores, strict=True):
        values = np.asarray(values, dtype=np.float64)
        if len(values) != len(verdicts) or len(values) == 0:
            raise ValueError(f"each problem needs one score per sample, got {len(values)} for {len(verdicts)}")
        best = values == values.max()
        rates.append(float(np.asarray(verdicts, dtype=bool)[best].mean()))
    return float(np.mean(rates))


def oracle(passed: Sequence[Sequence[bool]]) -> float:
    """Share of problems with at least one passing sample: pass@n, the best any pick can do."""
    return float(np.mean([any(v) for v in passed]))


def random_pick(passed: Sequence[Sequence[bool]]) -> float:
    """Expected pass rate of a uniformly random sample per problem: the mean of c / n, i.e. pass@1."""
    return float(np.mean([np.mean(v) for v in passed]))


def prob_higher(positive: Sequence[float], negative: Sequence[float]) -> float:
    """P(X > Y) + ½ P(X = Y) for X drawn from ``positive`` and Y from ``negative`` (the ROC AUC)."""
    x = np.sort(np.asarray(positive, dtype=np.float64))
    y = np.sort(np.asarray(negative, dtype=np.float64))
    if len(x) == 0 or len(y) == 0:
        raise ValueError("both groups need at least one value")
    below = np.searchsorted(y, x, side="left")  # how many y are < each x
    below_or_equal = np.searchsorted(y, x, side="right")
    return float((below + below_or_equal).sum() / (2 * len(x) * len(y)))


def scores_by_text(score: Callable[[list[str]], list[float]], completions: Sequence[str]) -> list[float]:
    """``score`` applied once per distinct text (at low temperature most samples repeat), in order."""
    unique = list(dict.fromkeys(completions))
    table = dict(zip(unique, score(unique), strict=True))
    return [table[c] for c in completions]


def best_temperature(table: dict[float, float]) -> float:
    """The temperature with the highest value; on a tie the lowest such temperature."""
    best = max(table.values())
    return min(t for t, v in table.items() if v == best)


__all__ = ["best_temperature", "oracle", "pick_by_score", "prob_higher", "random_pick", "scores_by_text"]
