"""The green-list text watermark (Kirchenbauer et al. 2023), its z-test, and the exercise's checker."""

import math

import pytest
import torch

from genai_course.exercises.provenance import check_green_z_score
from genai_course.provenance.text_watermark import (
    GreenListWatermark,
    expected_green_fraction_uniform,
    green_list,
    replace_tokens,
    spike_entropy,
    spike_modulus,
    z_score,
)

V = 103


def test_z_score_matches_a_hand_computation():
    # 70 green of T = 200 with γ = 0.25: (70 − 50) / √(200 · 0.25 · 0.75) = 20 / √37.5
    assert z_score(70, 200, 0.25) == pytest.approx(20 / math.sqrt(37.5))
    assert z_score(50, 200, 0.25) == 0.0
    wm = GreenListWatermark(V, gamma=0.25, delta=2.0, key=3)
    tokens = torch.tensor([5, 17, 5, 99, 0, 17, 42])
    flags = [bool(wm.green[a, b]) for a, b in zip(tokens[:-1].tolist(), tokens[1:].tolist(), strict=True)]
    got = wm.detect(tokens, unique=False)
    assert got["scored"] == 6 and got["green"] == sum(flags)
    assert got["z"] == pytest.approx((sum(flags) - wm.gamma * 6) / math.sqrt(6 * wm.gamma * (1 - wm.gamma)))


def test_unique_scoring_counts_each_pair_once():
    wm = GreenListWatermark(V, gamma=0.5, key=1)
    tokens = torch.tensor([3, 4, 3, 4, 3, 4, 3])  # pairs (3,4) and (4,3), three times each
    got = wm.detect(tokens)
    assert got["scored"] == 2 and got["green"] == int(wm.green[3, 4]) + int(wm.green[4, 3])
    assert wm.detect(tokens, unique=False)["scored"] == 6


def test_green_list_is_deterministic_and_of_the_right_size():
    a = green_list(7, key=11, vocab_size=V, gamma=0.25)
    assert a == green_list(7, key=11, vocab_size=V, gamma=0.25)
    assert len(a) == round(0.25 * V) == len(set(a)) and all(0 <= i < V for i in a)
    assert a != green_list(7, key=12, vocab_size=V, gamma=0.25)  # another key, another list
    assert a != green_list(8, key=11, vocab_size=V, gamma=0.25)  # another previous token, another list
    wm = GreenListWatermark(V, gamma=0.25, key=11)
    assert wm.green.shape == (V, V) and (wm.green.sum(1) == len(a)).all()
    assert wm.green[7].nonzero().flatten().tolist() == a
    assert wm.gamma == len(a) / V  # the exact fraction the z-test uses


def test_unwatermarked_random_text_gives_small_z():
    wm = GreenListWatermark(V, gamma=0.25, key=5)
    tokens = torch.randint(0, V, (400, 200), generator=torch.Generator("cpu").manual_seed(0))
    z = wm.z_scores(tokens, unique=False)
    assert abs(float(z.mean())) < 0.2 and 0.8 < float(z.std()) < 1.2
    assert float((z > 4).float().mean()) == 0.0


def test_watermarked_toy_uniform_model_matches_the_closed_form():
    gamma, delta = 0.25, 2.0
    wm = GreenListWatermark(V, gamma=gamma, delta=delta, key=9)
    g = torch.Generator("cpu").manual_seed(1)
    idx = torch.randint(0, V, (256, 1), generator=g)
    for _ in range(100):  # a uniform "model": all logits 0, watermarked by the hook
        logits = wm.logits_hook(torch.zeros(len(idx), V), idx)
        idx = torch.cat([idx, torch.multinomial(logits.softmax(-1), 1, generator=g)], dim=1)
    frac = float(wm.green_flags(idx).float().mean())
    expect = expected_green_fraction_uniform(wm.gamma, delta)
    assert abs(frac - expect) < 0.01  # 25 600 draws: the standard error is about 0.003
    assert float(wm.z_scores(idx, unique=False).min()) > 4


