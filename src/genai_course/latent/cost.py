"""What a denoiser costs: floating-point operations, activation memory and wall time (notebook 4).

- **FLOPs** are counted by ``torch.utils.flop_counter.FlopCounterMode`` on one forward pass (a
  multiply-add is 2 FLOPs). Torch's fused CPU attention kernel has no FLOP formula, so attention
  runs on the course's readable path while counting (same math; :mod:`genai_course.nn.attention`).
  The count depends only on shapes, not on weights or the machine.
- **Activation memory** is the bytes of every tensor autograd saves for the backward pass of one
  training step (``torch.autograd.graph.saved_tensors_hooks``): what grows with the input's size
  and the batch, and what runs out first on a GPU. Also a function of shapes alone.
- **Wall time** is measured, the median of a few repeats after a warm-up: it depends on the
  machine, the thread count and the load, so only ratios measured side by side mean much.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager

import torch
from torch import nn

from ..nn.attention import MultiHeadAttention


@contextmanager
def readable_attention(model: nn.Module):
    """Every attention of ``model`` on the einsum path (which the FLOP counter can see), restored after."""
    modules = [m for m in model.modules() if isinstance(m, MultiHeadAttention)]
    saved = [(m.fused, m.record_weights, m.last_weights) for m in modules]
    try:
        for m in modules:
            m.fused = False
        yield
    finally:
        for m, (fused, record, last) in zip(modules, saved, strict=True):
            m.fused, m.record_weights, m.last_weights = fused, record, last


def forward_flops(model: nn.Module, *inputs) -> dict[str, float]:
    """FLOPs of ``model(*inputs)`` by kind: ``convolution``, ``matmul`` (linear layers and attention
    scores) and ``total``."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), readable_attention(model), FlopCounterMode(display=False) as counter:
        model(*inputs)
    by_op = {str(op): n for op, n in counter.get_flop_counts()["Global"].items()}
    conv = sum(n for op, n in by_op.items() if "convolution" in op)
    return {
        "convolution": float(conv),
        "matmul": float(counter.get_total_flops() - conv),
        "total": float(counter.get_total_flops()),
    }


def saved_activation_bytes(loss_fn: Callable[[], torch.Tensor]) -> int:
    """Bytes of the tensors autograd keeps for the backward pass of ``loss_fn()`` (each storage counted once)."""
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor):
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = loss_fn()
    loss.backward()
    return sum(seen.values())


def median_seconds(fn: Callable[[], object], repeats: int = 3) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls, after one untimed warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def training_step(net: nn.Module, x: torch.Tensor, tokens: torch.Tensor, optimizer=None) -> Callable[[], None]:
    """One step of the denoising loss on a fixed batch (x (b c h w), tokens (b s)), as a callable to time."""
    from ..diffusion.training import diffusion_loss
    from .model import null_tokens
    from .pretrained import latent_schedule

    schedule, null = latent_schedule().to(x.device), {"tokens": null_tokens().to(x.device)}
    optimizer = optimizer or torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-6)

    def step() -> None:
        gen = torch.Generator("cpu").manual_seed(0)
        loss = diffusion_loss(net, x, schedule, gen, {"tokens": tokens}, null, p_uncond=0.1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step
