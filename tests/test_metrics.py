import numpy as np
import pytest
import torch

from genai_course.checkpoint_io import checkpoint_path, load_metrics, load_state
from genai_course.data.digits import load_digits_tensor
from genai_course.metrics.digit_classifier import (
    CHECKPOINT,
    FORMAT,
    class_accuracy,
    confident_fraction,
    heldout_accuracy,
    load_digit_classifier,
)
from genai_course.metrics.fid import course_fid, frechet_distance, frechet_distance_features
from genai_course.metrics.two_d import energy_distance, mmd_rbf, mode_coverage


def test_frechet_closed_form_gaussians():
    # diagonal covariances: d² = |μa-μb|² + Σ (sa - sb)² with s the standard deviations
    mu_a, mu_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    sa, sb = np.array([1.0, 2.0, 0.5]), np.array([2.0, 1.0, 0.5])
    expected = ((mu_a - mu_b) ** 2).sum() + ((sa - sb) ** 2).sum()
    assert frechet_distance(mu_a, np.diag(sa**2), mu_b, np.diag(sb**2)) == pytest.approx(expected, rel=1e-10)


def test_frechet_rotated_covariance_matches_scipy():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.RandomState(0)
    a, b = rng.randn(5, 5), rng.randn(5, 5)
    sa, sb = a @ a.T, b @ b.T
    mu = rng.randn(5)
    ref = (mu**2).sum() + np.trace(sa + sb - 2 * scipy_linalg.sqrtm(sa @ sb).real)
    assert frechet_distance(mu, sa, np.zeros(5), sb) == pytest.approx(ref, rel=1e-6)


def test_frechet_features_sampled_gaussians():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(20000, 2, generator=gen)
    b = torch.randn(20000, 2, generator=gen) * 2 + torch.tensor([3.0, 0.0])
    # closed form: 9 + 2 * (2 - 1)² = 11
    assert frechet_distance_features(a, b) == pytest.approx(11.0, rel=0.03)
    assert frechet_distance_features(a, a) == pytest.approx(0.0, abs=1e-8)
    with pytest.raises(ValueError, match="share d"):
        frechet_distance_features(a, b[:, :1])


def test_classifier_checkpoint_recorded_accuracy():
    model = load_digit_classifier()
    recorded = load_metrics(checkpoint_path(CHECKPOINT))["test_accuracy"]
    assert recorded >= 0.97
    assert heldout_accuracy(model) == pytest.approx(recorded, abs=0.005)


def test_classifier_scores_on_real_digits():
    x, y = load_digits_tensor(16, "test")
    assert class_accuracy(x, y) >= 0.97
    assert confident_fraction(x) >= 0.9
    noise = torch.rand(200, 1, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert confident_fraction(noise) < confident_fraction(x)
    with pytest.raises(ValueError, match=r"\(b 1 16 16\)"):
        load_digit_classifier()(torch.zeros(2, 1, 8, 8))


def test_course_fid_orders_real_vs_noise():
    train, _ = load_digits_tensor(16, "train")
    test, _ = load_digits_tensor(16, "test")
    noise = torch.rand(len(test), 1, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert course_fid(train, test) < 0.1 * course_fid(noise, test)


def test_corrupt_checkpoint_fails_clearly(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="corrupt"):
        load_state(bad, FORMAT)
    with pytest.raises(FileNotFoundError):
        load_state(tmp_path / "missing.pt", FORMAT)


def test_two_d_metrics():
    gen = torch.Generator().manual_seed(0)
    centers = torch.tensor([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    data = centers[torch.randint(0, 3, (3000,), generator=gen)] + 0.1 * torch.randn(3000, 2, generator=gen)
    same = centers[torch.randint(0, 3, (3000,), generator=gen)] + 0.1 * torch.randn(3000, 2, generator=gen)
    collapsed = centers[0] + 0.1 * torch.randn(3000, 2, generator=gen)
    assert energy_distance(data, same) < 0.01 < energy_distance(data, collapsed)
    assert mmd_rbf(data, same) < 0.01 < mmd_rbf(data, collapsed)
    cov = mode_coverage(same, centers, radius=0.5)
    assert cov["modes"] == 3 and cov["high_quality"] > 0.99
    assert mode_coverage(collapsed, centers, radius=0.5)["modes"] == 1
    with pytest.raises(ValueError, match=r"\(n d\)"):
        energy_distance(torch.zeros(3), data)
