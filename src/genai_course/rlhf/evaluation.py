"""Judging policies by the hidden true preference (which only the course, not the models, can see)."""

from __future__ import annotations

import math
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


def mean_se(values) -> tuple[float, float]:
    """Mean and its standard error s/√n over prompts (one value per prompt)."""
    x = torch.as_tensor(values, dtype=torch.float64).flatten()
    if len(x) < 2:
        raise ValueError(f"mean_se needs at least 2 values, got {len(x)}")
    return float(x.mean()), float(x.std() / len(x) ** 0.5)


@dataclass(frozen=True)
class Scored:
    """One response per prompt from some way of decoding, and what each is worth.

    ``kl`` is log q(y|x) − log π_ref(y|x) summed over the response's tokens, q being the decoding
    policy itself: its mean over responses drawn from q estimates KL(q ‖ π_ref). Greedy decoding is
    deterministic, q(y|x) = 1, so its KL from the reference is −log π_ref(y|x) exactly. ``None``
    where q's probabilities are unknown (best-of-n)."""

    texts: list[str]
    true: torch.Tensor  # (n,) the hidden true score
    reward: torch.Tensor  # (n,) the reward model's score
    kl: torch.Tensor | None  # (n,) nats, see above


@torch.no_grad()
def score_decoding(
    model,
    ref,
    rm,
    tokenizer,
    instructions: list[Instruction],
    temperature: float = 1.0,
    seed: int = 0,
    batch_size: int = 256,
    device="cpu",
) -> Scored:
    """Decode one response per instruction (``temperature`` 0: greedy) and score it three ways.
    With the same seed and batch size, T = 1 draws exactly :func:`evaluate_policy`'s responses."""
    from .policy import response_logits, token_logprobs

    if not instructions:
        raise ValueError("score_decoding needs at least one instruction")
    if temperature < 0:
        raise ValueError(f"temperature must be ≥ 0 (0 is greedy), got {temperature}")
    gen = torch.Generator(device=device).manual_seed(seed)
    texts, reward, kl = [], [], []
    for i in range(0, len(instructions), batch_size):
        prompts, ids, mask, t = sample_responses(
            model, tokenizer, instructions[i : i + batch_size], temperature, gen, device
        )
        log_ref = token_logprobs(response_logits(ref, prompts, ids), ids)
        if not temperature:
            log_q = 0.0  # greedy: q(y|x) = 1
        elif model is ref and temperature == 1:
            log_q = log_ref  # the reference scored against itself: no second forward pass
        else:
            log_q = token_logprobs(response_logits(model, prompts, ids) / temperature, ids)
        kl.append(((log_q - log_ref) * mask).sum(1).double().cpu())
        reward.append(rm(prompts, ids, mask).double().cpu())
        texts += t
    true = torch.tensor([true_score(ins, t) for ins, t in zip(instructions, texts, strict=True)], dtype=torch.float64)
    return Scored(texts, true, torch.cat(reward), torch.cat(kl))


@dataclass(frozen=True)
class Samples:
    """``n`` samples per prompt: texts[prompt][j], and true and reward-model scores (prompts n)."""

    texts: list[list[str]]
    true: torch.Tensor
    reward: torch.Tensor

    def best_of(self, m: int, by: str = "reward") -> Scored:
        """Best-of-m: of the first ``m`` samples of each prompt keep the one ``by`` ("reward": the reward
        model, "true": the task program) scores highest (the first of equals)."""
        if not 1 <= m <= self.true.shape[1]:
            raise ValueError(f"m must be in 1..{self.true.shape[1]}, got {m}")
        if by not in ("reward", "true"):
            raise ValueError(f"by must be 'reward' or 'true', got {by!r}")
        pick = getattr(self, by)[:, :m].argmax(1)
        rows = torch.arange(len(pick))
        texts = [self.texts[i][j] for i, j in enumerate(pick.tolist())]
        return Scored(texts, self.true[rows, pick], self.reward[rows, pick], None)


@torch.no_grad()
def sample_n(
    model, rm, tokenizer, instructions: list[Instruction], n: int, seed: int = 0, batch_size: int = 256, device="cpu"
) -> Samples:
    """Sample ``n`` responses at T = 1 for each instruction and score every one (the raw material of best-of-n)."""
    if n < 1 or not instructions:
        raise ValueError(
            f"sample_n needs n ≥ 1 and at least one instruction, got n={n}, {len(instructions)} instructions"
        )
    many = [ins for ins in instructions for _ in range(n)]  # each prompt's n samples side by side
    gen = torch.Generator(device=device).manual_seed(seed)
    texts, reward = [], []
    for i in range(0, len(many), batch_size):
        prompts, ids, mask, t = sample_responses(model, tokenizer, many[i : i + batch_size], 1.0, gen, device)
        reward.append(rm(prompts, ids, mask).double().cpu())
        texts += t
    true = torch.tensor([true_score(ins, t) for ins, t in zip(many, texts, strict=True)], dtype=torch.float64)
    return Samples([texts[i : i + n] for i in range(0, len(texts), n)], true.view(-1, n), torch.cat(reward).view(-1, n))


def best_of_n_kl_bound(n: int) -> float:
    """KL(best-of-n ‖ π_ref) ≤ log n − (n − 1)/n nats, with equality when no two samples tie
    (Stiennon et al. 2020, appendix; shown to be an upper bound by Beirami et al. 2024)."""
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    return math.log(n) - (n - 1) / n
