"""LoRA (genai_course.latent.lora): the layer, the merged weight W + (α/r)·B A, and diffusers' LoRA layer."""

import warnings

import pytest
import torch
from torch import nn

from genai_course.latent.lora import (
    CROSS_ATTENTION,
    LoRALinear,
    add_lora,
    load_lora_state_dict,
    lora_state_dict,
    merge_lora,
)


def trained_lora(rank=3, alpha=6.0, seed=0) -> LoRALinear:
    torch.manual_seed(seed)
    layer = LoRALinear(nn.Linear(10, 7), rank, alpha)
    with torch.no_grad():
        layer.B.normal_()  # as if trained: B starts at zero
    return layer


def test_starts_as_the_frozen_layer_and_only_a_b_train():
    base = nn.Linear(10, 7)
    x = torch.randn(4, 10)
    expected = base(x)
    layer = LoRALinear(base, rank=2)
    torch.testing.assert_close(layer(x), expected, rtol=0, atol=0)  # B = 0: exactly the pretrained layer
    assert [n for n, p in layer.named_parameters() if p.requires_grad] == ["A", "B"]


def test_forward_equals_the_merged_weight_by_hand():
    layer = trained_lora(rank=3, alpha=6.0)
    x = torch.randn(5, 2, 10)
    by_hand = x @ (layer.base.weight + (6.0 / 3) * layer.B @ layer.A).T + layer.base.bias  # W + (α/r) B A
    torch.testing.assert_close(layer(x), by_hand, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(layer.merged_weight(), layer.base.weight + 2.0 * layer.B @ layer.A)


def test_matches_diffusers_lora_layer_and_its_fusing():
    from diffusers.models.lora import LoRACompatibleLinear, LoRALinearLayer

    layer = trained_lora(rank=3, alpha=6.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # diffusers marks its own LoRA layers deprecated in favour of peft
        theirs = LoRACompatibleLinear(10, 7)
        theirs.load_state_dict(layer.base.state_dict())
        lora = LoRALinearLayer(10, 7, rank=3, network_alpha=6.0)
        with torch.no_grad():
            lora.down.weight.copy_(layer.A)  # down: (r d_in) = A
            lora.up.weight.copy_(layer.B)  # up: (d_out r) = B
        theirs.set_lora_layer(lora)
        x = torch.randn(6, 10)
        torch.testing.assert_close(layer(x), theirs(x), rtol=1e-5, atol=1e-5)
        theirs._fuse_lora()
    torch.testing.assert_close(layer.merged_weight(), theirs.weight, rtol=1e-5, atol=1e-5)


def test_merge_and_reload_in_a_model():
    torch.manual_seed(0)
    model = nn.Sequential()
    model.add_module("cross", nn.Module())
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        model.cross.add_module(name, nn.Linear(8, 8))
    model.add_module("other", nn.Linear(8, 8))
    names = add_lora(model, rank=2)
    assert sorted(names) == sorted(f"cross.{p.split('.')[1]}" for p in CROSS_ATTENTION)
    assert isinstance(model.other, nn.Linear) and not model.other.weight.requires_grad
    with torch.no_grad():
        for layer in (model.cross.q_proj, model.cross.v_proj):
            layer.B.normal_()
    state = lora_state_dict(model)
    assert len(state) == 8 and state["cross.q_proj.A"].shape == (2, 8)
    x = torch.randn(3, 8)
    before = model.cross.out_proj(model.cross.v_proj(x))
    merge_lora(model)
    assert not any(isinstance(m, LoRALinear) for m in model.modules())
    torch.testing.assert_close(model.cross.out_proj(model.cross.v_proj(x)), before, rtol=1e-5, atol=1e-5)


def test_load_state_checks_names_and_shapes():
    model = nn.Module()
    model.cross = nn.Module()
    model.cross.q_proj = nn.Linear(4, 4)
    add_lora(model, rank=1)
    with pytest.raises(ValueError, match="missing"):
        load_lora_state_dict(model, {})
    with pytest.raises(ValueError, match="expected shape"):
        load_lora_state_dict(model, {"cross.q_proj.A": torch.zeros(2, 4), "cross.q_proj.B": torch.zeros(4, 1)})


def test_clear_errors():
    with pytest.raises(ValueError, match="nn.Linear"):
        LoRALinear(nn.Conv2d(1, 1, 1), 1)
    with pytest.raises(ValueError, match="rank"):
        LoRALinear(nn.Linear(4, 3), 4)
    with pytest.raises(ValueError, match="no nn.Linear"):
        add_lora(nn.Sequential(nn.Linear(2, 2)), 1)
