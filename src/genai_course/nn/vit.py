r"""Vision Transformer (Dosovitskiy et al., 2021): an image is a sequence of patches.

Cut a (c h w) image into non-overlapping p×p patches, flatten each to a vector of c·p·p
numbers, project it to the model width and add a learned position embedding. From then on
the image is a sequence of ``(h/p)·(w/p)`` tokens and the ordinary encoder blocks of
:mod:`genai_course.nn.transformer` apply. A learned ``[CLS]`` token in front collects what
the classifier head needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange, repeat
from torch import nn

from ..shape_check import expect_shape
from .transformer import EncoderBlock


def patchify(images: torch.Tensor, p: int) -> torch.Tensor:
    """(b c h w) → (b n c·p·p): patches left to right, top to bottom; inside: channel, row, column.

    No checks of its own: einops names the fault (a wrong rank, a side not divisible by p).
    """
    return rearrange(images, "b c (nh p1) (nw p2) -> b (nh nw) (c p1 p2)", p1=p, p2=p)


def check_images(images, channels: int, size: int) -> dict[str, int]:
    """The input of a model that reads (b c h w) images of one size, in floating point."""
    dims = expect_shape(images, "b c h w", c=channels, h=size, w=size, name="images")
    if not images.is_floating_point():
        raise ValueError(f"images must be floating point, got dtype {images.dtype}")
    return dims


class PatchEmbedding(nn.Module):
    """(b c h w) images → (b n d) patch tokens with learned position embeddings."""

    def __init__(self, image_size: int, patch_size: int, channels: int, d_model: int):
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"image_size={image_size} must be divisible by patch_size={patch_size}")
        self.patch_size = patch_size
        self.n_patches = (image_size // patch_size) ** 2
        self.proj = nn.Linear(channels * patch_size * patch_size, d_model)
        self.positions = nn.Parameter(torch.randn(self.n_patches, d_model) * 0.02)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # an inner layer: the models that own it (ViT, VQAModel) check the images once, at their boundary
        return self.proj(patchify(images, self.patch_size)) + self.positions


@dataclass
class ViTConfig:
    image_size: int = 8
    patch_size: int = 2
    channels: int = 1
    n_classes: int = 10
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    dropout: float = 0.0


class ViT(nn.Module):
    """Images (b c h w) → class logits (b n_classes), classifying from the [CLS] token."""

    def __init__(self, config: ViTConfig):
        super().__init__()
        c = self.config = config
        self.patches = PatchEmbedding(c.image_size, c.patch_size, c.channels, c.d_model)
        self.cls = nn.Parameter(torch.zeros(1, 1, c.d_model))
        self.cls_position = nn.Parameter(torch.zeros(1, 1, c.d_model))
        self.blocks = nn.ModuleList(EncoderBlock(c.d_model, c.n_heads, dropout=c.dropout) for _ in range(c.n_layers))
        self.ln = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.n_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """All tokens after the encoder: (b 1+n d), the [CLS] token first."""
        check_images(images, self.config.channels, self.config.image_size)
        x = self.patches(images)
        cls = repeat(self.cls + self.cls_position, "1 1 d -> b 1 d", b=x.shape[0])
        x = torch.cat([cls, x], dim=1)
        for block in self.blocks:
            x = block(x)
        return self.ln(x)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images)[:, 0])
