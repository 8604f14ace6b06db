"""Chapter 6's latent diffusion pieces: autoencoder, text encoder, denoiser and the prompt → image pipeline."""

import pytest
import torch

from genai_course.latent.autoencoder import Autoencoder, AutoencoderConfig, autoencoder_loss, kl_to_standard_normal
from genai_course.latent.model import LatentDiffusionConfig, TextToImageDenoiser, latent_unet_config, null_tokens
from genai_course.latent.pipeline import generate, initial_noise
from genai_course.latent.text_encoder import TextEncoder, TextEncoderConfig


def tiny_autoencoder(channels=(8, 16, 16)):
    torch.manual_seed(0)
    return Autoencoder(AutoencoderConfig(channels=channels, groups=4)).eval()


def tiny_denoiser():
    torch.manual_seed(0)
    text = TextEncoderConfig(d_model=16, n_heads=2, n_layers=1)
    unet = latent_unet_config(base_channels=16, context_dim=16, groups=4, n_heads=2)
    return TextToImageDenoiser(LatentDiffusionConfig(text, unet)).eval()


@pytest.mark.parametrize("channels,f", [((8, 16, 16), 4), ((8, 16, 16, 16), 8), ((8, 16), 2)])
def test_autoencoder_shapes_follow_the_factor(channels, f):
    ae = tiny_autoencoder(channels)
    assert ae.cfg.factor == f
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    mean, logvar = ae.encode(x)
    assert mean.shape == logvar.shape == (2, 4, 32 // f, 32 // f)
    recon, _, _ = ae(x)
    assert recon.shape == x.shape and ae.reconstruct(x).abs().max() <= 1


def test_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mean, logvar = torch.randn(2, 4, 8, 8, generator=g), torch.randn(2, 4, 8, 8, generator=g)
    q = torch.distributions.Normal(mean, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mean), torch.ones_like(mean))
    expected = torch.distributions.kl_divergence(q, p).mean()
    assert kl_to_standard_normal(mean, logvar).item() == pytest.approx(expected.item(), rel=1e-5)
    assert kl_to_standard_normal(torch.zeros(3), torch.zeros(3)).item() == 0.0


def test_fit_scale_gives_unit_variance_latents_and_round_trips():
    ae = tiny_autoencoder()
    x = torch.rand(64, 3, 32, 32) * 2 - 1
    scale = ae.fit_scale(x)
    z = ae.to_latent(x)
    assert z.std().item() == pytest.approx(1.0, rel=1e-4) and scale == pytest.approx(float(ae.scale))
    torch.testing.assert_close(ae.from_latent(z), ae.reconstruct(x), atol=1e-5, rtol=0)


def test_loss_parts_and_a_few_steps_reduce_the_error():
    from genai_course.latent.autoencoder import train_autoencoder

    ae = tiny_autoencoder()
    x = torch.zeros(16, 3, 32, 32) - 1
    x[:, 0, 8:24, 8:24] = 1  # one red square
    parts = autoencoder_loss(ae.train(), x, kl_weight=0.5)
    assert parts["loss"].item() == pytest.approx(parts["reconstruction"].item() + 0.5 * parts["kl"].item(), rel=1e-5)
    history = train_autoencoder(ae, x, steps=30, batch_size=8, lr=3e-3)
    assert history["reconstruction"][-1] < 0.5 * history["reconstruction"][0]
    assert not ae.training and float(ae.scale) != 1.0


@pytest.mark.parametrize(
    "bad,match",
    [
        (torch.rand(2, 1, 32, 32), r"images: expected shape \(b c=3 h w\)"),
        (torch.rand(2, 3, 30, 30), "multiples of f=4"),
    ],
)
def test_autoencoder_rejects_bad_images(bad, match):
    with pytest.raises(ValueError, match=match):
        tiny_autoencoder().encode(bad)


def test_text_encoder_shapes_and_errors():
    from genai_course.data.scene_prompts import tokenize

    enc = TextEncoder(TextEncoderConfig(d_model=16, n_heads=2, n_layers=1))
    tokens = tokenize(["a red circle", ""])
    assert enc(tokens).shape == (2, 7, 16)
    with pytest.raises(ValueError, match=r"tokens: expected shape \(b s=7\)"):
        enc(tokens[:, :5])
    with pytest.raises(ValueError, match="int64"):
        enc(tokens.float())


def test_denoiser_uses_the_prompt():
    net = tiny_denoiser()
    for p in net.parameters():  # the U-Net's last conv starts at zero; wake it so outputs differ
        torch.nn.init.normal_(p, std=0.1) if p.dim() > 1 else None
    from genai_course.data.scene_prompts import tokenize

    z, t = torch.randn(2, 4, 8, 8), torch.tensor([500, 500])
    a = net(z, t, tokenize(["a red circle", "a red circle"]))
    b = net(z, t, tokenize(["a red circle", "three blue squares"]))
    torch.testing.assert_close(a[0], b[0])  # same prompt, same noise: same prediction
    assert (a[1] - b[1]).abs().max() > 1e-4  # another prompt changes it
    assert null_tokens().shape == (7,) and null_tokens()[0].item() == 1  # <null>, then <pad>


def test_generate_is_per_prompt_deterministic_and_checks_its_input():
    net, ae = tiny_denoiser(), tiny_autoencoder()
    one = generate(net, ae, ["a red circle"], seed=3, guidance=2.0, steps=3)
    two = generate(net, ae, ["a red circle", "two small purple triangles"], seed=3, guidance=2.0, steps=3)
    assert one.shape == (1, 3, 32, 32) and two.shape == (2, 3, 32, 32)
    assert 0 <= two.min() and two.max() <= 1
    torch.testing.assert_close(one[0], two[0], atol=1e-5, rtol=0)  # not changed by the other prompt
    assert not torch.equal(initial_noise(2, (4, 8, 8), 0), initial_noise(2, (4, 8, 8), 1))
    with pytest.raises(ValueError, match="unknown word 'octagon'"):
        generate(net, ae, ["a red octagon"], steps=2)
    with pytest.raises(ValueError, match="list of strings"):
        generate(net, ae, "a red circle", steps=2)
    with pytest.raises(ValueError, match="guidance must be"):
        generate(net, ae, ["a red circle"], guidance=float("nan"), steps=2)
    with pytest.raises(ValueError, match=r"steps must be an int in \[1, 1000\]"):
        generate(net, ae, ["a red circle"], steps=0)


def test_evaluation_measures():
    from genai_course.latent.evaluation import latent_fid, mean_pairwise_distance, real_scenes, relative_diversity

    groups = torch.zeros(2, 3, 1, 1, 2)
    groups[0, 1, 0, 0, 0] = 3.0  # group 0: distances 3, 3, 0 between its three images
    assert mean_pairwise_distance(groups) == pytest.approx((3 + 3 + 0) * 2 / 6 / 2)
    prompts = ["a red circle", "two large blue squares"]
    real = real_scenes([p for p in prompts for _ in range(4)], seed=5)
    assert real.shape == (8, 3, 32, 32)
    assert 0.6 < relative_diversity(real, prompts, per_prompt=4, seed=6) < 1.6  # real against real: about 1
    same = real[:1].expand(8, -1, -1, -1)
    assert relative_diversity(same.clone(), prompts, per_prompt=4) == 0.0  # one image per prompt: none
    ae = tiny_autoencoder()
    assert abs(latent_fid(real, real, ae)) < 1e-6
