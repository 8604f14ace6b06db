"""Chapter 6's checkers: a right answer passes, typical wrong ones fail with a useful message."""

import torch
from torch import nn

from genai_course.exercises.stable_diffusion import (
    check_cross_attention,
    check_flop_counts,
    check_guided_denoiser,
    check_kl,
    check_lora_layer,
)


def test_kl_checker():
    assert check_kl(lambda m, lv: 0.5 * (m**2 + lv.exp() - 1 - lv).mean())
    summed = check_kl(lambda m, lv: 0.5 * (m**2 + lv.exp() - 1 - lv).sum())
    assert not summed and "0-d" not in summed.message and "KL for" in summed.message
    no_half = check_kl(lambda m, lv: (m**2 + lv.exp() - 1 - lv).mean())
    assert not no_half and "wrong values" in no_half.message


def test_kl_checker_handles_unattempted_and_shapes():
    def todo(m, lv):
        raise NotImplementedError

    assert "Not attempted" in check_kl(todo).message
    per_value = check_kl(lambda m, lv: 0.5 * (m**2 + lv.exp() - 1 - lv))
    assert not per_value and "0-d tensor" in per_value.message


def good_cross_attention(h, context, w_q, w_k, w_v):
    q, k, v = h @ w_q, context @ w_k, context @ w_v
    weights = torch.softmax(q @ k.transpose(1, 2) / q.shape[-1] ** 0.5, dim=-1)
    return weights @ v, weights


def test_cross_attention_checker():
    assert check_cross_attention(good_cross_attention)

    def self_attention(h, context, w_q, w_k, w_v):  # keys from the image instead of the text
        q, k = h @ w_q, h @ w_q
        weights = torch.softmax(q @ k.transpose(1, 2) / q.shape[-1] ** 0.5, dim=-1)
        return weights @ h, weights

    wrong = check_cross_attention(self_attention)
    assert not wrong and "wrong shape" in wrong.message and "(2, 16, 5)" in wrong.message

    def softmax_over_queries(h, context, w_q, w_k, w_v):
        q, k, v = h @ w_q, context @ w_k, context @ w_v
        weights = torch.softmax(q @ k.transpose(1, 2) / q.shape[-1] ** 0.5, dim=1)
        return weights @ v, weights

    assert "attention weights: wrong values" in check_cross_attention(softmax_over_queries).message
    assert "Return a pair" in check_cross_attention(lambda *a: good_cross_attention(*a)[0]).message


def test_guided_denoiser_checker():
    def guided(net, z, t, tokens, null, w):
        both = torch.cat([tokens, null.expand_as(tokens)])
        cond, uncond = net(torch.cat([z, z]), torch.cat([t, t]), both).chunk(2)
        return uncond + w * (cond - uncond)

    assert check_guided_denoiser(guided)

    def two_calls(net, z, t, tokens, null, w):
        cond, uncond = net(z, t, tokens), net(z, t, null.expand_as(tokens))
        return uncond + w * (cond - uncond)

    slow = check_guided_denoiser(two_calls)
    assert not slow and "called the network 2 times" in slow.message

    def swapped(net, z, t, tokens, null, w):
        both = torch.cat([tokens, null.expand_as(tokens)])
        cond, uncond = net(torch.cat([z, z]), torch.cat([t, t]), both).chunk(2)
        return cond + w * (uncond - cond)

    assert "wrong values" in check_guided_denoiser(swapped).message


def make_lora(scale_by_rank=True, zero_b=True, freeze=True):
    class Lora(nn.Module):
        def __init__(self, base, rank, alpha):
            super().__init__()
            self.base = base.requires_grad_(not freeze)
            self.A = nn.Parameter(torch.randn(rank, base.in_features) * 0.1)
            self.B = nn.Parameter(
                torch.zeros(base.out_features, rank) if zero_b else torch.randn(base.out_features, rank)
            )
            self.scale = alpha / rank if scale_by_rank else alpha

        def forward(self, x):
            return self.base(x) + self.scale * (x @ self.A.T) @ self.B.T

    return Lora


def test_lora_checker():
    assert check_lora_layer(make_lora())
    assert "scale is α / r" in check_lora_layer(make_lora(scale_by_rank=False)).message
    assert "B starts at zero" in check_lora_layer(make_lora(zero_b=False)).message
    assert "only A and B may train" in check_lora_layer(make_lora(freeze=False)).message

    class NoParams(nn.Module):
        def __init__(self, base, rank, alpha):
            super().__init__()
            self.base = base

    assert "parameter A of shape (2, 6)" in check_lora_layer(NoParams).message


def test_flop_count_checker():
    def conv(c_in, c_out, side, kernel):
        return 2 * c_in * c_out * side * side * kernel * kernel

    def attention(positions, width):
        return 2 * 2 * positions * positions * width

    assert check_flop_counts(conv, attention)
    no_two = check_flop_counts(lambda *a: conv(*a) // 2, attention)
    assert not no_two and "2 FLOPs" in no_two.message
    per_head = check_flop_counts(conv, lambda n, d: attention(n, d) // 4)
    assert not per_head and "heads split the width" in per_head.message
