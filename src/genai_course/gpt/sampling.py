"""Decoding: how a language model's next-token distribution becomes text.

- greedy: always the most likely token;
- temperature: divide the logits by T (T < 1 sharpens, T > 1 flattens);
- top-k: sample among the k most likely tokens only;
- top-p (nucleus): sample among the smallest set of tokens whose probability reaches p;
- beam search: keep the ``width`` most likely *sequences* at every step; with an end token,
  rank the finished ones with GNMT's length normalisation (Wu et al. 2016).

Every filter takes logits (... v) and returns logits with the excluded tokens set to -inf.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .. import rng
from .model import GPT, KVCache


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """``logits / temperature``. A temperature so small that the division overflows is the greedy
    limit: the largest logit of each row is kept (as 0) and every other one becomes -inf."""
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a finite positive number (use greedy for 0), got {temperature}")
    scaled = logits / temperature
    overflow = ~torch.isfinite(scaled) & torch.isfinite(logits)
    if bool(overflow.any()):  # T → 0: softmax(logits / T) becomes one-hot on the argmax
        greedy = torch.full_like(logits, float("-inf"))
        greedy.scatter_(-1, logits.argmax(dim=-1, keepdim=True), 0.0)
        rows = overflow.any(dim=-1, keepdim=True)
        scaled = torch.where(rows, greedy, scaled)
    return scaled


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the ``k`` largest logits of each row (ties at the boundary are all kept)."""
    if k <= 0:
        raise ValueError(f"top_k must be a positive int, got {k}")
    k = min(k, logits.shape[-1])
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]  # the k-th largest value
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Keep the smallest set of most likely tokens whose total probability is at least ``p``."""
    if not 0.0 < p <= 1.0:
        raise ValueError(f"top_p must lie in (0, 1], got {p}")
    probs = logits.softmax(dim=-1)
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    before = sorted_probs.cumsum(dim=-1) - sorted_probs  # probability of the tokens ranked above
    keep_sorted = before < p  # a token is needed while the ones above it have not reached p
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    return logits.masked_fill(~keep, float("-inf"))


def next_token_logits(
    logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> torch.Tensor:
    """Temperature, then top-k, then top-p, in the usual order."""
    logits = apply_temperature(logits, temperature)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    return logits


def sample_next(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """(b v) logits → (b 1) token ids; ``temperature=0`` means greedy."""
    if torch.isnan(logits).any():
        raise ValueError("the logits contain NaN: the model's weights or its input are not finite")
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    probs = next_token_logits(logits, temperature, top_k, top_p).softmax(dim=-1)
    return rng.multinomial(probs, 1, generator=generator)  # drawn on the generator's device


@torch.no_grad()
def generate(
    model: GPT,
    idx: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    use_cache: bool = True,
    generator: torch.Generator | None = None,
    logits_hook: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    stop: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Extend ``idx`` (b t) by up to ``max_new_tokens`` tokens → (b t+n).

    ``logits_hook(logits (b v), idx (b t)) -> logits (b v)``, when given, reshapes each step's
    next-token logits before temperature, top-k and top-p (and before greedy's argmax): set a
    logit to -inf and that token can never be drawn. An image model samples only image tokens
    by masking the text range; a code model can forbid or force tokens at a function boundary
    from what ``idx`` holds so far.

    With ``use_cache`` each step feeds only the newest token and reuses the keys and values
    of the earlier ones. Once the sequence outgrows the context window both paths recompute
    the last ``block_size`` tokens, so they give identical results.

    ``stop(idx (b t)) -> (b,) bool``, when given, is asked after every step which rows are
    finished (a code model: the function has ended); generation ends early once all are. Rows
    that finished first keep receiving tokens until then, so callers cut each row themselves.
    """
    if idx.dim() != 2 or idx.shape[1] == 0:
        raise ValueError(f"idx must be a (b t) tensor with t ≥ 1, got shape {tuple(idx.shape)}")
    was_training = model.training
    model.eval()
    block = model.config.block_size
    cache = None
    for _ in range(max_new_tokens):
        if use_cache and cache is not None and cache.length < block:
            logits, _ = model(idx[:, -1:], cache=cache)  # one token's worth of work
        else:
            context = idx[:, -block:]
            cache = KVCache(model.config.n_layers) if use_cache and context.shape[1] < block else None
            logits, _ = model(context, cache=cache)
        logits = logits[:, -1]  # (b v): the next token's
        if logits_hook is not None:
            logits = logits_hook(logits, idx)
            if logits.shape != (idx.shape[0], model.config.vocab_size):
                raise ValueError(
                    f"logits_hook must return logits of shape (b v) = {(idx.shape[0], model.config.vocab_size)}, "
                    f"got {tuple(logits.shape)}"
                )
        idx = torch.cat([idx, sample_next(logits, temperature, top_k, top_p, generator)], dim=1)
        if stop is not None and bool(stop(idx).all()):
            break
    model.train(was_training)
    return idx


