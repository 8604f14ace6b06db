"""A small U-Net for diffusion: time embedding, residual blocks with GroupNorm, attention at low resolution.

The network maps a noisy image and its noise level to a prediction of the same shape
(usually the noise ε)::

    x (b c h w), t (b,) ──► down path (res blocks, stride-2 convs) ──► middle (res, attention, res)
                         ──► up path (res blocks on [up, skip] concatenations) ──► (b c h w)

- The timestep becomes a sinusoidal vector, then an MLP; every residual block adds it.
- ``n_classes`` adds a label embedding to the time embedding (class conditioning). The extra
  index ``n_classes`` is the *null* label, used for classifier-free guidance.
- ``context_dim`` adds cross-attention from the image tokens to a context sequence (b s d)
  at the attention resolutions — how Stable Diffusion conditions on text.

Height and width must be divisible by ``2 ** (len(channel_mults) - 1)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .attention import MultiHeadAttention


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding (b dim) of integer or real timesteps t (b,)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]
    emb = torch.cat([angles.cos(), angles.sin()], dim=-1)
    return F.pad(emb, (0, dim % 2))


@dataclass
class UNetConfig:
    in_channels: int = 1
    out_channels: int = 1
    base_channels: int = 32
    channel_mults: tuple = (1, 2, 2)  # one entry per resolution level
    attn_levels: tuple = (2,)  # levels (0 = full resolution) with self-attention
    num_res_blocks: int = 1
    groups: int = 8
    n_heads: int = 4
    dropout: float = 0.0
    n_classes: int | None = None  # class conditioning (+1 null label for guidance)
    context_dim: int | None = None  # cross-attention conditioning on a (b s context_dim) sequence


class ResBlock(nn.Module):
    """GroupNorm → SiLU → conv, plus the time embedding, twice; a 1×1 conv on the skip if widths differ."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int, dropout: float):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2, self.conv2 = nn.GroupNorm(groups, c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.dropout = nn.Dropout(dropout)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(F.silu(emb))[:, :, None, None]  # every channel learns how loud the noise is
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class AttentionBlock(nn.Module):
    """Self-attention over the h·w positions, then (optionally) cross-attention to a context."""

    def __init__(self, channels: int, groups: int, n_heads: int, context_dim: int | None):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.attn = MultiHeadAttention(channels, n_heads, fused=True)
        self.cross = None
        if context_dim is not None:
            self.ctx_proj = nn.Linear(context_dim, channels)
            self.cross_norm = nn.LayerNorm(channels)
            self.cross = MultiHeadAttention(channels, n_heads, fused=True)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        b, c, h, w = x.shape
        tokens = rearrange(self.norm(x), "b c h w -> b (h w) c")
        tokens = tokens + self.attn(tokens)
        if self.cross is not None and context is not None:
            tokens = tokens + self.cross(self.cross_norm(tokens), context=self.ctx_proj(context))
        return x + rearrange(tokens, "b (h w) c -> b c h w", h=h, w=w)


