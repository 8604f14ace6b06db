"""Judging policies by the hidden true preference (which only the course, not the models, can see)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .policy import sample_responses
from .tasks import Instruction, true_score


@torch.no_grad()
def evaluate_policy(
    model,
    tokenizer,
    instructions: list[Instruction],
    temperature: float = 1.0,
    seed: int = 0,
    batch_size: int = 256,
    device="cpu",
) -> tuple[list[str], list[float]]:
    """Sample one response per instruction → (responses, true scores)."""
    gen = torch.Generator(device=device).manual_seed(seed)
    texts = []
    for i in range(0, len(instructions), batch_size):
        texts += sample_responses(model, tokenizer, instructions[i : i + batch_size], temperature, gen, device)[3]
    return texts, [true_score(ins, t) for ins, t in zip(instructions, texts, strict=True)]


@dataclass(frozen=True)
class HeadToHead:
    """Policy A against policy B, one response each per prompt, judged by the true score."""

    wins: int  # A's response scores higher
    losses: int  # B's scores higher
    ties: int  # different responses with equal scores
    identical: int  # the very same text: no judge can prefer either

    @property
    def win_rate(self) -> float:
        """Over the prompts where the responses differ; a tie counts half."""
        decided = self.wins + self.losses + self.ties
        return (self.wins + 0.5 * self.ties) / decided if decided else 0.5

    @property
    def win_rate_ties_half(self) -> float:
        """Over all prompts, identical responses counted as ties (half a win)."""
        n = self.wins + self.losses + self.ties + self.identical
        return (self.wins + 0.5 * (self.ties + self.identical)) / n


def head_to_head(texts_a: list[str], scores_a, texts_b: list[str], scores_b) -> HeadToHead:
    """Compare two policies' responses to the same prompts (``texts`` and true ``scores``, one per prompt)."""
    if not (len(texts_a) == len(scores_a) == len(texts_b) == len(scores_b)) or not texts_a:
        raise ValueError(
            f"head_to_head needs equally many (≥ 1) texts and scores for both policies, got "
            f"{len(texts_a)}, {len(scores_a)}, {len(texts_b)}, {len(scores_b)}"
        )
    wins = losses = ties = identical = 0
    for ta, sa, tb, sb in zip(texts_a, scores_a, texts_b, scores_b, strict=True):
        if ta == tb:
            identical += 1
        elif sa > sb:
            wins += 1
        elif sa < sb:
            losses += 1
        else:
            ties += 1
    return HeadToHead(wins, losses, ties, identical)


def win_rate(scores_a, scores_b) -> float:
    """How often A's response beats B's on the same prompt; a tie counts as half a win."""
    a, b = torch.as_tensor(scores_a, dtype=torch.float64), torch.as_tensor(scores_b, dtype=torch.float64)
    if a.shape != b.shape or a.dim() != 1 or len(a) == 0:
        raise ValueError(
            f"win_rate needs two equally long, non-empty 1-D score lists, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    return float(((a > b).double() + 0.5 * (a == b).double()).mean())


@torch.no_grad()
def kl_to_reference(
    model, ref, tokenizer, instructions: list[Instruction], seed: int = 0, batch_size: int = 256, device="cpu"
) -> float:
    """KL(π ‖ π_ref) per response in nats, estimated on responses sampled from ``model``: the mean
    over responses of Σ_t (log π(y_t) − log π_ref(y_t)) over the response's tokens."""
    from .policy import response_logprobs

    if not instructions:
        raise ValueError("kl_to_reference needs at least one instruction")
    gen = torch.Generator(device=device).manual_seed(seed)
    total = 0.0
    for i in range(0, len(instructions), batch_size):
        prompts, ids, mask, _ = sample_responses(model, tokenizer, instructions[i : i + batch_size], 1.0, gen, device)
        log_ratio = response_logprobs(model, prompts, ids) - response_logprobs(ref, prompts, ids)
        total += float((log_ratio * mask).sum())
    return total / len(instructions)
