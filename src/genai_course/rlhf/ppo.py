"""Step 3 of InstructGPT: reinforcement learning with PPO against the reward model.

One PPO iteration:

1. **Roll out**: sample a response for each prompt from the current policy π_θ.
2. **Score**: the reward model gives one number per response; a per-token KL penalty keeps π_θ
   close to the SFT policy π_ref:  r_t = −β (log π_θ(y_t) − log π_ref(y_t)), plus the reward
   model's score on the last token.
3. **Advantages** by generalized advantage estimation (GAE) from a value head's estimates.
4. **Update** for a few epochs of minibatches with the clipped surrogate objective, so no
   token's probability ratio moves far from 1 in one iteration.

Optionally (PPO-ptx) a pretraining language-modelling loss is mixed in, which InstructGPT used
to keep the model's general abilities ("alignment tax").
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from torch import nn

from ..gpt.model import GPT
from ..utils import progress
from .policy import optimizer_step, response_logits, sample_responses, token_logprobs
from .sft import masked_mean
from .tasks import true_score


def kl_estimates(logp: torch.Tensor, logp_ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample estimators of KL(π ‖ π_ref) from log-probs of tokens *sampled from π*:
    k1 = log π − log π_ref (unbiased, can be negative) and
    k3 = (ρ − 1) − log ρ with ρ = π_ref / π (unbiased, never negative, lower variance)."""
    if logp.shape != logp_ref.shape:
        raise ValueError(
            f"logp and logp_ref must have the same shape, got {tuple(logp.shape)} and {tuple(logp_ref.shape)}"
        )
    log_ratio = logp_ref - logp
    return -log_ratio, torch.expm1(log_ratio) - log_ratio


