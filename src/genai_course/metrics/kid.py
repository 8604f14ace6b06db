r"""Kernel Inception Distance (KID): an *unbiased* distance between two feature sets.

Bińkowski et al. (2018, "Demystifying MMD GANs", section 5) replace FID's two Gaussians by the
squared maximum mean discrepancy (MMD²) with a cubic polynomial kernel on the features,

.. math::

    k(x, y) = \left(\tfrac{1}{d}\, x^\top y + 1\right)^3,

and estimate it without bias from $m$ samples $x_i$ and $n$ samples $y_j$:

.. math::

    \widehat{\mathrm{MMD}}^2_u = \frac{1}{m(m-1)} \sum_{i \ne i'} k(x_i, x_{i'})
      + \frac{1}{n(n-1)} \sum_{j \ne j'} k(y_j, y_{j'})
      - \frac{2}{mn} \sum_{i, j} k(x_i, y_j).

Leaving out the diagonal ($i = i'$) is what removes the bias: $k(x_i, x_i)$ is not an
estimate of $\mathbb{E}\,k(x, x')$ for *independent* $x, x'$. So the estimate's mean does not move
with the sample size, it is 0 on average when both sets come from one distribution, and it
can be negative. The paper uses Inception features; here any features ``(n d)`` work, and the
course feeds it the digit classifier's (:func:`genai_course.metrics.fid.digit_features`), so
the numbers are a *course KID*, comparable only inside the course.
"""

from __future__ import annotations

import torch

from ..shape_check import expect_shape


def _features(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(x)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"{name}: expected a tensor or array of shape (n d), got {type(x).__name__}") from None
    expect_shape(x, "n d", name=name)
    if x.shape[0] < 2:
        raise ValueError(f"{name}: the unbiased estimator needs at least 2 samples, got {x.shape[0]}")
    return x.detach().to(torch.float64)


def polynomial_kernel(a: torch.Tensor, b: torch.Tensor, degree: int = 3, coef0: float = 1.0) -> torch.Tensor:
    """KID's kernel k(x, y) = (xᵀy / d + coef0)^degree for rows of a (m d) and b (n d) → (m n)."""
    return (a @ b.T / a.shape[1] + coef0) ** degree  # Bińkowski et al. 2018, eq. in section 5


def kernel_inception_distance(features_a, features_b) -> float:
    """Unbiased MMD² with the cubic polynomial kernel between features (m d) and (n d).

    0 on average when both sets come from one distribution (so single values can be
    negative); its mean does not depend on m or n. Computed in float64 on the features' device.
    """
    a, b = _features(features_a, "features_a"), _features(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets must share d, got {tuple(a.shape)} and {tuple(b.shape)}")
    b = b.to(a.device)
    m, n = a.shape[0], b.shape[0]
    k_aa, k_bb, k_ab = polynomial_kernel(a, a), polynomial_kernel(b, b), polynomial_kernel(a, b)
    # the sums over i ≠ i': the whole matrix minus its diagonal, averaged over the m(m-1) pairs
    within_a = (k_aa.sum() - k_aa.diagonal().sum()) / (m * (m - 1))
    within_b = (k_bb.sum() - k_bb.diagonal().sum()) / (n * (n - 1))
    return float(within_a + within_b - 2 * k_ab.mean())
