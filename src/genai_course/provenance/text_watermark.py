"""The green-list watermark for language models of Kirchenbauer et al. (2023), "A Watermark for
Large Language Models" (ICML 2023), and its one-proportion z-test.

Generation (the paper's Algorithm 2, the "soft" watermark): before token t is sampled, a hash of
the previous token s(t−1) and a secret key seeds a random number generator that splits the
vocabulary V into a green list G of size γ|V| and a red list R; every green logit is raised by δ,

    p̂_k = exp(l_k + δ) / (Σ_{i∈R} exp(l_i) + Σ_{i∈G} exp(l_i + δ))   for k ∈ G,  without the +δ for k ∈ R.

Detection needs the key and the text only, not the model: recompute each token's green list from
its predecessor, count the green tokens |s|_G among the T scored tokens and test the null
hypothesis "the text was written without knowledge of the green lists", under which every token
is green with probability γ independently:

    z = (|s|_G − γT) / √(T γ (1 − γ)).

The first token has no predecessor, so a text of n tokens has T = n − 1 scored tokens. The test
treats the T tokens as independent coin flips; a repeated (previous, next) pair repeats its colour,
which a character vocabulary does constantly, so by default each distinct pair is scored once.

Shapes use einops notation: ``(b t)`` a batch of token sequences, ``(v v)`` previous token × next token.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field

import torch


def green_list_seed(prev_token: int, key: int) -> int:
    """The RNG seed of one green list: the first 8 bytes of SHA-256("key|prev_token").

    A cryptographic hash, so that without the key the green lists look random; any fixed
    function of (key, previous token) would do for detection."""
    digest = hashlib.sha256(f"{int(key)}|{int(prev_token)}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def green_list(prev_token: int, key: int, vocab_size: int, gamma: float) -> list[int]:
    """The sorted ids of the green list that follows ``prev_token``: round(γ|V|) of the |V| ids.

    Python's ``random.Random`` with an integer seed gives the same list on every platform."""
    size = green_list_size(vocab_size, gamma)
    return sorted(random.Random(green_list_seed(prev_token, key)).sample(range(vocab_size), size))


def green_list_size(vocab_size: int, gamma: float) -> int:
    """round(γ|V|), and at least 1 and at most |V| − 1 so that both lists are non-empty."""
    if not (isinstance(vocab_size, int) and vocab_size >= 2):
        raise ValueError(f"vocab_size must be an int ≥ 2, got {vocab_size!r}")
    if not 0.0 < gamma < 1.0:
        raise ValueError(f"gamma (the green fraction) must lie strictly between 0 and 1, got {gamma!r}")
    return min(max(round(gamma * vocab_size), 1), vocab_size - 1)


def z_score(n_green: int, n_scored: int, gamma: float) -> float:
    """One-proportion z statistic z = (|s|_G − γT) / √(Tγ(1−γ)) (Kirchenbauer et al. 2023)."""
    if n_scored <= 0:
        raise ValueError(f"need at least one scored token, got T = {n_scored}")
    if not 0 <= n_green <= n_scored:
        raise ValueError(f"the green count must lie in [0, T] = [0, {n_scored}], got {n_green}")
    if not 0.0 < gamma < 1.0:
        raise ValueError(f"gamma must lie strictly between 0 and 1, got {gamma!r}")
    return (n_green - gamma * n_scored) / math.sqrt(n_scored * gamma * (1 - gamma))


def expected_green_fraction_uniform(gamma: float, delta: float) -> float:
    """Green probability of one step when the model's distribution is uniform: γe^δ / (1 + γ(e^δ − 1)).

    Each green token's weight is multiplied by α = e^δ, so green mass γ becomes γα / (γα + 1 − γ).
    This is the most a flat distribution can give; a peaked one gives less (see :func:`spike_entropy`)."""
    alpha = math.exp(delta)
    return gamma * alpha / (1 + gamma * (alpha - 1))


def spike_modulus(gamma: float, delta: float) -> float:
    """The modulus z = (1 − γ)(α − 1) / (1 + (α − 1)γ), α = e^δ, of the paper's spike entropy."""
    alpha = math.exp(delta)
    return (1 - gamma) * (alpha - 1) / (1 + (alpha - 1) * gamma)


def spike_entropy(probs: torch.Tensor, modulus: float) -> torch.Tensor:
    """Spike entropy S(p, z) = Σ_k p_k / (1 + z p_k) of distributions (... v) → (...).

    It lies in (1/(1+z), 1]: near 1 when the mass is spread over many tokens, near 1/(1+z) when one
    token takes it all. The paper bounds the expected green count from below with its average S*:
    E|s|_G ≥ γαT S* / (1 + (α − 1)γ)."""
    return (probs / (1 + modulus * probs)).sum(-1)


