"""From a HumanEval-style prompt to function bodies: sample, stop at the function's end, rank.

A prompt is a signature and a docstring; a *completion* is the body that follows, so that
``prompt + completion + tests`` is a program. Three details decide whether a completion runs:

- **Token healing.** The prompt ends in ``\\n``, but the code tokenizer learned ``\\n`` *together
  with the indentation after it* (``"\\n    "``) as one token, so a prompt that ends in a bare
  ``\\n`` token is one the model has almost never seen. We drop the trailing whitespace from the
  prompt, let the model write it back, and cut the prompt's own text off the front afterwards.
- **Where the function ends.** A sampled body goes on into whatever the model writes next (a
  second function, a test, a stray ``print``), which can break an otherwise correct program.
  Codex stopped at ``\\nclass``, ``\\ndef``, ``\\n#``, ``\\nif`` and ``\\nprint``
  (:data:`STOP_SEQUENCES`; Chen et al. 2021, section 3.3); :func:`function_end` uses the rule
  those strings approximate: the body ends at the first non-blank line indented no deeper than
  the ``def``. Generation stops as soon as every sample has ended, which also saves time.
- **Ranking.** :func:`mean_logprob` scores a completion by the mean log-probability of its
  tokens, the ranking heuristic that beat a random pick in the paper (section 3.5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STOP_SEQUENCES = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")  # Chen et al. 2021, section 3.3
_DEF_LINE = re.compile(r"^([ \t]*)(?:async\s+)?def\s", re.MULTILINE)


def def_indent(prompt: str) -> int:
    """Indentation (columns) of the prompt's last ``def``: the body must be indented deeper."""
    found = _DEF_LINE.findall(prompt)
    return len(found[-1].expandtabs(4)) if found else 0


def function_end(completion: str, indent: int = 0) -> int | None:
    """Where the body in ``completion`` ends: the offset of the first non-blank line whose first
    character sits at column ≤ ``indent``; None while the function is still open.

    A line is judged as soon as it has one non-blank character, so a half-generated ``de`` at
    column 0 already ends the function (nothing indented can follow it on that line).
    """
    offset = 0
    for line in completion.split("\n"):
        stripped = line.lstrip(" \t")
        if stripped and len(line[: len(line) - len(stripped)].expandtabs(4)) <= indent:
            return offset
        offset += len(line) + 1
    return None


def truncate_at_function_end(completion: str, indent: int = 0) -> str:
    """The body only: ``completion`` up to :func:`function_end` (all of it while still open)."""
    end = function_end(completion, indent)
    return completion if end is None else completion[:end]


def truncate_at_stop_sequences(completion: str, stops=STOP_SEQUENCES) -> str:
    """Codex's rule: cut at the first of the stop sequences."""
    cut = min((i for i in (completion.find(s) for s in stops) if i >= 0), default=len(completion))
    return completion[:cut]


@dataclass
class Sample:
    """One sampled completion: ``text`` cut at the function's end, ``raw`` as generated."""

    text: str
    raw: str
    n_tokens: int


def sample_completions(
    model,
    tokenizer,
    prompt: str,
    n: int = 1,
    temperature: float = 0.2,
    top_p: float | None = 0.95,
    max_new_tokens: int = 256,
    seed: int = 0,
    stop_at_function_end: bool = True,
    batch_size: int = 50,
) -> list[Sample]:
    """``n`` completions of ``prompt``; ``temperature=0`` is greedy (all ``n`` equal).

    With ``stop_at_function_end`` generation stops once every sample's function has ended and
    ``text`` is cut there; without it, every sample runs to ``max_new_tokens`` and ``text`` is
    the raw continuation (the "no stop sequence" baseline).
    """
    import torch

    from ..gpt.sampling import generate

    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("prompt must be a non-empty string: a signature and a docstring")
    if n < 1 or max_new_tokens < 1:
        raise ValueError(f"n and max_new_tokens must be ≥ 1, got n={n}, max_new_tokens={max_new_tokens}")
    if temperature < 0 or (top_p is not None and not 0 < top_p <= 1):
        raise ValueError(f"need temperature ≥ 0 and 0 < top_p ≤ 1, got {temperature}, {top_p}")
    device = next(model.parameters()).device
    head = prompt.rstrip()  # token healing: the model writes the newline and indentation itself
    indent = def_indent(prompt)
    head_ids = tokenizer.encode(head)
    generator = torch.Generator(device=device).manual_seed(seed)

    def continuation(row: list[int]) -> str:
        """The text after the original prompt (or, if the model did not write the prompt's
        trailing whitespace back, everything it wrote)."""
        full = head + tokenizer.decode(row)
        return full[len(prompt) :] if full.startswith(prompt) else full[len(head) :]

    def finished(idx: torch.Tensor) -> torch.Tensor:  # (b t) → (b,)
        new = idx[:, len(head_ids) :].tolist()
        return torch.tensor([function_end(continuation(row), indent) is not None for row in new])

    samples: list[Sample] = []
    for start in range(0, n, batch_size):
        b = min(batch_size, n - start)
        idx = torch.tensor([head_ids] * b, dtype=torch.long, device=device)
        out = generate(
            model,
            idx,
            max_new_tokens,
            temperature=temperature,
            top_p=top_p if temperature > 0 else None,
            generator=generator,
            stop=finished if stop_at_function_end else None,
        )
        for row in out[:, len(head_ids) :].tolist():
            raw = continuation(row)
            text = truncate_at_function_end(raw, indent) if stop_at_function_end else raw
            samples.append(Sample(text=text, raw=raw, n_tokens=len(row)))
    return samples


def mean_logprob(model, tokenizer, prompt: str, completions: list[str]) -> list[float]:
    """Mean log-probability per token of each completion given the prompt (higher = more confident).

    Each completion is re-encoded as ``tokenizer.encode(prompt + completion)`` and only the
    tokens after the prompt's are scored, so every candidate is judged under the same
    tokenization, however it was sampled.
    """
    import torch

    device = next(model.parameters()).device
    block = model.config.block_size
    head_ids = tokenizer.encode(prompt.rstrip())
    scores = []
    model.eval()
    with torch.no_grad():
        for completion in completions:
            ids = tokenizer.encode(prompt + completion)
            n_prompt = 0  # the joint encoding may merge a token across the boundary: score from there
            while n_prompt < min(len(ids), len(head_ids)) and ids[n_prompt] == head_ids[n_prompt]:
                n_prompt += 1
            n_completion = len(ids) - n_prompt
            ids = ids[-(block + 1) :]  # the window the model can see
            n_new = min(len(ids) - 1, n_completion)
            if n_new <= 0:
                scores.append(float("-inf"))
                continue
            x = torch.tensor([ids[:-1]], device=device)
            logp = model(x)[0][0].log_softmax(-1)  # (t v)
            targets = torch.tensor(ids[1:], device=device)
            token_lp = logp.gather(-1, targets[:, None])[:, 0]
            scores.append(token_lp[-n_new:].mean().item())
    return scores
