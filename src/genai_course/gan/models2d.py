"""Small MLP generator and discriminator for 2-D toy distributions."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .spectral import apply_spectral_norm


@dataclass
class MLP2DConfig:
    z_dim: int = 8
    hidden: int = 128
    layers: int = 3
    spectral_norm: bool = False  # discriminator only


def _mlp(d_in: int, d_out: int, hidden: int, layers: int, act) -> nn.Sequential:
    mods, d = [], d_in
    for _ in range(layers):
        mods += [nn.Linear(d, hidden), act()]
        d = hidden
    mods.append(nn.Linear(d, d_out))
    return nn.Sequential(*mods)


class Generator2D(nn.Module):
    """z (b z_dim) -> points (b 2)."""

    def __init__(self, cfg: MLP2DConfig | None = None):
        super().__init__()
        self.cfg = cfg or MLP2DConfig()
        self.net = _mlp(self.cfg.z_dim, 2, self.cfg.hidden, self.cfg.layers, nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.cfg.z_dim:
            raise ValueError(f"z must be (b {self.cfg.z_dim}), got {tuple(z.shape)}")
        return self.net(z)


class Discriminator2D(nn.Module):
    """points (b 2) -> scores (b,) (logits / critic values)."""

    def __init__(self, cfg: MLP2DConfig | None = None):
        super().__init__()
        self.cfg = cfg or MLP2DConfig()
        self.net = _mlp(2, 1, self.cfg.hidden, self.cfg.layers, lambda: nn.LeakyReLU(0.2))
        if self.cfg.spectral_norm:
            apply_spectral_norm(self.net)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != 2:
            raise ValueError(f"x must be (b 2), got {tuple(x.shape)}")
        return self.net(x)[:, 0]
