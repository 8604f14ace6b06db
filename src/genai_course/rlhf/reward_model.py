"""Step 2 of InstructGPT: a reward model learned from rankings.

The trunk is a GPT (initialised from the SFT model, as in InstructGPT); a linear head reads one
scalar off the hidden state of the response's last token. It is trained with the
**Bradley–Terry** loss on every pair (winner w, loser l) that a ranking implies:

$$\\mathcal{L}_{\\text{RM}} = -\\mathbb{E}_{(x, y_w, y_l)}\\big[\\log \\sigma\\big(r_\\phi(x, y_w) - r_\\phi(x, y_l)\\big)\\big]$$

All k-choose-2 pairs of one ranking go into the same batch and share the k forward passes,
which is both cheaper and less prone to over-fitting than shuffling pairs independently.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..gpt.model import GPT
from ..utils import progress
from .labeler import ranking_to_pairs
from .policy import optimizer_step, sample_responses
from .tasks import true_score


def bradley_terry_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """−mean log σ(r_w − r_l) over pairs (n,), (n,) → scalar."""
    if r_chosen.shape != r_rejected.shape or r_chosen.dim() != 1:
        raise ValueError(
            f"r_chosen and r_rejected must both have shape (n,), got {tuple(r_chosen.shape)} "
            f"and {tuple(r_rejected.shape)}"
        )
    if len(r_chosen) == 0:
        raise ValueError("bradley_terry_loss got an empty batch of pairs")
    return -F.logsigmoid(r_chosen - r_rejected).mean()


class RewardModel(nn.Module):
    """(prompts (b p), responses (b r), mask (b r)) → a scalar reward per response (b,)."""

    def __init__(self, trunk: GPT):
        super().__init__()
        self.trunk = copy.deepcopy(trunk)
        self.head = nn.Linear(trunk.config.d_model, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, prompts: torch.Tensor, responses: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if responses.shape != mask.shape or prompts.shape[0] != responses.shape[0]:
            raise ValueError(
                f"expected prompts (b p), responses (b r) and mask (b r) with one b, got "
                f"{tuple(prompts.shape)}, {tuple(responses.shape)}, {tuple(mask.shape)}"
            )
        h = self.trunk.hidden(torch.cat([prompts, responses], dim=1))  # (b p+r d)
        last = prompts.shape[1] + mask.sum(1).long().clamp(min=1) - 1  # the response's last token
        return self.head(h[torch.arange(len(h), device=h.device), last])[:, 0]


@dataclass
class Comparisons:
    """Rankings of k responses per prompt: prompts (n p), responses (n k r), mask (n k r),
    rankings (n k) listing response indices best first."""

    prompts: torch.Tensor
    responses: torch.Tensor
    mask: torch.Tensor
    rankings: torch.Tensor
    true_scores: torch.Tensor = field(default=None)  # (n k), for analysis only: the RM never sees it

    def __post_init__(self):
        if self.responses.dim() != 3:
            raise ValueError(f"responses must be (n k r), got shape {tuple(self.responses.shape)}")
        n, k, r = self.responses.shape
        if self.mask.shape != (n, k, r) or self.rankings.shape != (n, k) or self.prompts.shape[0] != n:
            raise ValueError(
                f"inconsistent comparison tensors: prompts {tuple(self.prompts.shape)}, responses "
                f"{(n, k, r)}, mask {tuple(self.mask.shape)}, rankings {tuple(self.rankings.shape)}"
            )

    def __len__(self) -> int:
        return self.prompts.shape[0]

    def subset(self, rows) -> Comparisons:
        ts = None if self.true_scores is None else self.true_scores[rows]
        return Comparisons(self.prompts[rows], self.responses[rows], self.mask[rows], self.rankings[rows], ts)

    def pairs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(winner, loser) response indices (n, k(k-1)/2) for every prompt."""
        pairs = [ranking_to_pairs(r.tolist()) for r in self.rankings]
        idx = torch.tensor(pairs)  # (n pairs 2)
        return idx[..., 0], idx[..., 1]


def score_all(rm: RewardModel, data: Comparisons) -> torch.Tensor:
    """Reward of every response (n k)."""
    n, k, r = data.responses.shape
    prompts = data.prompts.repeat_interleave(k, dim=0)
    return rm(prompts, data.responses.reshape(n * k, r), data.mask.reshape(n * k, r)).reshape(n, k)


def ranking_loss(rm: RewardModel, data: Comparisons) -> torch.Tensor:
    """Bradley–Terry loss over all k-choose-2 pairs of each ranking in ``data``."""
    rewards = score_all(rm, data)  # (n k)
    win, lose = data.pairs()
    return bradley_terry_loss(rewards.gather(1, win).flatten(), rewards.gather(1, lose).flatten())


