r"""One round of progressive distillation (Salimans & Ho, 2022): half the sampling steps.

A teacher samples with deterministic DDIM on a grid of 2N timesteps. The student starts as a copy
of the teacher and learns to cover, in ONE DDIM step from t to t'' (two teacher steps further), the
ground the teacher covers in TWO steps t → t' → t'' (their Algorithm 2). Write α_t = √ᾱ_t and
σ_t = √(1 − ᾱ_t), so that z_t = α_t x + σ_t ε. One DDIM step from t to s with a clean-image guess x̂ is

    z_s = α_s x̂ + (σ_s / σ_t)(z_t − α_t x̂).

The student's single step lands on the teacher's two-step result z_{t''} exactly when its x̂ is

    x̃ = (z_{t''} − (σ_{t''}/σ_t) z_t) / (α_{t''} − (σ_{t''}/σ_t) α_t)        (Salimans & Ho 2022, Alg. 2)

which is the target it is trained on, with their "truncated SNR" weight max(SNR_t, 1), SNR_t = α_t²/σ_t²:

    L = max(SNR_t, 1) · ‖x̃ − x̂_student(z_t)‖².

The course U-Net predicts ε; x̂ = (z_t − σ_t ε̂)/α_t turns its output into a clean-image guess. The last
step ends at "t = −1", clean data: α = 1, σ = 0, and the target is the teacher's final image.

- :func:`x0_target`: the equation above; :func:`alpha_sigma`: α_t and σ_t per example.
- :func:`teacher_two_steps`: the teacher's two deterministic DDIM steps, per-example timesteps.
- :func:`progressive_loss`, :func:`distill_round`: the loss and a short training run.
- :func:`halve_grid`, :func:`sample_on_grid`: the student's grid and a DDIM sampler on any grid.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch

from .. import rng
from ..diffusion.schedules import NoiseSchedule

Model = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x (b c h w), t (b,)) -> ε̂ (b c h w)


def alpha_sigma(schedule: NoiseSchedule, t: torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """α_t = √ᾱ_t and σ_t = √(1 − ᾱ_t) for timesteps t (b,), shaped (b 1 1 1) like ``like``; t = −1 is clean data."""
    t = torch.as_tensor(t, device=schedule.alphas_cumprod.device).long()
    if t.dim() != 1 or t.shape[0] != like.shape[0]:
        raise ValueError(f"t must have shape (b,) = ({like.shape[0]},), got {tuple(t.shape)}")
    if t.min() < -1 or t.max() >= schedule.T:
        raise ValueError(f"t must lie in [-1, {schedule.T - 1}] (−1 = clean data), got [{t.min()}, {t.max()}]")
    abar = torch.where(t >= 0, schedule.alphas_cumprod[t.clamp(min=0)], torch.ones((), dtype=torch.float32))
    abar = abar.to(like.device, like.dtype).reshape(-1, *([1] * (like.dim() - 1)))
    return abar.sqrt(), (1 - abar).clamp(min=0).sqrt()


def ddim_move(x0_hat, z_t, alpha_t, sigma_t, alpha_s, sigma_s):
    """One deterministic DDIM step t → s given a clean-image guess: z_s = α_s x̂ + (σ_s/σ_t)(z_t − α_t x̂)."""
    return alpha_s * x0_hat + (sigma_s / sigma_t) * (z_t - alpha_t * x0_hat)


def x0_target(z_t, z_end, alpha_t, sigma_t, alpha_end, sigma_end):
    """The clean-image guess x̃ whose ONE DDIM step from z_t lands on z_end (Salimans & Ho 2022, Alg. 2):

    x̃ = (z_end − (σ_end/σ_t) z_t) / (α_end − (σ_end/σ_t) α_t).   Tensors (b c h w); α, σ broadcast (b 1 1 1).
    """
    ratio = sigma_end / sigma_t
    return (z_end - ratio * z_t) / (alpha_end - ratio * alpha_t)


def x0_from_eps(z_t, eps, alpha_t, sigma_t, clip: float | None = None):
    """x̂ = (z_t − σ_t ε̂)/α_t, optionally clamped to [−clip, clip] as the course's samplers do."""
    x0 = (z_t - sigma_t * eps) / alpha_t
    return x0.clamp(-clip, clip) if clip is not None else x0


@torch.no_grad()
def teacher_two_steps(teacher: Model, z_t, t, t_mid, t_end, schedule: NoiseSchedule, clip: float | None = 1.0):
    """The teacher's two DDIM steps z_t → z_{t'} → z_{t''} (timesteps (b,) each, descending) → z_{t''} (b c h w)."""
    a_t, s_t = alpha_sigma(schedule, t, z_t)
    a_m, s_m = alpha_sigma(schedule, t_mid, z_t)
    a_e, s_e = alpha_sigma(schedule, t_end, z_t)
    z_mid = ddim_move(x0_from_eps(z_t, teacher(z_t, t), a_t, s_t, clip), z_t, a_t, s_t, a_m, s_m)
    return ddim_move(x0_from_eps(z_mid, teacher(z_mid, t_mid), a_m, s_m, clip), z_mid, a_m, s_m, a_e, s_e)


