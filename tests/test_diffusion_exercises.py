"""The chapter-5 checkers accept the reference solutions and reject typical mistakes with a reason."""

import pytest
import torch

from genai_course.exercises.diffusion import check_ddim_step, check_q_sample


def q_sample(x0, t, alphas_cumprod, noise):
    abar = alphas_cumprod[t].view(-1, *[1] * (x0.dim() - 1))
    return abar.sqrt() * x0 + (1 - abar).sqrt() * noise


def ddim_step(x_t, eps, abar_t, abar_prev):
    x0 = (x_t - (1 - abar_t).sqrt() * eps) / abar_t.sqrt()
    return abar_prev.sqrt() * x0 + (1 - abar_prev).sqrt() * eps


def test_reference_solutions_pass():
    assert check_q_sample(q_sample)
    assert check_ddim_step(ddim_step)


def test_variance_instead_of_standard_deviation_is_rejected():
    def wrong(x0, t, alphas_cumprod, noise):
        abar = alphas_cumprod[t].view(-1, *[1] * (x0.dim() - 1))
        return abar * x0 + (1 - abar) * noise  # forgot the square roots

    feedback = check_q_sample(wrong)
    assert not feedback and "wrong values" in feedback.message and "Hint" in feedback.message


def test_broadcasting_only_for_points_is_caught_on_images():
    def points_only(x0, t, alphas_cumprod, noise):
        abar = alphas_cumprod[t][:, None]  # (b 1): fine for (b d), breaks for (b c h w)
        return abar.sqrt() * x0 + (1 - abar).sqrt() * noise

    feedback = check_q_sample(points_only)
    assert not feedback and "Your code raised RuntimeError" in feedback.message


def test_ddim_step_mistakes():
    def no_renoise(x_t, eps, abar_t, abar_prev):
        return (x_t - (1 - abar_t).sqrt() * eps) / abar_t.sqrt()  # returns x̂₀ itself

    feedback = check_ddim_step(no_renoise)
    assert not feedback and "wrong values" in feedback.message

    def not_attempted(x_t, eps, abar_t, abar_prev):
        raise NotImplementedError()

    assert "Not attempted" in check_ddim_step(not_attempted).message


def test_guidance_checker():
    from genai_course.exercises.diffusion import check_guidance

    assert check_guidance(lambda c, u, s: u + s * (c - u))
    assert check_guidance(lambda c, u, s: (1 - s) * u + s * c)  # the same, rearranged
    paper_w = check_guidance(lambda c, u, s: (1 + s) * c - s * u)
    assert not paper_w and "w + 1" in paper_w.message
    assert not check_guidance(lambda c, u, s: c + s * (c - u))
    assert "Not attempted" in check_guidance(lambda c, u, s: (_ for _ in ()).throw(NotImplementedError())).message


def test_inpaint_merge_checker():
    from genai_course.exercises.diffusion import check_inpaint_merge

    assert check_inpaint_merge(lambda x, known, m: m * known + (1 - m) * x)
    assert check_inpaint_merge(lambda x, known, m: torch.where(m.bool(), known, x))
    swapped = check_inpaint_merge(lambda x, known, m: m * x + (1 - m) * known)
    assert not swapped and "swapped" in swapped.message
    assert not check_inpaint_merge(lambda x, known, m: known)


def posterior(x_t, x0_hat, t, betas):
    """The reference solution of the notebook's exercise: mean (b c h w) and variance (b 1 1 1)."""
    abar = torch.cumprod(1 - betas, dim=0)
    abar_prev = torch.cat([abar.new_ones(1), abar[:-1]])
    beta, a, ap = (v[t].view(-1, 1, 1, 1) for v in (betas, abar, abar_prev))
    mean = (ap.sqrt() * beta / (1 - a)) * x0_hat + ((1 - beta).sqrt() * (1 - ap) / (1 - a)) * x_t
    return mean, beta * (1 - ap) / (1 - a)


def test_posterior_reference_passes_and_blank_is_not_attempted():
    from genai_course.exercises.diffusion import check_posterior

    assert check_posterior(posterior)
    assert check_posterior(lambda *args: list(posterior(*args)))  # a list is a pair too
    assert "Not attempted" in check_posterior(lambda *a: (_ for _ in ()).throw(NotImplementedError())).message


