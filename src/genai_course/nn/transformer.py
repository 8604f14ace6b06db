"""Encoder, decoder and encoder–decoder Transformer blocks (pre-norm, as in GPT-2 and most modern models).

- ``EncoderBlock``: every token attends to every token (BERT, ViT, the encoder of T5).
- ``EncoderBlock(causal=True)``: a decoder-only block; token i sees tokens ≤ i (GPT).
- ``DecoderBlock``: causal self-attention, then cross-attention to an encoder's output
  (the original Transformer, T5, Whisper).
- ``Seq2SeqTransformer``: a small encoder–decoder built from the two.

The course's decoder-only language model is chapter 2's :class:`~genai_course.gpt.model.GPT`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ..shape_check import expect_shape
from .attention import MultiHeadAttention, causal_mask
from .positional import SinusoidalPositions


def _check_token_tensor(x, name: str, vocab_size: int, max_len: int) -> None:
    """Token ids must be a 2-D integer tensor (b t) with ids in [0, vocab) and t ≤ max_len."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of token ids (b t), got {type(x).__name__}")
    if x.dim() != 2:
        raise ValueError(f"{name} must have shape (b t), got shape {tuple(x.shape)}")
    if x.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"{name} must hold integer token ids (torch.long), got dtype {x.dtype}")
    if x.shape[1] > max_len:
        raise ValueError(f"{name} has length {x.shape[1]}, more than max_len={max_len}")
    if x.numel() and (x.min() < 0 or x.max() >= vocab_size):
        raise ValueError(f"{name} ids must lie in [0, {vocab_size}), got min {x.min().item()}, max {x.max().item()}")


def _check_stream(x, d_model: int, name: str) -> None:
    # a block is also a public entry point (chapter 1 uses them one by one), so it checks its input
    expect_shape(x, "b t d", d=d_model, name=name)


