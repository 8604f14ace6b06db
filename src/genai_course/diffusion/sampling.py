r"""Samplers: turn noise into data with a trained denoiser.

A *model* here is any callable ``model(x, t) -> prediction`` (ε, x₀ or v, see ``prediction``),
with ``t`` an int64 (b,) tensor. Condition a network by wrapping it, e.g.
:func:`.conditioning.conditioned` (``conditioned(net, labels)``), or with :func:`classifier_free_guidance`.

- :func:`ddpm_step` / :func:`ddpm_sample`: ancestral sampling, x_{t-1} ~ N(μ̃(x_t, x̂₀), β̃_t) (Ho et al., 2020).
- :func:`ddim_step` / :func:`ddim_sample`: DDIM (Song et al., 2021) on any sub-sequence of steps;
  η = 0 is deterministic, η = 1 has DDPM's noise level.
- :func:`ddim_invert`: run deterministic DDIM backwards, data → noise.
- :func:`classifier_free_guidance`: ε̃ = ε(∅) + s (ε(y) − ε(∅)) (Ho & Salimans, 2022).
- :func:`inpaint`: DDPM with the known pixels replaced by their noised originals, optionally with
  RePaint's resampling (Lugmayr et al., 2022).
- :func:`sdedit`: noise an image part-way, then denoise it (Meng et al., 2022).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import rng
from .conditioning import as_condition, null_like
from .process import _at, posterior_mean_variance, q_sample, to_x0_eps
from .schedules import NoiseSchedule

Model = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _tvec(t: int, x: torch.Tensor) -> torch.Tensor:
    return torch.full((x.shape[0],), int(t), device=x.device, dtype=torch.long)


def _randn(shape, generator, device) -> torch.Tensor:
    # drawn on the generator's device (CPU by default), so results do not depend on the accelerator
    return rng.randn(shape, generator, device)


def ddpm_step(
    model_out, t: int, xt, schedule: NoiseSchedule, noise=None, prediction: str = "eps", clip: float | None = None
):
    """One ancestral step x_t → x_{t-1} (no noise added at t = 0). ``clip`` clamps x̂₀ to [-clip, clip]."""
    x0, _ = to_x0_eps(model_out, xt, _tvec(t, xt), schedule, prediction)
    if clip is not None:
        x0 = x0.clamp(-clip, clip)
    mean, var = posterior_mean_variance(x0, xt, _tvec(t, xt), schedule)
    if t == 0:
        return mean
    noise = torch.randn_like(xt) if noise is None else noise
    return mean + var.clamp(min=1e-20).sqrt() * noise


@torch.no_grad()
def ddpm_sample(
    model: Model,
    shape,
    schedule: NoiseSchedule,
    generator=None,
    device="cpu",
    prediction: str = "eps",
    clip: float | None = None,
    x_T=None,
    return_path: bool = False,
    progress=None,
):
    """Run the full reverse chain T-1 … 0 from x_T ~ N(0, I). With ``return_path`` also returns [x_T, …, x_0]."""
    schedule = schedule.to(device)
    x = _randn(shape, generator, device) if x_T is None else x_T.to(device)
    path = [x.cpu()]
    steps = range(schedule.T - 1, -1, -1)
    for t in progress(steps) if progress else steps:
        noise = _randn(x.shape, generator, device) if t > 0 else None
        x = ddpm_step(model(x, _tvec(t, x)), t, x, schedule, noise, prediction, clip)
        if return_path:
            path.append(x.cpu())
    return (x, path) if return_path else x


def ddim_timesteps(T: int, n_steps: int) -> list[int]:
    """Evenly spaced timesteps, descending: ``[(n-1)k, …, k, 0]`` with k = T // n (diffusers' "leading" spacing)."""
    if not 1 <= n_steps <= T:
        raise ValueError(f"n_steps must be in [1, T={T}], got {n_steps}")
    k = T // n_steps
    return [i * k for i in range(n_steps)][::-1]