@torch.no_grad()
def score_in_batches(rm: RewardModel, data: Comparisons, batch_size: int = 256) -> torch.Tensor:
    """Reward of every response (n k), in evaluation mode and without gradients."""
    rm.eval()
    return torch.cat([score_all(rm, data.subset(slice(i, i + batch_size))) for i in range(0, len(data), batch_size)])


def accuracy_from_rewards(
    rewards: torch.Tensor, data: Comparisons, against: str = "labels", decided_only: bool = False
) -> float:
    """Fraction of pairs that rewards (n k) order like the labeler (``labels``) or like the hidden
    true score (``truth``). Equal rewards count half.

    Against the truth, pairs whose true scores tie have no right order and are always skipped.
    Against the labels they count by default (every model is a coin flip on them);
    ``decided_only=True`` skips them too, so that both accuracies share one denominator: the
    pairs that have a true order.
    """
    if rewards.shape != data.rankings.shape:
        raise ValueError(f"rewards must be (n k) = {tuple(data.rankings.shape)}, got {tuple(rewards.shape)}")
    if against not in ("labels", "truth"):
        raise ValueError(f"against must be 'labels' or 'truth', got {against!r}")
    win, lose = data.pairs()
    r_win, r_lose = rewards.gather(1, win), rewards.gather(1, lose)
    s_win, s_lose = data.true_scores.gather(1, win), data.true_scores.gather(1, lose)
    decided = s_win != s_lose
    if against == "labels":
        # identical responses get identical rewards: such a tie is half right, like a coin flip
        agree = (r_win > r_lose).float() + 0.5 * (r_win == r_lose).float()
        return float(agree[decided].mean() if decided_only else agree.mean())
    agree = ((r_win > r_lose).float() + 0.5 * (r_win == r_lose).float()) * (s_win > s_lose) + (
        (r_win < r_lose).float() + 0.5 * (r_win == r_lose).float()
    ) * (s_win < s_lose)
    return float(agree[decided].mean())


def pairwise_accuracy(rm: RewardModel, data: Comparisons, against: str = "labels") -> float:
    """Held-out accuracy of a reward model on ``data``: see :func:`accuracy_from_rewards`."""
    return accuracy_from_rewards(score_in_batches(rm, data), data, against)


@dataclass
class RMConfig:
    epochs: int = 1
    batch_size: int = 16  # rankings per step (each gives k(k-1)/2 pairs)
    lr: float = 3e-4
    seed: int = 0


def train_reward_model(rm: RewardModel, data: Comparisons, cfg: RMConfig, callback=None) -> list[float]:
    """Train on the rankings in ``data`` → loss per step. ``callback(step, rankings_seen)`` runs
    after every step, e.g. to measure held-out accuracy as the comparisons accumulate."""
    if len(data) == 0:
        raise ValueError("train_reward_model got no rankings")
    opt = torch.optim.AdamW(rm.parameters(), lr=cfg.lr, weight_decay=0.0)
    gen = torch.Generator("cpu").manual_seed(cfg.seed)
    losses, seen = [], 0
    for _ in range(cfg.epochs):
        order = torch.randperm(len(data), generator=gen)
        for start in progress(range(0, len(data), cfg.batch_size), desc="reward model"):
            rm.train()
            loss = ranking_loss(rm, data.subset(order[start : start + cfg.batch_size]))
            optimizer_step(opt, loss, rm.parameters())
            losses.append(loss.item())
            seen += len(order[start : start + cfg.batch_size])
            if callback is not None:
                callback(len(losses), seen)
    rm.eval()
    return losses


@torch.no_grad()
def collect_comparisons(
    policy: GPT, tokenizer, instructions, k: int, labeler, temperature: float = 1.0, seed: int = 0, device="cpu"
) -> Comparisons:
    """Sample k responses per instruction from ``policy`` and have the labeler rank them."""
    if k < 2:
        raise ValueError(f"a ranking needs k ≥ 2 responses, got k={k}")
    repeated = [ins for ins in instructions for _ in range(k)]
    gen = torch.Generator(device=device).manual_seed(seed)
    prompts, ids, mask, texts = sample_responses(policy, tokenizer, repeated, temperature, gen, device)
    n, r = len(instructions), ids.shape[1]
    scores = torch.tensor([true_score(ins, t) for ins, t in zip(repeated, texts, strict=True)]).reshape(n, k)
    rankings = torch.tensor([labeler.rank(s) for s in scores])
    return Comparisons(prompts[::k], ids.reshape(n, k, r), mask.reshape(n, k, r), rankings, scores)
