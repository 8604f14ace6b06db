"""Small MLP generator and discriminator for 2-D toy distributions."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..shape_check import expect_shape
from .spectral import apply_spectral_norm


@dataclass
class MLP2DConfig:
    z_dim: int = 8
    hidden: int = 128
    layers: int = 3
    spectral_norm: bool = False  # discriminator only
    minibatch_std: bool = False  # discriminator only: append the batch's feature spread (Karras et al. 2018)
    pack: int = 1  # discriminator only: judge `pack` samples at once, as one input (PacGAN, Lin et al. 2018)


def _mlp(d_in: int, d_out: int, hidden: int, layers: int, act, extra_last: int = 0) -> nn.Sequential:
    mods, d = [], d_in
    for _ in range(layers):
        mods += [nn.Linear(d, hidden), act()]
        d = hidden
    mods.append(nn.Linear(d + extra_last, d_out))
    return nn.Sequential(*mods)


class Generator2D(nn.Module):
    """z (b z_dim) -> points (b 2)."""

    def __init__(self, cfg: MLP2DConfig | None = None):
        super().__init__()
        self.cfg = cfg or MLP2DConfig()
        self.net = _mlp(self.cfg.z_dim, 2, self.cfg.hidden, self.cfg.layers, nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        expect_shape(z, "b z", z=self.cfg.z_dim, name="z")
        return self.net(z)


def minibatch_std(h: torch.Tensor) -> torch.Tensor:
    """Append one feature to h (b d): the spread of the batch, mean over d of each feature's std.

    A real batch of the ring is spread over 8 modes; a collapsed generator's batch is not, and
    this feature lets the discriminator see that (a cheap cousin of minibatch discrimination).
    """
    spread = h.std(dim=0, unbiased=False).mean()
    return torch.cat([h, spread.expand(h.shape[0], 1)], dim=1)


class Discriminator2D(nn.Module):
    """points (b 2) -> scores (b,) (logits / critic values); with packing, (b/pack,): one per pack.

    Packing (PacGAN): the ``pack`` consecutive samples of the batch are concatenated into one input
    (b 2) -> (b/pack, 2·pack), all real or all fake. A collapsed generator's packs hold near-copies,
    which real packs almost never do, so the discriminator can see the missing diversity.
    """

    def __init__(self, cfg: MLP2DConfig | None = None):
        super().__init__()
        self.cfg = cfg or MLP2DConfig()
        if self.cfg.pack < 1:
            raise ValueError(f"pack must be >= 1, got {self.cfg.pack}")
        self.net = _mlp(
            2 * self.cfg.pack,
            1,
            self.cfg.hidden,
            self.cfg.layers,
            lambda: nn.LeakyReLU(0.2),
            extra_last=int(self.cfg.minibatch_std),
        )
        if self.cfg.spectral_norm:
            apply_spectral_norm(self.net)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expect_shape(x, "b 2", name="x")
        if x.shape[0] % self.cfg.pack:
            raise ValueError(f"a batch of {x.shape[0]} points cannot be split into packs of {self.cfg.pack}")
        x = x.reshape(-1, 2 * self.cfg.pack)  # (b 2) -> (b/pack, 2·pack): consecutive samples side by side
        if self.cfg.minibatch_std:
            return self.net[-1](minibatch_std(self.net[:-1](x)))[:, 0]
        return self.net(x)[:, 0]