@dataclass
class GreenListWatermark:
    """A secret ``key`` and the watermark's strength: green fraction ``gamma`` (γ) and bias ``delta`` (δ).

    ``green`` (v v) is every green list at once, row = previous token: a character vocabulary is small
    enough to tabulate, so generation and detection are a table look-up."""

    vocab_size: int
    gamma: float = 0.25
    delta: float = 2.0
    key: int = 0
    green: torch.Tensor = field(init=False, repr=False)

    def __post_init__(self):
        size = green_list_size(self.vocab_size, self.gamma)
        if not (math.isfinite(self.delta) and self.delta >= 0):
            raise ValueError(f"delta must be a finite number ≥ 0, got {self.delta!r}")
        self.gamma = size / self.vocab_size  # the fraction the lists really have: the z-test needs it exactly
        self.green = torch.zeros(self.vocab_size, self.vocab_size, dtype=torch.bool)
        for prev in range(self.vocab_size):
            self.green[prev, green_list(prev, self.key, self.vocab_size, self.gamma)] = True

    def logits_hook(self, logits: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """For :func:`genai_course.gpt.sampling.generate`: logits (b v) + δ on the green list of idx[:, -1] (b t)."""
        green = self.green.to(logits.device)[idx[:, -1]]  # (b v): this step's green list, per row
        return logits + self.delta * green  # l_k + δ for k ∈ G (Algorithm 2, step 3)

    def green_flags(self, tokens) -> torch.Tensor:
        """Is each scored token green? tokens (t) or (b t) → (t−1) or (b t−1) bool: token i by the list of token i−1."""
        tokens = _as_tokens(tokens, self.vocab_size)
        return self.green[tokens[..., :-1], tokens[..., 1:]]

    def count_green(self, tokens, unique: bool = True) -> tuple[int, int]:
        """(|s|_G, T) of one sequence (t). ``unique=False`` is the paper's count: every token after the first.

        ``unique=True`` scores each distinct (previous, next) pair once. The z-test assumes T independent
        coin flips of probability γ, but a repeated pair repeats its colour: in text with few symbols
        ("th", "e ", "--") the plain count is a sum of a few heavily weighted flips, and its spread under
        the null hypothesis is much wider than the test assumes."""
        flags = self.green_flags(tokens)
        if flags.dim() != 1:
            raise ValueError(f"count_green scores one sequence (t); got a batch of shape {tuple(flags.shape[:-1])}")
        if not unique:
            return int(flags.sum()), flags.numel()
        tokens = _as_tokens(tokens, self.vocab_size)
        pairs = torch.unique(tokens[:-1] * self.vocab_size + tokens[1:])  # distinct (previous, next) pairs
        return int(self.green.flatten()[pairs].sum()), pairs.numel()

    def detect(self, tokens, unique: bool = True) -> dict:
        """The test on one sequence (t): {"scored": T, "green": |s|_G, "z": z}."""
        n_green, n_scored = self.count_green(tokens, unique)
        return {"scored": n_scored, "green": n_green, "z": z_score(n_green, n_scored, self.gamma)}

    def z_scores(self, tokens, unique: bool = True) -> torch.Tensor:
        """z of every row of tokens (b t) → (b), float64."""
        tokens = _as_tokens(tokens, self.vocab_size)
        if tokens.dim() != 2:
            raise ValueError(f"z_scores needs a batch (b t), got shape {tuple(tokens.shape)}")
        return torch.tensor([self.detect(row, unique)["z"] for row in tokens], dtype=torch.float64)


def replace_tokens(tokens: torch.Tensor, fraction: float, vocab_size: int, generator: torch.Generator) -> torch.Tensor:
    """A crude paraphrase: round(fraction · t) positions of every row of tokens (b t), chosen at random,
    get a different token drawn uniformly. Each replacement can change the colour of two scored
    tokens: its own, and the next one's (whose green list it seeds)."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must lie in [0, 1], got {fraction!r}")
    tokens = _as_tokens(tokens, vocab_size)
    if tokens.dim() != 2:
        raise ValueError(f"tokens must be (b t), got {tuple(tokens.shape)}")
    b, t = tokens.shape
    k = round(fraction * t)
    where = torch.rand(b, t, generator=generator).argsort(1)[:, :k]  # k distinct positions per row
    shift = torch.randint(1, vocab_size, (b, k), generator=generator)  # never the same token again
    out = tokens.clone()
    out.scatter_(1, where, (tokens.gather(1, where) + shift) % vocab_size)
    return out


def _as_tokens(tokens, vocab_size: int) -> torch.Tensor:
    if not isinstance(tokens, torch.Tensor):
        try:
            tokens = torch.as_tensor(tokens, dtype=torch.long)
        except (TypeError, ValueError):
            raise TypeError(
                f"tokens must be a tensor or a list of int token ids, got {type(tokens).__name__}"
            ) from None
    if tokens.dtype.is_floating_point or tokens.dtype == torch.bool:
        raise TypeError(f"tokens must hold integer ids, got dtype {tokens.dtype}")
    if tokens.dim() not in (1, 2) or tokens.shape[-1] < 2:
        raise ValueError(
            f"tokens must be (t) or (b t) with t ≥ 2 (the first token is never scored), got {tuple(tokens.shape)}"
        )
    if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= vocab_size):
        raise ValueError(f"token ids must lie in [0, {vocab_size}), got {int(tokens.min())}…{int(tokens.max())}")
    return tokens.long().cpu()
