"""GAN losses and penalties against textbook formulas and torch's own functions."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from genai_course.exercises.gans import check_gradient_penalty, check_nonsaturating_loss
from genai_course.gan import losses as L


def test_minimax_losses_equal_bce():
    g = torch.Generator().manual_seed(0)
    r, f = torch.randn(32, generator=g) * 3, torch.randn(32, generator=g) * 3
    bce = F.binary_cross_entropy_with_logits
    assert torch.allclose(L.d_loss_minimax(r, f), bce(r, torch.ones(32)) + bce(f, torch.zeros(32)), atol=1e-6)
    assert torch.allclose(L.g_loss_nonsaturating(f), bce(f, torch.ones(32)), atol=1e-6)
    assert torch.allclose(L.g_loss_saturating(f), torch.log1p(-torch.sigmoid(f)).mean(), atol=1e-5)


def test_saturating_gradient_vanishes_nonsaturating_does_not():
    s = torch.tensor([-10.0], requires_grad=True)  # D confidently rejects the fake
    L.g_loss_saturating(s).backward()
    sat = s.grad.abs().item()
    s.grad = None
    L.g_loss_nonsaturating(s).backward()
    assert sat < 1e-4 and s.grad.abs().item() > 0.99


def test_hinge_and_wasserstein():
    r, f = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    assert L.d_loss_hinge(r, f).item() == pytest.approx(0.25 + 0.5)
    assert L.d_loss_wasserstein(r, f).item() == pytest.approx(-1.0 - 1.25)
    assert L.g_loss("hinge", f).item() == pytest.approx(1.0)


def test_gradient_penalty_linear_critic():
    # D(x) = a·x has gradient a everywhere, so the penalty is (‖a‖ - 1)² exactly
    a = torch.tensor([3.0, 4.0])
    x, y = torch.randn(10, 2), torch.randn(10, 2)
    assert L.gradient_penalty(lambda v: v @ a, x, y).item() == pytest.approx(16.0)
    assert L.r1_penalty(lambda v: v @ a, x).item() == pytest.approx(25.0)


def test_gradient_penalty_backpropagates_to_critic():
    critic = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    gp = L.gradient_penalty(lambda v: critic(v)[:, 0], torch.randn(6, 2), torch.randn(6, 2))
    gp.backward()
    assert critic[0].weight.grad is not None and critic[0].weight.grad.abs().sum() > 0


def test_bad_input_messages():
    with pytest.raises(ValueError, match="shape"):
        L.d_loss_hinge(torch.zeros(4, 3), torch.zeros(4))
    with pytest.raises(ValueError, match="same shape"):
        L.gradient_penalty(lambda v: v.sum(1), torch.zeros(4, 2), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="one of"):
        L.g_loss("lsgan", torch.zeros(3))


def test_checkers_accept_reference_and_reject_wrong():
    assert check_nonsaturating_loss(L.g_loss_nonsaturating)
    assert not check_nonsaturating_loss(L.g_loss_saturating)
    assert check_gradient_penalty(L.gradient_penalty)
    assert not check_gradient_penalty(lambda c, r, f, e: L.gradient_penalty(c, r, f, e).detach())
