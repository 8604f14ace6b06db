"""Temperatures at the edges: 0 is greedy, a tiny one behaves as greedy, NaN and infinity are refused."""

import pytest
import torch

from genai_course.gpt.sampling import apply_temperature, next_token_logits, sample_next


@pytest.mark.parametrize("t", [1e-30, 1e-40, 1e-50, 1e-300, 5e-324])
def test_tiny_temperature_is_the_greedy_limit(t):
    logits = torch.tensor([[1.0, 2.0, 0.5], [3.0, -1.0, 0.0], [0.0, 0.0, 1e-3]])
    scaled = apply_temperature(logits, t)
    assert not torch.isnan(scaled).any()
    probs = scaled.softmax(-1)
    assert torch.equal(probs.argmax(-1), logits.argmax(-1)) and torch.allclose(probs.max(-1).values, torch.ones(3))
    g = torch.Generator().manual_seed(0)
    assert sample_next(logits, t, generator=g).flatten().tolist() == [1, 0, 2]
    assert torch.isfinite(next_token_logits(logits, t, top_k=2, top_p=0.9).softmax(-1)).all()


def test_ordinary_temperatures_are_unchanged():
    logits = torch.randn(4, 10, generator=torch.Generator().manual_seed(0))
    assert torch.equal(apply_temperature(logits, 0.7), logits / 0.7)


@pytest.mark.parametrize("t", [float("nan"), float("inf"), -1.0, 0.0])
def test_unusable_temperatures_are_refused(t):
    with pytest.raises(ValueError, match="temperature must be a finite positive number"):
        apply_temperature(torch.zeros(1, 3), t)


def test_nan_logits_are_an_error_not_garbage():
    logits = torch.full((1, 3), float("nan"))
    for t in (0, 0.8):
        with pytest.raises(ValueError, match="NaN"):
            sample_next(logits, t)
