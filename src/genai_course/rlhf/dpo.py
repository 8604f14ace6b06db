"""Direct preference optimisation: the policy learns from the comparisons themselves, with no
reward model and no sampling during training.

DPO shows that the KL-regularised RL objective has a closed-form optimum,
π*(y|x) ∝ π_ref(y|x) exp(r(x, y)/β), so the reward is *implied* by the policy,
r = β log(π_θ/π_ref) + const, and the Bradley–Terry loss can be written on the policy directly:

$$\\mathcal{L}_{\\text{DPO}} = -\\mathbb{E}\\Big[\\log\\sigma\\Big(\\beta \\log\\frac{\\pi_\\theta(y_w|x)}{\\pi_{\\text{ref}}(y_w|x)}
   - \\beta \\log\\frac{\\pi_\\theta(y_l|x)}{\\pi_{\\text{ref}}(y_l|x)}\\Big)\\Big]$$
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ..gpt.model import GPT
from ..utils import progress
from .policy import optimizer_step, response_logprobs
from .reward_model import Comparisons


def dpo_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    ref_chosen: torch.Tensor,
    ref_rejected: torch.Tensor,
    beta: float = 0.1,
) -> torch.Tensor:
    """Sequence log-probs (n,) of chosen / rejected responses under the policy and the reference → scalar."""
    shapes = {tuple(t.shape) for t in (policy_chosen, policy_rejected, ref_chosen, ref_rejected)}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1:
        raise ValueError(f"the four log-prob tensors must all have shape (n,), got {sorted(shapes)}")
    if policy_chosen.numel() == 0:
        raise ValueError("dpo_loss got an empty batch of pairs")
    margin = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)
    return -F.logsigmoid(beta * margin).mean()


def sequence_logprobs(model: GPT, prompts: torch.Tensor, responses: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """log π(y | x) summed over each response's tokens (b,)."""
    return (response_logprobs(model, prompts, responses) * mask).sum(1)


def all_sequence_logprobs(model: GPT, data: Comparisons) -> torch.Tensor:
    """log π(y | x) of every response in ``data`` (n k)."""
    n, k, r = data.responses.shape
    prompts = data.prompts.repeat_interleave(k, dim=0)
    return sequence_logprobs(model, prompts, data.responses.reshape(n * k, r), data.mask.reshape(n * k, r)).reshape(
        n, k
    )


@dataclass
class DPOConfig:
    epochs: int = 1
    batch_size: int = 16  # rankings per step
    lr: float = 1e-4
    beta: float = 0.3
    seed: int = 0


@dataclass
class DPOTrace:
    """What each DPO step saw, before its update: mean sequence log-probs (nats) of the batch's
    chosen and rejected responses under the policy and under the reference. With one epoch every
    batch is new to the policy, so the trace measures ranked pairs it has not been trained on."""

    chosen: list[float] = field(default_factory=list)  # mean log π_θ(y_w | x)
    rejected: list[float] = field(default_factory=list)  # mean log π_θ(y_l | x)
    ref_chosen: list[float] = field(default_factory=list)  # mean log π_ref(y_w | x)
    ref_rejected: list[float] = field(default_factory=list)  # mean log π_ref(y_l | x)

    def log_ratios(self) -> tuple[list[float], list[float]]:
        """→ mean log π_θ/π_ref of the chosen and of the rejected responses, per step."""
        return (
            [a - b for a, b in zip(self.chosen, self.ref_chosen, strict=True)],
            [a - b for a, b in zip(self.rejected, self.ref_rejected, strict=True)],
        )


def train_dpo(sft: GPT, data: Comparisons, cfg: DPOConfig, trace: DPOTrace | None = None) -> tuple[GPT, list[float]]:
    """Optimise a copy of ``sft`` with DPO on all k-choose-2 pairs of the rankings in ``data``;
    pass a :class:`DPOTrace` to record the chosen and rejected log-probs of every step."""
    if len(data) == 0:
        raise ValueError("train_dpo got no rankings")
    policy = copy.deepcopy(sft)
    with torch.no_grad():  # the reference never changes: score it once
        sft.eval()
        ref = torch.cat([all_sequence_logprobs(sft, data.subset(slice(i, i + 256))) for i in range(0, len(data), 256)])
    opt = torch.optim.AdamW(policy.parameters(), lr=cfg.lr, weight_decay=0.0)
    gen = torch.Generator("cpu").manual_seed(cfg.seed)
    losses = []
    for _ in range(cfg.epochs):
        order = torch.randperm(len(data), generator=gen)
        for start in progress(range(0, len(data), cfg.batch_size), desc="DPO"):
            rows = order[start : start + cfg.batch_size]
            policy.train()
            logp = all_sequence_logprobs(policy, data.subset(rows))  # (n k)
            win, lose = data.subset(rows).pairs()
            pairs = (
                logp.gather(1, win).flatten(),
                logp.gather(1, lose).flatten(),
                ref[rows].gather(1, win).flatten(),
                ref[rows].gather(1, lose).flatten(),
            )
            if trace is not None:
                for record, values in zip(
                    (trace.chosen, trace.rejected, trace.ref_chosen, trace.ref_rejected), pairs, strict=True
                ):
                    record.append(float(values.detach().mean()))
            loss = dpo_loss(*pairs, cfg.beta)
            optimizer_step(opt, loss, policy.parameters())
            losses.append(loss.item())
    policy.eval()
    return policy, losses
