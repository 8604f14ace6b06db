"""Positional encodings: the sinusoidal formula, RoPE's rotation and relative-position property."""

import math

import pytest
import torch

from genai_course.nn.attention import scaled_dot_product_attention
from genai_course.nn.positional import LearnedPositions, SinusoidalPositions, apply_rope, sinusoidal_encoding


def test_sinusoidal_matches_the_formula_entry_by_entry():
    pe = sinusoidal_encoding(20, 8)
    for p in (0, 3, 19):
        for i in range(4):
            angle = p / 10000 ** (2 * i / 8)
            assert pe[p, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert pe[p, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_rope_preserves_norms_and_depends_only_on_relative_position():
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(16, generator=g), torch.randn(16, generator=g)

    def score(m, n):
        qm = apply_rope(q.expand(m + 1, 16))[m]
        kn = apply_rope(k.expand(n + 1, 16))[n]
        return (qm @ kn).item()

    assert score(5, 2) == pytest.approx(score(13, 10), abs=1e-4)
    assert score(0, 0) == pytest.approx((q @ k).item(), abs=1e-5)
    x = torch.randn(7, 16, generator=g)
    assert torch.allclose(apply_rope(x).norm(dim=-1), x.norm(dim=-1), atol=1e-5)


def test_attention_without_positions_is_permutation_equivariant():
    x = torch.randn(1, 6, 8)
    perm = torch.randperm(6)
    out = scaled_dot_product_attention(x, x, x)
    assert torch.allclose(scaled_dot_product_attention(x[:, perm], x[:, perm], x[:, perm]), out[:, perm], atol=1e-6)


def test_position_modules_add_to_embeddings_and_reject_long_inputs():
    x = torch.zeros(2, 5, 8)
    assert torch.allclose(SinusoidalPositions(10, 8)(x)[0], sinusoidal_encoding(5, 8))
    assert LearnedPositions(10, 8)(x).shape == (2, 5, 8)
    with pytest.raises(ValueError, match="exceeds max_len"):
        SinusoidalPositions(4, 8)(x)
    with pytest.raises(ValueError, match=r"x: expected shape \(b t d=16\), got \(2, 5, 8\)"):
        LearnedPositions(10, 16)(x)
    with pytest.raises(ValueError, match="even"):
        sinusoidal_encoding(4, 7)
    with pytest.raises(ValueError, match="even"):
        apply_rope(torch.zeros(3, 5))
