"""A GPT in the spirit of nanoGPT's ``model.py``: token + position embeddings, pre-norm causal
blocks, a final LayerNorm and an output head tied to the token embedding.

The attention is chapter 1's :class:`~genai_course.nn.attention.MultiHeadAttention` itself
(same weights, same math), made causal and given a **KV cache**
(:class:`~genai_course.nn.attention.KVCache`): during generation each new token's keys and
values are appended to those of the tokens before it, so a step costs one token's work instead
of recomputing the whole prefix.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ..nn.attention import KVCache, MultiHeadAttention
from ..nn.transformer import FeedForward


@dataclass
class GPTConfig:
    vocab_size: int
    block_size: int = 128  # longest context the model sees
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True
    fused: bool = True  # torch's fused attention kernel; False uses the readable einsum version

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"GPTConfig.{name} must be a positive int, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd={self.n_embd} must be divisible by n_head={self.n_head}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d) -> GPTConfig:
        """Rebuild a config from :meth:`to_dict`'s output, checking every field (a checkpoint may be damaged).

        Unknown or missing keys, wrong types and out-of-range values raise ``ValueError`` naming the field.
        """
        if not isinstance(d, dict):
            raise ValueError(f"the model config must be a dict, got {type(d).__name__}")
        names = [f.name for f in fields(cls)]
        unknown = [k for k in d if k not in names]
        if unknown:
            raise ValueError(f"unknown model config keys: {', '.join(map(repr, unknown))}")
        if "vocab_size" not in d:
            raise ValueError("the model config has no 'vocab_size'")
        for name, value in d.items():
            if name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
                ok = type(value) is int and value > 0
                want = "a positive int"
            elif name == "dropout":
                ok = type(value) in (int, float) and 0.0 <= value < 1.0
                want = "a number in [0, 1)"
            else:  # bias, fused
                ok = type(value) is bool
                want = "true or false"
            if not ok:
                raise ValueError(f"model config '{name}' must be {want}, got {value!r}")
        return cls(**d)


__all__ = ["GPT", "GPTConfig", "KVCache", "CausalSelfAttention", "Block"]


class CausalSelfAttention(MultiHeadAttention):
    """Chapter 1's multi-head attention with ``causal=True``: every feature of it (KV cache,
    RoPE, recorded weights, fused kernel) works unchanged. Call as ``attn(x, cache=c, layer=i)``."""

    def __init__(self, d_model: int, n_heads: int, **kw):
        super().__init__(d_model, n_heads, causal=True, **kw)


class Block(nn.Module):
    """x + Attention(LN(x)), then x + MLP(LN(x)): the pre-norm GPT-2 block."""

    def __init__(self, c: GPTConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.attn = CausalSelfAttention(c.n_embd, c.n_head, bias=c.bias, dropout=c.dropout, fused=c.fused)
        self.ln2 = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.mlp = FeedForward(c.n_embd, 4 * c.n_embd, c.dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), cache=cache, layer=layer)
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """Token ids (b t) → next-token logits (b t v)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        c = self.config = config
        self.wte = nn.Embedding(c.vocab_size, c.n_embd)
        self.wpe = nn.Embedding(c.block_size, c.n_embd)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.n_layer))
        self.ln_f = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying: one matrix embeds and un-embeds tokens
        self.apply(self._init_weights)
        for block in self.blocks:  # GPT-2: scale residual projections so the stream's variance stays put
            for proj in (block.attn.out_proj, block.mlp.net[2]):
                nn.init.normal_(proj.weight, mean=0.0, std=0.02 / math.sqrt(2 * c.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_params(self, non_embedding: bool = True) -> int:
        """Parameters, without the position embedding (nanoGPT's convention) unless asked."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.wpe.weight.numel() if non_embedding else n

    def hidden(self, idx: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """Token ids (b t) → the last block's normalised output (b t d), which the head un-embeds.

        Reward models and value heads (chapter 2, RLHF) read a scalar off these features.
        """
        if idx.dim() != 2 or idx.dtype != torch.long:
            raise ValueError(
                f"idx must be a (b t) tensor of token ids (torch.long), got shape "
                f"{tuple(idx.shape)} and dtype {idx.dtype}"
            )
        start = cache.length if cache is not None else 0
        t = idx.shape[1]
        if start + t > self.config.block_size:
            raise ValueError(f"sequence of length {start + t} exceeds block_size={self.config.block_size}")
        pos = torch.arange(start, start + t, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for i, block in enumerate(self.blocks):
            x = block(x, cache, i)
        return self.ln_f(x)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, cache: KVCache | None = None):
        """Logits (b t v), and the mean cross-entropy in nats per token when ``targets`` (b t) is given."""
        logits = self.lm_head(self.hidden(idx, cache))
        if targets is None:
            return logits, None
        loss = F.cross_entropy(rearrange(logits, "b t v -> (b t) v"), rearrange(targets, "b t -> (b t)"))
        return logits, loss

    def flops_per_token(self, t: int | None = None) -> float:
        """Training FLOPs per token: 6 N for the weights plus 12 L d t for attention (PaLM's estimate)."""
        c = self.config
        t = t or c.block_size
        return 6 * self.num_params() + 12 * c.n_layer * c.n_embd * t
