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
from ..nn.transformer import FeedForward, ReLUSquared, SwiGLU

POS = ("learned", "rope")
NORM = ("layernorm", "rmsnorm")
MLP = ("gelu", "relu2", "swiglu")
# The course names sizes as chapter 1 and "Attention Is All You Need" do (d_model, n_heads,
# n_layers); checkpoints saved before that used nanoGPT's names, which still load.
LEGACY_NAMES = {"n_layer": "n_layers", "n_head": "n_heads", "n_embd": "d_model"}


@dataclass
class GPTConfig:
    vocab_size: int
    block_size: int = 128  # longest context the model sees
    n_layers: int = 4
    n_heads: int = 4
    d_model: int = 128
    dropout: float = 0.0
    bias: bool = True  # biases in every linear layer and LayerNorm
    fused: bool = True  # torch's fused attention kernel; False uses the readable einsum version
    # Architecture options measured by benchmarks/gpt_cpu.py. The defaults are GPT-2's (and
    # every shipped checkpoint's): a checkpoint saved without these keys loads as before.
    pos: str = "learned"  # "learned" positions added to the tokens (GPT-2), or "rope" (Su et al. 2021)
    norm: str = "layernorm"  # "layernorm", or "rmsnorm" (Zhang & Sennrich 2019): no mean, no bias
    mlp: str = "gelu"  # "gelu" (GPT-2), "relu2" (squared ReLU, So et al. 2021), "swiglu" (Shazeer 2020)
    qk_norm: bool = False  # RMS-normalise queries and keys per head (Henry et al. 2020)
    tie_weights: bool = True  # the head reuses the token embedding (Press & Wolf 2017)

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layers", "n_heads", "d_model"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"GPTConfig.{name} must be a positive int, got {value!r}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}")
        for name, allowed in (("pos", POS), ("norm", NORM), ("mlp", MLP)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"GPTConfig.{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")
        if self.pos == "rope" and (self.d_model // self.n_heads) % 2:
            raise ValueError(f"RoPE rotates feature pairs: the head width {self.d_model // self.n_heads} must be even")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d) -> GPTConfig:
        """Rebuild a config from :meth:`to_dict`'s output, checking every field (a checkpoint may be damaged).

        Unknown or missing keys, wrong types and out-of-range values raise ``ValueError`` naming the field.
        Keys added after a checkpoint was saved take their defaults, the behaviour it was trained with;
        nanoGPT's names (``n_layer``, ``n_head``, ``n_embd``), which older checkpoints used, are read too.
        """
        if not isinstance(d, dict):
            raise ValueError(f"the model config must be a dict, got {type(d).__name__}")
        d = {LEGACY_NAMES.get(k, k): v for k, v in d.items()}
        names = [f.name for f in fields(cls)]
        unknown = [k for k in d if k not in names]
        if unknown:
            raise ValueError(f"unknown model config keys: {', '.join(map(repr, unknown))}")
        if "vocab_size" not in d:
            raise ValueError("the model config has no 'vocab_size'")
        choices = {"pos": POS, "norm": NORM, "mlp": MLP}
        for name, value in d.items():
            if name in ("vocab_size", "block_size", "n_layers", "n_heads", "d_model"):
                ok = type(value) is int and value > 0
                want = "a positive int"
            elif name == "dropout":
                ok = type(value) in (int, float) and 0.0 <= value < 1.0
                want = "a number in [0, 1)"
            elif name in choices:
                ok = value in choices[name]
                want = "one of " + ", ".join(choices[name])
            else:  # bias, fused, qk_norm, tie_weights
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


def make_norm(c: GPTConfig) -> nn.Module:
    """LayerNorm (GPT-2) or RMSNorm: x / rms(x) · g, without centring or bias (Zhang & Sennrich 2019)."""
    if c.norm == "rmsnorm":
        return nn.RMSNorm(c.d_model, eps=1e-5)
    return nn.LayerNorm(c.d_model, bias=c.bias)


def make_mlp(c: GPTConfig) -> nn.Module:
    """The block's MLP; every kind exposes ``.proj``, its output projection into the residual stream."""
    if c.mlp == "swiglu":  # 3 matrices of d × 8d/3 ≈ 2 of d × 4d: the same parameters (Shazeer 2020)
        hidden = 8 * math.ceil(8 * c.d_model / 3 / 8)  # a multiple of 8 for the matmul kernels
        return SwiGLU(c.d_model, hidden, c.dropout, bias=c.bias)
    activation = ReLUSquared() if c.mlp == "relu2" else None
    return FeedForward(c.d_model, 4 * c.d_model, c.dropout, bias=c.bias, activation=activation)


class Block(nn.Module):
    """x + Attention(LN(x)), then x + MLP(LN(x)): the pre-norm GPT-2 block."""

    def __init__(self, c: GPTConfig):
        super().__init__()
        self.ln1 = make_norm(c)
        self.attn = CausalSelfAttention(
            c.d_model,
            c.n_heads,
            bias=c.bias,
            dropout=c.dropout,
            fused=c.fused,
            rotary=c.pos == "rope",
            qk_norm=c.qk_norm,
        )
        self.ln2 = make_norm(c)
        self.mlp = make_mlp(c)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), cache=cache, layer=layer)
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """Token ids (b t) → next-token logits (b t v)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        c = self.config = config
        self.wte = nn.Embedding(c.vocab_size, c.d_model)
        # learned positions are added to the tokens; with RoPE they enter inside attention instead
        self.wpe = nn.Embedding(c.block_size, c.d_model) if c.pos == "learned" else None
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.n_layers))
        self.ln_f = make_norm(c)
        self.lm_head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        if c.tie_weights:
            self.lm_head.weight = self.wte.weight  # weight tying: one matrix embeds and un-embeds tokens
        self.apply(self._init_weights)
        for block in self.blocks:  # GPT-2: scale residual projections so the stream's variance stays put
            for proj in (block.attn.out_proj, block.mlp.proj):
                nn.init.normal_(proj.weight, mean=0.0, std=0.02 / math.sqrt(2 * c.n_layers))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_params(self, non_embedding: bool = True) -> int:
        """Parameters, without the position embedding (nanoGPT's convention) unless asked; an untied
        token embedding is a lookup, not a matmul, so it is left out too."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.wpe.weight.numel() if self.wpe is not None else 0
            n -= self.wte.weight.numel() if not self.config.tie_weights else 0
        return n

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
        x = self.wte(idx)  # (b t d)
        if self.wpe is not None:
            x = x + self.wpe(torch.arange(start, start + t, device=idx.device))
        x = self.drop(x)
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
        return 6 * self.num_params() + 12 * c.n_layers * c.d_model * t
