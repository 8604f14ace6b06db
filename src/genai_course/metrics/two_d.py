r"""Sample quality for 2-D toy data: how far are samples from the data, and which modes do they hit?

- **Energy distance** :math:`2\,E\lVert X-Y\rVert - E\lVert X-X'\rVert - E\lVert Y-Y'\rVert`:
  zero exactly when the two distributions are equal, no bandwidth to choose.
- **MMD** with a Gaussian kernel: the same idea with a kernel of width ``bandwidth``.
- **Mode coverage** for mixtures with known centres: a sample is *high quality* when it lies
  within ``radius`` of its nearest centre; a mode is *covered* when at least ``min_count`` high-quality
  samples land on it.
"""

from __future__ import annotations

import torch


def _check_points(x: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.dim() != 2:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a tensor of points (n d), got {got}")
    return x.detach().double().cpu()


def energy_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    """Energy distance between point sets x (n d) and y (m d) (V-statistic, ≥ 0)."""
    x, y = _check_points(x, "x"), _check_points(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same dimension d, got {tuple(x.shape)} and {tuple(y.shape)}")
    return float(2 * torch.cdist(x, y).mean() - torch.cdist(x, x).mean() - torch.cdist(y, y).mean())


def mmd_rbf(x: torch.Tensor, y: torch.Tensor, bandwidth: float = 0.5) -> float:
    """Squared maximum mean discrepancy with kernel exp(-|a-b|² / (2 bandwidth²)) (V-statistic)."""
    x, y = _check_points(x, "x"), _check_points(y, "y")
    k = lambda a, b: torch.exp(-(torch.cdist(a, b) ** 2) / (2 * bandwidth**2))  # noqa: E731
    return float(k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean())


def mode_coverage(samples: torch.Tensor, centers: torch.Tensor, radius: float, min_count: int = 5) -> dict:
    """``{"modes_covered": int, "n_modes": int, "high_quality": fraction}`` for a mixture with known centres."""
    s, c = _check_points(samples, "samples"), _check_points(centers, "centers")
    dist, nearest = torch.cdist(s, c).min(dim=1)
    good = dist <= radius
    counts = torch.bincount(nearest[good], minlength=len(c))
    return {
        "modes_covered": int((counts >= min_count).sum()),
        "n_modes": len(c),
        "high_quality": float(good.double().mean()),
    }
