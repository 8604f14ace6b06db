"""Checkers for chapter 5 (Diffusion)."""

from __future__ import annotations

from .checks import Feedback, _Stop, call_student, expect_tensor, fail, run_check


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


# one typical mistake each, built into the reference formula, and what to tell a student whose answer matches it
_POSTERIOR_MISTAKES = {
    "no sqrt": "the coefficients take square roots: √ᾱ_{t-1} in front of x̂₀ and √α_t in front of x_t.",
    "no sqrt prev": "the x̂₀ coefficient starts with √ᾱ_{t-1}, the square root, not ᾱ_{t-1}.",
    "no sqrt alpha": "the x_t coefficient starts with √α_t, the square root, not α_t.",
    "abar for alpha": "the x_t coefficient has √α_t of this one step (α_t = 1 - β_t), not the cumulative √ᾱ_t.",
    "alpha for abar": "ᾱ is the cumulative product of α = 1 - β (torch.cumprod(1 - betas, 0)), not α itself.",
    "no shift": "ᾱ_{t-1} is the previous entry of the ᾱ table; you used ᾱ_t in its place.",
    "wrap": "at t = 0, ᾱ_{t-1} must be 1 (no noise before the first step), but abar[t - 1] wraps around to "
    "abar[-1], the last entry. Prepend a 1: torch.cat([abar.new_ones(1), abar[:-1]]).",
    "one-based": "t is 0-based (0 … T-1, as in diffusers): step t uses betas[t] and abar[t], and ᾱ_{t-1} is 1 at t = 0.",
    "swapped": "the coefficients are swapped: √ᾱ_{t-1} β_t / (1-ᾱ_t) multiplies x̂₀ and √α_t (1-ᾱ_{t-1}) / (1-ᾱ_t) x_t.",
}
_VARIANCE_MISTAKES = {
    "beta var": "you returned β_t, the other fixed variance Ho et al. tried; the posterior's own variance is "
    "β̃_t = (1-ᾱ_{t-1}) / (1-ᾱ_t) β_t, which is 0 at t = 0.",
    "std": "you returned the standard deviation √β̃_t; return the variance β̃_t = (1-ᾱ_{t-1}) / (1-ᾱ_t) β_t.",
}


def _posterior_with(x_t, x0, t, betas, mistake: str = ""):
    """The posterior's mean (b c h w) and variance (b 1 1 1), with one named typical mistake built in."""
    import torch

    alphas = 1 - betas
    abar = alphas if mistake == "alpha for abar" else torch.cumprod(alphas, 0)
    prev = torch.cat([abar.new_ones(1), abar[:-1]])  # ᾱ_{t-1}, with ᾱ_{-1} = 1
    if mistake in ("wrap", "one-based"):
        prev = abar.roll(1)  # abar[t - 1]: index -1 wraps around to the last entry
    if mistake == "no shift":
        prev = abar
    idx = t - 1 if mistake == "one-based" else t
    shape = (-1, *[1] * (x_t.dim() - 1))
    beta, a, ap = betas[idx].view(shape), abar[idx].view(shape), prev[idx].view(shape)
    alpha = a if mistake == "abar for alpha" else alphas[idx].view(shape)
    sqrt_ap = ap if mistake in ("no sqrt", "no sqrt prev") else ap.sqrt()
    sqrt_alpha = alpha if mistake in ("no sqrt", "no sqrt alpha") else alpha.sqrt()
    c0, ct = sqrt_ap * beta / (1 - a), sqrt_alpha * (1 - ap) / (1 - a)
    if mistake == "swapped":
        c0, ct = ct, c0
    var = beta * (1 - ap) / (1 - a)
    return c0 * x0 + ct * x_t, {"beta var": beta, "std": var.sqrt()}.get(mistake, var)


