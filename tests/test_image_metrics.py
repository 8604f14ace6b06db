"""Chapter 8's image metrics: KID, the Inception score, FID's square root, the resizing helpers and the KID checker."""

import itertools

import numpy as np
import pytest
import scipy.linalg
import torch

from genai_course.exercises.image_metrics import check_kid
from genai_course.metrics.fid import frechet_distance_features, real_vs_real_sweep, sample_size_sweep
from genai_course.metrics.inception_score import inception_score
from genai_course.metrics.kid import kernel_inception_distance, polynomial_kernel
from genai_course.metrics.resizing import RESIZE_METHODS, jpeg_roundtrip, png_roundtrip, resize


def _features(seed, m, d, shift=0.0):
    return torch.randn(m, d, generator=torch.Generator("cpu").manual_seed(seed), dtype=torch.float64) + shift


# --- KID ---------------------------------------------------------------------------------------------


def kid_double_loop(a, b):
    """MMD²_u written out pair by pair, straight from Bińkowski et al.'s definition."""
    a, b = a.tolist(), b.tolist()
    d = len(a[0])

    def k(x, y):
        return (sum(p * q for p, q in zip(x, y, strict=True)) / d + 1) ** 3

    m, n = len(a), len(b)
    xx = sum(k(a[i], a[j]) for i, j in itertools.product(range(m), range(m)) if i != j) / (m * (m - 1))
    yy = sum(k(b[i], b[j]) for i, j in itertools.product(range(n), range(n)) if i != j) / (n * (n - 1))
    xy = sum(k(x, y) for x in a for y in b) / (m * n)
    return xx + yy - 2 * xy


@pytest.mark.parametrize("m, n, d, shift", [(7, 5, 3, 0.0), (6, 11, 4, 0.7), (2, 2, 1, 1.0)])
def test_kid_matches_double_loop(m, n, d, shift):
    a, b = _features(0, m, d), _features(1, n, d, shift)
    assert kernel_inception_distance(a, b) == pytest.approx(kid_double_loop(a, b), rel=1e-10, abs=1e-10)


def test_kid_is_unbiased_for_one_distribution():
    # the mean over many small draws of one distribution is 0 within its standard error; the biased version is not
    values = [kernel_inception_distance(_features(2 * s, 10, 3), _features(2 * s + 1, 10, 3)) for s in range(400)]
    mean, se = np.mean(values), np.std(values) / np.sqrt(len(values))
    assert abs(mean) < 4 * se
    assert min(values) < 0 < max(values)


def test_kid_accepts_numpy_and_rejects_bad_input():
    a = _features(0, 5, 3)
    assert kernel_inception_distance(a.numpy(), a.numpy()) == pytest.approx(kernel_inception_distance(a, a))
    with pytest.raises(ValueError, match="share d"):
        kernel_inception_distance(a, _features(1, 5, 4))
    with pytest.raises(ValueError, match="at least 2"):
        kernel_inception_distance(a[:1], a)
    with pytest.raises(ValueError, match=r"\(n d\)"):
        kernel_inception_distance(a[0], a)
    with pytest.raises(TypeError):
        kernel_inception_distance("features", a)


def test_polynomial_kernel_shape():
    assert polynomial_kernel(_features(0, 4, 3), _features(1, 6, 3)).shape == (4, 6)


# --- FID against an independent scipy computation -----------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fid_matches_scipy_sqrtm(seed):
    a, b = _features(seed, 200, 6).numpy(), (_features(seed + 10, 150, 6) * 1.5 + 0.3).numpy()
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s_a @ s_b).real  # the formula as pytorch-fid writes it
    expected = ((mu_a - mu_b) ** 2).sum() + np.trace(s_a + s_b - 2 * covmean)
    assert frechet_distance_features(a, b) == pytest.approx(expected, rel=1e-8)


def test_sweeps_shapes_and_errors():
    f = _features(0, 40, 3)
    out = sample_size_sweep(frechet_distance_features, f, f, [5, 40], draws=3)
    assert set(out) == {5, 40} and all(v.shape == (3,) for v in out.values())
    rr = real_vs_real_sweep(kernel_inception_distance, f, [5, 20], draws=2)
    assert all(v.shape == (2,) for v in rr.values())
    with pytest.raises(ValueError, match="half"):
        real_vs_real_sweep(kernel_inception_distance, f, [21])
    with pytest.raises(ValueError, match="number of features"):
        sample_size_sweep(kernel_inception_distance, f, f, [41])


# --- Inception score ---------------------------------------------------------------------------------


