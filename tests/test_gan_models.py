"""GAN models, the training loop, the watermark and the detector: shapes, errors, tiny runs."""

import pytest
import torch

from genai_course.data.toy2d import ring
from genai_course.gan.dcgan import DCDiscriminator, DCGANConfig, DCGenerator
from genai_course.gan.detector import detector_accuracy, train_detector
from genai_course.gan.models2d import Discriminator2D, Generator2D, MLP2DConfig
from genai_course.gan.stylegan import FaceDiscriminator, StyleGANConfig, StyleGenerator
from genai_course.gan.toy import train_toy_gan
from genai_course.gan.train import GANTrainConfig, train_gan
from genai_course.gan.watermark import Watermark, add_noise, bit_accuracy, psnr, resize_roundtrip

SMALL_STYLE = StyleGANConfig(z_dim=16, w_dim=16, mapping_layers=2, channels=(16, 16, 8, 8))


def test_2d_models_and_errors():
    G, D = Generator2D(), Discriminator2D(MLP2DConfig(spectral_norm=True))
    assert G(torch.randn(5, 8)).shape == (5, 2) and D(torch.randn(5, 2)).shape == (5,)
    with pytest.raises(ValueError, match=r"z: expected shape \(b z=8\), got \(5, 3\): z is 3, not 8"):
        G(torch.randn(5, 3))
    with pytest.raises(ValueError, match=r"x: expected shape \(b 2\), got \(5, 3\)"):
        D(torch.randn(5, 3))


def test_train_loop_runs_every_loss_and_logs():
    mix = ring()
    for loss, extra in (
        ("minimax", {}),
        ("hinge", {}),
        ("wasserstein", {"gp_weight": 0.1, "n_critic": 2}),
        ("nonsaturating", {"r1_weight": 1.0}),
    ):
        G, D = Generator2D(), Discriminator2D()
        hist = train_gan(
            G,
            D,
            lambda b: (mix.sample(b), None),
            lambda b: (torch.randn(b, 8), None),
            GANTrainConfig(loss=loss, steps=4, batch_size=16, log_every=2, **extra),
            callback=lambda step: {"step_seen": step},
        )
        assert hist.step == [2, 4] and hist.extra["step_seen"] == [2, 4]
        assert all(torch.isfinite(torch.tensor(hist.d_loss)))
    with pytest.raises(ValueError, match="loss must be one of"):
        GANTrainConfig(loss="lsgan")


def test_lazy_r1_runs_the_penalty_every_r1_every_critic_steps_scaled_up(monkeypatch):
    import genai_course.gan.train as gan_train

    calls = []
    real_r1 = gan_train.r1_penalty

    def counted(*args):
        calls.append(1)
        return real_r1(*args)

    monkeypatch.setattr(gan_train, "r1_penalty", counted)
    mix = ring()
    cfg = GANTrainConfig(loss="nonsaturating", steps=6, n_critic=2, batch_size=8, r1_weight=1.0, r1_every=4)
    train_gan(
        Generator2D(), Discriminator2D(), lambda b: (mix.sample(b), None), lambda b: (torch.randn(b, 8), None), cfg
    )
    assert len(calls) == 3  # discriminator steps 0, 4 and 8 of 12
    with pytest.raises(ValueError, match="r1_every must be >= 1"):
        GANTrainConfig(r1_every=0)


def test_toy_run_records_metrics():
    run = train_toy_gan(ring(), "spectral", steps=20, log_every=10, snapshot_at=(20,), n_eval=200, hidden=16)
    assert run.steps == [10, 20] and len(run.modes) == 2 and run.snapshots[20].shape == (200, 2)


def test_dcgan_conditional_shapes_and_labels():
    cfg = DCGANConfig(n_classes=10, base=8)
    G, D = DCGenerator(cfg), DCDiscriminator(cfg)
    y = torch.arange(4)
    x = G(torch.randn(4, cfg.z_dim), y)
    assert x.shape == (4, 1, 16, 16) and x.abs().max() <= 1
    assert D(x, y).shape == (4,)
    with pytest.raises(ValueError, match="int64"):
        G(torch.randn(4, cfg.z_dim), y.float())
    with pytest.raises(ValueError, match=r"labels: expected shape \(b=4\), got \(3,\)"):
        D(x, y[:3])
    with pytest.raises(ValueError, match=r"images: expected shape \(b c=1 h=16 w=16\)"):
        D(torch.randn(4, 3, 16, 16), y)
    faces = DCGANConfig(img_channels=3, size=32, base=8)
    assert DCDiscriminator(faces)(DCGenerator(faces)(torch.randn(2, faces.z_dim))).shape == (2,)


