"""Comparing text-to-image families (genai_course.dalle.compare): prompt sets, one row of the table, the detail study."""

import math

import pytest
import torch

from genai_course.clip.pretrained import load_clip
from genai_course.dalle import compare
from genai_course.data.scene_prompts import is_held_out, parse_prompt
from genai_course.latent.evaluation import real_scenes
from genai_course.latent.pretrained import load_autoencoder

PROMPTS = {
    "seen": ["a red circle", "two large green squares", "a small blue triangle on the left", "three yellow circles"]
    * 3,
    "heldout": ["a purple triangle", "a small yellow square", "two large purple triangles"] * 3,
}


@pytest.fixture(scope="module")
def models():
    return load_autoencoder(), load_clip()


def test_detail_prompts_write_one_seen_scene_four_ways():
    variants = compare.detail_prompts(20, seed=3)
    assert tuple(variants) == compare.DETAIL_VARIANTS
    assert all(len(ps) == 20 for ps in variants.values())
    for i, bare in enumerate(variants["bare"]):
        base = parse_prompt(bare)
        specs = [parse_prompt(variants[v][i]) for v in compare.DETAIL_VARIANTS]
        assert all((s.colour, s.shape, s.count) == (base.colour, base.shape, 1) for s in specs)
        assert base.size is None and base.position is None
        assert specs[1].size and specs[1].position is None and specs[2].size is None and specs[2].position
        assert (specs[3].size, specs[3].position) == (specs[1].size, specs[2].position)
        assert not any(is_held_out(variants[v][i]) for v in compare.DETAIL_VARIANTS)
    assert len(set(variants["bare"][:14])) == 14, "the 14 seen colour-shape pairs come round before any repeats"
    assert compare.detail_prompts(20, seed=3) == variants
    with pytest.raises(ValueError, match="positive int"):
        compare.detail_prompts(0)


def test_real_scenes_are_the_judges_ceiling_and_the_fid_floor(models):
    autoencoder, clip = models
    row = compare.evaluate_family(compare.real_sampler(), PROMPTS, autoencoder, clip, PROMPTS["seen"][:3], per_prompt=4)
    assert row["seen"] == row["heldout"] == 1.0
    assert row["attributes"]["heldout"]["size"] == 1.0
    assert len(row["timings"]) == 3 and row["seconds_per_image"] > 0
    assert 0.7 < row["diversity"] < 1.3, "another draw of real scenes is about as varied as the reference"
    assert math.isfinite(row["fid"]) and row["fid"] > 0
    assert 0 < row["clip_score"] <= 2.5
    assert row["images"]["seen"].shape == (12, 3, 32, 32)


def test_a_sampler_that_ignores_the_prompt_scores_zero(models):
    autoencoder, clip = models

    def wrong(prompts, seed):
        return real_scenes(["three green squares"] * len(prompts), seed=seed)

    row = compare.evaluate_family(wrong, PROMPTS, autoencoder, clip)
    assert row["seen"] == row["heldout"] == 0.0
    assert math.isnan(row["diversity"]) and len(row["timings"]) == 2
    right = compare.evaluate_family(compare.real_sampler(), PROMPTS, autoencoder, clip)
    assert row["clip_score"] < right["clip_score"] and row["fid"] > right["fid"]


def test_evaluate_family_refuses_bad_inputs(models):
    autoencoder, clip = models
    with pytest.raises(ValueError, match="'seen' and 'heldout'"):
        compare.evaluate_family(compare.real_sampler(), {"seen": PROMPTS["seen"]}, autoencoder, clip)

    def short(prompts, seed):
        return real_scenes(prompts, seed=seed)[:-1]

    with pytest.raises(ValueError, match="returned"):
        compare.evaluate_family(short, PROMPTS, autoencoder, clip)


