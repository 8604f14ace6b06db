"""A small U-Net for diffusion: time embedding, residual blocks with GroupNorm, attention at low resolution.

The network maps a noisy image, its noise level and an optional condition to a prediction of the
same shape as the image (usually the noise ε)::

    x (b c h w), t (b,) ──► stem ──► down levels ──► middle (res, attention, res) ──► up levels ──► (b c h w)
                                          │   skips (one per block and per downsample)   ▲
                                          └──────────────────────────────────────────────┘

- The timestep becomes a sinusoidal vector, then an MLP: the embedding ``emb`` (b e) that every
  residual block adds to its channels (Ho et al., 2020).
- Conditioning comes in three forms, any of which a configuration may switch on:
  ``n_classes``: a label y (b,) whose embedding is added to ``emb``; the extra index ``n_classes``
  is the *null* label that classifier-free guidance needs. ``vector_dim``: a vector (b vector_dim),
  e.g. an image embedding, projected and added to ``emb`` (DALL·E 2's decoder, Ramesh et al., 2022).
  ``context_dim``: a sequence (b s context_dim), e.g. text tokens, that the image attends to by
  cross-attention at the attention levels and in the middle (Stable Diffusion, Rombach et al., 2022).
- A *level* is one resolution: ``num_res_blocks`` residual blocks (each followed by attention at
  the levels listed in ``attn_levels``), then a resolution change. Every down block and every
  downsample leaves a skip; every up block consumes one.

Height and width must be divisible by ``2 ** (len(channel_mults) - 1)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ..shape_check import expect_shape
from .attention import MultiHeadAttention


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding (b dim) of integer or real timesteps t (b,)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]  # (b half)
    emb = torch.cat([angles.cos(), angles.sin()], dim=-1)
    return F.pad(emb, (0, dim % 2))


@dataclass
class UNetConfig:
    in_channels: int = 1
    out_channels: int = 1
    base_channels: int = 32
    channel_mults: tuple = (1, 2, 2)  # one entry per resolution level
    attn_levels: tuple = (2,)  # levels (0 = full resolution) with attention after each residual block
    num_res_blocks: int = 1
    groups: int = 8
    n_heads: int = 4
    dropout: float = 0.0
    n_classes: int | None = None  # class conditioning (+1 null label for guidance)
    vector_dim: int | None = None  # conditioning on a vector (b vector_dim), added to the time embedding
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
        """x (b c_in h w), emb (b e) → (b c_out h w)."""
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(F.silu(emb))[:, :, None, None]  # every channel learns how loud the noise is
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class AttentionBlock(nn.Module):
    """Self-attention over the h·w positions, then (with a context) cross-attention to it.

    Both are residual on the *un-normalised* stream, as in DDPM and LDM: x + Attn(GN(x)), then
    + CrossAttn(LN(·), context). Each attention ends in its own output projection.
    """

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
        """x (b c h w), context (b s context_dim) or None → (b c h w)."""
        h, w = x.shape[2:]
        tokens = rearrange(x, "b c h w -> b (h w) c")
        tokens = tokens + self.attn(rearrange(self.norm(x), "b c h w -> b (h w) c"))  # x + Attn(GN(x))
        if self.cross is not None and context is not None:
            tokens = tokens + self.cross(self.cross_norm(tokens), context=self.ctx_proj(context))
        return rearrange(tokens, "b (h w) c -> b c h w", h=h, w=w)


class ResAttnBlock(nn.Module):
    """A residual block, followed by attention on levels that have it."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, cfg: UNetConfig, attention: bool):
        super().__init__()
        self.res = ResBlock(c_in, c_out, emb_dim, cfg.groups, cfg.dropout)
        self.attn = AttentionBlock(c_out, cfg.groups, cfg.n_heads, cfg.context_dim) if attention else None

    def forward(self, h: torch.Tensor, emb: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
        h = self.res(h, emb)
        return self.attn(h, context) if self.attn is not None else h


class DownLevel(nn.Module):
    """One resolution of the down path: blocks at width ``c``, then (except at the bottom) a stride-2 conv."""

    def __init__(self, c_in: int, c: int, emb_dim: int, cfg: UNetConfig, attention: bool, downsample: bool):
        super().__init__()
        widths = [c_in] + [c] * cfg.num_res_blocks
        self.blocks = nn.ModuleList(
            ResAttnBlock(a, b, emb_dim, cfg, attention) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        self.downsample = nn.Conv2d(c, c, 3, stride=2, padding=1) if downsample else None

    def forward(self, h, emb, context, skips: list) -> torch.Tensor:
        """(b c_in H W) → (b c H/2 W/2), or (b c H W) at the bottom; appends one skip per block and downsample."""
        for block in self.blocks:
            h = block(h, emb, context)
            skips.append(h)
        if self.downsample is not None:
            h = self.downsample(h)
            skips.append(h)
        return h


class UpLevel(nn.Module):
    """One resolution of the up path: blocks on [h, skip] concatenations, then (except at the top) ×2 upsampling."""

    def __init__(self, c_in: int, skip_widths: list, c: int, emb_dim: int, cfg: UNetConfig, attention: bool, upsample):
        super().__init__()
        ins = [c_in] + [c] * (len(skip_widths) - 1)
        self.blocks = nn.ModuleList(
            ResAttnBlock(a + s, c, emb_dim, cfg, attention) for a, s in zip(ins, skip_widths, strict=True)
        )
        self.upsample = nn.Conv2d(c, c, 3, padding=1) if upsample else None

    def forward(self, h, emb, context, skips: list) -> torch.Tensor:
        """(b c_in H W) → (b c 2H 2W), or (b c H W) at the top; pops one skip per block."""
        for block in self.blocks:
            h = block(torch.cat([h, skips.pop()], dim=1), emb, context)
        if self.upsample is not None:
            h = self.upsample(F.interpolate(h, scale_factor=2, mode="nearest"))
        return h


class UNet(nn.Module):
    """``forward(x, t, y=None, vector=None, context=None)``: x (b c h w), t (b,) or a number → (b out_channels h w)."""

    def __init__(self, config: UNetConfig | None = None):
        super().__init__()
        self.config = cfg = config or UNetConfig()
        for m in cfg.channel_mults:
            if (cfg.base_channels * m) % cfg.groups:
                raise ValueError(
                    f"every level's width must be divisible by groups={cfg.groups}, got {cfg.base_channels * m}"
                )
        widths = [cfg.base_channels * m for m in cfg.channel_mults]
        n_levels, emb_dim = len(widths), 4 * cfg.base_channels
        self.time_mlp = nn.Sequential(nn.Linear(cfg.base_channels, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.label_emb = nn.Embedding(cfg.n_classes + 1, emb_dim) if cfg.n_classes else None
        self.vector_proj = nn.Linear(cfg.vector_dim, emb_dim) if cfg.vector_dim else None
        self.stem = nn.Conv2d(cfg.in_channels, widths[0], 3, padding=1)

        self.down = nn.ModuleList()
        skip_widths, c_prev = [widths[0]], widths[0]  # the stem's output is the first skip
        for lvl, c in enumerate(widths):
            bottom = lvl == n_levels - 1
            self.down.append(DownLevel(c_prev, c, emb_dim, cfg, lvl in cfg.attn_levels, downsample=not bottom))
            skip_widths += [c] * (cfg.num_res_blocks + (0 if bottom else 1))
            c_prev = c
        self.mid1 = ResBlock(c_prev, c_prev, emb_dim, cfg.groups, cfg.dropout)
        self.mid_attn = AttentionBlock(c_prev, cfg.groups, cfg.n_heads, cfg.context_dim)
        self.mid2 = ResBlock(c_prev, c_prev, emb_dim, cfg.groups, cfg.dropout)
        self.up = nn.ModuleList()
        for lvl in reversed(range(n_levels)):
            skips = [skip_widths.pop() for _ in range(cfg.num_res_blocks + 1)]  # the ones this level consumes
            self.up.append(UpLevel(c_prev, skips, widths[lvl], emb_dim, cfg, lvl in cfg.attn_levels, upsample=lvl > 0))
            c_prev = widths[lvl]
        self.out = nn.Sequential(
            nn.GroupNorm(cfg.groups, c_prev), nn.SiLU(), nn.Conv2d(c_prev, cfg.out_channels, 3, padding=1)
        )
        nn.init.zeros_(self.out[-1].weight)  # start by predicting zero: a calm first step
        nn.init.zeros_(self.out[-1].bias)

    def _check(self, x, t, y, vector, context):
        cfg, factor = self.config, 2 ** (len(self.config.channel_mults) - 1)
        b = expect_shape(x, "b c h w", c=cfg.in_channels, name="x")["b"]
        if x.shape[2] % factor or x.shape[3] % factor:
            raise ValueError(
                f"height and width must be divisible by 2**(levels-1) = {factor}, got {tuple(x.shape[2:])}"
            )
        t = torch.as_tensor(t, device=x.device)
        if t.dim() == 0:
            t = t.expand(b)
        if t.shape != (b,):
            raise ValueError(f"expected t of shape (b,) = ({b},) or a number, got {tuple(t.shape)}")
        if cfg.n_classes:
            if y is None:
                y = torch.full((b,), cfg.n_classes, device=x.device, dtype=torch.long)  # the null label
            y = torch.as_tensor(y, device=x.device)
            if y.shape != (b,) or y.dtype != torch.long or y.min() < 0 or y.max() > cfg.n_classes:
                raise ValueError(
                    f"expected y: int64 labels ({b},) in [0, {cfg.n_classes}] ({cfg.n_classes} = null), "
                    f"got {tuple(y.shape)} {y.dtype}"
                )
        elif y is not None:
            raise ValueError("this U-Net has no class conditioning (n_classes=None) but y was given")
        for name, value, dim, spec in (
            ("vector", vector, cfg.vector_dim, "b d"),
            ("context", context, cfg.context_dim, "b s d"),
        ):
            if value is None:
                continue
            if dim is None:
                raise ValueError(f"this U-Net has no {name} conditioning ({name}_dim=None) but {name} was given")
            expect_shape(value, spec, b=b, d=dim, name=name)
        return t, y

    def forward(
        self,
        x: torch.Tensor,
        t,
        y: torch.Tensor | None = None,
        vector: torch.Tensor | None = None,
        context: torch.Tensor | None = None,
    ) -> torch.Tensor:
        t, y = self._check(x, t, y, vector, context)
        emb = self.time_mlp(timestep_embedding(t, self.config.base_channels).to(x.dtype))  # (b e), in x's dtype
        if self.label_emb is not None:
            emb = emb + self.label_emb(y)
        if self.vector_proj is not None:
            if vector is None:  # no vector is the zero vector: the null condition guidance batches with
                vector = x.new_zeros(x.shape[0], self.config.vector_dim)
            emb = emb + self.vector_proj(vector)
        h = self.stem(x)  # (b c0 h w)
        skips = [h]
        for level in self.down:
            h = level(h, emb, context, skips)  # … → (b c_last h/2^(L-1) w/2^(L-1))
        h = self.mid2(self.mid_attn(self.mid1(h, emb), context), emb)
        for level in self.up:
            h = level(h, emb, context, skips)  # … → (b c0 h w)
        return self.out(h)