class ReLUSquared(nn.Module):
    """relu(x)²: the Primer activation (So et al. 2021), cheaper than GELU and as good or better."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x).square()


class FeedForward(nn.Module):
    """Position-wise MLP: d → hidden → d with GELU (or another ``activation``)."""

    def __init__(
        self, d_model: int, hidden: int, dropout: float = 0.0, bias: bool = True, activation: nn.Module | None = None
    ):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(d_model, hidden, bias=bias),
            activation if activation is not None else nn.GELU(),
            nn.Linear(hidden, d_model, bias=bias),
            nn.Dropout(dropout),
        )

    @property
    def proj(self) -> nn.Linear:
        """The output projection, which writes into the residual stream."""
        return self.net[2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SwiGLU(nn.Module):
    r"""Gated MLP (Shazeer 2020, "GLU Variants Improve Transformer"; LLaMA):
    :math:`W_2\,(\mathrm{silu}(x W_g) \odot x W_u)`. Three matrices instead of two, so a hidden
    width of about 8d/3 keeps the parameter count of a 4d GELU MLP."""

    def __init__(self, d_model: int, hidden: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        self.gate_up = nn.Linear(d_model, 2 * hidden, bias=bias)  # W_g and W_u in one matmul
        self.proj = nn.Linear(hidden, d_model, bias=bias)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up(x).chunk(2, dim=-1)  # (b t h) each
        return self.drop(self.proj(F.silu(gate) * up))


class EncoderBlock(nn.Module):
    """x + SelfAttention(LN(x)), then x + FeedForward(LN(x)). ``causal=True`` makes it a GPT block."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int | None = None, dropout: float = 0.0, causal: bool = False):
        super().__init__()
        self.causal = causal
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = MultiHeadAttention(d_model, n_heads, dropout=dropout)
        self.ff = FeedForward(d_model, d_ff or 4 * d_model, dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        _check_stream(x, self.ln1.normalized_shape[0], "x")
        if self.causal:
            cm = causal_mask(x.shape[1], x.device)
            mask = cm if mask is None else mask & cm
        x = x + self.attn(self.ln1(x), mask=mask)
        return x + self.ff(self.ln2(x))


class DecoderBlock(nn.Module):
    """Causal self-attention, cross-attention to the encoder's memory, feed-forward; each pre-norm."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int | None = None, dropout: float = 0.0):
        super().__init__()
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(d_model), nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout=dropout)
        self.cross_attn = MultiHeadAttention(d_model, n_heads, dropout=dropout)
        self.ff = FeedForward(d_model, d_ff or 4 * d_model, dropout)

    def forward(self, y: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor | None = None) -> torch.Tensor:
        _check_stream(y, self.ln1.normalized_shape[0], "y")
        _check_stream(memory, self.ln1.normalized_shape[0], "memory")
        y = y + self.self_attn(self.ln1(y), mask=causal_mask(y.shape[1], y.device))
        y = y + self.cross_attn(self.ln2(y), context=memory, mask=memory_mask)
        return y + self.ff(self.ln3(y))


@dataclass
class Seq2SeqConfig:
    vocab_size: int
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    max_len: int = 32
    dropout: float = 0.0
    pad_id: int = 0


class Seq2SeqTransformer(nn.Module):
    """A small encoder–decoder: source tokens (b s) and shifted target tokens (b t) → logits (b t v)."""

    def __init__(self, config: Seq2SeqConfig):
        super().__init__()
        c = self.config = config
        self.embed = nn.Embedding(c.vocab_size, c.d_model)
        self.positions = SinusoidalPositions(c.max_len, c.d_model)
        self.encoder = nn.ModuleList(EncoderBlock(c.d_model, c.n_heads, dropout=c.dropout) for _ in range(c.n_layers))
        self.decoder = nn.ModuleList(DecoderBlock(c.d_model, c.n_heads, dropout=c.dropout) for _ in range(c.n_layers))
        self.ln_enc, self.ln_dec = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        self.head.weight = self.embed.weight  # weight tying: one matrix embeds and un-embeds tokens
        # std 1/√d keeps the tied output logits O(1) at initialisation (loss starts near log V, not ~50)
        nn.init.normal_(self.embed.weight, std=c.d_model**-0.5)

    def _check_tokens(self, x, name: str) -> None:
        _check_token_tensor(x, name, self.config.vocab_size, self.config.max_len)

    def _key_mask(self, src: torch.Tensor) -> torch.Tensor:
        return rearrange(src != self.config.pad_id, "b s -> b 1 1 s")  # padding keys are invisible

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        """(b s) token ids → memory (b s d)."""
        self._check_tokens(src, "src")
        x = self.positions(self.embed(src))
        mask = self._key_mask(src)
        for block in self.encoder:
            x = block(x, mask)
        return self.ln_enc(x)

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
        """(b t) target prefix and the memory → logits (b t v)."""
        self._check_tokens(tgt_in, "tgt_in")
        if memory.shape[:2] != src.shape:
            raise ValueError(
                f"memory (b s d) must match src (b s): got memory {tuple(memory.shape)}, src {tuple(src.shape)}"
            )
        y = self.positions(self.embed(tgt_in))
        mask = self._key_mask(src)
        for block in self.decoder:
            y = block(y, memory, mask)
        return self.head(self.ln_dec(y))

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        return self.decode(tgt_in, self.encode(src), src)

    @torch.no_grad()
    def greedy_decode(self, src: torch.Tensor, bos_id: int, max_len: int) -> torch.Tensor:
        """Generate (b max_len) tokens one at a time, each time taking the most likely next token."""
        memory = self.encode(src)
        out = torch.full((src.shape[0], 1), bos_id, dtype=torch.long, device=src.device)
        for _ in range(max_len):
            next_token = self.decode(out, memory, src)[:, -1].argmax(-1, keepdim=True)
            out = torch.cat([out, next_token], dim=1)
        return out[:, 1:]

    def record_cross_attention(self, on: bool = True) -> None:
        """Keep each decoder block's cross-attention weights (b h t s) in ``cross_attn.last_weights``."""
        for block in self.decoder:
            block.cross_attn.record_weights = on
