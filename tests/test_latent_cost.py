"""Counting a denoiser's cost (genai_course.latent.cost): FLOPs by hand, saved activations by hand."""

import torch
from torch import nn

from genai_course.latent.cost import forward_flops, median_seconds, readable_attention, saved_activation_bytes
from genai_course.nn.attention import MultiHeadAttention


def test_flops_of_a_linear_and_a_conv_by_hand():
    linear = forward_flops(nn.Linear(10, 7), torch.randn(3, 10))
    assert linear["total"] == 2 * 3 * 10 * 7 and linear["convolution"] == 0  # a multiply-add is 2 FLOPs
    conv = forward_flops(nn.Conv2d(4, 6, 3, padding=1), torch.randn(2, 4, 8, 8))
    assert conv["convolution"] == 2 * 2 * 6 * 8 * 8 * 4 * 9


def test_fused_attention_is_counted_on_the_readable_path():
    torch.manual_seed(0)
    attn = MultiHeadAttention(16, 2, fused=True)
    x = torch.randn(1, 50, 16)
    flops = forward_flops(attn, x)
    projections = 4 * 2 * 50 * 16 * 16
    scores_and_mix = 2 * (2 * 50 * 50 * 16)  # q·kᵀ and weights·v over the heads
    assert flops["total"] == projections + scores_and_mix
    assert attn.fused  # restored


def test_readable_attention_restores_the_module():
    attn = MultiHeadAttention(8, 2, fused=True)
    with readable_attention(attn):
        assert not attn.fused
    assert attn.fused and not attn.record_weights


def test_saved_activation_bytes_by_hand():
    a = torch.randn(5, 7, requires_grad=True)
    b = torch.randn(7, 3, requires_grad=True)
    assert saved_activation_bytes(lambda: (a @ b).sum()) == (5 * 7 + 7 * 3) * 4  # matmul keeps both inputs
    assert a.grad is not None


def test_median_seconds_runs_warm_up_plus_repeats():
    calls = []
    assert median_seconds(lambda: calls.append(1), repeats=3) >= 0
    assert len(calls) == 4