def test_stylegan_mixing_and_shapes():
    torch.manual_seed(0)
    G = StyleGenerator(SMALL_STYLE).eval()
    z1, z2 = torch.randn(3, 16), torch.randn(3, 16)
    ws = G.ws_from_z(z1, z2, crossover=3)
    assert ws.shape == (3, G.num_ws, 16)
    w1, w2 = G.mapping(z1), G.mapping(z2)
    assert torch.allclose(ws[:, :3], w1[:, None].expand(-1, 3, -1)) and torch.allclose(
        ws[:, 3:], w2[:, None].expand(-1, G.num_ws - 3, -1)
    )
    noise = G.fixed_noise(3, torch.Generator().manual_seed(0))
    img = G.synthesize(ws, noise)
    assert img.shape == (3, 3, 32, 32)
    assert torch.equal(img, G.synthesize(ws, noise))  # fixed noise: deterministic
    assert FaceDiscriminator(channels=(8, 8, 8))(img).shape == (3,)
    with pytest.raises(ValueError, match=rf"ws: expected shape \(b n={G.num_ws} w=16\), got \(3, 5, 16\)"):
        G.synthesize(torch.randn(3, 5, 16))
    with pytest.raises(ValueError, match=r"z2: expected shape \(b=3 z=16\), got \(2, 16\)"):
        G.ws_from_z(z1, z2[:2])


def test_modulated_conv_demodulation_gives_unit_scale():
    from genai_course.gan.stylegan import ModulatedConv

    torch.manual_seed(0)
    conv = ModulatedConv(32, 32, 8)
    conv.affine.bias.data.fill_(5.0)  # a large style must not blow up the activations
    out = conv(torch.randn(4, 32, 8, 8), torch.randn(4, 8))
    assert 0.5 < out.std().item() < 1.5


def test_watermark_survives_noise_and_resize():
    from genai_course.data.faces import make_faces

    images = make_faces(64, seed=5).images
    wm = Watermark(key=0)
    gen = torch.Generator().manual_seed(0)
    bits = torch.randint(0, 2, (64, wm.n_bits), generator=gen)
    marked = wm.embed(images, bits)
    assert psnr(images, marked) > 30
    assert bit_accuracy(wm, marked, bits) > 0.9
    assert bit_accuracy(wm, add_noise(marked, 0.05, gen), bits) > 0.9
    assert bit_accuracy(wm, resize_roundtrip(marked, 24), bits) > 0.88
    assert abs(bit_accuracy(wm, images, bits) - 0.5) < 0.1  # unmarked images: chance
    assert bit_accuracy(Watermark(key=8), marked, bits) < 0.65  # the wrong key reads nothing
    with pytest.raises(ValueError, match="bits must be"):
        wm.embed(images, bits[:, :3])


def test_detector_learns_an_easy_fake():
    from genai_course.data.faces import make_faces

    real = make_faces(128, seed=1).images
    fake = (make_faces(128, seed=2).images + 0.3 * torch.randn(128, 3, 32, 32)).clamp(-1, 1)
    model = train_detector(real, fake, steps=60, batch_size=32)
    acc = detector_accuracy(
        model,
        make_faces(64, seed=3).images,
        (make_faces(64, seed=4).images + 0.3 * torch.randn(64, 3, 32, 32)).clamp(-1, 1),
    )
    assert acc["balanced"] > 0.9


def test_detector_trained_further_starts_from_a_copy_and_leaves_the_original_alone():
    from genai_course.data.faces import make_faces

    real = make_faces(64, seed=1).images
    fake = (make_faces(64, seed=2).images + 0.3 * torch.randn(64, 3, 32, 32)).clamp(-1, 1)
    first = train_detector(real, fake, steps=5, batch_size=16)
    before = {k: v.clone() for k, v in first.state_dict().items()}
    untouched = train_detector(real, fake, steps=0, batch_size=16, init=first)  # zero steps: an exact copy
    further = train_detector(real, fake, steps=5, batch_size=16, init=first)
    assert untouched is not first and all(torch.equal(v, untouched.state_dict()[k]) for k, v in before.items())
    assert all(torch.equal(v, first.state_dict()[k]) for k, v in before.items())  # init itself unchanged
    assert any(not torch.equal(v, further.state_dict()[k]) for k, v in before.items())
    assert not further.training  # returned in eval mode, like a fresh detector
    with pytest.raises(TypeError, match="init must be a FakeDetector"):
        train_detector(real, fake, steps=1, init=first.state_dict())