def gae(
    rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0, lam: float = 0.95
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalized advantage estimation over response tokens → (advantages, returns), each (b r).

    δ_t = r_t + γ V_{t+1} − V_t,   A_t = δ_t + γ λ A_{t+1};   V after the last token is 0.
    ``mask`` (b r) is 1 on a prefix of each row (the response) and 0 after it.
    """
    if not (rewards.shape == values.shape == mask.shape) or rewards.dim() != 2:
        raise ValueError(
            f"rewards, values and mask must all be (b r), got {tuple(rewards.shape)}, "
            f"{tuple(values.shape)}, {tuple(mask.shape)}"
        )
    b, r = rewards.shape
    advantages = torch.zeros_like(rewards)
    next_value, next_adv = torch.zeros(b, device=rewards.device), torch.zeros(b, device=rewards.device)
    for t in reversed(range(r)):
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        next_adv = (delta + gamma * lam * next_adv) * mask[:, t]
        next_value = values[:, t] * mask[:, t]
        advantages[:, t] = next_adv
    return advantages, (advantages + values) * mask


def clipped_surrogate(
    logp: torch.Tensor, logp_old: torch.Tensor, advantages: torch.Tensor, clip: float = 0.2
) -> torch.Tensor:
    """PPO's per-token policy loss −min(ρ A, clip(ρ, 1−ε, 1+ε) A), ρ = π_θ / π_old (same shape as inputs)."""
    if not (logp.shape == logp_old.shape == advantages.shape):
        raise ValueError(
            f"logp, logp_old and advantages must have one shape, got {tuple(logp.shape)}, "
            f"{tuple(logp_old.shape)}, {tuple(advantages.shape)}"
        )
    ratio = torch.exp(logp - logp_old)
    return -torch.minimum(ratio * advantages, ratio.clamp(1 - clip, 1 + clip) * advantages)


def clipped_value_loss(
    values: torch.Tensor, values_old: torch.Tensor, returns: torch.Tensor, clip: float = 0.2
) -> torch.Tensor:
    """½ max((V − R)², (V_old + clip(V − V_old, ±ε) − R)²) per token."""
    clipped = values_old + (values - values_old).clamp(-clip, clip)
    return 0.5 * torch.maximum((values - returns) ** 2, (clipped - returns) ** 2)


def whiten(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mean = masked_mean(x, mask)
    var = masked_mean((x - mean) ** 2, mask)
    return (x - mean) * torch.rsqrt(var + 1e-8) * mask


class PolicyWithValue(nn.Module):
    """The policy GPT plus a value head on its hidden states: (b t) → logits (b t v), values (b t)."""

    def __init__(self, gpt: GPT):
        super().__init__()
        self.gpt = copy.deepcopy(gpt)
        self.value_head = nn.Linear(gpt.config.d_model, 1)
        nn.init.zeros_(self.value_head.weight)
        nn.init.zeros_(self.value_head.bias)

    def forward(self, prompts: torch.Tensor, responses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """→ logits (b r v) predicting each response token, values (b r) before each response token."""
        full = torch.cat([prompts, responses], dim=1)[:, :-1]
        h = self.gpt.hidden(full)[:, prompts.shape[1] - 1 :]  # (b r d)
        return self.gpt.lm_head(h), self.value_head(h)[..., 0]


@dataclass
class PPOConfig:
    iterations: int = 40
    batch_size: int = 64  # prompts per rollout
    minibatch_size: int = 32
    epochs: int = 2  # passes over each rollout
    lr: float = 5e-5
    value_lr: float = 1e-3  # the value head starts from zero and must catch up quickly
    kl_coef: float = 0.3  # β of the per-token KL penalty; 0 turns the leash off
    clip: float = 0.2
    value_clip: float = 0.2
    vf_coef: float = 0.1
    gamma: float = 1.0
    lam: float = 0.95
    ptx_coef: float = 0.0  # > 0: PPO-ptx, mix in the pretraining loss
    seed: int = 0


@dataclass
class PPOHistory:
    reward: list = field(default_factory=list)  # reward-model score, mean over the rollout
    true_score: list = field(default_factory=list)  # hidden preference, for the reader only
    kl: list = field(default_factory=list)  # Σ_t k1 per response, mean
    length: list = field(default_factory=list)  # response tokens, mean
    samples: list = field(default_factory=list)  # a few responses per iteration


@torch.no_grad()
def rollout(
    agent: PolicyWithValue,
    ref: GPT,
    rm,
    tokenizer,
    instructions,
    cfg: PPOConfig,
    generator: torch.Generator,
    device="cpu",
) -> dict:
    """Sample, score and compute advantages for one batch of prompts."""
    agent.eval()
    prompts, responses, mask, texts = sample_responses(agent.gpt, tokenizer, instructions, 1.0, generator, device)
    logits, values = agent(prompts, responses)
    logp = token_logprobs(logits, responses)
    logp_ref = token_logprobs(response_logits(ref, prompts, responses), responses)
    score = rm(prompts, responses, mask)  # (b,)
    kl = (logp - logp_ref) * mask
    rewards = -cfg.kl_coef * kl
    last = mask.sum(1).long() - 1
    rewards[torch.arange(len(last)), last] += score
    advantages, returns = gae(rewards, values * mask, mask, cfg.gamma, cfg.lam)
    return dict(
        prompts=prompts,
        responses=responses,
        mask=mask,
        texts=texts,
        logp=logp,
        values=values * mask,
        advantages=whiten(advantages, mask),
        returns=returns,
        score=score,
        kl=kl.sum(1),
    )


def ppo_step(agent: PolicyWithValue, batch: dict, rows: torch.Tensor, cfg: PPOConfig) -> torch.Tensor:
    """The PPO loss on minibatch ``rows`` of a rollout."""
    mask = batch["mask"][rows]
    logits, values = agent(batch["prompts"][rows], batch["responses"][rows])
    logp = token_logprobs(logits, batch["responses"][rows])
    pg = masked_mean(clipped_surrogate(logp, batch["logp"][rows], batch["advantages"][rows], cfg.clip), mask)
    vf = masked_mean(clipped_value_loss(values, batch["values"][rows], batch["returns"][rows], cfg.value_clip), mask)
    return pg + cfg.vf_coef * vf


def train_ppo(
    sft: GPT, rm, tokenizer, instructions, cfg: PPOConfig, ptx_batches=None, device="cpu"
) -> tuple[PolicyWithValue, PPOHistory]:
    """Optimise a copy of ``sft`` against ``rm`` with PPO; ``sft`` itself stays the frozen reference."""
    if not instructions:
        raise ValueError("train_ppo needs at least one training instruction")
    if cfg.ptx_coef > 0 and ptx_batches is None:
        raise ValueError("ptx_coef > 0 needs ptx_batches: a callable returning (inputs, targets) of pretraining text")
    agent, ref = PolicyWithValue(sft).to(device), sft.eval()
    opt = torch.optim.Adam(
        [
            {"params": agent.gpt.parameters(), "lr": cfg.lr},
            {"params": agent.value_head.parameters(), "lr": cfg.value_lr},
        ]
    )
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    pick = torch.Generator("cpu").manual_seed(cfg.seed)
    history = PPOHistory()
    for _ in progress(range(cfg.iterations), desc=f"PPO β={cfg.kl_coef}"):
        rows = torch.randint(len(instructions), (cfg.batch_size,), generator=pick).tolist()
        batch_instructions = [instructions[i] for i in rows]
        batch = rollout(agent, ref, rm, tokenizer, batch_instructions, cfg, gen, device)
        history.reward.append(float(batch["score"].mean()))
        history.kl.append(float(batch["kl"].mean()))
        history.length.append(float(batch["mask"].sum(1).mean()))
        history.true_score.append(
            sum(true_score(i, t) for i, t in zip(batch_instructions, batch["texts"], strict=True)) / len(rows)
        )
        history.samples.append(batch["texts"][:4])
        agent.train()
        for _ in range(cfg.epochs):
            order = torch.randperm(cfg.batch_size, generator=pick)
            for start in range(0, cfg.batch_size, cfg.minibatch_size):
                loss = ppo_step(agent, batch, order[start : start + cfg.minibatch_size].to(device), cfg)
                if cfg.ptx_coef > 0:
                    x, y = ptx_batches()
                    loss = loss + cfg.ptx_coef * agent.gpt(x, y)[1]
                optimizer_step(opt, loss, agent.parameters())
    agent.eval()
    return agent, history
