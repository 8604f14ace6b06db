"""GRPO: group relative policy optimisation (DeepSeekMath, Shao et al. 2024). DeepSeekMath trained
it against a learned reward model; here, as in later reasoning models (DeepSeek-R1), the reward is
a program that checks the answer, the task's own ``true_score`` (RL with verifiable rewards).

One GRPO iteration:

1. **Roll out a group**: sample G responses to each of P prompts from the current policy.
2. **Score** each response with a reward (here the program's score in [0, 1]; a reward model
   would do as well).
3. **Group-relative advantages**: Â_i = (r_i − mean(r)) / std(r) over the G responses to the same
   prompt, given to every token of response i. The group's mean is the baseline, so there is no
   value network to train (PPO's value head is what this replaces).
4. **Update** with PPO's clipped surrogate, averaged over each response's tokens, and the KL to
   the reference *in the loss* (not in the reward), estimated per token with
   k3 = π_ref/π − log(π_ref/π) − 1 (DeepSeekMath, eq. 3 and 4).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ..gpt.model import GPT
from ..utils import progress
from .policy import optimizer_step, response_logprobs, sample_responses
from .ppo import clipped_surrogate, kl_estimates
from .tasks import Instruction, true_score


def group_advantages(rewards: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """(P G) rewards → (P G) advantages (r − mean_group) / (std_group + eps); a group whose G
    rewards are all equal teaches nothing and gets advantage 0 (DeepSeekMath §4.1.2)."""
    if rewards.dim() != 2 or rewards.shape[1] < 2:
        raise ValueError(f"rewards must be (prompts G) with G ≥ 2 responses per prompt, got {tuple(rewards.shape)}")
    mean = rewards.mean(1, keepdim=True)
    std = rewards.std(1, keepdim=True)  # unbiased, as in the common implementations
    return (rewards - mean) / (std + eps)


def grpo_loss(
    logp: torch.Tensor,
    logp_old: torch.Tensor,
    logp_ref: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip: float = 0.2,
    kl_coef: float = 0.04,
) -> torch.Tensor:
    """The GRPO loss (the negative of DeepSeekMath's eq. 3) → scalar.

    logp, logp_old, logp_ref: (b r) token log-probs of the sampled responses under the policy being
    trained, the policy that sampled them and the reference; advantages (b,) one per response;
    mask (b r) marks response tokens. Each response's tokens are averaged (1/|o_i| Σ_t), then the
    responses are averaged."""
    if not (logp.shape == logp_old.shape == logp_ref.shape == mask.shape) or logp.dim() != 2:
        raise ValueError(
            f"logp, logp_old, logp_ref and mask must all be (b r), got {tuple(logp.shape)}, {tuple(logp_old.shape)}, "
            f"{tuple(logp_ref.shape)}, {tuple(mask.shape)}"
        )
    if advantages.shape != logp.shape[:1]:
        raise ValueError(f"advantages must be (b,) = {tuple(logp.shape[:1])}, got {tuple(advantages.shape)}")
    surrogate = clipped_surrogate(logp, logp_old, advantages[:, None].expand_as(logp), clip)  # −min(ρA, clip(ρ)A)
    _, k3 = kl_estimates(logp, logp_ref)  # π_ref/π − log(π_ref/π) − 1 ≥ 0
    per_token = (surrogate + kl_coef * k3) * mask
    return (per_token.sum(1) / mask.sum(1).clamp(min=1)).mean()


@dataclass
class GRPOConfig:
    iterations: int = 16
    prompts: int = 16  # P prompts per iteration
    group_size: int = 4  # G responses per prompt (DeepSeekMath: 64)
    epochs: int = 1  # updates per rollout: 1 as in DeepSeekMath, so the ratio is 1 (REINFORCE with a group baseline)
    minibatch_size: int = 64  # responses per gradient step
    lr: float = 5e-5
    kl_coef: float = 0.04  # DeepSeekMath's β
    clip: float = 0.2
    seed: int = 0


@dataclass
class GRPOHistory:
    reward: list = field(default_factory=list)  # mean reward of the rollout
    kl: list = field(default_factory=list)  # Σ_t (log π − log π_ref) per response, mean (k1, as PPO's history)
    length: list = field(default_factory=list)  # response tokens, mean
    samples: list = field(default_factory=list)  # a few responses per iteration


def train_grpo(
    sft: GPT,
    tokenizer,
    instructions: list[Instruction],
    cfg: GRPOConfig,
    reward: Callable[[Instruction, str], float] = true_score,
    device="cpu",
) -> tuple[GPT, GRPOHistory]:
    """Optimise a copy of ``sft`` with GRPO against ``reward(instruction, response)``; ``sft`` stays the reference."""
    if not instructions:
        raise ValueError("train_grpo needs at least one training instruction")
    if cfg.group_size < 2:
        raise ValueError(f"GRPO needs at least 2 responses per prompt to compare, got group_size={cfg.group_size}")
    policy, ref = copy.deepcopy(sft).to(device), sft.eval()
    opt = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    pick = torch.Generator("cpu").manual_seed(cfg.seed)
    history = GRPOHistory()
    for _ in progress(range(cfg.iterations), desc="GRPO"):
        rows = torch.randint(len(instructions), (cfg.prompts,), generator=pick).tolist()
        group = [instructions[i] for i in rows for _ in range(cfg.group_size)]  # each prompt's G side by side
        with torch.no_grad():
            policy.eval()
            prompts, ids, mask, texts = sample_responses(policy, tokenizer, group, 1.0, gen, device)
            logp_old = response_logprobs(policy, prompts, ids)
            logp_ref = response_logprobs(ref, prompts, ids)
        r = torch.tensor([reward(i, t) for i, t in zip(group, texts, strict=True)], device=device)
        advantages = group_advantages(r.view(cfg.prompts, cfg.group_size)).flatten()  # (P·G,)
        history.reward.append(float(r.mean()))
        history.kl.append(float(((logp_old - logp_ref) * mask).sum(1).mean()))
        history.length.append(float(mask.sum(1).mean()))
        history.samples.append(texts[:4])
        policy.train()
        for _ in range(cfg.epochs):
            order = torch.randperm(len(group), generator=pick).to(device)
            for start in range(0, len(group), cfg.minibatch_size):
                mb = order[start : start + cfg.minibatch_size]
                logp = response_logprobs(policy, prompts[mb], ids[mb])
                loss = grpo_loss(logp, logp_old[mb], logp_ref[mb], advantages[mb], mask[mb], cfg.clip, cfg.kl_coef)
                optimizer_step(opt, loss, policy.parameters())
    policy.eval()
    return policy, history
