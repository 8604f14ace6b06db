"""The chapter-5 checkers accept the reference solutions and reject typical mistakes with a reason."""

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
