r"""Training a denoiser: pick a random timestep, noise the data, regress the noise.

.. math::  L = \mathbb E_{x_0, t, \varepsilon}\,\lVert \varepsilon - \varepsilon_\theta(\sqrt{\bar\alpha_t}x_0 + \sqrt{1-\bar\alpha_t}\varepsilon,\ t)\rVert^2

With a condition (class labels, a text encoding, an embedding: see :mod:`.conditioning`), a
fraction ``p_uncond`` of the examples gets the null condition instead, so the same network also
learns the unconditional model that classifier-free guidance needs. An exponential moving
average (EMA) of the weights gives noticeably cleaner samples than the last weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..optim import EMA, clipped_step, warmup_cosine
from .conditioning import as_condition, drop_condition
from .process import q_sample, v_from_x0_eps
from .schedules import NoiseSchedule


def diffusion_loss(
    net,
    x0: torch.Tensor,
    schedule: NoiseSchedule,
    generator=None,
    y=None,
    null_label=None,
    p_uncond: float = 0.0,
    prediction: str = "eps",
) -> torch.Tensor:
    """Mean-squared error of the prediction on one batch x0 (b …).

    ``y`` is the condition: labels (b,) or a dict such as ``{"context": (b s d)}``; ``null_label``
    the null condition (an int label or a dict with the same keys), used for a ``p_uncond`` fraction.
    """
    b, dev = x0.shape[0], x0.device
    t = torch.randint(0, schedule.T, (b,), generator=generator).to(dev)
    noise = torch.randn(x0.shape, generator=generator).to(dev)
    xt = q_sample(x0, t, schedule, noise)
    kwargs = as_condition(y)
    if kwargs:
        drop = torch.rand(b, generator=generator).to(dev) < p_uncond
        kwargs = drop_condition(kwargs, null_label, drop)
    target = {"eps": noise, "x0": x0, "v": None}.get(prediction)
    if prediction == "v":
        target = v_from_x0_eps(x0, noise, t, schedule)
    elif target is None:
        raise ValueError(f"prediction must be 'eps', 'x0' or 'v', got {prediction!r}")
    return F.mse_loss(net(xt, t, **kwargs), target)


def _batch_of(labels, idx: torch.Tensor, device):
    """The condition of the examples ``idx``: labels (n,) → (b,), or each tensor of a condition dict."""
    if labels is None:
        return None
    if isinstance(labels, dict):
        return {k: v[idx].to(device) for k, v in labels.items()}
    return labels[idx].to(device)


def train_diffusion(
    net,
    data: torch.Tensor,
    schedule: NoiseSchedule,
    steps: int,
    batch_size: int = 128,
    lr: float = 2e-3,
    labels=None,
    null_label=None,
    p_uncond: float = 0.1,
    prediction: str = "eps",
    ema_decay: float | None = 0.999,
    seed: int = 0,
    device="cpu",
    progress=None,
    callback=None,
):
    """Train ``net`` on ``data`` (n …) for ``steps`` steps of Adam with a short warm-up and cosine decay.

    ``labels`` is the condition of every example: labels (n,) or a dict of (n …) tensors such as
    ``{"context": (n s d)}``; ``null_label`` its null condition (see :mod:`.conditioning`).

    Returns ``(losses, ema)`` where ``ema`` is an :class:`EMA` (or ``None``). ``callback(step, net, ema)``
    runs after every step (for snapshots).
    """
    gen = torch.Generator("cpu").manual_seed(seed)
    schedule = schedule.to(device)
    net.to(device).train()
    ema = EMA(net, ema_decay) if ema_decay else None
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    warm = max(1, steps // 20) / steps  # warm up over the first 5 % of the steps
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine((s + 1) / steps, warm))
    losses = []
    it = range(steps)
    for step in progress(it) if progress else it:
        idx = torch.randint(0, len(data), (batch_size,), generator=gen)
        y = _batch_of(labels, idx, device)
        loss = diffusion_loss(net, data[idx].to(device), schedule, gen, y, null_label, p_uncond, prediction)
        clipped_step(opt, loss, max_norm=1.0)
        sched.step()
        if ema:
            ema.update(net)
        losses.append(loss.item())
        if callback:
            callback(step, net, ema)
    net.eval()
    return losses, ema
