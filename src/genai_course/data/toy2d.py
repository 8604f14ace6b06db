"""2-D benchmarks of the mode-collapse literature: a ring of 8 Gaussians and a 5×5 grid.

The GAN chapter trains on them and the diffusion chapter does too; both score samples with
:func:`genai_course.metrics.two_d.mode_metrics` (Metz et al. 2017, Srivastava et al. 2017, Lin et al. 2018).
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