def _close(got, expected):
    """Entry by entry: does the student's tensor match, within the tolerance of :func:`.checks.expect_tensor`?"""
    import torch

    return torch.isclose(got.detach().double(), expected.detach().double(), atol=1e-5, rtol=1e-4)


def check_posterior(posterior) -> Feedback:
    """``posterior(x_t, x0_hat, t, betas)`` must return the mean and variance of q(x_{t-1} | x_t, x̂₀)."""
    import torch

    from ..diffusion import process
    from ..diffusion.schedules import NoiseSchedule

    def body() -> str:
        s = NoiseSchedule.make("linear", 100)
        g = torch.Generator("cpu").manual_seed(4)
        # a batch of 5, so coefficients of shape (b,) or (b 1) cannot broadcast silently against h = w = 4
        x_t, x0 = torch.randn(5, 1, 4, 4, generator=g), torch.randn(5, 1, 4, 4, generator=g)
        t = torch.tensor([0, 1, 37, 80, 99])  # the first step (ᾱ_{t-1} = 1), the middle, the last
        try:
            out = call_student(posterior, x_t, x0, t, s.betas)
        except _Stop as stop:  # add the likely cause to the two errors a typical mistake raises
            msg = stop.feedback.message
            if "must match the size" in msg:
                fail(
                    f"{msg} Hint: betas[t] has shape (b,) = (5,); reshape each per-example value to (b 1 1 1), "
                    "e.g. .view(-1, 1, 1, 1), so it broadcasts over c h w."
                )
            if "out of bounds" in msg:
                fail(f"{msg} Hint: {_POSTERIOR_MISTAKES['one-based']}")
            raise
        if not isinstance(out, tuple | list) or len(out) != 2:
            fail(f"posterior must return a pair (mean, var), got {type(out).__name__}.")
        mean, var = out
        expected = process.posterior_mean_variance(x0, x_t, t, s)
        shape_hints = {
            "mean": "the mean has the shape of x_t; shape each per-example value as (b 1 1 1).",
            "var": "one variance per example, shaped (b 1 1 1) so that it broadcasts over c h w.",
        }
        value_hints = {
            "mean": "μ̃_t = √ᾱ_{t-1} β_t / (1-ᾱ_t) · x̂₀ + √α_t (1-ᾱ_{t-1}) / (1-ᾱ_t) · x_t, "
            "with α = 1 - β, ᾱ = cumprod(α) and ᾱ_{t-1} = 1 at t = 0.",
            "var": "β̃_t = (1-ᾱ_{t-1}) / (1-ᾱ_t) · β_t, which is 0 at t = 0.",
        }
        outputs = (("mean", mean, "b c h w", _POSTERIOR_MISTAKES), ("var", var, "b 1 1 1", _VARIANCE_MISTAKES))
        for index, (name, got, axes, mistakes) in enumerate(outputs):
            exp = expected[index]
            if isinstance(got, torch.Tensor) and got.shape != exp.shape:
                fail(
                    f"{name}: wrong shape — expected {tuple(exp.shape)} ({axes}), got {tuple(got.shape)}. "
                    f"Hint: {shape_hints[name]}"
                )
            if isinstance(got, torch.Tensor) and not _close(got, exp).all():
                # a typical mistake gets its own hint, with the timesteps where it shows
                for mistake, hint in mistakes.items():
                    if _close(got, _posterior_with(x_t, x0, t, s.betas, mistake)[index]).all():
                        wrong_t = t[~_close(got, exp).flatten(1).all(1)].tolist()
                        fail(f"{name}: wrong values for the examples at t = {wrong_t} of {t.tolist()}. Hint: {hint}")
            expect_tensor(got, exp, f"{name} at t = {t.tolist()}", axes, hint=value_hints[name])
        return (
            "Correct: μ̃ and β̃ match the library's posterior_mean_variance, including t = 0, "
            "where β̃ = 0 and μ̃ = x̂₀: the last step adds no noise."
        )

    return run_check(body)
