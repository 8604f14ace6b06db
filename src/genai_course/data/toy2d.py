"""2-D benchmarks of the mode-collapse literature: a ring of 8 Gaussians and a 5×5 grid.

Metrics (as in Metz et al. 2017, Srivastava et al. 2017, Lin et al. 2018):

- a sample is **high quality** when it lies within 3 standard deviations of the nearest centre;
- a mode is **recovered** when at least ``min_fraction`` of its fair share of the samples
  (``n / n_modes``) falls within 3 standard deviations of its centre (default 20 %).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Mixture2D:
    name: str
    centers: torch.Tensor  # (k 2)
    std: float

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n points (n 2), each from a uniformly chosen mode plus isotropic Gaussian noise."""
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        idx = torch.randint(len(self.centers), (n,), generator=generator)
        return self.centers[idx] + self.std * torch.randn(n, 2, generator=generator)


def ring(n_modes: int = 8, radius: float = 2.0, std: float = 0.05) -> Mixture2D:
    angles = torch.arange(n_modes, dtype=torch.float32) * (2 * math.pi / n_modes)
    return Mixture2D(f"ring of {n_modes}", radius * torch.stack([angles.cos(), angles.sin()], 1), std)


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> Mixture2D:
    coords = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    cx, cy = torch.meshgrid(coords, coords, indexing="ij")
    return Mixture2D(f"{side}x{side} grid", torch.stack([cx.flatten(), cy.flatten()], 1), std)


def mode_metrics(samples: torch.Tensor, mixture: Mixture2D, min_fraction: float = 0.2) -> dict:
    """``{"modes": recovered, "n_modes": k, "high_quality": fraction in [0, 1]}``."""
    if not isinstance(samples, torch.Tensor) or samples.dim() != 2 or samples.shape[1] != 2:
        got = tuple(samples.shape) if isinstance(samples, torch.Tensor) else type(samples).__name__
        raise ValueError(f"samples must be a tensor (n 2), got {got}")
    s = samples.detach().float().cpu()
    dist, nearest = torch.cdist(s, mixture.centers).min(dim=1)
    good = dist <= 3 * mixture.std
    counts = torch.bincount(nearest[good], minlength=len(mixture.centers))
    need = min_fraction * len(s) / len(mixture.centers)
    return {
        "modes": int((counts >= need).sum()),
        "n_modes": len(mixture.centers),
        "high_quality": float(good.float().mean()),
    }
