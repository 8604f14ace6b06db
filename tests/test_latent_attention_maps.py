"""Word attention maps of the latent U-Net (latent.attention_maps), on a tiny untrained denoiser."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genai_course.data.scene_prompts import scene_for_prompt, tokenize
from genai_course.data.shapes import SceneObject
from genai_course.latent.attention_maps import (
    attention_maps_by_module,
    cross_attention_modules,
    object_masks,
    recording_cross_attention,
    word_attention_maps,
)
from genai_course.latent.model import LatentDiffusionConfig, TextToImageDenoiser, latent_unet_config
from genai_course.latent.text_encoder import TextEncoderConfig
from genai_course.nn.unet import UNet


def tiny_denoiser(**unet_overrides):
    torch.manual_seed(0)
    text = TextEncoderConfig(d_model=16, n_heads=2, n_layers=1)
    unet = latent_unet_config(base_channels=16, context_dim=16, groups=4, n_heads=2, **unet_overrides)
    return TextToImageDenoiser(LatentDiffusionConfig(text, unet)).eval()


PROMPTS = ["a red circle on the left", "two small blue squares", "a large purple triangle at the top"]


def inputs(b=3):
    latents = torch.randn(b, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    return latents, tokenize(PROMPTS[:b])


def test_one_cross_attention_per_attention_block_at_both_levels():
    net = tiny_denoiser()
    modules = cross_attention_modules(net)
    # 8×8: one down block, two up blocks; 4×4: one down block, the middle, two up blocks
    assert len(modules) == 7 and "mid_attn.cross" in modules
    assert all(m is net.unet.get_submodule(name.rsplit(".", 1)[0]).cross for name, m in modules.items())


def test_maps_have_one_plane_per_token_and_sum_to_one_over_tokens():
    net = tiny_denoiser()
    latents, tokens = inputs()
    maps = word_attention_maps(net, latents, tokens, timesteps=(100, 500))
    assert maps.shape == (3, 7, 8, 8) and maps.dtype == torch.float32
    assert (maps >= 0).all()
    torch.testing.assert_close(maps.sum(1), torch.ones(3, 8, 8), atol=1e-5, rtol=0)
    coarse = word_attention_maps(net, latents, tokens, timesteps=(100, 500), resolution=4)
    assert coarse.shape == (3, 7, 4, 4)
    torch.testing.assert_close(coarse.sum(1), torch.ones(3, 4, 4), atol=1e-5, rtol=0)


def test_maps_average_the_blocks_at_a_resolution_and_are_deterministic_given_the_seed():
    net = tiny_denoiser()
    latents, tokens = inputs(2)
    by_module = attention_maps_by_module(net, latents, tokens, timesteps=300, seed=3)
    sides = sorted(m.shape[-1] for m in by_module.values())
    assert sides == [4, 4, 4, 4, 8, 8, 8]
    fine = torch.stack([m for m in by_module.values() if m.shape[-1] == 8]).mean(0)
    torch.testing.assert_close(word_attention_maps(net, latents, tokens, timesteps=[300], seed=3), fine)
    other = word_attention_maps(net, latents, tokens, timesteps=[300], seed=4)
    assert not torch.allclose(other, fine)  # another noise draw, other maps


def test_maps_match_a_hand_computed_softmax_over_the_text_tokens():
    """The readout is the weights of the block's own attention: rebuild them for one block and compare."""
    net = tiny_denoiser()
    latents, tokens = inputs(2)
    block = net.unet.down[0].blocks[0].attn
    seen = {}
    hook = block.cross.register_forward_hook(
        lambda m, args, kwargs, out: seen.update(x=args[0], c=kwargs["context"]), with_kwargs=True
    )
    try:
        maps = attention_maps_by_module(net, latents, tokens, timesteps=[250], seed=0)["down.0.blocks.0.attn.cross"]
    finally:
        hook.remove()
    x, c, h = seen["x"], seen["c"], block.cross.n_heads
    q = block.cross.q_proj(x).unflatten(-1, (h, -1)).transpose(1, 2)  # (b h q d)
    k = block.cross.k_proj(c).unflatten(-1, (h, -1)).transpose(1, 2)  # (b h s d)
    weights = torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, dim=-1).mean(1)  # (b q s)
    torch.testing.assert_close(maps, weights.transpose(1, 2).reshape(2, 7, 8, 8), atol=1e-5, rtol=0)