def ddim_step(
    model_out,
    t: int,
    t_prev: int,
    xt,
    schedule: NoiseSchedule,
    eta: float = 0.0,
    noise=None,
    prediction: str = "eps",
    clip: float | None = None,
):
    r"""One DDIM step x_t → x_{t_prev} (t_prev = -1 means "to clean data", ᾱ = 1).

    x_{t'} = √ᾱ_{t'} x̂₀ + √(1-ᾱ_{t'}-σ²) ε̂ + σ z,  σ = η √((1-ᾱ_{t'})/(1-ᾱ_t)) √(1-ᾱ_t/ᾱ_{t'}).
    """
    if not 0.0 <= eta <= 1.0:
        raise ValueError(f"eta must be in [0, 1], got {eta}")
    x0, eps = to_x0_eps(model_out, xt, _tvec(t, xt), schedule, prediction)
    if clip is not None:
        x0 = x0.clamp(-clip, clip)
        eps = (xt - _at(schedule.alphas_cumprod, _tvec(t, xt), xt).sqrt() * x0) / (
            1 - _at(schedule.alphas_cumprod, _tvec(t, xt), xt)
        ).sqrt()
    abar = schedule.alphas_cumprod[t].to(xt.device, xt.dtype)
    abar_prev = schedule.alphas_cumprod[t_prev].to(xt.device, xt.dtype) if t_prev >= 0 else xt.new_tensor(1.0)
    sigma = eta * ((1 - abar_prev) / (1 - abar) * (1 - abar / abar_prev)).sqrt()
    x = abar_prev.sqrt() * x0 + (1 - abar_prev - sigma**2).clamp(min=0).sqrt() * eps
    if eta > 0:
        noise = torch.randn_like(xt) if noise is None else noise
        x = x + sigma * noise
    return x


@torch.no_grad()
def ddim_sample(
    model: Model,
    shape,
    schedule: NoiseSchedule,
    n_steps: int = 50,
    eta: float = 0.0,
    generator=None,
    device="cpu",
    prediction: str = "eps",
    clip: float | None = None,
    x_T=None,
    t_start: int | None = None,
    progress=None,
):
    """DDIM with ``n_steps`` model calls. ``t_start`` starts from a partly noised x_T at that timestep (SDEdit)."""
    schedule = schedule.to(device)
    x = _randn(shape, generator, device) if x_T is None else x_T.to(device)
    ts = ddim_timesteps(schedule.T, n_steps)
    if t_start is not None:
        ts = [t for t in ts if t <= t_start]
        ts = [t_start] + [t for t in ts if t < t_start]
    pairs = list(zip(ts, ts[1:] + [-1], strict=False))
    for t, t_prev in progress(pairs) if progress else pairs:
        noise = _randn(x.shape, generator, device) if eta > 0 else None
        x = ddim_step(model(x, _tvec(t, x)), t, t_prev, x, schedule, eta, noise, prediction, clip)
    return x


@torch.no_grad()
def ddim_invert(model: Model, x0: torch.Tensor, schedule: NoiseSchedule, n_steps: int = 50, prediction: str = "eps"):
    """Deterministic DDIM run forwards: data x₀ → latent x_T that DDIM (η = 0, same steps) maps back to ≈ x₀."""
    schedule = schedule.to(x0.device)
    ts = ddim_timesteps(schedule.T, n_steps)[::-1]  # ascending
    x = x0
    for t_prev, t in zip([-1] + ts[:-1], ts, strict=False):
        # use the prediction at the lower noise level, the standard approximation for inversion
        t_eval = max(t_prev, 0)
        _, eps = to_x0_eps(model(x, _tvec(t_eval, x)), x, _tvec(t_eval, x), schedule, prediction)
        abar_prev = schedule.alphas_cumprod[t_prev] if t_prev >= 0 else x.new_tensor(1.0)
        abar = schedule.alphas_cumprod[t]
        x0_hat = (x - (1 - abar_prev).sqrt() * eps) / abar_prev.sqrt()
        x = abar.sqrt() * x0_hat + (1 - abar).sqrt() * eps
    return x


