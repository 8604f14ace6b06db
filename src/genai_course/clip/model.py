r"""CLIP's two encoders and its learned temperature (Radford et al., 2021, §2.4 and Figure 3).

An image encoder and a text encoder map a picture and a caption into the same space, where
both are unit vectors; the cosine between them says how well the caption describes the picture::

    images (b 3 32 32) ──► ImageEncoder ──► (b e) ──► ‖·‖ = 1 ──► I_e ─┐
                                                                       ├─► logits = exp(t) · I_e T_eᵀ  (b b)
    tokens (b s)       ──► TextEncoder  ──► (b e) ──► ‖·‖ = 1 ──► T_e ─┘

CLIP's image encoders were ResNets and ViTs on 224×224 photographs, its text encoder a 12-layer
transformer over 49,152 BPE tokens; here a three-convolution network reads 32×32 shape scenes
and chapter 6's two-layer transformer reads the 26-word scene grammar
(:mod:`genai_course.data.scene_prompts`). Two choices differ from the paper on purpose:

- The image encoder flattens its final 4×4 feature map into a linear layer instead of pooling
  it (CLIP's ResNets pool by attention, its ViTs read a class token). An average would throw
  away *where* things are, and the captions say "on the left" and "at the top".
- The text encoder averages its output over the real words (not the ``<pad>`` tokens) where
  CLIP reads the final ``[EOS]`` token: chapter 6's encoder is bidirectional, so every word
  already sees the whole caption and a mean is the simplest summary that ignores the padding.

The temperature is learned as a log-scale t, initialised to log(1/0.07) and clipped so that
exp(t) ≤ 100 (§2.5: "clipped to prevent scaling the logits by more than 100").
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..latent import text_encoder as transformer
from ..shape_check import expect_shape


@dataclass
class CLIPConfig:
    embed_dim: int = 64  # the shared space (CLIP ViT-L/14: 768)
    image_size: int = 32
    image_widths: tuple[int, ...] = (32, 64, 128)  # one stride-2 convolution each: 32 → 16 → 8 → 4
    head_channels: int = 32  # a 1×1 convolution narrows the final map before it is flattened
    text: transformer.TextEncoderConfig = field(default_factory=transformer.TextEncoderConfig)
    init_temperature: float = 0.07  # τ at the start; the model learns log(1/τ)
    max_logit_scale: float = 100.0  # the paper's clip of exp(t)

    def __post_init__(self):
        self.image_widths = tuple(self.image_widths)
        if self.image_size % 2 ** len(self.image_widths):
            raise ValueError(
                f"image_size {self.image_size} must be divisible by 2 ** len(image_widths) = {2 ** len(self.image_widths)}"
            )

    def to_dict(self) -> dict:
        return asdict(self)  # the text config comes out as a nested dict

    @classmethod
    def from_dict(cls, d: dict) -> CLIPConfig:
        d = dict(d)
        d["text"] = transformer.TextEncoderConfig(**d["text"])
        return cls(**d)


def _conv(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1), nn.GroupNorm(min(8, c_out), c_out), nn.SiLU()
    )


class ImageEncoder(nn.Module):
    """images (b 3 32 32) in [0, 1] → features (b e), not yet normalised."""

    def __init__(self, cfg: CLIPConfig):
        super().__init__()
        self.cfg = cfg
        widths = cfg.image_widths
        # each 3×3 convolution of stride 2 halves the side and widens the channels; its kernel
        # overlaps the next one's, so no pixel is skipped (a small triangle is only 6 pixels wide)
        self.convs = nn.Sequential(
            *(_conv(c_in, c_out, stride=2) for c_in, c_out in zip((3, *widths[:-1]), widths, strict=True))
        )
        self.narrow = nn.Conv2d(widths[-1], cfg.head_channels, 1)
        side = cfg.image_size // 2 ** len(widths)
        # flatten, not pool: position j of the 4×4 map has its own weights, so "left" stays readable
        self.proj = nn.Linear(cfg.head_channels * side * side, cfg.embed_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        size = self.cfg.image_size
        expect_shape(images, "b c h w", c=3, h=size, w=size, name="images")
        h = self.convs(images * 2 - 1)  # [0, 1] → [−1, 1]: a centred input; (b c 4 4)
        return self.proj(self.narrow(h).flatten(1))  # (b e)


class TextEncoder(nn.Module):
    """tokens (b s) → features (b e), not yet normalised: chapter 6's transformer, a masked mean
    over the real words, and a linear projection into the shared space."""

    def __init__(self, cfg: CLIPConfig):
        super().__init__()
        self.transformer = transformer.TextEncoder(cfg.text)
        self.proj = nn.Linear(cfg.text.d_model, cfg.embed_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.transformer(tokens)  # (b s d); checks the shape and dtype of tokens
        real = (tokens != 0).unsqueeze(-1).to(h.dtype)  # (b s 1): 0 at <pad> (id 0)
        pooled = (h * real).sum(1) / real.sum(1).clamp(min=1)  # (b d): mean over the words
        return self.proj(pooled)  # (b e)


class CLIP(nn.Module):
    """Both encoders and the learned log-scale t; ``forward`` returns logits_per_image (b b)."""

    def __init__(self, cfg: CLIPConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg if cfg is not None else CLIPConfig()
        self.image_encoder = ImageEncoder(cfg)
        self.text_encoder = TextEncoder(cfg)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / cfg.init_temperature)))  # t

    def scale(self) -> torch.Tensor:
        """exp(t), clipped to [1, max_logit_scale] (0-d): the logits' multiplier, 1/τ."""
        return self.logit_scale.clamp(0.0, math.log(self.cfg.max_logit_scale)).exp()

    @property
    def temperature(self) -> float:
        """τ = 1 / exp(t), as a number."""
        return 1.0 / float(self.scale().detach())

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """images (b 3 32 32) in [0, 1] → unit vectors (b e)."""
        return F.normalize(self.image_encoder(images), dim=-1)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (b s) from :func:`~genai_course.data.scene_prompts.tokenize` → unit vectors (b e)."""
        return F.normalize(self.text_encoder(tokens), dim=-1)

    def encode_prompts(self, prompts: list[str]) -> torch.Tensor:
        """Prompts of the scene grammar → unit vectors (b e); an unknown word raises ValueError naming it."""
        from ..data.scene_prompts import tokenize

        if isinstance(prompts, str) or not isinstance(prompts, (list, tuple)):
            raise ValueError(f"prompts must be a list of strings, got {type(prompts).__name__}")
        if not prompts:
            raise ValueError("prompts is empty: give at least one prompt")
        device = self.logit_scale.device
        return self.encode_text(tokenize(list(prompts)).to(device))

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """images (b 3 32 32), tokens (b s) → logits_per_image (b b): exp(t) · cos(image i, caption j).

        logits_per_text is its transpose.
        """
        dims = expect_shape(images, "b c h w", c=3, name="images")
        expect_shape(tokens, "b s", b=dims["b"], name="tokens")
        return self.scale() * self.encode_image(images) @ self.encode_text(tokens).T
