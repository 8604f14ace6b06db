"""Conditions for a denoiser, and the null condition that classifier-free guidance needs.

A *condition* is a dict of keyword arguments for the network, each a tensor with the batch first:

- ``{"y": labels}`` (b,): a class (chapter 5's digits);
- ``{"context": tokens}`` (b s d): a text encoding, attended to by cross-attention (Stable Diffusion);
- ``{"vector": embedding}`` (b d): e.g. an image embedding added to the time embedding (DALL·E 2).

The *null condition* has the same keys; each value is what "no condition" means for one example
(no batch dimension, or a leading 1): the null label ``tensor(10)``, the encoding of the empty
prompt (s d), a zero vector (d). Training replaces the condition of a random fraction of examples
by the null condition, so one network learns both p(x | c) and p(x) (Ho & Salimans, 2022).

For the common class-label case a labels tensor stands for ``{"y": labels}`` and an ``int`` null
label for ``{"y": tensor(null_label)}``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Condition = dict[str, torch.Tensor]


def as_condition(cond) -> Condition:
    """A condition dict from ``None`` (unconditional: ``{}``), a labels tensor (``{"y": labels}``) or a dict."""
    if cond is None:
        return {}
    if isinstance(cond, torch.Tensor):
        return {"y": cond}
    if isinstance(cond, dict) and all(isinstance(v, torch.Tensor) for v in cond.values()):
        return dict(cond)
    raise TypeError(
        f"a condition is a labels tensor or a dict of tensors such as {{'context': (b s d)}}, got {type(cond).__name__}"
    )


def as_null(null, cond: Condition) -> Condition:
    """The null condition for ``cond``'s keys, from an ``int`` null label or a dict."""
    if isinstance(null, int) and not isinstance(null, bool):
        null = {"y": torch.tensor(null)}
    if not isinstance(null, dict) or set(null) != set(cond):
        raise ValueError(
            f"the null condition must give a value for each condition key {sorted(cond)}, got "
            f"{sorted(null) if isinstance(null, dict) else type(null).__name__}"
        )
    return null


def null_like(cond: Condition, null) -> Condition:
    """The null condition, one copy per example: each value expanded to the shape of ``cond``'s value."""
    null = as_null(null, cond)
    out = {}
    for key, value in cond.items():
        n = torch.as_tensor(null[key], device=value.device, dtype=value.dtype)
        if n.dim() == value.dim():  # given with a leading 1
            n = n[0]
        if n.shape != value.shape[1:]:
            raise ValueError(f"null condition {key!r}: expected shape {tuple(value.shape[1:])}, got {tuple(n.shape)}")
        out[key] = n.expand_as(value)
    return out


def drop_condition(cond: Condition, null, drop: torch.Tensor) -> Condition:
    """Replace the condition of the examples where ``drop`` (b,) is True by the null condition."""
    nulls = null_like(cond, null)
    out = {}
    for key, value in cond.items():
        mask = drop.reshape(-1, *([1] * (value.dim() - 1))).to(value.device)  # (b 1 …) broadcasts over the rest
        out[key] = torch.where(mask, nulls[key], value)
    return out


def conditioned(net, cond) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The sampler-facing model ``(x, t) -> prediction`` of ``net`` under a fixed condition."""
    cond = as_condition(cond)
    return lambda x, t: net(x, t, **cond)
