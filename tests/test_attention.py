"""Our attention equals PyTorch's (functional and nn.MultiheadAttention), with and without masks."""

import pytest
import torch
import torch.nn.functional as F
from einops import rearrange

from genai_course.nn.attention import (
    MultiHeadAttention,
    causal_mask,
    padding_mask,
    scaled_dot_product_attention,
    to_torch_mha_mask,
)

TOL = 1e-5


@pytest.fixture
def qkv():
    g = torch.Generator().manual_seed(0)
    return tuple(torch.randn(2, 3, 7, 16, generator=g) for _ in range(3))


def test_matches_torch_functional_without_mask(qkv):
    q, k, v = qkv
    assert (scaled_dot_product_attention(q, k, v) - F.scaled_dot_product_attention(q, k, v)).abs().max() < TOL


@pytest.mark.parametrize("kind", ["causal", "padding", "both", "float"])
def test_matches_torch_functional_with_masks(qkv, kind):
    q, k, v = qkv
    causal = causal_mask(7)
    pad = rearrange(padding_mask(torch.tensor([7, 4]), 7), "b k -> b 1 1 k")
    mask = {
        "causal": causal,
        "padding": pad,
        "both": causal & pad,
        "float": torch.randn(7, 7, generator=torch.Generator().manual_seed(1)),
    }[kind]
    ours = scaled_dot_product_attention(q, k, v, mask)
    theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert (ours - theirs).abs().max() < TOL


def test_weights_are_a_distribution_and_respect_the_mask(qkv):
    q, k, v = qkv
    _, w = scaled_dot_product_attention(q, k, v, causal_mask(7), return_weights=True)
    assert torch.allclose(w.sum(-1), torch.ones(2, 3, 7))
    assert (w.triu(diagonal=1) == 0).all()


def test_value_width_may_differ_from_key_width():
    q, k, v = torch.randn(4, 5, 8), torch.randn(4, 6, 8), torch.randn(4, 6, 3)
    assert scaled_dot_product_attention(q, k, v).shape == (4, 5, 3)


@pytest.mark.parametrize("mask_kind", [None, "causal", "padding"])
def test_multihead_matches_torch_module(mask_kind):
    torch.manual_seed(0)
    mha = torch.nn.MultiheadAttention(32, 4, batch_first=True).eval()
    ours = MultiHeadAttention(32, 4).load_from_torch(mha).eval()
    x = torch.randn(3, 9, 32)
    with torch.no_grad():
        if mask_kind is None:
            a, b = ours(x), mha(x, x, x, need_weights=False)[0]
        elif mask_kind == "causal":
            m = causal_mask(9)
            a, b = ours(x, mask=m), mha(x, x, x, attn_mask=to_torch_mha_mask(m), need_weights=False)[0]
        else:
            ok = padding_mask(torch.tensor([9, 6, 2]), 9)
            a = ours(x, mask=rearrange(ok, "b k -> b 1 1 k"))
            b = mha(x, x, x, key_padding_mask=~ok, need_weights=False)[0]
    assert (a - b).abs().max() < TOL


def test_fused_option_gives_the_same_result():
    torch.manual_seed(0)
    slow = MultiHeadAttention(16, 2).eval()
    fast = MultiHeadAttention(16, 2, fused=True).eval()
    fast.load_state_dict(slow.state_dict())
    x = torch.randn(2, 5, 16)
    with torch.no_grad():
        assert (slow(x, mask=causal_mask(5)) - fast(x, mask=causal_mask(5))).abs().max() < TOL


def test_cross_attention_takes_keys_from_context():
    mha = MultiHeadAttention(8, 2)
    assert mha(torch.randn(2, 3, 8), context=torch.randn(2, 11, 8)).shape == (2, 3, 8)


def test_causal_mask_and_padding_mask_values():
    assert causal_mask(3).tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    assert padding_mask([2, 0], 3).tolist() == [[True, True, False], [False, False, False]]


@pytest.mark.parametrize(
    "args, message",
    [
        ((torch.randn(2, 4, 8), torch.randn(2, 4, 6), torch.randn(2, 4, 8)), "share the last dimension"),
        ((torch.randn(2, 4, 8), torch.randn(2, 5, 8), torch.randn(2, 4, 8)), "same number of keys"),
        ((torch.randn(8), torch.randn(8), torch.randn(8)), r"\(\.\.\. t d\)"),
        ((torch.ones(2, 4, 8, dtype=torch.long),) * 3, "floating-point"),
    ],
)
def test_bad_shapes_and_dtypes_raise_clear_errors(args, message):
    with pytest.raises(ValueError, match=message):
        scaled_dot_product_attention(*args)


def test_bad_mask_and_module_inputs_raise_clear_errors():
    q = torch.randn(2, 4, 8)
    with pytest.raises(ValueError, match="does not broadcast"):
        scaled_dot_product_attention(q, q, q, mask=torch.ones(3, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(10, 3)
    with pytest.raises(ValueError, match=r"expected x of shape \(b t 8\)"):
        MultiHeadAttention(8, 2)(torch.randn(2, 4, 6))
    with pytest.raises(ValueError, match="lie in"):
        padding_mask([5], 3)


def test_rotary_attention_sees_order():
    """With RoPE, reordering the tokens changes the outputs: attention is no longer blind to order."""
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 2, rotary=True).eval()
    x = torch.randn(1, 6, 16)
    perm = torch.tensor([1, 0, 2, 3, 4, 5])
    with torch.no_grad():
        assert (mha(x[:, perm]) - mha(x)[:, perm]).abs().max() > 1e-3
