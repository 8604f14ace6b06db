r"""Scaled dot-product and multi-head attention, written out with einops.

.. math::

    \mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}} + M\right) V

Mask convention (the same as ``torch.nn.functional.scaled_dot_product_attention``): a
boolean mask is ``True`` where a query **may** attend to a key; a float mask is added to
the scores. ``torch.nn.MultiheadAttention`` uses the opposite boolean convention
(``True`` = blocked); :func:`to_torch_mha_mask` converts.

One :class:`MultiHeadAttention` serves every model of the course: chapter 1's encoders and
decoders, the GPT of chapter 2 (``causal=True`` with a :class:`KVCache` for generation), and
the autoregressive image and code models after it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .positional import apply_rope


def _check_qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> None:
    for name, x in (("q", q), ("k", k), ("v", v)):
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() < 2:
            raise ValueError(f"{name} must have shape (... t d), got shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must share the last dimension d: got q {tuple(q.shape)} and k {tuple(k.shape)}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"k and v must have the same number of keys t_k: got k {tuple(k.shape)} and v {tuple(v.shape)}"
        )


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    return_weights: bool = False,
    dropout_p: float = 0.0,
):
    """Attention of queries over keys and values.

    Shapes: ``q`` (... q d), ``k`` (... k d), ``v`` (... k e) → output (... q e);
    ``mask`` broadcasts to (... q k), boolean (True = may attend) or additive float.
    With ``return_weights`` also returns the attention weights (... q k), before dropout.
    ``dropout_p`` zeroes weights at random (and rescales the rest), as
    ``F.scaled_dot_product_attention`` does while training.
    """
    _check_qkv(q, k, v)
    scores = torch.einsum("...qd,...kd->...qk", q, k) / math.sqrt(q.shape[-1])  # (... q k)
    if mask is not None:
        try:
            torch.broadcast_shapes(mask.shape, scores.shape)
        except RuntimeError:
            raise ValueError(
                f"mask of shape {tuple(mask.shape)} does not broadcast to the scores' shape "
                f"{tuple(scores.shape)} (... queries keys)"
            ) from None
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, float("-inf"))
        else:
            scores = scores + mask
    weights = scores.softmax(dim=-1)  # each query's weights over the keys sum to 1
    dropped = F.dropout(weights, dropout_p) if dropout_p else weights  # attention dropout (Vaswani et al. 2017, §5.4)
    out = torch.einsum("...qk,...ke->...qe", dropped, v)
    return (out, weights) if return_weights else out


def causal_mask(t: int, device=None) -> torch.Tensor:
    """Boolean (t t) mask, True on and below the diagonal: position i sees positions ≤ i."""
    return torch.ones(t, t, dtype=torch.bool, device=device).tril()


def padding_mask(lengths, t: int, device=None) -> torch.Tensor:
    """Boolean (b t) mask, True for real tokens and False for padding.

    ``lengths`` holds each sequence's true length (b,). Use ``rearrange(m, 'b k -> b 1 1 k')``
    to mask keys in multi-head attention.
    """
    lengths = torch.as_tensor(lengths, device=device)
    if lengths.dim() != 1:
        raise ValueError(f"lengths must be one length per sequence, shape (b,), got {tuple(lengths.shape)}")
    if (lengths < 0).any() or (lengths > t).any():
        raise ValueError(f"every length must lie in [0, {t}], got {lengths.tolist()}")
    return torch.arange(t, device=lengths.device)[None, :] < lengths[:, None]


def to_torch_mha_mask(mask: torch.Tensor) -> torch.Tensor:
    """Our boolean convention (True = may attend) to ``nn.MultiheadAttention``'s (True = blocked)."""
    return ~mask


