"""2-D benchmarks: shapes, determinism and the mode metrics."""

import pytest
import torch

from genai_course.data.toy2d import grid, ring
from genai_course.metrics.two_d import mode_coverage, mode_metrics


def test_ring_and_grid_shapes_and_determinism():
    r, g = ring(), grid()
    assert r.centers.shape == (8, 2) and g.centers.shape == (25, 2)
    a = r.sample(100, torch.Generator().manual_seed(0))
    b = r.sample(100, torch.Generator().manual_seed(0))
    assert a.shape == (100, 2) and torch.equal(a, b)
    assert torch.allclose(r.centers.norm(dim=1), torch.full((8,), 2.0))


def test_real_samples_score_perfectly():
    for mix in (ring(), grid()):
        m = mode_metrics(mix.sample(2500, torch.Generator().manual_seed(1)), mix)
        assert m["modes"] == m["n_modes"] and m["high_quality"] > 0.98  # P(r ≤ 3σ) = 1 - e^{-9/2} in 2-D


def test_collapsed_samples_recover_one_mode():
    mix = ring()
    one_mode = mix.centers[0] + mix.std * torch.randn(1000, 2, generator=torch.Generator().manual_seed(2))
    m = mode_metrics(one_mode, mix)
    assert m["modes"] == 1 and m["high_quality"] > 0.98  # expected 1 - e^{-9/2} ≈ 0.989
    far = mode_metrics(torch.zeros(100, 2), mix)
    assert far["modes"] == 0 and far["high_quality"] == 0


def test_bad_input():
    with pytest.raises(ValueError, match=r"\(n 2\)"):
        mode_metrics(torch.zeros(10, 3), ring())


def test_mode_metrics_is_mode_coverage_with_the_literatures_settings():
    mix = ring()
    pts = mix.sample(2500, torch.Generator().manual_seed(3))
    assert mode_metrics(pts, mix) == mode_coverage(pts, mix.centers, radius=0.15, min_count=63)  # 3σ, ⌈20 % of 312.5⌉
    # a mode needs 20 % of its fair share: 63 of 2,500 samples on 8 modes, 62 is not enough
    on_one = mix.centers[0].expand(2500, 2).clone()
    on_one[:63] = mix.centers[1]
    assert mode_metrics(on_one, mix)["modes"] == 2
    on_one[62] = mix.centers[0]
    assert mode_metrics(on_one, mix)["modes"] == 1
