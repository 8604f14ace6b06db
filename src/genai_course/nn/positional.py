r"""Positional information: sinusoidal, learned and rotary (RoPE) encodings.

Attention alone is permutation-equivariant: shuffle the tokens and the outputs shuffle the
same way. These encodings are how a Transformer learns about order.

Sinusoidal (Vaswani et al., 2017):

.. math::

    PE_{p, 2i} = \sin(p / 10000^{2i/d}), \qquad PE_{p, 2i+1} = \cos(p / 10000^{2i/d})

RoPE (Su et al., 2021) rotates each pair of query/key features by the angle
:math:`p\,\theta_i`, so that :math:`\langle R_m q, R_n k\rangle` depends on :math:`m-n` only.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ShapeError
from ..shape_check import expect_shape


def sinusoidal_encoding(t: int, d: int, base: float = 10000.0) -> torch.Tensor:
    """(t d) table: even features sin(p / base^(2i/d)), odd features cos of the same angle."""
    if d % 2:
        raise ValueError(f"the model width d must be even for sinusoidal encodings, got d={d}")
    positions = torch.arange(t, dtype=torch.float32)[:, None]  # (t 1)
    freqs = base ** (-torch.arange(0, d, 2, dtype=torch.float32) / d)  # (d/2): 1/base^(2i/d)
    angles = positions * freqs  # (t d/2)
    pe = torch.empty(t, d)
    pe[:, 0::2], pe[:, 1::2] = angles.sin(), angles.cos()
    return pe


def _fits(x: torch.Tensor, table: torch.Tensor) -> int:
    """The length t of x (b t d), checked against the table (max_len d) it is added to."""
    t = expect_shape(x, "b t d", d=table.shape[1], name="x")["t"]
    if t > table.shape[0]:
        raise ShapeError(f"sequence of length {t} exceeds max_len={table.shape[0]}")  # printed in notebook 02
    return t


class SinusoidalPositions(nn.Module):
    """Adds the fixed sinusoidal table to token embeddings (b t d)."""

    def __init__(self, max_len: int, d_model: int):
        super().__init__()
        self.register_buffer("table", sinusoidal_encoding(max_len, d_model), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.table[: _fits(x, self.table)]


class LearnedPositions(nn.Module):
    """Adds a trained embedding per position (as in GPT-2 and ViT)."""

    def __init__(self, max_len: int, d_model: int):
        super().__init__()
        self.table = nn.Parameter(torch.randn(max_len, d_model) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.table[: _fits(x, self.table)]


def rope_angles(positions: torch.Tensor, d: int, base: float = 10000.0) -> torch.Tensor:
    """Rotation angles p·θ_i for each position and feature pair: (t d/2)."""
    if d % 2:
        raise ValueError(f"RoPE needs an even head width, got d={d}")
    theta = base ** (-torch.arange(0, d, 2, dtype=torch.float32, device=positions.device) / d)
    return positions.float()[:, None] * theta[None, :]


def apply_rope(x: torch.Tensor, positions: torch.Tensor | None = None, base: float = 10000.0) -> torch.Tensor:
    """Rotate consecutive feature pairs (x_{2i}, x_{2i+1}) of x (... t d) by angle p·θ_i."""
    t, d = x.shape[-2], x.shape[-1]
    if positions is None:
        positions = torch.arange(t, device=x.device)
    angles = rope_angles(positions, d, base).to(x.dtype)  # (t d/2)
    cos, sin = angles.cos(), angles.sin()
    x_even, x_odd = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = x_even * cos - x_odd * sin  # a 2-D rotation of every pair
    out[..., 1::2] = x_even * sin + x_odd * cos
    return out