class KVCache:
    """Keys and values of the tokens processed so far, per layer: each (b h t d).

    During generation each new token's keys and values are appended to those of the tokens
    before it, so a step costs one token's work instead of recomputing the whole prefix. Keys
    are stored after RoPE (if any), so cached keys never need rotating again.
    """

    def __init__(self, n_layers: int):
        self.keys: list[torch.Tensor | None] = [None] * n_layers
        self.values: list[torch.Tensor | None] = [None] * n_layers

    def layer_length(self, layer: int) -> int:
        return 0 if self.keys[layer] is None else self.keys[layer].shape[2]

    @property
    def length(self) -> int:
        """Tokens cached so far (in the first layer: the model's position)."""
        return self.layer_length(0)

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add the new keys and values (b h t d) of ``layer``; → all of them so far (b h t_k d)."""
        if self.keys[layer] is not None:
            k = torch.cat([self.keys[layer], k], dim=2)
            v = torch.cat([self.values[layer], v], dim=2)
        self.keys[layer], self.values[layer] = k, v
        return k, v


class MultiHeadAttention(nn.Module):
    """Multi-head attention: h heads of width d/h attend in parallel, then mix.

    ``forward(x, context=None, mask=None, cache=None, layer=0)``: queries come from ``x``
    (b q d); keys and values from ``context`` (b k d), or from ``x`` for self-attention.
    ``mask`` broadcasts to (b h q k).

    - ``causal=True``: query i sees keys ≤ i (a decoder; GPT). With a ``cache`` (self-attention
      only) the new tokens' keys and values are appended to the cached ones, and query i of
      the new tokens sits at absolute position ``cache length + i``.
    - ``fused=True``: torch's fused kernel instead of the readable einsum version (same math).
    - ``rotary=True``: rotate queries and keys by their positions (RoPE, Su et al. 2021).
    - ``qk_norm=True``: RMS-normalise each head's queries and keys before scoring (QK-norm,
      Henry et al. 2020; Dehghani et al. 2023), which bounds the scores and steadies training.
    - ``record_weights = True``: keep the weights (b h q k) in ``last_weights`` (readable path).
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        bias: bool = True,
        dropout: float = 0.0,
        fused: bool = False,
        rotary: bool = False,
        causal: bool = False,
        qk_norm: bool = False,
    ):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
        self.d_model, self.n_heads, self.fused, self.rotary = d_model, n_heads, fused, rotary
        self.causal, self.qk_norm = causal, qk_norm
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        self.dropout = dropout
        self.last_weights: torch.Tensor | None = None  # (b h q k), kept when record_weights is on
        self.record_weights = False

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> torch.Tensor:
        if x.dim() != 3 or x.shape[-1] != self.d_model:
            raise ValueError(f"expected x of shape (b t {self.d_model}), got {tuple(x.shape)}")
        if cache is not None and context is not None:
            raise ValueError("a KV cache holds self-attention keys; it cannot be used with a context")
        context = x if context is None else context
        split = lambda y: rearrange(y, "b t (h d) -> b h t d", h=self.n_heads)  # noqa: E731
        q, k, v = split(self.q_proj(x)), split(self.k_proj(context)), split(self.v_proj(context))
        if self.qk_norm:  # unit RMS per head: |q·k|/√d ≤ √d whatever the weights do
            q, k = F.rms_norm(q, q.shape[-1:]), F.rms_norm(k, k.shape[-1:])
        start = cache.layer_length(layer) if cache is not None else 0  # absolute position of x's first token
        if self.rotary:  # positions enter only through the angle between queries and keys
            q = apply_rope(q, torch.arange(start, start + q.shape[2], device=q.device))
            k = apply_rope(k, torch.arange(start, start + k.shape[2], device=k.device))
        if cache is not None:
            k, v = cache.append(layer, k, v)  # (b h t_k d): the cached tokens, then the new ones
        t, t_k = q.shape[2], k.shape[2]
        is_causal = False
        if self.causal:
            if mask is None and t == t_k and t > 1:
                is_causal = True  # the fused kernel builds the triangle itself
            elif t > 1:  # query i sits at position t_k - t + i and may see keys 0 … t_k - t + i
                cm = torch.ones(t, t_k, dtype=torch.bool, device=x.device).tril(diagonal=t_k - t)
                mask = cm if mask is None else mask & cm
            # a single new query (cached generation) sees every key: no mask at all
        p = self.dropout if self.training else 0.0
        if self.fused and not self.record_weights:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, is_causal=is_causal)
        else:
            if is_causal:
                mask = causal_mask(t, x.device)
            out, weights = scaled_dot_product_attention(q, k, v, mask, return_weights=True, dropout_p=p)
            if self.record_weights:
                self.last_weights = weights.detach()
        return self.out_proj(rearrange(out, "b h t d -> b t (h d)"))  # (b q d)

    @torch.no_grad()
    def load_from_torch(self, mha: nn.MultiheadAttention) -> MultiHeadAttention:
        """Copy the weights of a ``torch.nn.MultiheadAttention`` (same width and heads)."""
        if mha.embed_dim != self.d_model or mha.num_heads != self.n_heads:
            raise ValueError(
                f"torch module has d_model={mha.embed_dim}, heads={mha.num_heads}; "
                f"this one has d_model={self.d_model}, heads={self.n_heads}"
            )
        wq, wk, wv = mha.in_proj_weight.chunk(3)
        for proj, w in ((self.q_proj, wq), (self.k_proj, wk), (self.v_proj, wv)):
            proj.weight.copy_(w)
        self.out_proj.weight.copy_(mha.out_proj.weight)
        if mha.in_proj_bias is not None and self.q_proj.bias is not None:
            bq, bk, bv = mha.in_proj_bias.chunk(3)
            for proj, b in ((self.q_proj, bq), (self.k_proj, bk), (self.v_proj, bv)):
                proj.bias.copy_(b)
            self.out_proj.bias.copy_(mha.out_proj.bias)
        return self
