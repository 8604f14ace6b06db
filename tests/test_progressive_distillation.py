"""Progressive distillation (Salimans & Ho 2022): the target, the loss, the grid sampler and one tiny round."""

import pytest
import torch

from genai_course.deploy.progressive import (
    alpha_sigma,
    ddim_move,
    distill_round,
    halve_grid,
    progressive_loss,
    sample_on_grid,
    teacher_two_steps,
    x0_target,
)
from genai_course.diffusion.sampling import ddim_sample, ddim_timesteps
from genai_course.diffusion.schedules import NoiseSchedule

SCHEDULE = NoiseSchedule.make("linear", 200)


def test_x0_target_by_hand():
    # α_t = 0.6, σ_t = 0.8 → α'' = 0.8, σ'' = 0.6; z_t = 1, z'' = 0.5: ratio 3/4, x̃ = (0.5 − 0.75)/(0.8 − 0.45) = −5/7
    t = lambda v: torch.tensor([[[[v]]]], dtype=torch.float64)  # noqa: E731
    got = x0_target(t(1.0), t(0.5), t(0.6), t(0.8), t(0.8), t(0.6))
    assert torch.allclose(got, t(-5 / 7))
    # and one DDIM step with that guess lands exactly on z''
    assert torch.allclose(ddim_move(got, t(1.0), t(0.6), t(0.8), t(0.8), t(0.6)), t(0.5))


def test_linear_teacher_two_steps_has_the_closed_form():
    # ε̂(z) = c z: one DDIM step t → s multiplies z by m = (α_s/α_t)(1 − σ_t c) + σ_s c
    c = 0.3
    z = torch.randn(3, 1, 4, 4, generator=torch.Generator("cpu").manual_seed(0), dtype=torch.float64)
    ts = [torch.full((3,), v) for v in (150, 100, 50)]
    a, s = zip(*(alpha_sigma(SCHEDULE, v, z) for v in ts), strict=True)
    m = lambda i, j: (a[j] / a[i]) * (1 - s[i] * c) + s[j] * c  # noqa: E731
    got = teacher_two_steps(lambda x, t: c * x, z, *ts, SCHEDULE, clip=None)
    assert torch.allclose(got, m(0, 1) * m(1, 2) * z)
    # the target is again linear in z: x̃ = (m01 m12 − σ''/σ) / (α'' − σ''/σ · α) · z
    target = x0_target(z, got, a[0], s[0], a[2], s[2])
    r = s[2] / s[0]
    assert torch.allclose(target, (m(0, 1) * m(1, 2) - r) / (a[2] - r * a[0]) * z)


def test_last_step_target_is_the_teachers_clean_image():
    z = torch.randn(2, 1, 4, 4, generator=torch.Generator("cpu").manual_seed(1))
    t, t_mid, t_end = torch.full((2,), 25), torch.full((2,), 0), torch.full((2,), -1)
    a_t, s_t = alpha_sigma(SCHEDULE, t, z)
    a_e, s_e = alpha_sigma(SCHEDULE, t_end, z)
    assert torch.all(a_e == 1) and torch.all(s_e == 0)
    end = teacher_two_steps(lambda x, tt: 0.1 * x, z, t, t_mid, t_end, SCHEDULE)
    assert torch.allclose(x0_target(z, end, a_t, s_t, a_e, s_e), end)


def test_student_equal_to_the_two_step_map_has_zero_loss():
    teacher = lambda x, t: 0.5 * torch.tanh(x) + 0.01 * t[:, None, None, None]  # noqa: E731  nonlinear, t-dependent
    grid = ddim_timesteps(SCHEDULE.T, 8) + [-1]
    after = {grid[i]: (grid[i + 1], grid[i + 2]) for i in range(0, 8, 2)}

    def student(z, t):  # the ε whose x̂ is exactly the two-step target
        t_mid = torch.tensor([after[int(v)][0] for v in t])
        t_end = torch.tensor([after[int(v)][1] for v in t])
        a_t, s_t = alpha_sigma(SCHEDULE, t, z)
        a_e, s_e = alpha_sigma(SCHEDULE, t_end, z)
        x0 = x0_target(z, teacher_two_steps(teacher, z, t, t_mid, t_end, SCHEDULE), a_t, s_t, a_e, s_e)
        return (z - a_t * x0) / s_t

    g = torch.Generator("cpu").manual_seed(0)
    x0, noise = torch.rand(4, 1, 4, 4, generator=g) * 2 - 1, torch.randn(4, 1, 4, 4, generator=g)
    t, t_mid, t_end = torch.tensor([175, 125, 75, 25]), torch.tensor([150, 100, 50, 0]), torch.tensor([125, 75, 25, -1])
    loss = progressive_loss(student, teacher, x0, t, t_mid, t_end, SCHEDULE, noise)
    assert loss.item() < 1e-8
    assert progressive_loss(teacher, teacher, x0, t, t_mid, t_end, SCHEDULE, noise).item() > 1e-4


def test_grid_sampler_matches_ddim_sample():
    model = lambda x, t: 0.2 * x + 0.001 * t[:, None, None, None]  # noqa: E731
    x_T = torch.randn(2, 1, 4, 4, generator=torch.Generator("cpu").manual_seed(0))
    ref = ddim_sample(model, x_T.shape, SCHEDULE, 8, x_T=x_T, clip=1.0)
    assert torch.allclose(sample_on_grid(model, x_T, SCHEDULE, ddim_timesteps(SCHEDULE.T, 8)), ref, atol=1e-5)


def test_halve_grid_and_bad_inputs():
    assert halve_grid([175, 150, 125, 100, 75, 50, 25, 0]) == [175, 125, 75, 25]
    with pytest.raises(ValueError, match="even length"):
        halve_grid([100, 50, 0])
    with pytest.raises(ValueError, match="descending"):
        halve_grid([0, 50])
    with pytest.raises(ValueError, match="clean data"):
        alpha_sigma(SCHEDULE, torch.tensor([200]), torch.zeros(1, 1))


def test_one_tiny_round_trains_a_copy_and_leaves_the_teacher_alone():
    from genai_course.nn.unet import UNet, UNetConfig

    torch.manual_seed(0)
    teacher = UNet(UNetConfig(base_channels=8, channel_mults=(1, 2), attn_levels=(), groups=4, n_classes=10)).eval()
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    data, labels = torch.rand(16, 1, 8, 8) * 2 - 1, torch.arange(16) % 10
    student, losses = distill_round(teacher, data, SCHEDULE, [150, 100, 50, 0], iters=3, batch_size=4, labels=labels)
    assert len(losses) == 3 and all(torch.isfinite(torch.tensor(losses)))
    assert student is not teacher and not student.training
    assert all(torch.equal(before[k], v) for k, v in teacher.state_dict().items())
    with pytest.raises(ValueError, match="one entry per image"):
        distill_round(teacher, data, SCHEDULE, [150, 100, 50, 0], iters=1, labels=labels[:3])
