"""Checkers for chapter 5 (Diffusion)."""

from __future__ import annotations

from .checks import Feedback, call_student, expect_tensor, fail, run_check


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


def check_guidance(guide) -> Feedback:
    """``guide(eps_cond, eps_uncond, scale)`` must return ε(∅) + s (ε(y) − ε(∅)) (classifier-free guidance)."""
    import torch

    def body() -> str:
        g = torch.Generator("cpu").manual_seed(2)
        eps_c, eps_u = torch.randn(3, 1, 4, 4, generator=g), torch.randn(3, 1, 4, 4, generator=g)
        for scale in (0.0, 1.0, 3.0):
            got = call_student(guide, eps_c, eps_u, scale)
            paper_form = (1.0 + scale) * eps_c - scale * eps_u  # Ho & Salimans' w used as the course's s
            right = eps_u + scale * (eps_c - eps_u)
            if isinstance(got, torch.Tensor) and got.shape == right.shape and torch.allclose(got, paper_form):
                if not torch.allclose(got, right):
                    fail(
                        f"guide(…, scale={scale}) returned (1 + s) ε(y) − s ε(∅): the paper's form with w = s. "
                        "The course's scale is s = w + 1, so the answer is ε(∅) + s (ε(y) − ε(∅))."
                    )
            expect_tensor(
                got,
                right,
                f"guide(eps_cond, eps_uncond, scale={scale})",
                "b c h w",
                hint="start from the unconditional prediction and move `scale` times the difference towards the "
                "conditional one; scale 0 must give ε(∅) and scale 1 must give ε(y).",
            )
        return "Correct: s = 0 is the unconditional model, s = 1 the conditional one, s > 1 extrapolates."

    return run_check(body)


def check_inpaint_merge(merge) -> Feedback:
    """``merge(x_generated, known_noised, mask)`` must keep the known pixels (mask 1) and the generated ones (mask 0)."""
    import torch

    def body() -> str:
        g = torch.Generator("cpu").manual_seed(3)
        x, known = torch.randn(2, 1, 4, 4, generator=g), torch.randn(2, 1, 4, 4, generator=g)
        mask = torch.zeros(1, 1, 4, 4)
        mask[..., :2, :] = 1  # the top half is known
        got = call_student(merge, x, known, mask)
        if (
            isinstance(got, torch.Tensor)
            and got.shape == x.shape
            and torch.allclose(got, mask * x + (1 - mask) * known)
        ):
            fail("The roles are swapped: where mask is 1 the pixel is known, so it must come from known_noised.")
        expect_tensor(
            got,
            mask * known + (1 - mask) * x,
            "merge with the top half known",
            "b c h w",
            hint="mask * known_noised + (1 - mask) * x_generated: the mask (1 h w) broadcasts over the batch.",
        )
        return "Correct: every step the known region is reset to the original, noised to the current level."

    return run_check(body)