def classifier_free_guidance(net, y, scale: float, null_label) -> Model:
    """A model callable mixing the conditional and unconditional predictions of ``net(x, t, **condition)``.

    ε̃ = ε(x, ∅) + scale · (ε(x, c) − ε(x, ∅)); scale 0 = unconditional, 1 = plain conditional.
    ``y`` is the condition c: labels (b,) or a dict such as ``{"context": (b s d)}``; ``null_label``
    is ∅: an int label or a dict with the same keys (see :mod:`.conditioning`).
    """
    cond = as_condition(y)
    null = null_like(cond, null_label)

    def guided(x, t):
        if scale == 1.0:
            return net(x, t, **cond)
        both = {k: torch.cat([cond[k], null[k]]) for k in cond}  # one batched call for c and ∅
        eps_cond, eps_uncond = net(torch.cat([x, x]), torch.cat([t, t]), **both).chunk(2)
        return eps_uncond + scale * (eps_cond - eps_uncond)

    return guided


@torch.no_grad()
def inpaint(
    model: Model,
    known: torch.Tensor,
    mask: torch.Tensor,
    schedule: NoiseSchedule,
    generator=None,
    resample: int = 1,
    prediction: str = "eps",
    clip: float | None = 1.0,
):
    """Fill in the pixels where ``mask`` is 0, keeping ``known`` where ``mask`` is 1 (mask broadcasts to known).

    Every step replaces the known region by the original noised to the same level (replacement
    method); ``resample`` > 1 re-noises each step and repeats it (RePaint), so the generated region
    has time to agree with the known one.
    """
    if mask.dim() != known.dim():
        raise ValueError(f"mask must broadcast to known {tuple(known.shape)}, got {tuple(mask.shape)}")
    device = known.device
    schedule = schedule.to(device)
    mask = mask.to(known.dtype)
    x = _randn(known.shape, generator, device)
    for t in range(schedule.T - 1, -1, -1):
        for r in range(resample):
            noise_known = _randn(known.shape, generator, device)
            x_known = q_sample(known, _tvec(t, known), schedule, noise_known)
            x = mask * x_known + (1 - mask) * x
            noise = _randn(known.shape, generator, device) if t > 0 else None
            x_prev = ddpm_step(model(x, _tvec(t, x)), t, x, schedule, noise, prediction, clip)
            if r < resample - 1 and t > 0:  # go back up one step: x_t ~ q(x_t | x_{t-1})
                beta = schedule.betas[t]
                x = (1 - beta).sqrt() * x_prev + beta.sqrt() * _randn(known.shape, generator, device)
            else:
                x = x_prev
    return mask * known + (1 - mask) * x


@torch.no_grad()
def sdedit(
    model: Model,
    image: torch.Tensor,
    schedule: NoiseSchedule,
    strength: float = 0.5,
    n_steps: int = 50,
    generator=None,
    prediction: str = "eps",
    clip: float | None = 1.0,
):
    """SDEdit: noise ``image`` to timestep ≈ strength·T, then denoise with deterministic DDIM.

    strength 0 returns the image; strength 1 ignores it (a fresh sample).
    """
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    if strength == 0:
        return image.clone()
    schedule = schedule.to(image.device)
    t_start = min(schedule.T - 1, int(round(strength * schedule.T)))
    noise = _randn(image.shape, generator, image.device)
    x_t = q_sample(image, _tvec(t_start, image), schedule, noise)
    return ddim_sample(
        model, image.shape, schedule, n_steps, 0.0, generator, image.device, prediction, clip, x_T=x_t, t_start=t_start
    )