def test_inception_score_bounds():
    k = 10
    assert inception_score(torch.full((50, k), 1 / k)) == pytest.approx(1.0)
    assert inception_score(torch.eye(k).repeat(3, 1)) == pytest.approx(k)
    assert inception_score(torch.eye(k)[[3] * 20]) == pytest.approx(1.0)  # confident but all one class


def test_inception_score_matches_numpy():
    logits = torch.randn(30, 7, generator=torch.Generator("cpu").manual_seed(0)) * 2
    p = logits.softmax(-1).double().numpy()
    marginal = p.mean(0)
    expected = np.exp(np.mean([np.sum(row * np.log(row / marginal)) for row in p]))
    assert inception_score(logits.softmax(-1)) == pytest.approx(expected, rel=1e-9)


def test_inception_score_rejects_non_probabilities():
    with pytest.raises(ValueError, match="probabilities"):
        inception_score(torch.randn(5, 3))
    with pytest.raises(ValueError):
        inception_score(torch.ones(5))


# --- resizing and compression ------------------------------------------------------------------------


def test_resize_methods_and_roundtrips():
    x = torch.rand(3, 1, 32, 32) * 2 - 1
    for method in RESIZE_METHODS:
        y = resize(x, 16, method)
        assert y.shape == (3, 1, 16, 16) and y.min() >= -1 and y.max() <= 1
    assert not torch.equal(resize(x, 16, "torch bilinear"), resize(x, 16, "torch bilinear, antialias"))
    assert jpeg_roundtrip(x, 75).shape == x.shape
    assert (png_roundtrip(x) - x).abs().max() <= 1 / 127.5 + 1e-6  # 8-bit quantisation only
    with pytest.raises(ValueError, match="method"):
        resize(x, 16, "cubic")
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        resize(x * 3, 16, "torch nearest")
    with pytest.raises(ValueError, match="quality"):
        jpeg_roundtrip(x, 0)


def test_resize_keeps_colour_images():
    x = torch.rand(2, 3, 20, 20) * 2 - 1
    assert resize(x, 10, "PIL lanczos").shape == (2, 3, 10, 10)
    assert jpeg_roundtrip(x, 90).shape == (2, 3, 20, 20)


# --- the KID checker ---------------------------------------------------------------------------------


def kid_reference(a, b):
    return kernel_inception_distance(a, b)


def kid_torch(a, b):
    d = a.shape[1]
    k_aa, k_bb, k_ab = (a @ a.T / d + 1) ** 3, (b @ b.T / d + 1) ** 3, (a @ b.T / d + 1) ** 3
    m, n = len(a), len(b)
    return (
        (k_aa.sum() - k_aa.diagonal().sum()) / (m * (m - 1))
        + (k_bb.sum() - k_bb.diagonal().sum()) / (n * (n - 1))
        - 2 * k_ab.mean()
    )


def not_attempted(a, b):
    raise NotImplementedError()


def _wrong(degree=3, scale=True, coef0=1.0, diagonal=False):
    def kid(a, b):
        d = a.shape[1] if scale else 1
        k = [(x @ y.T / d + coef0) ** degree for x, y in ((a, a), (b, b), (a, b))]
        if diagonal:
            return (k[0].mean() + k[1].mean() - 2 * k[2].mean()).item()
        m, n = len(a), len(b)
        return float(
            (k[0].sum() - k[0].trace()) / (m * (m - 1)) + (k[1].sum() - k[1].trace()) / (n * (n - 1)) - 2 * k[2].mean()
        )

    return kid


def test_kid_checker_accepts_correct_solutions():
    assert check_kid(kid_reference)
    assert check_kid(kid_torch)  # a 0-d tensor is accepted too


def test_kid_checker_not_attempted():
    feedback = check_kid(not_attempted)
    assert not feedback and "Not attempted" in feedback.message


@pytest.mark.parametrize(
    "wrong, words",
    [
        (_wrong(diagonal=True), "biased"),
        (_wrong(degree=2), "cubic"),
        (_wrong(scale=False), "dimension d"),
        (_wrong(coef0=0.0), "adds 1"),
    ],
)
def test_kid_checker_names_the_mistake(wrong, words):
    feedback = check_kid(wrong)
    assert not feedback and words in feedback.message


def test_kid_checker_reports_wrong_return_types():
    assert "one number" in check_kid(lambda a, b: [1.0]).message
    assert "one number" in check_kid(lambda a, b: torch.zeros(3)).message
    feedback = check_kid(lambda a, b: 0.0)
    assert not feedback and "expected" in feedback.message