def test_record_weights_is_restored_afterwards_even_after_an_error():
    net = tiny_denoiser()
    modules = cross_attention_modules(net)
    first = next(iter(modules.values()))
    first.record_weights = True  # a user's own setting survives
    latents, tokens = inputs()
    word_attention_maps(net, latents, tokens, timesteps=[100])
    assert first.record_weights is True and first.last_weights is None
    assert all(m.record_weights is False and m.last_weights is None for m in list(modules.values())[1:])
    with pytest.raises(RuntimeError, match="boom"), recording_cross_attention(net) as recording:
        assert all(m.record_weights for m in recording.values())
        raise RuntimeError("boom")
    assert [m.record_weights for m in modules.values()] == [True] + [False] * 6
    # with recording off again the U-Net takes torch's fused path: nothing is stored
    net(latents, torch.full((3,), 10), tokens)
    assert all(m.last_weights is None for m in list(modules.values())[1:])


def test_the_denoiser_output_does_not_depend_on_recording():
    net = tiny_denoiser()
    latents, tokens = inputs()
    t = torch.tensor([10, 300, 900])
    for m in cross_attention_modules(net).values():  # non-zero outputs, so the comparison means something
        torch.nn.init.normal_(m.out_proj.weight, std=0.1)
    torch.nn.init.normal_(net.unet.out[-1].weight, std=0.1)
    plain = net(latents, t, tokens)
    with recording_cross_attention(net):
        recorded = net(latents, t, tokens)
    torch.testing.assert_close(recorded, plain, atol=1e-5, rtol=1e-5)
    assert plain.abs().mean() > 1e-3


@pytest.mark.parametrize(
    "change,match",
    [
        (dict(latents=torch.randn(3, 3, 8, 8)), "latents"),
        (dict(latents=torch.randn(3, 4, 8)), "latents"),
        (dict(latents=torch.randn(3, 4, 8, 4)), "square"),
        (dict(latents=torch.zeros(3, 4, 8, 8, dtype=torch.long)), "float"),
        (dict(tokens=tokenize(PROMPTS[:2])), "tokens"),
        (dict(tokens=tokenize(PROMPTS, length=8)), "tokens"),
        (dict(tokens=tokenize(PROMPTS).float()), "int64"),
        (dict(timesteps=[]), "timesteps"),
        (dict(timesteps=[1000]), r"\[0, 999\]"),
        (dict(timesteps=[-1]), r"\[0, 999\]"),
        (dict(timesteps=[2.5]), "int"),
        (dict(timesteps="100"), "timesteps"),
        (dict(seed=1.5), "seed"),
        (dict(resolution=2), r"sides \[8, 4\]"),
    ],
)
def test_bad_input_raises_a_clear_error(change, match):
    net = tiny_denoiser()
    latents, tokens = inputs()
    kwargs = {"latents": latents, "tokens": tokens, **change}
    with pytest.raises(ValueError, match=match):
        word_attention_maps(net, **kwargs)


def test_a_model_without_cross_attention_is_refused():
    with pytest.raises(ValueError, match="TextToImageDenoiser"):
        cross_attention_modules(UNet())
    net = tiny_denoiser()
    net.unet = UNet(latent_unet_config(base_channels=16, context_dim=None, groups=4, n_heads=2))
    with pytest.raises(ValueError, match="no cross-attention"):
        word_attention_maps(net, *inputs())


def test_object_masks_cover_the_objects_on_the_grid():
    scene = scene_for_prompt("a large red square on the left", np.random.RandomState(0))
    mask = object_masks([scene], size=8)
    assert mask.shape == (1, 8, 8) and mask.min() >= 0 and mask.max() <= 1
    obj = scene.objects[0]
    # the cell under the centre is covered, the far right column is empty
    assert mask[0, int(obj.y * 8), int(obj.x * 8)] > 0.9 and mask[0, :, -1].max() == 0
    # total coverage ≈ the square's area, (2 · 0.85 r)² of the image, on a fine grid
    fine = object_masks([scene.objects], size=32)
    assert fine.mean().item() == pytest.approx((1.7 * obj.r) ** 2, rel=0.05)
    # downsampling the fine mask gives the coarse one
    torch.testing.assert_close(F.avg_pool2d(fine[None], 4)[0], mask, atol=0.02, rtol=0)
    two = [SceneObject("circle", "red", 0.25, 0.25, 0.1), SceneObject("circle", "blue", 0.75, 0.75, 0.1)]
    assert object_masks([two], size=8)[0].sum().item() == pytest.approx(2 * np.pi * 0.01 * 64, rel=0.05)


@pytest.mark.parametrize("bad,match", [("a red circle", "list"), (["x"], r"scenes\[0\]"), ([[1]], r"scenes\[0\]")])
def test_object_masks_refuse_what_is_not_a_scene(bad, match):
    with pytest.raises(ValueError, match=match):
        object_masks(bad)
    with pytest.raises(ValueError, match="size"):
        object_masks([], size=0)
