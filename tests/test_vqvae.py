"""The VQ-VAE (genai_course.dalle.vqvae): nearest codes, the straight-through estimator, the losses
against diffusers' VectorQuantizer, the EMA update and dead-code restarts by hand, and codebook usage."""

import math

import pytest
import torch

from genai_course.dalle.vqvae import VQVAE, VectorQuantizer, VQVAEConfig, codebook_usage


def quantizer(**kw) -> VectorQuantizer:
    torch.manual_seed(0)
    q = VectorQuantizer(VQVAEConfig(**{"codebook_size": 8, "code_dim": 3, "restart_dead": False, **kw}))
    with torch.no_grad():
        q.codebook.copy_(torch.randn(8, 3))
    return q


def test_nearest_code_is_the_brute_force_argmin():
    q = quantizer()
    z = torch.randn(50, 3, generator=torch.Generator("cpu").manual_seed(1))
    assert torch.equal(q.nearest(z), torch.cdist(z, q.codebook).argmin(1))


def test_codes_quantized_vectors_and_loss_match_diffusers():
    diffusers_vae = pytest.importorskip("diffusers.models.autoencoders.vae")
    q = quantizer(ema=False).eval()
    theirs = diffusers_vae.VectorQuantizer(8, 3, beta=0.25, legacy=False)
    with torch.no_grad():
        theirs.embedding.weight.copy_(q.codebook)
    z = torch.randn(2, 3, 4, 4, generator=torch.Generator("cpu").manual_seed(2))
    z_q, codes, parts = q(z)
    their_z_q, their_loss, (_, _, their_codes) = theirs(z)
    assert torch.equal(codes.flatten(), their_codes.flatten())
    torch.testing.assert_close(z_q, their_z_q)
    torch.testing.assert_close(parts["codebook"] + 0.25 * parts["commitment"], their_loss)


def test_straight_through_passes_the_decoders_gradient_to_the_encoder_unchanged():
    q = quantizer(ema=False).eval()
    z = torch.randn(2, 3, 4, 4, requires_grad=True)
    z_q, _, _ = q(z)
    upstream = torch.randn_like(z_q)
    (z_q * upstream).sum().backward()
    torch.testing.assert_close(z.grad, upstream)  # ∂z_q/∂z_e = I


def test_ema_step_by_hand():
    q = quantizer(ema=True, ema_decay=0.9).train()
    codebook, count, total = q.codebook.clone(), q.ema_count.clone(), q.ema_sum.clone()
    z = torch.randn(1, 3, 2, 2, generator=torch.Generator("cpu").manual_seed(3))
    flat = z.permute(0, 2, 3, 1).reshape(-1, 3)
    codes = torch.cdist(flat, codebook).argmin(1)
    q(z)
    n_k = torch.bincount(codes, minlength=8).float()
    sums = torch.zeros(8, 3).index_add_(0, codes, flat)
    count = 0.9 * count + 0.1 * n_k  # N_k ← γN_k + (1−γ)n_k
    total = 0.9 * total + 0.1 * sums  # m_k ← γm_k + (1−γ)Σ z_e
    smoothed = (count + 1e-5) / (count.sum() + 8e-5) * count.sum()
    torch.testing.assert_close(q.codebook, total / smoothed[:, None])


def test_a_dead_code_is_moved_onto_an_encoder_output():
    q = quantizer(ema=True, restart_dead=True, restart_below=0.95).train()  # one step: unused usage 1 → 0.9
    z = torch.full((1, 3, 2, 2), 50.0) + torch.randn(1, 3, 2, 2)  # far from every code: one code wins all 4
    q(z)
    flat = z.permute(0, 2, 3, 1).reshape(-1, 3)
    distances = torch.cdist(q.codebook, flat).min(1).values
    assert (distances < 1.0).sum() >= 7, "the unused codes now sit next to the batch's vectors"


def test_codebook_usage_perplexity_and_dead_share():
    every = torch.arange(16).repeat(10)
    assert codebook_usage(every, 16)["perplexity"] == pytest.approx(16)
    assert codebook_usage(every, 32)["dead_share"] == pytest.approx(0.5)
    one = torch.zeros(100, dtype=torch.long)
    assert codebook_usage(one, 16) == {"perplexity": pytest.approx(1.0), "dead_share": pytest.approx(15 / 16)}
    two = torch.tensor([0, 1, 1, 1])
    p = torch.tensor([0.25, 0.75])
    assert codebook_usage(two, 4)["perplexity"] == pytest.approx(math.exp(-(p * p.log()).sum().item()))


def test_vqvae_shapes_round_trip_and_clear_errors():
    model = VQVAE(VQVAEConfig(codebook_size=16)).eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    codes = model.encode(x)
    assert codes.shape == (2, 8, 8) and codes.dtype == torch.long
    assert model.decode(codes).shape == (2, 3, 32, 32)
    out = model(x)
    assert torch.equal(out["codes"], codes) and out["loss"].dim() == 0
    with pytest.raises(ValueError, match="images"):
        model.encode(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match="multiples of f=4"):
        model.encode(torch.rand(2, 3, 30, 30))
    with pytest.raises(ValueError, match=r"codes must be int64 in \[0, 16\)"):
        model.decode(torch.full((1, 8, 8), 16))
    with pytest.raises(ValueError, match="codebook_size"):
        VQVAEConfig(codebook_size=1)


def test_training_with_restarts_uses_the_codebook_and_without_collapses():
    """The chapter's claim in miniature: same images, same steps; restarts keep codes alive."""
    from genai_course.dalle.vqvae import train_vqvae
    from genai_course.latent.pretrained import training_images

    x, _ = training_images(400, seed=0)
    usage = {}
    for restarts in (False, True):
        torch.manual_seed(0)
        model = VQVAE(VQVAEConfig(codebook_size=128, channels=(8, 16, 16), restart_dead=restarts))
        train_vqvae(model, x, 60, batch_size=16)
        usage[restarts] = codebook_usage(model.encode(x[:200]), 128)
    assert usage[True]["perplexity"] > 2 * usage[False]["perplexity"], usage
    assert usage[True]["dead_share"] < usage[False]["dead_share"], usage


def _reference_quantize(z_e, codebook):
    flat = z_e.permute(0, 2, 3, 1).reshape(-1, z_e.shape[1])
    codes = torch.cdist(flat.detach(), codebook).argmin(1)
    e_k = codebook[codes].reshape(z_e.shape[0], z_e.shape[2], z_e.shape[3], -1).permute(0, 3, 1, 2)
    return z_e + (e_k - z_e).detach(), codes.reshape(z_e.shape[0], z_e.shape[2], z_e.shape[3])


def test_straight_through_checker_accepts_the_reference_and_names_each_mistake():
    from genai_course.exercises.dalle import check_vq_straight_through

    assert check_vq_straight_through(_reference_quantize).passed

    def no_gradient(z_e, codebook):
        z_q, codes = _reference_quantize(z_e, codebook)
        return z_q.detach(), codes

    def codes_only(z_e, codebook):  # forgets straight-through: returns e_k, which has no path to z_e
        _, codes = _reference_quantize(z_e, codebook)
        return codebook[codes].permute(0, 3, 1, 2), codes

    def wrong_axis(z_e, codebook):
        z_q, codes = _reference_quantize(z_e, codebook)
        return z_q, codes.transpose(1, 2)

    for wrong, hint in ((no_gradient, "no gradient"), (codes_only, "no gradient"), (wrong_axis, "nearest code")):
        feedback = check_vq_straight_through(wrong)
        assert not feedback.passed and hint in feedback.message, (wrong.__name__, feedback.message)
