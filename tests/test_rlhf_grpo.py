"""GRPO's pieces against independent truths: group statistics by hand, the loss at the first step
equal to REINFORCE with a group baseline, and a tiny run end to end."""

import math

import pytest
import torch

from genai_course.rlhf.grpo import GRPOConfig, group_advantages, grpo_loss, train_grpo
from genai_course.rlhf.tasks import make_instructions
from rlhf_tiny import TOKENIZER, tiny_gpt

torch.set_num_threads(1)


def test_group_advantages_by_hand():
    r = torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.2, 0.2, 0.2, 0.2], [0.0, 0.5, 1.0, 0.5]])
    a = group_advantages(r)
    std0 = math.sqrt(4 * 0.25 / 3)  # unbiased std of (1, 0, 0, 1)
    assert torch.allclose(a[0], torch.tensor([0.5, -0.5, -0.5, 0.5]) / std0, atol=1e-5)
    assert torch.equal(a[1], torch.zeros(4))  # a group that agrees teaches nothing
    assert torch.allclose(a.mean(1), torch.zeros(3), atol=1e-6)
    assert torch.allclose(a[2].std(), torch.tensor(1.0), atol=1e-5)
    with pytest.raises(ValueError, match="G ≥ 2"):
        group_advantages(torch.ones(3, 1))


def test_grpo_loss_at_the_first_step_is_reinforce_with_a_group_baseline():
    # π = π_old = π_ref: ratio 1, k3 = 0 with zero gradient, so the gradient is that of
    # −mean_i (A_i · mean_t log π(y_t)) — REINFORCE, the group mean as baseline, per-token averaged
    g = torch.Generator("cpu").manual_seed(0)
    logits = torch.randn(6, 5, generator=g, requires_grad=True)
    logp = logits.log_softmax(-1)[:, :3]  # stand-in token log-probs (b=6, r=3)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 1, 1], [1, 1, 1], [1, 1, 0]], dtype=torch.float)
    adv = group_advantages(torch.rand(3, 2, generator=g)).flatten()
    loss = grpo_loss(logp, logp.detach(), logp.detach(), adv, mask, kl_coef=0.5)
    (grad,) = torch.autograd.grad(loss, logits, retain_graph=True)
    reinforce = -((adv[:, None] * logp * mask).sum(1) / mask.sum(1)).mean()
    (expected,) = torch.autograd.grad(reinforce, logits)
    assert torch.allclose(grad, expected, atol=1e-6)
    assert loss.item() == pytest.approx(-(adv.mean()).item(), abs=1e-6)  # ratio 1: −mean A


def test_grpo_loss_kl_term_is_k3_and_non_negative():
    logp = torch.tensor([[-1.0, -2.0]])
    ref = torch.tensor([[-1.5, -1.0]])
    mask = torch.ones(1, 2)
    loss = grpo_loss(logp, logp, ref, torch.zeros(1), mask, kl_coef=1.0)  # zero advantage: only the KL remains
    k3 = (torch.exp(ref - logp) - (ref - logp) - 1).mean()
    assert loss.item() == pytest.approx(k3.item(), abs=1e-6) and loss.item() > 0


def test_grpo_loss_clips_like_ppo():
    # a ratio of e^0.5 ≈ 1.65 with a positive advantage earns at most (1 + ε)·A
    loss = grpo_loss(
        torch.tensor([[0.0]]),
        torch.tensor([[-0.5]]),
        torch.tensor([[0.0]]),
        torch.tensor([2.0]),
        torch.ones(1, 1),
        clip=0.2,
        kl_coef=0.0,
    )
    assert loss.item() == pytest.approx(-1.2 * 2.0, abs=1e-6)


def test_grpo_loss_rejects_bad_shapes():
    x = torch.zeros(2, 3)
    with pytest.raises(ValueError, match=r"\(b r\)"):
        grpo_loss(x, x, x[:1], torch.zeros(2), x)
    with pytest.raises(ValueError, match=r"advantages must be \(b,\)"):
        grpo_loss(x, x, x, torch.zeros(3), x)


def test_tiny_grpo_run(monkeypatch):
    monkeypatch.setenv("GENAI_COURSE_PROGRESS", "0")
    sft = tiny_gpt()
    before = [p.clone() for p in sft.parameters()]
    cfg = GRPOConfig(iterations=2, prompts=3, group_size=2, minibatch_size=4, lr=1e-2)
    policy, history = train_grpo(sft, TOKENIZER, make_instructions(6, seed=0), cfg, reward=lambda i, t: float(len(t)))
    for series in (history.reward, history.kl, history.length, history.samples):
        assert len(series) == 2
    assert all(math.isfinite(x) for x in history.reward + history.kl)
    assert history.kl[0] == pytest.approx(0.0, abs=1e-5)  # the first rollout comes from π = π_ref
    assert all(torch.equal(a, b) for a, b in zip(before, sft.parameters(), strict=True))  # the reference is untouched
    assert any(not torch.equal(a, b) for a, b in zip(before, policy.parameters(), strict=True))
    with pytest.raises(ValueError, match="at least 2 responses"):
        train_grpo(sft, TOKENIZER, make_instructions(2, seed=0), GRPOConfig(group_size=1))
