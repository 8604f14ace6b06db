import pytest
import torch

from genai_course.diffusion.process import (
    eps_from_v,
    posterior_mean_variance,
    q_sample,
    q_step,
    to_x0_eps,
    v_from_x0_eps,
    x0_from_eps,
    x0_from_v,
)
from genai_course.diffusion.schedules import NoiseSchedule


def test_schedules_shapes_and_monotone():
    for kind in ("linear", "cosine"):
        s = NoiseSchedule.make(kind, 1000)
        assert s.betas.shape == (1000,) and (s.alphas_cumprod.diff() < 0).all()
        assert s.alphas_cumprod[-1] < 1e-3
    assert NoiseSchedule.make("linear", 100).alphas_cumprod[-1] < 1e-3
    with pytest.raises(ValueError, match="linear' or 'cosine"):
        NoiseSchedule.make("quadratic")


def test_closed_form_equals_iterating_one_step():
    s = NoiseSchedule.make("cosine", 100)
    gen = torch.Generator().manual_seed(0)
    x0 = torch.tensor([1.5, -0.5]).expand(20000, 2)
    x = x0.clone()
    for t in range(60):
        x = q_step(x, t, s, torch.randn(x.shape, generator=gen))
    closed = q_sample(x0, 59, s, torch.randn(x0.shape, generator=gen))
    abar = s.alphas_cumprod[59]
    # both have mean √ᾱ x0 and std √(1-ᾱ); compare with each other and with the formula
    for sample in (x, closed):
        assert torch.allclose(sample.mean(0), abar.sqrt() * x0[0], atol=0.02)
        assert torch.allclose(sample.std(0), (1 - abar).sqrt().expand(2), atol=0.02)


def test_posterior_matches_formula_and_monte_carlo():
    s = NoiseSchedule.make("linear", 50)
    t = 20
    x0 = torch.tensor([[0.7]])
    xt = torch.tensor([[0.1]])
    mean, var = posterior_mean_variance(x0, xt, t, s)
    b, a, ab, abp = s.betas[t], s.alphas[t], s.alphas_cumprod[t], s.alphas_cumprod[t - 1]
    assert torch.allclose(mean, (abp.sqrt() * b * x0 + a.sqrt() * (1 - abp) * xt) / (1 - ab))
    assert torch.allclose(var.flatten(), ((1 - abp) / (1 - ab) * b).reshape(1))
    # Monte Carlo: sample x_{t-1} ~ q(x_{t-1}|x0), x_t ~ q(x_t|x_{t-1}); keep pairs with x_t near 0.1
    gen = torch.Generator().manual_seed(1)
    n = 400000
    xprev = q_sample(x0.expand(n, 1), t - 1, s, torch.randn(n, 1, generator=gen))
    xnext = q_step(xprev, t, s, torch.randn(n, 1, generator=gen))
    keep = (xnext - 0.1).abs() < 0.01
    assert keep.sum() > 1000
    assert xprev[keep].mean().item() == pytest.approx(mean.item(), abs=0.01)
    assert xprev[keep].var().item() == pytest.approx(var.item(), rel=0.1)


def test_prediction_conversions_roundtrip():
    s = NoiseSchedule.make("cosine", 200)
    gen = torch.Generator().manual_seed(2)
    x0, eps = torch.randn(4, 3, generator=gen), torch.randn(4, 3, generator=gen)
    t = torch.tensor([0, 50, 120, 199])
    xt = q_sample(x0, t, s, eps)
    v = v_from_x0_eps(x0, eps, t, s)
    assert torch.allclose(x0_from_eps(xt, eps, t, s), x0, atol=1e-3)
    assert torch.allclose(x0_from_v(xt, v, t, s), x0, atol=1e-4)
    assert torch.allclose(eps_from_v(xt, v, t, s), eps, atol=1e-4)
    for pred, out in (("eps", eps), ("x0", x0), ("v", v)):
        x0_hat, eps_hat = to_x0_eps(out, xt, t, s, pred)
        assert torch.allclose(eps_hat, eps, atol=2e-3) and torch.allclose(x0_hat, x0, atol=2e-3)


def test_bad_timesteps():
    s = NoiseSchedule.make("linear", 10)
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        q_sample(torch.zeros(2, 2), torch.tensor([3, 10]), s)
    with pytest.raises(ValueError, match="shape"):
        q_sample(torch.zeros(2, 2), torch.tensor([1, 2, 3]), s)
    with pytest.raises(ValueError, match="noise"):
        q_sample(torch.zeros(2, 2), 1, s, torch.zeros(3))
