import pytest
import torch

from genai_course.diffusion.sampling import (
    classifier_free_guidance,
    ddim_invert,
    ddim_sample,
    ddim_timesteps,
    ddpm_sample,
    inpaint,
    sdedit,
)
from genai_course.diffusion.schedules import NoiseSchedule

M, S = 1.5, 0.5  # data: N(M, S²) in every coordinate


def oracle(schedule):
    """The exact ε-predictor E[ε | x_t] for Gaussian data N(M, S²)."""

    def model(x, t):
        ab = schedule.alphas_cumprod[t].reshape(-1, *([1] * (x.dim() - 1)))
        return (1 - ab).sqrt() * (x - ab.sqrt() * M) / (ab * S**2 + 1 - ab)

    return model


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_ddpm_with_exact_denoiser_recovers_data(kind):
    s = NoiseSchedule.make(kind, 1000 if kind == "linear" else 200)
    x = ddpm_sample(oracle(s), (4000, 2), s, generator=torch.Generator().manual_seed(0))
    assert x.mean().item() == pytest.approx(M, abs=0.03)
    assert x.std().item() == pytest.approx(S, abs=0.03)


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_ddim_with_exact_denoiser_recovers_data(eta):
    s = NoiseSchedule.make("cosine", 200)
    x = ddim_sample(oracle(s), (4000, 2), s, 50, eta, generator=torch.Generator().manual_seed(1))
    assert x.mean().item() == pytest.approx(M, abs=0.05)
    assert x.std().item() == pytest.approx(S, abs=0.05)
    # with few steps the discretisation error shows: the spread shrinks, but the mean stays
    x10 = ddim_sample(oracle(s), (4000, 2), s, 10, eta, generator=torch.Generator().manual_seed(1))
    assert x10.mean().item() == pytest.approx(M, abs=0.15) and 0.3 < x10.std().item() < x.std().item()


def test_ddim_eta0_deterministic_and_inversion_roundtrip():
    s = NoiseSchedule.make("cosine", 200)
    model = oracle(s)
    xT = torch.randn(8, 2, generator=torch.Generator().manual_seed(2))
    a = ddim_sample(model, xT.shape, s, 50, x_T=xT)
    b = ddim_sample(model, xT.shape, s, 50, x_T=xT)
    assert torch.equal(a, b)
    back = ddim_sample(model, xT.shape, s, 50, x_T=ddim_invert(model, a, s, 50))
    assert torch.allclose(back, a, atol=0.1)


def test_timesteps_and_bad_arguments():
    assert ddim_timesteps(100, 4) == [75, 50, 25, 0]
    with pytest.raises(ValueError, match="n_steps"):
        ddim_timesteps(100, 0)
    s = NoiseSchedule.make("linear", 20)
    with pytest.raises(ValueError, match="eta"):
        ddim_sample(oracle(s), (2, 2), s, 5, eta=1.5)
    with pytest.raises(ValueError, match="strength"):
        sdedit(oracle(s), torch.zeros(2, 2), s, strength=2.0)


def test_classifier_free_guidance_mixes_predictions():
    def net(x, t, y):
        return x * 0 + y[:, None].float()  # "prediction" = the label, 10 = null

    y, x, t = torch.tensor([2, 3]), torch.zeros(2, 4), torch.zeros(2, dtype=torch.long)
    assert torch.equal(classifier_free_guidance(net, y, 1.0, 10)(x, t), net(x, t, y))
    assert torch.allclose(classifier_free_guidance(net, y, 0.0, 10)(x, t), torch.full((2, 4), 10.0))
    # scale 3: 10 + 3 (2 - 10) = -14
    assert classifier_free_guidance(net, y, 3.0, 10)(x, t)[0, 0].item() == pytest.approx(-14.0)


def test_inpaint_keeps_known_and_sdedit_limits():
    s = NoiseSchedule.make("linear", 30)
    known = torch.full((3, 1, 4, 4), M)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2] = 1
    out = inpaint(oracle(s), known, mask, s, torch.Generator().manual_seed(0), resample=2, clip=None)
    assert torch.equal(out[..., :2], known[..., :2]) and not torch.equal(out, known)
    img = torch.randn(3, 1, 4, 4)
    assert torch.equal(sdedit(oracle(s), img, s, 0.0), img)
    small = sdedit(oracle(s), img, s, 0.1, n_steps=10, clip=None)
    big = sdedit(oracle(s), img, s, 0.9, n_steps=10, clip=None)
    assert (small - img).abs().mean() < (big - img).abs().mean()
