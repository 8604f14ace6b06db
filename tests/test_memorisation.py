"""Nearest-neighbour copy detection for images (genai_course.metrics.memorisation)."""

import pytest
import torch

from genai_course.diffusion.sampling import ddim_sample
from genai_course.diffusion.schedules import NoiseSchedule
from genai_course.metrics import memorisation as mem


def images(n, seed):
    return torch.rand(n, 1, 4, 4, generator=torch.Generator("cpu").manual_seed(seed)) * 2 - 1


def test_nearest_neighbours_match_brute_force():
    train, samples = images(30, 0), images(7, 1)
    d, idx = mem.nearest_neighbours(samples, train, k=3, batch_size=2)
    brute = ((samples[:, None] - train[None]).pow(2).flatten(2).mean(-1)).sqrt()  # (n m), RMS per pixel
    values, where = brute.sort(dim=1)
    assert torch.allclose(d, values[:, :3], atol=1e-5) and torch.equal(idx, where[:, :3])


def test_copies_are_found_and_scored_near_zero():
    train = images(20, 0)
    d, idx = mem.nearest_neighbours(train[[4, 9]], train, k=5)
    assert torch.equal(idx[:, 0], torch.tensor([4, 9])) and d[:, 0].abs().max() < 1e-3
    assert mem.neighbour_ratio(d).max() < 1e-2 and mem.relative_distance(d).max() < 1e-2


def test_threshold_and_copy_rate():
    scores = torch.arange(100, dtype=torch.float32)
    threshold = mem.calibrate_threshold(scores, 0.05)
    assert mem.copy_rate(scores, threshold) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="false_positive_rate"):
        mem.calibrate_threshold(scores, 1.5)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="differ in size"):
        mem.nearest_neighbours(images(2, 0), torch.zeros(3, 1, 5, 5))
    with pytest.raises(ValueError, match="k must lie"):
        mem.nearest_neighbours(images(2, 0), images(3, 1), k=4)
    with pytest.raises(ValueError, match="k >= 2"):
        mem.neighbour_ratio(torch.ones(3, 1))
    with pytest.raises(ValueError, match="non-empty 1-d"):
        mem.copy_rate(torch.ones(2, 2), 0.5)


def test_ideal_denoiser_is_the_posterior_mean_and_returns_training_images():
    schedule = NoiseSchedule.make("linear", 50)
    train = images(5, 0)
    ideal = mem.IdealDenoiser(train, schedule)
    # at a tiny noise level, x_t near one training image predicts (nearly) that image
    t = torch.tensor([0])
    abar = schedule.alphas_cumprod[0]
    xt = abar.sqrt() * train[2:3]
    eps = ideal(xt, t)
    x0 = (xt - (1 - abar).sqrt() * eps) / abar.sqrt()
    assert torch.allclose(x0, train[2:3], atol=1e-3)
    samples = ddim_sample(ideal, (6, 1, 4, 4), schedule, 20, generator=torch.Generator("cpu").manual_seed(0))
    d, _ = mem.nearest_neighbours(samples, train, k=2)
    assert d[:, 0].max() < 0.02  # every sample is a copy
