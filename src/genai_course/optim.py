"""The small training toolkit the course's loops share: one learning-rate schedule, one optimizer
step with gradient clipping, one exponential moving average of the weights.

The loops themselves stay in the chapters (GAN and PPO updates are the lesson there); these are
the pieces every loop would otherwise write again.
"""

from __future__ import annotations

import copy
import math

import torch


def warmup_cosine(progress: float, warmup: float, min_ratio: float = 0.0) -> float:
    """Learning-rate multiplier at ``progress`` ∈ [0, 1] of a run: linear warm-up over its first
    ``warmup`` (a fraction too), then cosine decay to ``min_ratio`` (SGDR, Loshchilov & Hutter, 2017).

    progress < warmup:  progress / warmup
    afterwards:         min_ratio + ½(1 − min_ratio)(1 + cos(π·u)),  u = (progress − warmup) / (1 − warmup)

    Progress is a fraction, so the same schedule serves a loop that counts steps (pass
    ``(step + 1) / steps``: the first step already gets ``1 / warmup_steps`` of the rate, the last
    one exactly ``min_ratio``) and a loop that runs on a time budget (``elapsed / max_seconds``).
    """
    if progress < warmup:
        return progress / warmup
    u = min(1.0, (progress - warmup) / max(1e-9, 1.0 - warmup))
    return min_ratio + 0.5 * (1.0 - min_ratio) * (1.0 + math.cos(math.pi * u))


def clipped_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, max_norm: float | None = 1.0) -> float:
    """Backpropagate ``loss``, clip the global gradient norm to ``max_norm`` and step; returns the norm before clipping."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    norm = torch.nn.utils.clip_grad_norm_(params, max_norm if max_norm is not None else float("inf"))
    optimizer.step()
    return float(norm)


class EMA:
    """Exponential moving average of a network's weights: ``ema.update(net)`` after each optimizer step.

    θ_ema ← decay · θ_ema + (1 − decay) · θ for every parameter. ``ema.model`` is a frozen copy in
    eval mode. Buffers (BatchNorm statistics, StyleGAN's running mean of w, step counters) are
    copied rather than averaged: they are already running statistics, and averaging them again
    would only make them lag (the convention of StyleGAN2-ADA's ``G_ema``).
    """

    def __init__(self, net: torch.nn.Module, decay: float = 0.999):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.model = copy.deepcopy(net).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, net: torch.nn.Module) -> None:
        for e, p in zip(self.model.parameters(), net.parameters(), strict=True):
            e.lerp_(p, 1 - self.decay)
        for e, b in zip(self.model.buffers(), net.buffers(), strict=True):
            e.copy_(b)
