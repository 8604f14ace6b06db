r"""The forward (noising) process and its exact reverse given x₀.

- one step: :math:`q(x_t\mid x_{t-1}) = \mathcal N(\sqrt{\alpha_t}\,x_{t-1},\ \beta_t I)`
- closed form: :math:`q(x_t\mid x_0) = \mathcal N(\sqrt{\bar\alpha_t}\,x_0,\ (1-\bar\alpha_t) I)`
- posterior: :math:`q(x_{t-1}\mid x_t, x_0) = \mathcal N(\tilde\mu_t, \tilde\beta_t I)` with
  :math:`\tilde\mu_t = \frac{\sqrt{\bar\alpha_{t-1}}\beta_t}{1-\bar\alpha_t} x_0 + \frac{\sqrt{\alpha_t}(1-\bar\alpha_{t-1})}{1-\bar\alpha_t} x_t`,
  :math:`\tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\beta_t`.

A network may predict the noise ε, the clean x₀, or the velocity
:math:`v = \sqrt{\bar\alpha_t}\,\varepsilon - \sqrt{1-\bar\alpha_t}\,x_0`; given x_t any one gives the others.
Timesteps ``t`` are int64 (b,) tensors (or a single int) indexing the schedule, 0-based.
"""

from __future__ import annotations

import torch

from .schedules import NoiseSchedule


def _at(values: torch.Tensor, t, x: torch.Tensor) -> torch.Tensor:
    """values[t] shaped to broadcast against x: (b 1 1 …)."""
    t = torch.as_tensor(t, device=values.device)
    if t.dim() == 0:
        t = t.expand(x.shape[0])
    if t.shape != (x.shape[0],):
        raise ValueError(f"t must be a number or have shape (b,) = ({x.shape[0]},), got {tuple(t.shape)}")
    if t.dtype not in (torch.int64, torch.int32) or t.min() < 0 or t.max() >= len(values):
        raise ValueError(
            f"t must hold integer timesteps in [0, {len(values) - 1}], got {t.dtype} in [{t.min().item()}, {t.max().item()}]"
        )
    return values[t.long()].to(x.device, x.dtype).reshape(-1, *([1] * (x.dim() - 1)))


def q_sample(x0: torch.Tensor, t, schedule: NoiseSchedule, noise: torch.Tensor | None = None) -> torch.Tensor:
    """Sample x_t ~ q(x_t | x_0) in one go: √ᾱ_t x₀ + √(1-ᾱ_t) ε."""
    noise = torch.randn_like(x0) if noise is None else noise
    if noise.shape != x0.shape:
        raise ValueError(f"noise must have x0's shape {tuple(x0.shape)}, got {tuple(noise.shape)}")
    abar = _at(schedule.alphas_cumprod, t, x0)
    return abar.sqrt() * x0 + (1 - abar).sqrt() * noise


def q_step(x_prev: torch.Tensor, t, schedule: NoiseSchedule, noise: torch.Tensor | None = None) -> torch.Tensor:
    """One forward step x_{t-1} → x_t: √α_t x_{t-1} + √β_t ε."""
    noise = torch.randn_like(x_prev) if noise is None else noise
    beta = _at(schedule.betas, t, x_prev)
    return (1 - beta).sqrt() * x_prev + beta.sqrt() * noise


def posterior_mean_variance(x0: torch.Tensor, xt: torch.Tensor, t, schedule: NoiseSchedule):
    """Mean (like x) and variance (b 1 …) of q(x_{t-1} | x_t, x_0)."""
    beta = _at(schedule.betas, t, xt)
    abar, abar_prev = _at(schedule.alphas_cumprod, t, xt), _at(schedule.alphas_cumprod_prev, t, xt)
    mean = (abar_prev.sqrt() * beta / (1 - abar)) * x0 + ((1 - beta).sqrt() * (1 - abar_prev) / (1 - abar)) * xt
    var = beta * (1 - abar_prev) / (1 - abar)
    return mean, var


def x0_from_eps(xt, eps, t, schedule):
    abar = _at(schedule.alphas_cumprod, t, xt)
    return (xt - (1 - abar).sqrt() * eps) / abar.sqrt()


def eps_from_x0(xt, x0, t, schedule):
    abar = _at(schedule.alphas_cumprod, t, xt)
    return (xt - abar.sqrt() * x0) / (1 - abar).sqrt()


def v_from_x0_eps(x0, eps, t, schedule):
    abar = _at(schedule.alphas_cumprod, t, x0)
    return abar.sqrt() * eps - (1 - abar).sqrt() * x0


def x0_from_v(xt, v, t, schedule):
    abar = _at(schedule.alphas_cumprod, t, xt)
    return abar.sqrt() * xt - (1 - abar).sqrt() * v


def eps_from_v(xt, v, t, schedule):
    abar = _at(schedule.alphas_cumprod, t, xt)
    return abar.sqrt() * v + (1 - abar).sqrt() * xt


def to_x0_eps(model_out, xt, t, schedule, prediction: str = "eps"):
    """Turn a network output (``"eps"``, ``"x0"`` or ``"v"`` prediction) into (x̂₀, ε̂)."""
    if prediction == "eps":
        return x0_from_eps(xt, model_out, t, schedule), model_out
    if prediction == "x0":
        return model_out, eps_from_x0(xt, model_out, t, schedule)
    if prediction == "v":
        return x0_from_v(xt, model_out, t, schedule), eps_from_v(xt, model_out, t, schedule)
    raise ValueError(f"prediction must be 'eps', 'x0' or 'v', got {prediction!r}")