def test_spike_entropy_limits():
    z = spike_modulus(0.25, 2.0)
    assert float(spike_entropy(torch.full((1000,), 1e-3), z)) == pytest.approx(1 / (1 + z * 1e-3))
    one_hot = torch.zeros(10)
    one_hot[3] = 1
    assert float(spike_entropy(one_hot, z)) == pytest.approx(1 / (1 + z))


def test_replace_tokens_changes_exactly_the_fraction():
    tokens = torch.randint(0, V, (4, 200), generator=torch.Generator("cpu").manual_seed(2))
    out = replace_tokens(tokens, 0.3, V, torch.Generator("cpu").manual_seed(3))
    assert ((out != tokens).sum(1) == 60).all()
    assert torch.equal(replace_tokens(tokens, 0.0, V, torch.Generator("cpu")), tokens)


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(gamma=0.0), "gamma"),
        (dict(gamma=1.5), "gamma"),
        (dict(delta=-1.0), "delta"),
        (dict(delta=math.inf), "delta"),
    ],
)
def test_bad_settings_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        GreenListWatermark(V, **bad)


def test_bad_tokens_are_named():
    wm = GreenListWatermark(V)
    with pytest.raises(ValueError, match=r"\[0, 103\)"):
        wm.detect([1, 2, 500])
    with pytest.raises(ValueError, match="t ≥ 2"):
        wm.detect([1])
    with pytest.raises(TypeError, match="integer"):
        wm.detect(torch.tensor([0.5, 1.0]))
    with pytest.raises(ValueError, match="at least one"):
        z_score(0, 0, 0.25)


# the checker of the graded exercise


def reference(tokens, is_green, gamma):
    t = len(tokens) - 1
    g = sum(is_green(tokens[i - 1], tokens[i]) for i in range(1, len(tokens)))
    return (g - gamma * t) / math.sqrt(t * gamma * (1 - gamma))


def test_checker_accepts_the_reference():
    assert check_green_z_score(reference)


def test_checker_reports_not_attempted():
    def student(tokens, is_green, gamma):
        raise NotImplementedError

    fb = check_green_z_score(student)
    assert not fb and "Not attempted" in fb.message
    assert not check_green_z_score(None)


def test_checker_catches_scoring_the_first_token():
    def wrapped(tokens, is_green, gamma):  # tokens[-1] is taken as the first token's predecessor
        t = len(tokens)
        g = sum(is_green(tokens[i - 1], tokens[i]) for i in range(t))
        return (g - gamma * t) / math.sqrt(t * gamma * (1 - gamma))

    def counts_n(tokens, is_green, gamma):
        t = len(tokens)
        g = sum(is_green(tokens[i - 1], tokens[i]) for i in range(1, t))
        return (g - gamma * t) / math.sqrt(t * gamma * (1 - gamma))

    for student in (wrapped, counts_n):
        fb = check_green_z_score(student)
        assert not fb and "first token" in fb.message


def test_checker_catches_a_wrong_variance():
    def no_sqrt(tokens, is_green, gamma):
        t = len(tokens) - 1
        g = sum(is_green(tokens[i - 1], tokens[i]) for i in range(1, len(tokens)))
        return (g - gamma * t) / (t * gamma * (1 - gamma))

    fb = check_green_z_score(no_sqrt)
    assert not fb and "Tγ(1 − γ)" in fb.message


def test_checker_catches_the_fraction_instead_of_the_count():
    def fraction(tokens, is_green, gamma):
        t = len(tokens) - 1
        g = sum(is_green(tokens[i - 1], tokens[i]) for i in range(1, len(tokens)))
        return (g / t - gamma) / math.sqrt(t * gamma * (1 - gamma))

    fb = check_green_z_score(fraction)
    assert not fb and "fraction" in fb.message


def test_checker_catches_swapped_arguments_and_bad_types():
    def swapped(tokens, is_green, gamma):
        return reference(tokens, lambda a, b: is_green(b, a), gamma)

    fb = check_green_z_score(swapped)
    assert not fb and "previous" in fb.message
    fb = check_green_z_score(lambda tokens, is_green, gamma: "4.2")
    assert not fb and "finite float" in fb.message
