"""mode_report: the PacGAN code's lenient mode count and the per-mode shares that tell collapse from smearing."""

import math

import torch

from genai_course.data.toy2d import grid, ring
from genai_course.metrics.two_d import mode_metrics, mode_report


def test_real_samples_score_the_3_sigma_mass_on_every_mode():
    mix = ring()
    rep = mode_report(mix.sample(8000, torch.Generator("cpu").manual_seed(0)), mix)
    assert rep["modes"] == rep["modes_any"] == 8
    # every share is near (1 - e^{-9/2}) / 8, the 3σ mass of a 2-D Gaussian split over 8 modes
    expected = (1 - math.exp(-4.5)) / 8
    assert all(abs(s - expected) < 0.02 for s in rep["shares"])
    assert abs(sum(rep["shares"]) - rep["high_quality"]) < 1e-9


def test_collapse_and_smearing_give_different_signatures():
    mix, g = ring(), torch.Generator("cpu").manual_seed(1)
    # collapse: every sample on 2 of the 8 modes -> high quality, few modes (a recall failure)
    collapsed = mix.centers[torch.randint(2, (2500,), generator=g)] + 0.05 * torch.randn(2500, 2, generator=g)
    rep = mode_report(collapsed, mix)
    assert rep["modes"] == rep["modes_any"] == 2 and rep["high_quality"] > 0.95
    # smearing: samples spread uniformly along the circle -> every mode hit, few samples on any (a precision failure)
    angle = 2 * math.pi * torch.rand(2500, generator=g)
    smeared = 2.0 * torch.stack([angle.cos(), angle.sin()], 1)
    rep = mode_report(smeared, mix)
    assert rep["modes_any"] == 8 and rep["high_quality"] < 0.2


def test_lenient_rule_counts_a_mode_with_one_sample_and_the_course_rule_does_not():
    mix = grid()
    pts = mix.centers.clone()  # one sample exactly on each of the 25 centres, plus far-away junk
    pts = torch.cat([pts, torch.full((2475, 2), 50.0)])
    rep = mode_report(pts, mix)
    assert rep["modes_any"] == 25 and rep["modes"] == 0 == mode_metrics(pts, mix)["modes"]
    assert rep["high_quality"] == 25 / 2500


def test_min_fraction_zero_still_needs_one_sample():
    mix = ring()
    assert mode_metrics(torch.full((100, 2), 50.0), mix, min_fraction=0.0)["modes"] == 0
