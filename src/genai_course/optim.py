"""The small training toolkit the course's loops share: one learning-rate schedule, one optimizer
step with gradient clipping, one exponential moving average of the weights.

The loops themselves stay in the chapters (GAN and PPO updates are the lesson there); these are
the pieces every loop would otherwise write again.
"""

from __future__ import annotations

import copy
import math

import torch


def warmup_cosine(step: int, total: int, warmup: int, min_ratio: float = 0.0) -> float:
    """Learning-rate multiplier: linear warm-up over ``warmup`` steps, then cosine decay to ``min_ratio``.

    step 0 … warmup-1: (step + 1) / warmup; afterwards min_ratio + ½(1 − min_ratio)(1 + cos(π·progress)),
    progress running from 0 at the end of the warm-up to 1 at ``total`` (SGDR, Loshchilov & Hutter, 2017).
    """
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + 0.5 * (1.0 - min_ratio) * (1.0 + math.cos(math.pi * progress))


def clipped_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, max_norm: float | None = 1.0) -> float:
    """Backpropagate ``loss``, clip the global gradient norm to ``max_norm`` and step; returns the norm before clipping."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    norm = torch.nn.utils.clip_grad_norm_(params, max_norm if max_norm is not None else float("inf"))
    optimizer.step()
    return float(norm)


class EMA:
    """Exponential moving average of a network's weights and buffers: ``ema.update(net)`` after each step.

    θ_ema ← decay · θ_ema + (1 − decay) · θ. ``ema.model`` is a frozen copy in eval mode; integer
    buffers (e.g. BatchNorm's step counter) are copied, not averaged.
    """

    def __init__(self, net: torch.nn.Module, decay: float = 0.999):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.model = copy.deepcopy(net).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, net: torch.nn.Module) -> None:
        for e, p in zip(self.model.state_dict().values(), net.state_dict().values(), strict=True):
            if e.is_floating_point():
                e.lerp_(p, 1 - self.decay)
            else:
                e.copy_(p)
