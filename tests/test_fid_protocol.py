"""The course's shared FID protocol: random, disjoint, reproducible reference and floor sets; sane scores."""

import numpy as np
import pytest
import torch

from genai_course.data.digits import load_digits_tensor
from genai_course.metrics.fid import FIDProtocol, digit_features, fid_terms, frechet_distance_features, precision_recall


def test_reference_is_random_heldout_and_disjoint_from_floor():
    p = FIDProtocol()
    _, labels = load_digits_tensor(16, "all")
    test_images, _ = load_digits_tensor(16, "test")
    ref, floor = p.reference_indices(), p.floor_indices()
    assert len(ref) == len(floor) == p.n == 256
    assert len(set(ref.tolist())) == p.n and not set(ref.tolist()) & set(floor.tolist())
    # every reference digit is a held-out one (compare images, not indices, to be independent of the index code)
    all_images, _ = load_digits_tensor(16, "all")
    held_out = {tuple(x.flatten().tolist()) for x in test_images}
    assert all(tuple(all_images[i].flatten().tolist()) in held_out for i in ref.tolist())
    # random, not the first n in file order; roughly balanced classes
    assert ref.tolist() != sorted(ref.tolist())
    assert torch.bincount(labels[ref], minlength=10).min() >= 15


def test_deterministic_given_seed_and_different_across_draws():
    a, b = FIDProtocol(seed=3), FIDProtocol(seed=3)
    assert torch.equal(a.reference_indices(1), b.reference_indices(1))
    assert torch.equal(a.floor_set(2), b.floor_set(2))
    assert not torch.equal(a.reference_indices(0), a.reference_indices(1))
    assert not torch.equal(FIDProtocol(seed=0).reference_indices(), FIDProtocol(seed=1).reference_indices())


def test_self_distance_is_zero_and_terms_sum_to_the_distance():
    p = FIDProtocol()
    assert p.score(p.reference()) == pytest.approx(0.0, abs=1e-6)
    fa, fb = digit_features(p.reference()), digit_features(p.floor_set())
    mean_term, cov_term = fid_terms(fa, fb)
    assert mean_term >= 0 and cov_term >= 0
    assert mean_term + cov_term == pytest.approx(frechet_distance_features(fa, fb), rel=1e-9)


def test_ordering_floor_below_blurred_below_noise():
    p = FIDProtocol()
    floor = p.floor()
    real = p.floor_set()
    blurred = torch.nn.functional.avg_pool2d(real, 3, stride=1, padding=1)
    noise = torch.rand(p.n, 1, 16, 16, generator=torch.Generator("cpu").manual_seed(0)) * 2 - 1
    assert 0 < floor < p.score(blurred) < p.score(noise)
    assert floor < 0.1 * p.score(noise)


def test_evaluate_reports_mean_and_spread_of_the_draws():
    p = FIDProtocol(draws=3)
    r = p.evaluate(p.floor_set)  # a "generator" that returns real digits scores the floor
    assert len(r["fid_draws"]) == 3 and r["fid"] == pytest.approx(np.mean(r["fid_draws"]), abs=2e-3)
    assert r["fid"] == pytest.approx(r["floor"], abs=1e-3) and r["fid_sd"] > 0
    rec = p.record(p.floor_set, prefix="x")
    assert rec["fid_protocol"] == {"n": 256, "draws": 3, "seed": 0} and rec["x"] == r["fid"]


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="n must be"):
        FIDProtocol(n=400)
    with pytest.raises(ValueError, match="draws"):
        FIDProtocol(draws=0)
    with pytest.raises(ValueError, match=r"\(256 1 16 16\)"):
        FIDProtocol().score(torch.zeros(100, 1, 16, 16))


def test_precision_recall_against_brute_force_and_extremes():
    g = torch.Generator("cpu").manual_seed(0)
    real, fake = torch.randn(40, 3, generator=g), torch.randn(30, 3, generator=g) + 0.5
    prec, rec = precision_recall(real, fake, k=3)

    def inside(points, centres):  # brute force, loop by loop
        out = []
        for x in points:
            hit = False
            for c in centres:
                r = sorted(float((c - o).norm()) for o in centres)[3]  # index 0 is the centre itself
                hit |= float((x - c).norm()) <= r
            out.append(hit)
        return sum(out) / len(out)

    assert prec == pytest.approx(inside(fake, real)) and rec == pytest.approx(inside(real, fake))
    assert precision_recall(real, real) == (1.0, 1.0)
    far = precision_recall(real, fake + 100)
    assert far == (0.0, 0.0)
    collapsed = fake[:1].repeat(30, 1) + 1e-3 * torch.randn(30, 3, generator=g)  # one mode: realistic, no variety
    p_c, r_c = precision_recall(real, collapsed - 0.5)
    assert r_c < 0.3
