r"""Latent text-to-image: a text encoder and a U-Net that denoises the autoencoder's latents.

Stable Diffusion in three parts (Rombach et al., 2022), each small enough for a CPU here::

    prompt ──► tokenize ──► TextEncoder ──► context (b s d) ─────────────┐ cross-attention
                                                                          ▼
    z_T ~ N(0, I) (b 4 8 8) ──► U-Net ε_θ(z_t, t, context), DDIM steps ──► z_0 ──► decoder ──► image (b 3 32 32)

The U-Net is chapter 5's (:class:`genai_course.nn.unet.UNet`) with ``context_dim`` set, so its
attention levels also attend to the prompt's tokens. Training is chapter 5's loss on latents
instead of pixels, with the prompt replaced by the empty one a ``p_uncond`` fraction of the time,
so one network learns ε(z, c) and ε(z, ∅) and classifier-free guidance can mix them:

.. math::  \tilde\varepsilon = \varepsilon_\theta(z_t, \varnothing) + w\,\big(\varepsilon_\theta(z_t, c) - \varepsilon_\theta(z_t, \varnothing)\big)

The latents are the posterior means times the autoencoder's ``scale`` (unit variance), as
Stable Diffusion's 0.18215; it samples z from q(z | x) instead of taking the mean, a detail that
matters little once the KL weight is small.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ..data.scene_prompts import tokenize
from ..nn.unet import UNet, UNetConfig
from .text_encoder import TextEncoder, TextEncoderConfig


def latent_unet_config(latent_channels: int = 4, context_dim: int = 64, **overrides) -> UNetConfig:
    """The chapter's latent U-Net: 8×8 → 4×4, widths 48 and 96, attention (self and cross) at both resolutions."""
    settings = dict(
        in_channels=latent_channels,
        out_channels=latent_channels,
        base_channels=48,
        channel_mults=(1, 2),
        attn_levels=(0, 1),
        num_res_blocks=1,
        groups=8,
        n_heads=4,
        context_dim=context_dim,
    )
    return UNetConfig(**{**settings, **overrides})


@dataclass
class LatentDiffusionConfig:
    text: TextEncoderConfig = field(default_factory=TextEncoderConfig)
    unet: UNetConfig = field(default_factory=latent_unet_config)

    def to_dict(self) -> dict:
        unet = {**self.unet.__dict__, "channel_mults": list(self.unet.channel_mults)}
        unet["attn_levels"] = list(self.unet.attn_levels)
        return {"text": self.text.to_dict(), "unet": unet}

    @classmethod
    def from_dict(cls, d: dict) -> LatentDiffusionConfig:
        unet = dict(d["unet"])
        unet["channel_mults"], unet["attn_levels"] = tuple(unet["channel_mults"]), tuple(unet["attn_levels"])
        return cls(TextEncoderConfig(**d["text"]), UNetConfig(**unet))


class TextToImageDenoiser(nn.Module):
    """ε_θ(z_t, t, tokens): the text encoder's context fed to the U-Net's cross-attention."""

    def __init__(self, cfg: LatentDiffusionConfig):
        super().__init__()
        if cfg.unet.context_dim != cfg.text.d_model:
            raise ValueError(
                f"the U-Net's context_dim {cfg.unet.context_dim} must equal the text width {cfg.text.d_model}"
            )
        self.cfg = cfg
        self.text_encoder = TextEncoder(cfg.text)
        self.unet = UNet(cfg.unet)

    def forward(self, z: torch.Tensor, t: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """z (b 4 h w), t (b,), tokens (b s) → predicted noise (b 4 h w)."""
        return self.unet(z, t, context=self.text_encoder(tokens))


def null_tokens() -> torch.Tensor:
    """The empty prompt's tokens (s,): ∅ for caption dropout and classifier-free guidance."""
    return tokenize([""])[0]
