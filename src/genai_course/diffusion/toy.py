"""Toy problems for diffusion: a small MLP denoiser for 2-D points (data: :mod:`genai_course.data.toy2d`), waveforms."""

from __future__ import annotations

import math

import torch
from torch import nn

from genai_course.nn.unet import timestep_embedding


class MLPDenoiser(nn.Module):
    """ε_θ(x, t) for low-dimensional x (b d): an MLP on [x, time embedding]."""

    def __init__(self, dim: int = 2, hidden: int = 128, depth: int = 3, t_dim: int = 32):
        super().__init__()
        self.t_dim = t_dim
        layers, width = [], dim + t_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        self.net = nn.Sequential(*layers, nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2:
            raise ValueError(f"expected x of shape (b d), got {tuple(x.shape)}")
        t = torch.as_tensor(t, device=x.device).expand(x.shape[0])
        return self.net(torch.cat([x, timestep_embedding(t, self.t_dim)], dim=-1))


def waveforms(n: int, length: int = 64, generator=None) -> torch.Tensor:
    """(n 1 length) audio-like signals: a sum of two sines with random frequency, phase and decay, in about [-1, 1]."""
    g = generator
    u = torch.linspace(0, 1, length)
    f = torch.randint(2, 9, (n, 2), generator=g).float()  # cycles per window (a few "notes")
    phase = torch.rand(n, 2, generator=g) * 2 * math.pi
    amp = torch.stack([torch.full((n,), 0.6), 0.3 * torch.rand(n, generator=g) + 0.1], dim=1)
    decay = torch.rand(n, 1, generator=g) * 2.0
    sig = (amp[..., None] * torch.sin(2 * math.pi * f[..., None] * u + phase[..., None])).sum(1)
    return (sig * torch.exp(-decay * u))[:, None]


def power_spectrum(x: torch.Tensor) -> torch.Tensor:
    """Mean power per frequency (length//2 + 1,) of signals (b 1 length)."""
    return (torch.fft.rfft(x[:, 0], dim=-1).abs() ** 2).mean(0)
