import pytest
import torch

from genai_course.diffusion.conditioning import as_condition, conditioned, drop_condition, null_like
from genai_course.diffusion.sampling import classifier_free_guidance
from genai_course.diffusion.schedules import NoiseSchedule
from genai_course.diffusion.training import diffusion_loss, train_diffusion
from genai_course.nn.unet import UNet, UNetConfig


def text_unet():
    net = UNet(UNetConfig(base_channels=8, channel_mults=(1, 2), attn_levels=(1,), groups=4, context_dim=6))
    for p in net.out.parameters():  # the zero-initialised head would hide every difference
        torch.nn.init.normal_(p)
    return net


def test_labels_and_int_null_are_the_class_case():
    y = torch.tensor([3, 1, 4])
    assert as_condition(y).keys() == {"y"} and as_condition(None) == {}
    assert torch.equal(null_like(as_condition(y), 10)["y"], torch.tensor([10, 10, 10]))
    with pytest.raises(TypeError, match="labels tensor or a dict"):
        as_condition([3, 1, 4])
    with pytest.raises(ValueError, match="each condition key"):
        null_like({"context": torch.zeros(2, 3, 6)}, 10)
    with pytest.raises(ValueError, match=r"expected shape \(3, 6\)"):
        null_like({"context": torch.zeros(2, 3, 6)}, {"context": torch.zeros(4, 6)})


def test_drop_condition_replaces_exactly_the_dropped_examples():
    ctx = torch.randn(4, 3, 6)
    empty = torch.full((3, 6), -1.0)  # e.g. the encoding of the empty prompt
    drop = torch.tensor([True, False, True, False])
    out = drop_condition({"context": ctx, "y": torch.arange(4)}, {"context": empty, "y": torch.tensor(9)}, drop)
    assert torch.equal(out["context"][0], empty) and torch.equal(out["context"][2], empty)
    assert torch.equal(out["context"][1], ctx[1]) and torch.equal(out["context"][3], ctx[3])
    assert out["y"].tolist() == [9, 1, 9, 3]


def test_guidance_with_a_text_condition_matches_the_formula():
    # In float64: the guided call runs c and ∅ as one batch of 4, the reference as two batches of 2,
    # and in float32 the two batch sizes can round differently (seen: 1.5e-5 apart on one CPU).
    torch.manual_seed(0)
    net = text_unet().double().eval()
    x, t = torch.randn(2, 1, 8, 8, dtype=torch.float64), torch.tensor([5, 5])
    ctx, empty = torch.randn(2, 4, 6, dtype=torch.float64), torch.zeros(1, 4, 6, dtype=torch.float64)
    eps_c = net(x, t, context=ctx)
    eps_u = net(x, t, context=empty.expand(2, 4, 6))
    guided = classifier_free_guidance(net, {"context": ctx}, 3.0, {"context": empty})(x, t)
    torch.testing.assert_close(guided, eps_u + 3.0 * (eps_c - eps_u), atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(conditioned(net, {"context": ctx})(x, t), eps_c)


def test_loss_and_training_take_a_condition_dict():
    torch.manual_seed(0)
    net, schedule = text_unet(), NoiseSchedule.make("linear", 50)
    x0, ctx = torch.randn(6, 1, 8, 8), torch.randn(6, 4, 6)
    gen = torch.Generator("cpu").manual_seed(0)
    loss = diffusion_loss(net, x0, schedule, gen, {"context": ctx}, {"context": torch.zeros(4, 6)}, p_uncond=0.5)
    assert loss.dim() == 0 and torch.isfinite(loss)
    losses, ema = train_diffusion(
        net, x0, schedule, steps=3, batch_size=4, labels={"context": ctx}, null_label={"context": torch.zeros(4, 6)}
    )
    assert len(losses) == 3 and ema is not None
