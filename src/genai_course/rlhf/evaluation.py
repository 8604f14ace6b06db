"""Judging policies by the hidden true preference (which only the course, not the models, can see)."""
from __future__ import annotations

import torch

from .policy import sample_responses
from .tasks import Instruction, true_score


@torch.no_grad()
def evaluate_policy(model, tokenizer, instructions: list[Instruction], temperature: float = 1.0, seed: int = 0,
                    batch_size: int = 256, device="cpu") -> tuple[list[str], list[float]]:
    """Sample one response per instruction → (responses, true scores)."""
    gen = torch.Generator(device=device).manual_seed(seed)
    texts = []
    for i in range(0, len(instructions), batch_size):
        texts += sample_responses(model, tokenizer, instructions[i:i + batch_size], temperature, gen, device)[3]
    return texts, [true_score(ins, t) for ins, t in zip(instructions, texts)]


def win_rate(scores_a, scores_b) -> float:
    """How often A's response beats B's on the same prompt; a tie counts as half a win."""
    a, b = torch.as_tensor(scores_a, dtype=torch.float64), torch.as_tensor(scores_b, dtype=torch.float64)
    if a.shape != b.shape or a.dim() != 1 or len(a) == 0:
        raise ValueError(f"win_rate needs two equally long, non-empty 1-D score lists, got {tuple(a.shape)} "
                         f"and {tuple(b.shape)}")
    return float(((a > b).double() + 0.5 * (a == b).double()).mean())