def only_tokens(lo: int, hi: int) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A ``logits_hook`` for :func:`generate` that allows only token ids in [lo, hi), e.g. the
    image codes of a model whose vocabulary holds text tokens and image tokens (DALL·E)."""
    if not 0 <= lo < hi:
        raise ValueError(f"need 0 ≤ lo < hi, got lo={lo}, hi={hi}")

    def hook(logits: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:  # (b v), (b t) → (b v)
        ids = torch.arange(logits.shape[-1], device=logits.device)
        return logits.masked_fill((ids < lo) | (ids >= hi), float("-inf"))

    return hook


def sequence_logprob(model: GPT, idx: torch.Tensor, start: int) -> torch.Tensor:
    """Sum of log p(token | prefix) over positions ≥ ``start`` of ``idx`` (b t) → (b,)."""
    with torch.no_grad():
        logits, _ = model(idx[:, :-1][:, -model.config.block_size :])
    logp = logits.log_softmax(-1)
    targets = idx[:, 1:][:, -logits.shape[1] :]
    token_lp = logp.gather(-1, targets[..., None])[..., 0]
    n_new = idx.shape[1] - start
    return token_lp[:, -n_new:].sum(-1)


def length_penalty(length: int, alpha: float) -> float:
    """GNMT's length penalty lp(Y) = ((5 + |Y|) / 6)^α (Wu et al. 2016, section 7); α = 0 gives 1."""
    return ((5 + length) / 6) ** alpha


def beam_search(
    next_logprobs: Callable[[torch.Tensor], torch.Tensor],
    prompt: torch.Tensor,
    max_new_tokens: int,
    width: int,
    eos: int | None = None,
    alpha: float = 0.0,
) -> tuple[torch.Tensor, float]:
    """The best sequence found by beam search and its total log-probability.

    ``next_logprobs(seqs)`` maps (n t) token ids to (n v) log-probabilities of the next token;
    ``prompt`` is one sequence (t,). Every step expands each of the ``width`` best prefixes by
    every token and keeps the ``width`` best of the results. Width 1 is greedy decoding.

    With an end token ``eos``, a hypothesis that emits it is finished and set aside, and the
    ``width`` best unfinished ones continue. Hypotheses of different lengths then compete, and a
    raw sum of log-probabilities favours the short ones (every token adds a negative term). With
    ``alpha > 0`` the final choice among finished and unfinished hypotheses ranks
    log P(Y) / lp(|Y|) with GNMT's :func:`length_penalty` (Wu et al. 2016, section 7; |Y| counts the
    new tokens, the end token included); α = 0 ranks raw log-probabilities. Without ``eos`` every
    hypothesis has ``max_new_tokens`` tokens and ``alpha`` changes nothing.
    """
    if width < 1:
        raise ValueError(f"beam width must be ≥ 1, got {width}")
    if alpha < 0:
        raise ValueError(f"the length-normalisation exponent alpha must be ≥ 0, got {alpha}")
    seqs = prompt[None, :]  # (n t), n ≤ width
    scores = torch.zeros(1, dtype=torch.float64)
    finished: list[tuple[torch.Tensor, float]] = []
    for _ in range(max_new_tokens):
        logp = next_logprobs(seqs).double()  # (n v)
        v = logp.shape[-1]
        total = (scores[:, None] + logp).reshape(-1)  # every prefix × every next token
        # 2 × width candidates: even if up to width of them end, width unfinished ones remain
        best = torch.topk(total, min(2 * width if eos is not None else width, total.numel())).indices
        parent, token = best // v, best % v
        candidates = torch.cat([seqs[parent], token[:, None]], dim=1)
        keep = []
        for i in range(len(best)):
            if eos is not None and int(token[i]) == eos:
                if i < width:  # only an end among the width best counts as a finished beam
                    finished.append((candidates[i], float(total[best[i]])))
            elif len(keep) < width:
                keep.append(i)
        if not keep:
            break
        seqs, scores = candidates[keep], total[best[keep]]
    hypotheses = finished + [(seqs[i], float(scores[i])) for i in range(len(seqs))]
    n0 = prompt.shape[0]
    return max(hypotheses, key=lambda h: h[1] / length_penalty(h[0].shape[0] - n0, alpha))


def gpt_logprobs(model: GPT) -> Callable[[torch.Tensor], torch.Tensor]:
    """``next_logprobs`` for :func:`beam_search` from a GPT (recomputes each prefix)."""

    @torch.no_grad()
    def fn(seqs: torch.Tensor) -> torch.Tensor:
        logits, _ = model.eval()(seqs[:, -model.config.block_size :])
        return logits[:, -1].log_softmax(-1)

    return fn


def distinct_n(tokens, n: int) -> float:
    """Distinct n-grams / all n-grams in one sequence: 1 means no repetition."""
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0
