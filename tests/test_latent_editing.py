"""img2img (SDEdit) and inpainting in latent space (genai_course.latent.editing)."""

import pytest
import torch

from genai_course.data.scene_prompts import tokenize
from genai_course.latent.editing import img2img, inpaint
from genai_course.latent.evaluation import real_scenes
from genai_course.latent.pretrained import load_autoencoder, load_text_to_image

PROMPTS = ["a red circle on the left", "two blue squares"]


@pytest.fixture(scope="module")
def models():
    return load_text_to_image(), load_autoencoder()


def test_strength_zero_returns_the_image_and_more_strength_departs_further(models):
    net, ae = models
    images = real_scenes(PROMPTS)
    torch.testing.assert_close(img2img(net, ae, images, tokenize(PROMPTS), 0.0), images, rtol=0, atol=0)
    weak = img2img(net, ae, images, tokenize(PROMPTS), 0.1, steps=10)
    full = img2img(net, ae, images, tokenize(PROMPTS), 1.0, steps=10)
    assert weak.shape == (2, 3, 32, 32) and 0 <= weak.min() and weak.max() <= 1
    assert (weak - images).abs().mean() < (full - images).abs().mean()  # a little noise keeps more of the image


def test_inpainting_keeps_every_kept_pixel(models):
    net, ae = models
    images = real_scenes(PROMPTS)
    keep = torch.ones(1, 1, 32, 32)
    keep[..., :16] = 0
    out = inpaint(net, ae, images, keep, tokenize(["a green triangle on the left", "two blue squares"]), steps=5)
    assert out.shape == images.shape
    torch.testing.assert_close(out[..., 16:], images[..., 16:], rtol=0, atol=0)
    assert (out[..., :16] - images[..., :16]).abs().max() > 0.1  # the left half was redrawn


def test_clear_errors(models):
    net, ae = models
    images = real_scenes(PROMPTS)
    with pytest.raises(ValueError, match="strength"):
        img2img(net, ae, images, tokenize(PROMPTS), 1.5)
    with pytest.raises(ValueError, match="2 images but 1 prompts"):
        img2img(net, ae, images, tokenize(PROMPTS[:1]), 0.5)
    with pytest.raises(ValueError, match="images"):
        img2img(net, ae, images[:, :, :16], tokenize(PROMPTS), 0.5)
    with pytest.raises(ValueError, match="keep must have shape"):
        inpaint(net, ae, images, torch.ones(32, 32), tokenize(PROMPTS))


def test_layout_kept_compares_objects_and_places():
    from genai_course.latent.editing import layout_kept

    a = real_scenes(["a red circle on the left", "a red circle on the left"], seed=0)
    recoloured = a[:, [2, 1, 0]]  # red → blue, same place
    moved = torch.flip(a, dims=[3])  # mirrored: the circle is now on the right
    assert layout_kept(a, recoloured) == [True, True]
    assert layout_kept(a, moved) == [False, False]
    assert layout_kept(a, torch.zeros_like(a)) == [False, False]
    with pytest.raises(ValueError, match="same shape"):
        layout_kept(a, a[:1])


def test_img2img_start_by_hand_and_its_checker():
    from genai_course.diffusion.schedules import NoiseSchedule
    from genai_course.exercises.stable_diffusion import check_img2img_start
    from genai_course.latent.editing import img2img_start

    schedule = NoiseSchedule.make("linear", 1000)
    z0, eps = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 8, 8)
    t0, z = img2img_start(z0, 0.4, schedule, eps)
    abar = schedule.alphas_cumprod[400]
    assert t0 == 400
    torch.testing.assert_close(z, abar.sqrt() * z0 + (1 - abar).sqrt() * eps)
    assert img2img_start(z0, 1.0, schedule, eps)[0] == 999, "strength 1 starts at the last timestep"
    with pytest.raises(ValueError, match="strength"):
        img2img_start(z0, 1.5, schedule, eps)

    def reference(z0, strength, abar, eps):
        t0 = min(len(abar) - 1, round(strength * len(abar)))
        return t0, abar[t0].sqrt() * z0 + (1 - abar[t0]).sqrt() * eps

    def truncating(z0, strength, abar, eps):
        t0 = min(len(abar) - 1, int(strength * len(abar)))
        return t0, abar[t0].sqrt() * z0 + (1 - abar[t0]).sqrt() * eps

    def swapped(z0, strength, abar, eps):
        t0 = min(len(abar) - 1, round(strength * len(abar)))
        return t0, (1 - abar[t0]).sqrt() * z0 + abar[t0].sqrt() * eps

    assert check_img2img_start(reference).passed
    assert "round" in check_img2img_start(truncating).message
    assert not check_img2img_start(swapped).passed
