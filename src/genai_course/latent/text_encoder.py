"""A small transformer text encoder, built from chapter 1's encoder blocks.

Stable Diffusion encodes a prompt with a frozen CLIP text transformer and hands the U-Net the
whole sequence of its final hidden states, one vector per token (b 77 768); the U-Net reads them
by cross-attention. Here the prompts come from a 26-word grammar
(:mod:`genai_course.data.scene_prompts`), so a two-layer encoder trained together with the U-Net
does the same job::

    tokens (b s) ──► token + position embedding ──► EncoderBlock × n_layers ──► LayerNorm ──► context (b s d)

There is no CLIP yet (it is chapter 7's subject), so the encoder is trained jointly with the
U-Net, from the diffusion loss alone: the latent diffusion paper's own text-to-image model did
the same with a transformer on LAION (Rombach et al., 2022, §4.3.1), as did GLIDE; Stable
Diffusion and Imagen instead freeze a pretrained encoder (CLIP ViT-L/14, T5-XXL). The empty
prompt is the ``<null>`` token followed by padding: classifier-free guidance's ∅.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..data.scene_prompts import MAX_PROMPT_WORDS, VOCAB
from ..nn.transformer import EncoderBlock
from ..shape_check import expect_shape


@dataclass
class TextEncoderConfig:
    vocab_size: int = len(VOCAB)
    length: int = MAX_PROMPT_WORDS
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2

    def to_dict(self) -> dict:
        return asdict(self)


class TextEncoder(nn.Module):
    """tokens (b s) → one context vector per token (b s d_model)."""

    def __init__(self, cfg: TextEncoderConfig):
        super().__init__()
        self.cfg = cfg
        self.tokens = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.positions = nn.Parameter(torch.zeros(cfg.length, cfg.d_model))
        nn.init.normal_(self.positions, std=0.02)
        self.blocks = nn.ModuleList(EncoderBlock(cfg.d_model, cfg.n_heads) for _ in range(cfg.n_layers))
        self.norm = nn.LayerNorm(cfg.d_model)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        expect_shape(tokens, "b s", s=self.cfg.length, name="tokens")
        if tokens.dtype != torch.long:
            raise ValueError(f"tokens must be int64 token ids, got {tokens.dtype}")
        h = self.tokens(tokens) + self.positions  # (b s d)
        for block in self.blocks:
            h = block(h)  # every word sees every other: "purple" can tell "triangle" what it is
        return self.norm(h)  # (b s d)
