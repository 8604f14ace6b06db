r"""Training a denoiser: pick a random timestep, noise the data, regress the noise.

.. math::  L = \mathbb E_{x_0, t, \varepsilon}\,\lVert \varepsilon - \varepsilon_\theta(\sqrt{\bar\alpha_t}x_0 + \sqrt{1-\bar\alpha_t}\varepsilon,\ t)\rVert^2

With labels, a fraction ``p_uncond`` of them is replaced by the null label so the same network
also learns the unconditional model that classifier-free guidance needs. An exponential moving
average (EMA) of the weights gives noticeably cleaner samples than the last weights.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

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
    """Mean-squared error of the prediction on one batch x0 (b …); labels ``y`` (b,) optional."""
    b, dev = x0.shape[0], x0.device
    t = torch.randint(0, schedule.T, (b,), generator=generator).to(dev)
    noise = torch.randn(x0.shape, generator=generator).to(dev)
    xt = q_sample(x0, t, schedule, noise)
    kwargs = {}
    if y is not None:
        drop = torch.rand(b, generator=generator).to(dev) < p_uncond
        kwargs["y"] = torch.where(drop, torch.full_like(y, null_label), y)
    target = {"eps": noise, "x0": x0, "v": None}.get(prediction)
    if prediction == "v":
        target = v_from_x0_eps(x0, noise, t, schedule)
    elif target is None:
        raise ValueError(f"prediction must be 'eps', 'x0' or 'v', got {prediction!r}")
    return F.mse_loss(net(xt, t, **kwargs), target)


class EMA:
    """Exponential moving average of a network's weights: ``ema.update(net)`` after each step; ``ema.model``."""

    def __init__(self, net: torch.nn.Module, decay: float = 0.999):
        self.decay = decay
        self.model = copy.deepcopy(net).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, net: torch.nn.Module) -> None:
        for e, p in zip(self.model.state_dict().values(), net.state_dict().values(), strict=True):
            if e.is_floating_point():
                e.lerp_(p, 1 - self.decay)
            else:
                e.copy_(p)


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

    Returns ``(losses, ema)`` where ``ema`` is an :class:`EMA` (or ``None``). ``callback(step, net, ema)``
    runs after every step (for snapshots).
    """
    gen = torch.Generator("cpu").manual_seed(seed)
    schedule = schedule.to(device)
    net.to(device).train()
    ema = EMA(net, ema_decay) if ema_decay else None
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    warm = max(1, steps // 20)
    lr_at = lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + torch.cos(torch.tensor(s / steps * 3.14159)).item())  # noqa: E731
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    losses = []
    it = range(steps)
    for step in progress(it) if progress else it:
        idx = torch.randint(0, len(data), (batch_size,), generator=gen)
        y = labels[idx].to(device) if labels is not None else None
        loss = diffusion_loss(net, data[idx].to(device), schedule, gen, y, null_label, p_uncond, prediction)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        sched.step()
        if ema:
            ema.update(net)
        losses.append(loss.item())
        if callback:
            callback(step, net, ema)
    net.eval()
    return losses, ema
