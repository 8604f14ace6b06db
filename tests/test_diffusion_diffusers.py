"""Our schedules and single sampler steps against Hugging Face diffusers (a test-only dependency).

Tolerances: schedules agree to 1e-6 (absolute); one DDPM step and one DDIM step agree to 1e-5
(absolute), except DDPM steps at t <= 1, where both libraries form 1 - ᾱ_t ≈ 1e-4 by float32
cancellation in different orders, so they agree only to 2e-3 (relative).
"""

import pytest
import torch

diffusers = pytest.importorskip("diffusers")
from diffusers import DDIMScheduler, DDPMScheduler  # noqa: E402

from genai_course.diffusion.sampling import ddim_step, ddim_timesteps, ddpm_step  # noqa: E402
from genai_course.diffusion.schedules import NoiseSchedule, cosine_betas, linear_betas  # noqa: E402

KINDS = [("linear", linear_betas), ("squaredcos_cap_v2", cosine_betas)]


@pytest.mark.parametrize("name,ours", KINDS)
def test_schedules_match(name, ours):
    ref = DDPMScheduler(num_train_timesteps=1000, beta_schedule=name)
    assert torch.allclose(ours(1000), ref.betas, atol=1e-6)
    assert torch.allclose(NoiseSchedule(ours(1000)).alphas_cumprod, ref.alphas_cumprod, atol=1e-6)


@pytest.mark.parametrize("name,ours", KINDS)
@pytest.mark.parametrize("prediction,ptype", [("eps", "epsilon"), ("x0", "sample"), ("v", "v_prediction")])
@pytest.mark.parametrize("t", [999, 500, 1, 0])
def test_one_ddpm_step_matches(name, ours, prediction, ptype, t):
    ref = DDPMScheduler(num_train_timesteps=1000, beta_schedule=name, clip_sample=False, prediction_type=ptype)
    s = NoiseSchedule(ours(1000))
    gen = torch.Generator().manual_seed(t)
    xt, out = torch.randn(2, 1, 4, 4, generator=gen), torch.randn(2, 1, 4, 4, generator=gen)
    expected = ref.step(out, t, xt, generator=torch.Generator().manual_seed(7)).prev_sample
    noise = torch.randn(xt.shape, generator=torch.Generator().manual_seed(7))
    got = ddpm_step(out, t, xt, s, noise, prediction)
    if t <= 1:
        assert torch.allclose(got, expected, rtol=2e-3, atol=1e-5)
    else:
        assert torch.allclose(got, expected, atol=1e-5)


def test_one_ddpm_step_matches_with_clipping():
    ref = DDPMScheduler(num_train_timesteps=1000, clip_sample=True, clip_sample_range=1.0)
    s = NoiseSchedule(linear_betas(1000))
    gen = torch.Generator().manual_seed(3)
    xt, out = 2 * torch.randn(2, 1, 4, 4, generator=gen), torch.randn(2, 1, 4, 4, generator=gen)
    expected = ref.step(out, 300, xt, generator=torch.Generator().manual_seed(1)).prev_sample
    got = ddpm_step(out, 300, xt, s, torch.randn(xt.shape, generator=torch.Generator().manual_seed(1)), clip=1.0)
    assert torch.allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("n_steps", [10, 50, 1000])
def test_ddim_timesteps_match(n_steps):
    ref = DDIMScheduler(num_train_timesteps=1000)
    ref.set_timesteps(n_steps)
    assert ddim_timesteps(1000, n_steps) == ref.timesteps.tolist()


@pytest.mark.parametrize("name,ours", KINDS)
@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("n_steps,index", [(50, 0), (50, 25), (50, 49), (10, 3)])
@pytest.mark.parametrize("prediction,ptype", [("eps", "epsilon"), ("v", "v_prediction")])
def test_one_ddim_step_matches(name, ours, eta, n_steps, index, prediction, ptype):
    ref = DDIMScheduler(num_train_timesteps=1000, beta_schedule=name, clip_sample=False, prediction_type=ptype)
    ref.set_timesteps(n_steps)
    ts = ddim_timesteps(1000, n_steps)
    t, t_prev = ts[index], (ts[index + 1] if index + 1 < n_steps else -1)
    s = NoiseSchedule(ours(1000))
    gen = torch.Generator().manual_seed(index)
    xt, out = torch.randn(2, 1, 4, 4, generator=gen), torch.randn(2, 1, 4, 4, generator=gen)
    noise = torch.randn(xt.shape, generator=gen)
    expected = ref.step(out, t, xt, eta=eta, variance_noise=noise).prev_sample
    got = ddim_step(out, t, t_prev, xt, s, eta, noise, prediction)
    assert torch.allclose(got, expected, atol=1e-5)
