"""A simulated labeler: ranks k responses by the hidden true score, with noise.

Real labelers are people reading a prompt and k model outputs and ordering them, guided by
written instructions; they disagree with each other about a quarter of the time
(InstructGPT reports ≈ 73% inter-annotator agreement). Here a **Plackett–Luce** model
stands in for them: the best response is picked with probability ∝ exp(β·score), then the
best of the rest, and so on. ``beta`` sets the noise: large β is a careful labeler, β = 0 a
coin flip. For a pair this is the Bradley–Terry model, P(a ≻ b) = σ(β (s_a − s_b)).
"""

from __future__ import annotations

import math

import torch


class SimulatedLabeler:
    def __init__(self, beta: float = 20.0, seed: int = 0):
        if beta < 0:
            raise ValueError(f"beta must be ≥ 0, got {beta}")
        self.beta = beta
        self.generator = torch.Generator("cpu").manual_seed(seed)

    def rank(self, scores) -> list[int]:
        """Indices of the responses, best first, for one prompt's true ``scores`` (k,)."""
        s = torch.as_tensor(scores, dtype=torch.float64)
        if s.dim() != 1 or len(s) < 2:
            raise ValueError(f"rank needs the scores of k ≥ 2 responses as a 1-D sequence, got shape {tuple(s.shape)}")
        # sorting utilities perturbed by Gumbel noise draws exactly a Plackett–Luce ranking
        gumbel = -torch.log(-torch.log(torch.rand(len(s), generator=self.generator, dtype=torch.float64)))
        return torch.argsort(self.beta * s + gumbel, descending=True).tolist()

    def agreement(self, score_a: float, score_b: float) -> float:
        """Probability that this labeler orders a pair the way the true score does (ties: ½)."""
        return 1 / (1 + math.exp(-self.beta * abs(score_a - score_b)))


def ranking_to_pairs(ranking: list[int]) -> list[tuple[int, int]]:
    """All k-choose-2 (winner, loser) pairs implied by one ranking, as InstructGPT trains on."""
    if len(set(ranking)) != len(ranking):
        raise ValueError(f"a ranking lists each response once, got {ranking}")
    return [(ranking[i], ranking[j]) for i in range(len(ranking)) for j in range(i + 1, len(ranking))]
