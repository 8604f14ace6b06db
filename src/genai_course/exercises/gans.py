"""Checkers for chapter 4 (GANs)."""
from __future__ import annotations

from .checks import Feedback, call_student, expect_tensor, fail, run_check


def check_nonsaturating_loss(g_loss) -> Feedback:
    """``g_loss(fake_scores)`` must be the non-saturating generator loss −mean log σ(D(G(z)))."""
    import torch

    from ..gan.losses import g_loss_nonsaturating

    def body() -> str:
        g = torch.Generator().manual_seed(0)
        for scores in (torch.randn(16, generator=g), torch.tensor([-30.0, -5.0, 0.0, 5.0, 30.0])):
            expect_tensor(call_student(g_loss, scores), g_loss_nonsaturating(scores), "g_loss(fake_scores)", "scalar",
                          hint="the loss is -log(sigmoid(s)) averaged over the batch; F.softplus(-s) computes it "
                               "without overflow for large |s|.")
        s = torch.tensor([-8.0, -6.0], requires_grad=True)
        call_student(g_loss, s).backward()
        if s.grad is None or s.grad.abs().min() < 0.4:
            fail("Values match, but the gradient for confidently rejected fakes (scores -8, -6) should be "
                           "about -1/2 each (−1 per sample, averaged over 2): use the non-saturating form.")
        return "Correct: your generator loss is non-saturating and stable for large scores."

    return run_check(body)


def check_gradient_penalty(gradient_penalty) -> Feedback:
    """``gradient_penalty(critic, real, fake, eps)`` must be mean((‖∇D(x̂)‖ − 1)²) at x̂ = ε·real + (1−ε)·fake."""
    import torch
    from torch import nn

    from ..gan.losses import gradient_penalty as reference

    def body() -> str:
        torch.manual_seed(0)
        critic = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
        g = torch.Generator().manual_seed(1)
        real, fake, eps = torch.randn(8, 2, generator=g), torch.randn(8, 2, generator=g), torch.rand(8, generator=g)
        got = call_student(gradient_penalty, lambda x: critic(x)[:, 0], real, fake, eps)
        expect_tensor(got, reference(lambda x: critic(x)[:, 0], real, fake, eps), "gradient_penalty(...)", "scalar",
                      hint="interpolate x̂ = eps[:, None]·real + (1 − eps[:, None])·fake, take "
                           "torch.autograd.grad(critic(x̂).sum(), x̂, create_graph=True), then the per-sample L2 norm.")
        if not got.requires_grad:
            fail("The value is right, but it carries no gradient to the critic's weights: "
                           "pass create_graph=True to torch.autograd.grad.")
        images = torch.randn(4, 1, 3, 3, generator=g), torch.randn(4, 1, 3, 3, generator=g)
        conv = nn.Conv2d(1, 1, 3)
        eps4 = torch.rand(4, generator=g)
        expect_tensor(call_student(gradient_penalty, lambda x: conv(x).flatten(), *images, eps4),
                      reference(lambda x: conv(x).flatten(), *images, eps4), "gradient_penalty on images (b 1 3 3)",
                      "scalar", hint="reshape eps to (b 1 1 1) for images, and flatten each gradient before its norm.")
        return "Correct: your penalty matches WGAN-GP on points and on images, and it can be back-propagated."

    return run_check(body)
