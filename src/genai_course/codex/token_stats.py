"""Measuring a tokenizer and a model on code: tokens per line, and where the loss goes.

:func:`token_kind` sorts a token by what it holds, so the per-token loss of a code model can be
split into indentation, names, punctuation and so on (:func:`loss_by_kind`, or :func:`group_by_kind` for losses already computed): which parts of a
program does the model find easy, and where do its nats go?
"""

from __future__ import annotations

import keyword
from collections import defaultdict

KINDS = ("newline+indent", "space", "keyword", "name", "number", "punctuation", "mixed")


def tokens_per_line(tokenizer, text: str) -> float:
    """Mean tokens per line of ``text`` (lines as ``str.splitlines`` counts them)."""
    lines = text.count("\n") + (not text.endswith("\n"))
    return len(tokenizer.encode(text)) / max(1, lines)


def token_kind(piece: str) -> str:
    """The kind of one token's text: ``"newline+indent"`` (a newline with or without the
    indentation after it), ``"space"``, ``"keyword"``, ``"name"``, ``"number"``, ``"punctuation"``
    or ``"mixed"`` (anything else, such as ``"):"`` followed by a name, or a partial character)."""
    core = piece.strip(" ")
    if piece and not piece.strip(" \t") and "\n" not in piece:
        return "space"
    if "\n" in piece and not piece.strip():
        return "newline+indent"
    if core and (core.isidentifier() or core.replace("_", "a").isalnum() and not core[0].isdigit()):
        return "keyword" if keyword.iskeyword(core) or keyword.issoftkeyword(core) else "name"
    if core.isdigit():
        return "number"
    if core and not any(ch.isalnum() or ch == "_" or ch.isspace() for ch in core):
        return "punctuation"
    return "mixed"


def loss_by_kind(model, tokenizer, ids, device="cpu", batch_size: int = 32) -> dict[str, dict[str, float]]:
    """Per-token loss (nats) of ``model`` on ``ids`` (t,), in consecutive windows of the context
    length, grouped by :func:`token_kind` of the *predicted* token →
    ``{kind: {"tokens": share of tokens, "loss": mean nats, "share_of_loss": share of all nats}}``.

    Already have the per-token losses (:func:`genai_course.gpt.train.token_losses`)? Group them
    with :func:`group_by_kind` instead of running the model again."""
    from ..gpt.train import token_losses

    return group_by_kind(tokenizer, *token_losses(model, ids, batch_size, device))


def group_by_kind(tokenizer, targets, nats) -> dict[str, dict[str, float]]:
    """:func:`loss_by_kind` from per-token losses: ``targets`` (n,) are the predicted token ids and
    ``nats`` (n,) the loss of predicting each one."""
    if len(targets) != len(nats):
        raise ValueError(f"targets and nats must have the same length, got {len(targets)} and {len(nats)}")
    kinds = [token_kind(tokenizer.decode([i])) for i in range(tokenizer.vocab_size)]
    total, count = defaultdict(float), defaultdict(int)
    for target, value in zip(targets.tolist(), nats.tolist(), strict=True):
        total[kinds[target]] += value
        count[kinds[target]] += 1
    all_nats, all_tokens = sum(total.values()), len(nats)
    return {
        k: {"tokens": count[k] / all_tokens, "loss": total[k] / count[k], "share_of_loss": total[k] / all_nats}
        for k in KINDS
        if count[k]
    }
