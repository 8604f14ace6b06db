r"""Noise schedules: how much noise each of the T forward steps adds.

Step t (0-based, t = 0 … T-1, as in Hugging Face ``diffusers``) adds Gaussian noise of variance
:math:`\beta_t`. With :math:`\alpha_t = 1-\beta_t` and :math:`\bar\alpha_t = \prod_{s\le t}\alpha_s`,
:math:`x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\varepsilon`.

- **linear** (Ho et al., 2020): β rises linearly from 1e-4 to 0.02 (for T = 1000).
- **cosine** (Nichol & Dhariwal, 2021): :math:`\bar\alpha(t) \propto \cos^2\!\big(\tfrac{t/T+s}{1+s}\tfrac{\pi}{2}\big)`,
  β capped at 0.999; it destroys information more evenly, which helps small images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def linear_betas(T: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """(T,) betas rising linearly (diffusers' ``beta_schedule="linear"``)."""
    if T < 1:
        raise ValueError(f"T must be a positive number of steps, got {T}")
    return torch.linspace(beta_start, beta_end, T, dtype=torch.float32)


def cosine_betas(T: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """(T,) betas of the cosine schedule (diffusers' ``beta_schedule="squaredcos_cap_v2"``)."""
    if T < 1:
        raise ValueError(f"T must be a positive number of steps, got {T}")
    abar = lambda u: math.cos((u + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    betas = [min(1 - abar((i + 1) / T) / abar(i / T), max_beta) for i in range(T)]
    return torch.tensor(betas, dtype=torch.float32)


@dataclass
class NoiseSchedule:
    """Betas and the quantities derived from them, all (T,) float32 tensors."""

    betas: torch.Tensor

    def __post_init__(self):
        if self.betas.dim() != 1 or not ((self.betas > 0) & (self.betas < 1)).all():
            raise ValueError("betas must be a 1-D tensor with every value in (0, 1)")
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)
        # ᾱ_{t-1}, with ᾱ_{-1} = 1 (no noise before the first step)
        self.alphas_cumprod_prev = torch.cat([self.alphas_cumprod.new_ones(1), self.alphas_cumprod[:-1]])

    @property
    def T(self) -> int:
        return len(self.betas)

    def to(self, device) -> NoiseSchedule:
        return NoiseSchedule(self.betas.to(device))

    @classmethod
    def make(cls, kind: str = "linear", T: int = 1000) -> NoiseSchedule:
        """``NoiseSchedule.make("linear" | "cosine", T)``."""
        if kind == "linear":
            # keep the total amount of noise of the T=1000 schedule when T is smaller
            return cls(linear_betas(T, 1e-4 * 1000 / T, min(0.02 * 1000 / T, 0.999)) if T < 1000 else linear_betas(T))
        if kind == "cosine":
            return cls(cosine_betas(T))
        raise ValueError(f"schedule kind must be 'linear' or 'cosine', got {kind!r}")