def test_posterior_typical_mistakes_get_their_own_hint():
    from genai_course.exercises.diffusion import check_posterior

    def forgot_sqrt(x_t, x0_hat, t, betas):
        abar = torch.cumprod(1 - betas, dim=0)
        abar_prev = torch.cat([abar.new_ones(1), abar[:-1]])
        beta, a, ap = (v[t].view(-1, 1, 1, 1) for v in (betas, abar, abar_prev))
        return (ap * beta / (1 - a)) * x0_hat + ((1 - beta) * (1 - ap) / (1 - a)) * x_t, beta * (1 - ap) / (1 - a)

    def alphas_not_cumulated(x_t, x0_hat, t, betas):
        abar = 1 - betas  # α, not ᾱ
        abar_prev = torch.cat([abar.new_ones(1), abar[:-1]])
        beta, a, ap = (v[t].view(-1, 1, 1, 1) for v in (betas, abar, abar_prev))
        mean = (ap.sqrt() * beta / (1 - a)) * x0_hat + ((1 - beta).sqrt() * (1 - ap) / (1 - a)) * x_t
        return mean, beta * (1 - ap) / (1 - a)

    def prev_wraps_at_zero(x_t, x0_hat, t, betas):
        abar = torch.cumprod(1 - betas, dim=0)
        beta, a, ap = betas[t].view(-1, 1, 1, 1), abar[t].view(-1, 1, 1, 1), abar[t - 1].view(-1, 1, 1, 1)
        mean = (ap.sqrt() * beta / (1 - a)) * x0_hat + ((1 - beta).sqrt() * (1 - ap) / (1 - a)) * x_t
        return mean, beta * (1 - ap) / (1 - a)

    def beta_as_variance(x_t, x0_hat, t, betas):
        return posterior(x_t, x0_hat, t, betas)[0], betas[t].view(-1, 1, 1, 1)

    for wrong, words in (
        (forgot_sqrt, "square roots"),
        (alphas_not_cumulated, "cumulative product"),
        (prev_wraps_at_zero, "t = [0] of"),
        (beta_as_variance, "β̃_t"),
    ):
        feedback = check_posterior(wrong)
        assert not feedback and "wrong values" in feedback.message and words in feedback.message, wrong.__name__


def test_posterior_shapes_and_indexing_errors_are_explained():
    from genai_course.exercises.diffusion import check_posterior

    def no_reshape(x_t, x0_hat, t, betas):  # (b,) coefficients cannot broadcast against (b c h w)
        abar = torch.cumprod(1 - betas, dim=0)
        abar_prev = torch.cat([abar.new_ones(1), abar[:-1]])
        beta, a, ap = betas[t], abar[t], abar_prev[t]
        return (ap.sqrt() * beta / (1 - a)) * x0_hat + ((1 - beta).sqrt() * (1 - ap) / (1 - a)) * x_t, beta

    feedback = check_posterior(no_reshape)
    assert not feedback and "RuntimeError" in feedback.message and "(b 1 1 1)" in feedback.message

    flat_var = check_posterior(lambda *args: (posterior(*args)[0], posterior(*args)[1].flatten()))
    assert not flat_var and "expected (5, 1, 1, 1) (b 1 1 1), got (5,)" in flat_var.message

    def one_step_late(x_t, x0_hat, t, betas):  # treats t as 1-based: index T is out of range
        return posterior(x_t, x0_hat, t + 1, betas)

    late = check_posterior(one_step_late)
    assert not late and "IndexError" in late.message and "0-based" in late.message
    assert "pair (mean, var)" in check_posterior(lambda *args: posterior(*args)[0]).message


@pytest.mark.parametrize(
    "mistake", ["no sqrt prev", "no sqrt alpha", "abar for alpha", "no shift", "one-based", "swapped", "std"]
)
def test_posterior_every_modelled_mistake_is_recognised(mistake):
    from genai_course.exercises.diffusion import (
        _POSTERIOR_MISTAKES,
        _VARIANCE_MISTAKES,
        _posterior_with,
        check_posterior,
    )

    feedback = check_posterior(lambda x_t, x0, t, betas: _posterior_with(x_t, x0, t, betas, mistake))
    hint = {**_POSTERIOR_MISTAKES, **_VARIANCE_MISTAKES}[mistake]
    assert not feedback and hint in feedback.message
