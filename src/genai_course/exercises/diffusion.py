"""Checkers for chapter 5 (Diffusion)."""

from __future__ import annotations

from .checks import Feedback, call_student, expect_tensor, run_check


def check_q_sample(q_sample) -> Feedback:
    """``q_sample(x0, t, alphas_cumprod, noise)`` must return √ᾱ_t x₀ + √(1-ᾱ_t) ε with ᾱ_t picked per example."""
    import torch

    from ..diffusion import process
    from ..diffusion.schedules import NoiseSchedule

    def body() -> str:
        s = NoiseSchedule.make("linear", 100)
        g = torch.Generator("cpu").manual_seed(0)
        x0, noise = torch.randn(3, 2, generator=g), torch.randn(3, 2, generator=g)
        t = torch.tensor([0, 50, 99])
        expect_tensor(
            call_student(q_sample, x0, t, s.alphas_cumprod, noise),
            process.q_sample(x0, t, s, noise),
            "q_sample on points (b d)",
            "b d",
            hint="index alphas_cumprod with t to get one ᾱ per example, then reshape it to (b 1) so it broadcasts.",
        )
        img, noise_img = torch.randn(2, 1, 4, 4, generator=g), torch.randn(2, 1, 4, 4, generator=g)
        t = torch.tensor([10, 90])
        expect_tensor(
            call_student(q_sample, img, t, s.alphas_cumprod, noise_img),
            process.q_sample(img, t, s, noise_img),
            "q_sample on images (b c h w)",
            "b c h w",
            hint="reshape ᾱ_t to (b 1 1 1) — e.g. abar.view(-1, *[1] * (x0.dim() - 1)) — so it works for any shape.",
        )
        return "Correct: one line jumps from x₀ straight to any x_t."

    return run_check(body)


def check_ddim_step(ddim_step) -> Feedback:
    """``ddim_step(x_t, eps, abar_t, abar_prev)`` must take one deterministic (η = 0) DDIM step."""
    import torch

    from ..diffusion import sampling
    from ..diffusion.schedules import NoiseSchedule

    def body() -> str:
        s = NoiseSchedule.make("linear", 100)
        g = torch.Generator("cpu").manual_seed(1)
        xt, eps = torch.randn(4, 1, 4, 4, generator=g), torch.randn(4, 1, 4, 4, generator=g)
        for t, t_prev in ((99, 79), (40, 20), (10, 0)):
            got = call_student(ddim_step, xt, eps, s.alphas_cumprod[t], s.alphas_cumprod[t_prev])
            expect_tensor(
                got,
                sampling.ddim_step(eps, t, t_prev, xt, s),
                f"ddim_step from t={t} to t={t_prev}",
                "b c h w",
                atol=1e-4,
                hint="first x̂₀ = (x_t - √(1-ᾱ_t) ε) / √ᾱ_t, then x_prev = √ᾱ_prev x̂₀ + √(1-ᾱ_prev) ε.",
            )
        return "Correct: predict x̂₀, then re-noise it to the lower level with the same ε."

    return run_check(body)
