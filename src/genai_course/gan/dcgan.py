"""DCGAN (Radford et al. 2016) for 16×16 digits (or 32×32 colour images), optionally class-conditional (Mirza & Osindero 2014).

Generator: z (b z) [+ label embedding] → linear → (4c 4 4) → transposed convs → (1 16 16), tanh.
Discriminator: strided convs (16 → 8 → 4) → a score; the conditional version is a
*projection* discriminator (Miyato & Koyama 2018): score = ψ(h) + ⟨embed(y), h⟩.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..shape_check import expect_shape
from .spectral import apply_spectral_norm


@dataclass
class DCGANConfig:
    z_dim: int = 32
    base: int = 32  # channels: 4·base at 4×4, 2·base at 8×8, base at 16×16
    n_classes: int = 0  # 0: unconditional
    img_channels: int = 1
    size: int = 16  # 16 or 32
    spectral_norm: bool = True

    def __post_init__(self):
        if self.size not in (16, 32):
            raise ValueError(f"size must be 16 or 32, got {self.size}")


def _check_labels(y, b: int, n_classes: int) -> None:
    """Labels y (b,) of int64 class ids for a conditional model, None for an unconditional one."""
    if n_classes == 0:
        if y is not None:
            raise ValueError("this model is unconditional: do not pass labels")
        return
    if y is None:
        raise ValueError(f"this model is conditional: pass labels, an int64 tensor of shape ({b},)")
    expect_shape(y, "b", b=b, name="labels")
    if y.dtype != torch.long:
        raise ValueError(f"labels must be int64 class ids, got dtype {y.dtype}")


class DCGenerator(nn.Module):
    def __init__(self, cfg: DCGANConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or DCGANConfig()
        c = cfg.base
        self.embed = nn.Embedding(cfg.n_classes, cfg.z_dim) if cfg.n_classes else None
        self.fc = nn.Sequential(
            nn.Linear(cfg.z_dim * (2 if cfg.n_classes else 1), 4 * c * 16), nn.BatchNorm1d(4 * c * 16), nn.ReLU()
        )
        extra = [nn.ConvTranspose2d(c, c, 4, 2, 1), nn.BatchNorm2d(c), nn.ReLU()] if cfg.size == 32 else []
        self.net = nn.Sequential(
            nn.ConvTranspose2d(4 * c, 2 * c, 4, 2, 1),
            nn.BatchNorm2d(2 * c),
            nn.ReLU(),  # 8×8
            nn.ConvTranspose2d(2 * c, c, 4, 2, 1),
            nn.BatchNorm2d(c),
            nn.ReLU(),  # 16×16
            *extra,  # 32×32
            nn.Conv2d(c, cfg.img_channels, 3, padding=1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z (b z_dim) [, y (b,)] -> images (b img_channels size size) in [-1, 1]."""
        b = expect_shape(z, "b z", z=self.cfg.z_dim, name="z")["b"]
        _check_labels(y, b, self.cfg.n_classes)
        h = z if self.embed is None else torch.cat([z, self.embed(y)], 1)
        return self.net(self.fc(h).view(z.shape[0], 4 * self.cfg.base, 4, 4))


class DCDiscriminator(nn.Module):
    def __init__(self, cfg: DCGANConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or DCGANConfig()
        c = cfg.base
        first = (
            [nn.Conv2d(cfg.img_channels, c, 4, 2, 1)]
            if cfg.size == 32  # 32 → 16
            else [nn.Conv2d(cfg.img_channels, c, 3, 1, 1)]
        )
        self.net = nn.Sequential(
            *first,
            nn.LeakyReLU(0.2),
            nn.Conv2d(c, 2 * c, 4, 2, 1),
            nn.LeakyReLU(0.2),  # 8×8
            nn.Conv2d(2 * c, 4 * c, 4, 2, 1),
            nn.LeakyReLU(0.2),  # 4×4
            nn.Flatten(),
            nn.Linear(4 * c * 16, 4 * c),
            nn.LeakyReLU(0.2),
        )
        self.out = nn.Linear(4 * c, 1)
        self.embed = nn.Embedding(cfg.n_classes, 4 * c) if cfg.n_classes else None
        if cfg.spectral_norm:
            apply_spectral_norm(self)
            if self.embed is not None:
                self.embed = nn.utils.parametrizations.spectral_norm(self.embed)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """images (b img_channels size size) [, y (b,)] -> scores (b,)."""
        cfg = self.cfg
        b = expect_shape(x, "b c h w", c=cfg.img_channels, h=cfg.size, w=cfg.size, name="images")["b"]
        _check_labels(y, b, cfg.n_classes)
        h = self.net(x)
        score = self.out(h)[:, 0]
        if self.embed is not None:
            score = score + (self.embed(y) * h).sum(1)  # projection: class-specific direction in h
        return score