class UNet(nn.Module):
    """``forward(x, t, y=None, context=None)``: x (b c h w), t (b,) or a number → (b out_channels h w)."""

    def __init__(self, config: UNetConfig | None = None):
        super().__init__()
        self.config = cfg = config or UNetConfig()
        for m in cfg.channel_mults:
            if (cfg.base_channels * m) % cfg.groups:
                raise ValueError(
                    f"every level's width must be divisible by groups={cfg.groups}, got {cfg.base_channels * m}"
                )
        ch = [cfg.base_channels * m for m in cfg.channel_mults]
        emb_dim = 4 * cfg.base_channels
        self.time_mlp = nn.Sequential(nn.Linear(cfg.base_channels, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.label_emb = nn.Embedding(cfg.n_classes + 1, emb_dim) if cfg.n_classes else None
        self.stem = nn.Conv2d(cfg.in_channels, ch[0], 3, padding=1)
        res = lambda a, b: ResBlock(a, b, emb_dim, cfg.groups, cfg.dropout)  # noqa: E731
        attn = lambda c, lvl: (  # noqa: E731
            AttentionBlock(c, cfg.groups, cfg.n_heads, cfg.context_dim)  # noqa: E731
            if lvl in cfg.attn_levels
            else None
        )
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        c_prev, skips = ch[0], [ch[0]]
        for lvl, c in enumerate(ch):
            for _ in range(cfg.num_res_blocks):
                self.down.append(nn.ModuleList([res(c_prev, c), attn(c, lvl) or nn.Identity()]))
                c_prev = c
                skips.append(c)
            if lvl < len(ch) - 1:
                self.downsample.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
                skips.append(c)
        self.mid1, self.mid_attn, self.mid2 = (
            res(c_prev, c_prev),
            AttentionBlock(c_prev, cfg.groups, cfg.n_heads, cfg.context_dim),
            res(c_prev, c_prev),
        )
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for lvl in reversed(range(len(ch))):
            for _ in range(cfg.num_res_blocks + 1):
                self.up.append(nn.ModuleList([res(c_prev + skips.pop(), ch[lvl]), attn(ch[lvl], lvl) or nn.Identity()]))
                c_prev = ch[lvl]
            if lvl > 0:
                self.upsample.append(nn.Conv2d(c_prev, c_prev, 3, padding=1))
        self.out = nn.Sequential(
            nn.GroupNorm(cfg.groups, c_prev), nn.SiLU(), nn.Conv2d(c_prev, cfg.out_channels, 3, padding=1)
        )
        nn.init.zeros_(self.out[-1].weight)  # start by predicting zero: a calm first step
        nn.init.zeros_(self.out[-1].bias)

    def _check(self, x, t, y, context):
        cfg, factor = self.config, 2 ** (len(self.config.channel_mults) - 1)
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != cfg.in_channels:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"expected x of shape (b {cfg.in_channels} h w), got {got}")
        if x.shape[2] % factor or x.shape[3] % factor:
            raise ValueError(
                f"height and width must be divisible by 2**(levels-1) = {factor}, got {tuple(x.shape[2:])}"
            )
        t = torch.as_tensor(t, device=x.device)
        if t.dim() == 0:
            t = t.expand(x.shape[0])
        if t.shape != (x.shape[0],):
            raise ValueError(f"expected t of shape (b,) = ({x.shape[0]},) or a number, got {tuple(t.shape)}")
        if cfg.n_classes:
            if y is None:
                y = torch.full((x.shape[0],), cfg.n_classes, device=x.device, dtype=torch.long)  # null label
            y = torch.as_tensor(y, device=x.device)
            if y.shape != (x.shape[0],) or y.dtype != torch.long or y.min() < 0 or y.max() > cfg.n_classes:
                raise ValueError(
                    f"expected y: int64 labels (b,) in [0, {cfg.n_classes}] ({cfg.n_classes} = null), got {tuple(y.shape)} {y.dtype}"
                )
        elif y is not None:
            raise ValueError("this U-Net has no class conditioning (n_classes=None) but y was given")
        if context is not None:
            if cfg.context_dim is None:
                raise ValueError("this U-Net has no cross-attention (context_dim=None) but context was given")
            if context.dim() != 3 or context.shape[0] != x.shape[0] or context.shape[2] != cfg.context_dim:
                raise ValueError(
                    f"expected context of shape ({x.shape[0]} s {cfg.context_dim}), got {tuple(context.shape)}"
                )
        return t, y

    def forward(
        self, x: torch.Tensor, t, y: torch.Tensor | None = None, context: torch.Tensor | None = None
    ) -> torch.Tensor:
        t, y = self._check(x, t, y, context)
        emb = self.time_mlp(timestep_embedding(t, self.config.base_channels))
        if self.label_emb is not None:
            emb = emb + self.label_emb(y)
        run = lambda blk, h: blk[1](blk[0](h, emb), context) if isinstance(blk[1], AttentionBlock) else blk[0](h, emb)  # noqa: E731
        h = self.stem(x)
        skips, i = [h], 0
        for lvl in range(len(self.config.channel_mults)):
            for _ in range(self.config.num_res_blocks):
                h = run(self.down[i], h)
                skips.append(h)
                i += 1
            if lvl < len(self.downsample):
                h = self.downsample[lvl](h)
                skips.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb), context), emb)
        i = 0
        for j, lvl in enumerate(reversed(range(len(self.config.channel_mults)))):
            for _ in range(self.config.num_res_blocks + 1):
                h = run(self.up[i], torch.cat([h, skips.pop()], dim=1))
                i += 1
            if lvl > 0:
                h = self.upsample[j](F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.out(h)