def test_detail_study_reports_every_variant(models):
    _, clip = models
    variants = compare.detail_prompts(6, seed=0)
    seeds = []

    def sampler(prompts, seed):
        seeds.append(seed)
        return real_scenes(prompts, seed=seed)

    table = compare.detail_study(sampler, variants, clip, seed=7)
    assert seeds == [7] * 4, "every variant is sampled with the same seed"
    assert list(table) == list(compare.DETAIL_VARIANTS)
    for variant, r in table.items():
        assert r["shared"] == r["prompt"] == r["colour"] == 1.0
        assert math.isnan(r["size"]) == (variant in ("bare", "+ position"))
        assert math.isnan(r["position"]) == (variant in ("bare", "+ size"))
    with pytest.raises(ValueError, match="prompts"):
        compare.detail_study(sampler, {**variants, "+ size": variants["+ size"][:3]}, clip)


def test_detail_study_verdicts_are_per_image_and_paired(models):
    _, clip = models
    variants = compare.detail_prompts(4, seed=1)
    table = compare.detail_study(lambda prompts, seed: real_scenes(prompts, seed=seed), variants, clip)
    for r in table.values():
        assert r["shared_right"] == [True] * 4 and r["shared"] == 1.0


def test_mcnemar_p_equals_scipy_binomial_test_on_the_discordant_pairs():
    from scipy.stats import binomtest

    from genai_course.dalle.compare import mcnemar_p
    from genai_course.exercises.dalle import check_mcnemar_p

    for both, only_a, only_b, neither in ((60, 1, 5, 6), (10, 4, 4, 2), (3, 0, 7, 0), (0, 9, 2, 1), (5, 13, 2, 0)):
        a = [True] * (both + only_a) + [False] * (only_b + neither)
        b = [True] * both + [False] * only_a + [True] * only_b + [False] * neither
        assert mcnemar_p(a, b) == pytest.approx(binomtest(only_a, only_a + only_b, 0.5).pvalue, rel=1e-12)
        assert compare.discordant_pairs(a, b) == (only_a, only_b)
    assert mcnemar_p([True, False], [True, False]) == 1.0, "no discordant pair: no evidence"
    with pytest.raises(ValueError, match="equally long"):
        mcnemar_p([True], [True, False])
    assert check_mcnemar_p(mcnemar_p).passed

    def one_tail(a, b):
        n_a = sum(x and not y for x, y in zip(a, b, strict=True))
        n_b = sum(y and not x for x, y in zip(a, b, strict=True))
        return sum(math.comb(n_a + n_b, i) for i in range(min(n_a, n_b) + 1)) / 2 ** (n_a + n_b)

    feedback = check_mcnemar_p(one_tail)
    assert not feedback.passed and "two-sided" in feedback.message


def test_count_numbers_counts_parameters_and_plain_tensors():
    layer = torch.nn.Linear(3, 2)
    assert compare.count_numbers(layer, torch.zeros(4, 5)) == 8 + 20
    assert compare.count_numbers(layer.requires_grad_(False)) == 8, "frozen parameters count too"


def test_two_proportion_z_by_hand_and_its_checker():
    import math

    from genai_course.dalle.compare import two_proportion_z
    from genai_course.exercises.dalle import check_two_proportion_z

    p = (60 + 46) / 152
    assert two_proportion_z(60, 76, 46, 76) == pytest.approx((60 / 76 - 46 / 76) / math.sqrt(p * (1 - p) * 2 / 76))
    assert two_proportion_z(5, 20, 5, 20) == 0 and two_proportion_z(0, 10, 0, 5) == 0
    with pytest.raises(ValueError, match="correct_a"):
        two_proportion_z(11, 10, 1, 5)
    assert check_two_proportion_z(two_proportion_z).passed

    def flipped(ka, na, kb, nb):
        return -two_proportion_z(ka, na, kb, nb)

    def unpooled(ka, na, kb, nb):
        pa, pb = ka / na, kb / nb
        return (pa - pb) / math.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb)

    for wrong, hint in ((flipped, "sign"), (unpooled, "share one p")):
        feedback = check_two_proportion_z(wrong)
        assert not feedback.passed and hint in feedback.message, feedback.message