def halve_grid(teacher_grid: list[int]) -> list[int]:
    """The student's timesteps: every other one of the teacher's descending grid (which must have even length)."""
    if len(teacher_grid) % 2 or any(a <= b for a, b in zip(teacher_grid, teacher_grid[1:], strict=False)):
        raise ValueError(f"expected a strictly descending grid of even length, got {teacher_grid}")
    return teacher_grid[::2]


@torch.no_grad()
def sample_on_grid(model: Model, x_T, schedule: NoiseSchedule, grid: list[int], clip: float | None = 1.0):
    """Deterministic DDIM from x_T through the descending timesteps ``grid``, then to clean data → x₀ (b c h w)."""
    z = x_T
    for t, s in zip(grid, list(grid[1:]) + [-1], strict=False):
        tv, sv = torch.full((len(z),), t, device=z.device), torch.full((len(z),), s, device=z.device)
        a_t, s_t = alpha_sigma(schedule, tv, z)
        a_s, s_s = alpha_sigma(schedule, sv, z)
        z = ddim_move(x0_from_eps(z, model(z, tv), a_t, s_t, clip), z, a_t, s_t, a_s, s_s)
    return z


def progressive_loss(student: Model, teacher: Model, x0, t, t_mid, t_end, schedule, noise, clip=1.0):
    """max(SNR_t, 1) · ‖x̃ − x̂_student(z_t)‖², averaged (Salimans & Ho 2022, Sec. 4 and Alg. 2).

    x0, noise (b c h w); t, t_mid, t_end (b,) with t > t_mid > t_end ≥ −1.
    """
    a_t, s_t = alpha_sigma(schedule, t, x0)
    a_e, s_e = alpha_sigma(schedule, t_end, x0)
    z_t = a_t * x0 + s_t * noise
    z_end = teacher_two_steps(teacher, z_t, t, t_mid, t_end, schedule, clip)
    target = x0_target(z_t, z_end, a_t, s_t, a_e, s_e)  # what the student's x̂ must be
    x0_student = x0_from_eps(z_t, student(z_t, t), a_t, s_t)  # not clipped: the gradient must flow everywhere
    weight = (a_t**2 / s_t**2).clamp(min=1.0)  # truncated SNR weighting
    return (weight * (target - x0_student) ** 2).mean()


def distill_round(
    teacher: torch.nn.Module,
    data: torch.Tensor,
    schedule: NoiseSchedule,
    teacher_grid: list[int],
    iters: int = 100,
    batch_size: int = 32,
    lr: float = 5e-5,
    seed: int = 0,
    labels: torch.Tensor | None = None,
    clip: float | None = 1.0,
) -> tuple[torch.nn.Module, list[float]]:
    """One round: a copy of ``teacher`` trained so its DDIM steps on ``halve_grid(teacher_grid)`` match
    two of the teacher's → (student in eval mode, losses). ``data`` (n c h w) in [−1, 1]; ``labels`` (n,)
    condition both networks (``net(x, t, y=...)``) when given, else they run unconditionally.
    """
    if labels is not None and len(labels) != len(data):
        raise ValueError(f"labels must have one entry per image ({len(data)}), got {len(labels)}")
    grid = list(teacher_grid) + [-1]  # student step i: grid[2i] → grid[2i+1] → grid[2i+2]
    n_student = len(halve_grid(list(teacher_grid)))
    device = next(teacher.parameters()).device
    student = copy.deepcopy(teacher).train().requires_grad_(True)
    teacher.eval()
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    gen = rng.generator(seed)
    schedule = schedule.to(device)
    losses = []
    for _ in range(iters):
        idx = torch.randint(0, len(data), (batch_size,), generator=gen)
        i = torch.randint(0, n_student, (batch_size,), generator=gen)
        t, t_mid, t_end = (torch.tensor(grid, device=device)[2 * i.to(device) + k] for k in range(3))
        cond = {} if labels is None else {"y": labels[idx].to(device)}
        noise = rng.randn((batch_size, *data.shape[1:]), gen, device)
        loss = progressive_loss(
            lambda x, tt, c=cond: student(x, tt, **c),
            lambda x, tt, c=cond: teacher(x, tt, **c),
            data[idx].to(device),
            t,
            t_mid,
            t_end,
            schedule,
            noise,
            clip,
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return student.eval().requires_grad_(False), losses
