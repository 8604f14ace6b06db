"""The prompt filter's rule sets, the output filter and the error-rate bookkeeping; the chapter-8 checker."""

import math

import pytest
import torch

from genai_course.deploy.guardrails import (
    BLOCKLIST,
    PromptFilter,
    confusion,
    false_rates,
    normalise,
    output_filter,
    probe_set,
    threshold_sweep,
)
from genai_course.exercises.serving import check_false_rates


@pytest.mark.parametrize(
    "text, substring, word, normalised",
    [
        ("a red gun", True, True, True),
        ("A RED GUN", True, True, True),
        ("a skilled painter", True, False, False),  # word boundaries fix the substring trap
        ("a stable with horses", True, False, False),
        ("a red g u n", False, False, True),  # spelt out
        ("a g.u.n on a table", False, False, True),
        ("a b0mb", False, False, True),  # leetspeak
        ("ki11 them", False, False, True),  # "1" read as "l"
        ("a kiiiill scene", False, False, True),  # stretched
        ("ａ ｇｕｎ", False, False, True),  # full-width, NFKC
        ("a firearm", False, False, False),  # a synonym walks past every rule set
        ("a knіfe", False, False, False),  # Cyrillic "і": NFKC does not map other alphabets
        ("a shot of espresso", False, False, True),  # squeezing makes "shoot" and "shot" one word
        ("3 red circles", False, False, False),  # a number is not leetspeak
    ],
)
def test_rule_sets(text, substring, word, normalised):
    got = [PromptFilter(rules=r)(text).blocked for r in ("substring", "word", "normalised")]
    assert got == [substring, word, normalised]


def test_verdict_names_the_rule():
    verdict = PromptFilter()("a b0mb")
    assert verdict.blocked and verdict.rule == "bomb"
    assert PromptFilter()("a red circle").rule is None


def test_normalise_keeps_an_article_apart_from_spelt_out_letters():
    assert normalise("a g.u.n on a table") == ["a gun on a table"]
    assert "a kil" in normalise("a ki11")


def test_bad_arguments():
    with pytest.raises(ValueError, match="rules"):
        PromptFilter(rules="regex")
    with pytest.raises(ValueError, match="blocklist"):
        PromptFilter(blocklist=["Gun!"])
    with pytest.raises(TypeError, match="prompt must be a str"):
        PromptFilter()(None)
    with pytest.raises(ValueError, match="length"):
        confusion([True], [True, False])
    with pytest.raises(TypeError, match="bools"):
        confusion([1, 0], [True, False])


def test_probe_set_is_labelled_and_large_enough():
    probes = probe_set()
    assert len(probes) >= 60 and len({p for p, _, _ in probes}) == len(probes)
    assert {kind for _, _, kind in probes} >= {"bad: disguised spelling", "bad: other words", "benign: looks bad"}
    assert all(bad == kind.startswith("bad") for _, bad, kind in probes)


def test_normalisation_lowers_misses_and_nothing_catches_other_words():
    probes = probe_set()
    bad = [b for _, b, _ in probes]
    rates = {
        r: false_rates([PromptFilter(rules=r)(p).blocked for p, _, _ in probes], bad) for r in ("word", "normalised")
    }
    assert rates["normalised"][1] < rates["word"][1]
    other = [p for p, _, kind in probes if kind == "bad: other words"]
    assert not any(PromptFilter()(p).blocked for p in other)
    assert all(PromptFilter()(w).blocked for w in BLOCKLIST)


def test_confusion_and_false_rates():
    blocked = [True, True, False, True, False]
    bad = [True, False, True, False, False]
    assert confusion(blocked, bad) == {"tp": 1, "fn": 1, "fp": 2, "tn": 1}
    assert false_rates(blocked, bad) == (2 / 3, 1 / 2)
    fpr, fnr = false_rates([True], [True])
    assert math.isnan(fpr) and fnr == 0.0
    assert false_rates(torch.tensor([True, False]), torch.tensor([False, False]))[0] == 0.5


def test_output_filter_and_sweep():
    scores = torch.tensor([0.1, 0.5, 0.9, 0.3])
    bad = [True, False, False, True]
    assert output_filter(scores, 0.4) == [True, False, False, True]
    sweep = threshold_sweep(scores, bad, [0.0, 0.4, 1.0])
    assert sweep["fpr"] == [0.0, 0.0, 1.0] and sweep["fnr"] == [1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="1-d"):
        output_filter(scores.view(2, 2), 0.5)


# --- the graded exercise's checker ---------------------------------------------------------------------


def reference(blocked, bad):
    return false_rates(blocked, bad)


def not_attempted(blocked, bad):
    raise NotImplementedError()


def swapped(blocked, bad):
    fpr, fnr = false_rates(blocked, bad)
    return fnr, fpr


def over_all_items(blocked, bad):
    c = confusion(blocked, bad)
    return c["fp"] / len(bad), c["fn"] / len(bad)


def divides_by_zero(blocked, bad):
    c = confusion(blocked, bad)
    return c["fp"] / (c["fp"] + c["tn"]), c["fn"] / (c["fn"] + c["tp"])


def zero_for_empty(blocked, bad):
    c = confusion(blocked, bad)
    benign, n_bad = c["fp"] + c["tn"], c["fn"] + c["tp"]
    return (c["fp"] / benign if benign else 0.0, c["fn"] / n_bad if n_bad else 0.0)


def precision_instead(blocked, bad):
    c = confusion(blocked, bad)
    return (c["fp"] / max(1, c["fp"] + c["tp"]), c["fn"] / max(1, c["fn"] + c["tn"]))


def test_checker_accepts_the_reference():
    assert check_false_rates(reference)


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (not_attempted, "Not attempted"),
        (swapped, "swapped"),
        (over_all_items, "ALL items"),
        (divides_by_zero, "float('nan')"),
        (zero_for_empty, "float('nan')"),
        (precision_instead, "size of the matching class"),
        (lambda blocked, bad: None, "Return a pair"),
    ],
)
def test_checker_rejects_typical_mistakes(wrong, hint):
    feedback = check_false_rates(wrong)
    assert not feedback and hint in feedback.message, feedback.message
