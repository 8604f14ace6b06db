r"""Fréchet distance between two sets of features — here a *course FID on a digit classifier*.

Fit a Gaussian to each feature set and take the Fréchet (2-Wasserstein) distance between them:

.. math::

    d^2 = \lVert \mu_a - \mu_b \rVert^2 + \operatorname{tr}\!\left(\Sigma_a + \Sigma_b
          - 2\,(\Sigma_a^{1/2} \Sigma_b \Sigma_a^{1/2})^{1/2}\right)

The real FID uses the 2048-d pool features of an Inception-v3 network trained on ImageNet.
We use the 64-d penultimate layer of the course's small digit classifier instead
(:mod:`genai_course.metrics.digit_classifier`), so the numbers are only comparable with each
other inside this course — they are **not** Inception FID.
"""

from __future__ import annotations

import numpy as np
import torch


def _as_2d(x, name: str) -> np.ndarray:
    arr = x.detach().cpu().double().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 2:
        raise ValueError(f"{name} must have shape (n d) with n >= 2, got {arr.shape}")
    return arr


def _sqrtm_psd(s: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition."""
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu_a, sigma_a, mu_b, sigma_b) -> float:
    """Fréchet distance between N(mu_a, sigma_a) and N(mu_b, sigma_b) (the squared form, as in FID)."""
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    sigma_a, sigma_b = np.asarray(sigma_a, np.float64), np.asarray(sigma_b, np.float64)
    d = mu_a.shape[0]
    for name, s in (("sigma_a", sigma_a), ("sigma_b", sigma_b)):
        if s.shape != (d, d):
            raise ValueError(f"{name} must have shape ({d} {d}) to match the mean, got {s.shape}")
    root_a = _sqrtm_psd(sigma_a)
    # tr((Σa^½ Σb Σa^½)^½) = sum of square roots of that PSD matrix's eigenvalues
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ sigma_b @ root_a), 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(sigma_a) + np.trace(sigma_b) - 2 * cross)


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and covariance (d d) of features (n d)."""
    f = _as_2d(features, "features")
    return f.mean(0), np.cov(f, rowvar=False)


def frechet_distance_features(features_a, features_b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (n d) and (m d)."""
    fa, fb = _as_2d(features_a, "features_a"), _as_2d(features_b, "features_b")
    if fa.shape[1] != fb.shape[1]:
        raise ValueError(f"feature sets must share d, got {fa.shape} and {fb.shape}")
    return frechet_distance(*feature_statistics(fa), *feature_statistics(fb))


@torch.no_grad()
def digit_features(images: torch.Tensor, model=None, batch_size: int = 512) -> torch.Tensor:
    """Penultimate-layer features (b 64) of the course digit classifier for images (b 1 16 16) in [-1, 1]."""
    from genai_course.metrics.digit_classifier import load_digit_classifier

    model = model or load_digit_classifier()
    dev = next(model.parameters()).device
    return torch.cat(
        [model.features(images[i : i + batch_size].to(dev)).cpu() for i in range(0, len(images), batch_size)]
    )


def course_fid(images_a: torch.Tensor, images_b: torch.Tensor, model=None) -> float:
    """Course FID between two image sets (b 1 16 16) in [-1, 1], on the digit classifier's features.

    Not Inception FID: only compare it with other course FIDs. Like FID it is biased upward for
    small sets, so compare sets of the same size.
    """
    from genai_course.metrics.digit_classifier import load_digit_classifier

    model = model or load_digit_classifier()
    return frechet_distance_features(digit_features(images_a, model), digit_features(images_b, model))


# --- small-sample bias (Chong & Forsyth 2020; Bińkowski et al. 2018) ---------------------------------


def sample_size_sweep(metric, features, reference, sizes, draws: int = 5, seed: int = 0) -> dict[int, np.ndarray]:
    """``metric(subset, reference)`` for ``draws`` random subsets of ``features`` (N d) of each size n.

    Subsets are drawn without replacement, afresh for each draw; ``reference`` (M d) stays
    fixed. Returns ``{n: array of draws values}``, so the mean and spread at each n show the
    estimator's bias and noise. ``metric`` is e.g. :func:`frechet_distance_features` or
    :func:`genai_course.metrics.kid.kernel_inception_distance`.
    """
    n_total = len(features)
    if any(not isinstance(n, int) or not 2 <= n <= n_total for n in sizes):
        raise ValueError(f"every size must be an int in 2..{n_total} (the number of features), got {list(sizes)}")
    rng = np.random.default_rng(seed)
    return {
        n: np.array([metric(features[rng.permutation(n_total)[:n]], reference) for _ in range(draws)]) for n in sizes
    }


def real_vs_real_sweep(metric, features, sizes, draws: int = 5, seed: int = 0) -> dict[int, np.ndarray]:
    """The same as :func:`sample_size_sweep` for one data set against itself, without overlap.

    Each draw splits ``features`` (N d) at random into two disjoint halves, takes n rows of the
    first and compares them with the whole second half, so n can reach N // 2 at most. A perfect
    generator would score like this.
    """
    half = len(features) // 2
    if any(not isinstance(n, int) or not 2 <= n <= half for n in sizes):
        raise ValueError(f"every size must be an int in 2..{half} (half the features), got {list(sizes)}")
    rng = np.random.default_rng(seed)
    out = {n: [] for n in sizes}
    for _ in range(draws):
        order = rng.permutation(len(features))
        first, second = features[order[:half]], features[order[half:]]
        for n in sizes:
            out[n].append(metric(first[:n], second))
    return {n: np.array(v) for n, v in out.items()}
