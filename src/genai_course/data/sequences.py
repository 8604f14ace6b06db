"""Toy sequence-to-sequence tasks on digit strings: reversal and addition.

Each task is a list of ``(source, target)`` string pairs, e.g. ``("3141", "1413")`` for reversal
or ``("27+5", "32")`` for addition. Everything is deterministic given a seed, and
:func:`train_test_split` guarantees that no held-out *source* string was seen in training, so
exact match on the test set measures generalisation, not memorisation.

Token ids: ``0`` padding, ``1`` begin-of-sequence, ``2`` end-of-sequence, then the characters
of :data:`CHARS`. Tensors follow einops notation: ``src`` (b s), ``tgt_in`` / ``tgt_out`` (b t).
"""

from __future__ import annotations

import numpy as np
import torch

PAD, BOS, EOS = 0, 1, 2
CHARS = "0123456789+"
VOCAB = ["<pad>", "<bos>", "<eos>"] + list(CHARS)
VOCAB_SIZE = len(VOCAB)
_ID = {c: i + 3 for i, c in enumerate(CHARS)}
TASKS = ("reverse", "add")


def encode(text: str) -> list[int]:
    """Characters → token ids (no BOS/EOS)."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    bad = sorted(set(text) - set(_ID))
    if bad:
        raise ValueError(f"text may only contain {CHARS!r}, got {bad}")
    return [_ID[c] for c in text]


def decode(ids) -> str:
    """Token ids → characters, stopping at the first EOS and skipping PAD/BOS."""
    out = []
    for i in ids.tolist() if hasattr(ids, "tolist") else ids:
        if i == EOS:
            break
        if i >= 3:
            out.append(CHARS[i - 3])
    return "".join(out)


def _random_source(task: str, rng: np.random.RandomState, min_len: int, max_len: int) -> str:
    if task == "reverse":
        n = rng.randint(min_len, max_len + 1)
        return "".join(str(d) for d in rng.randint(0, 10, size=n))
    # addition: two numbers with between min_len and max_len digits each (no leading zeros)
    digits = rng.randint(min_len, max_len + 1, size=2)
    a, b = (int(rng.randint(10 ** (k - 1), 10**k)) for k in digits)
    return f"{a}+{b}"


def solve(task: str, source: str) -> str:
    """The correct target for ``source``."""
    if task == "reverse":
        return source[::-1]
    if task == "add":
        a, b = source.split("+")
        return str(int(a) + int(b))
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")


def make_pairs(
    task: str, n: int, min_len: int = 1, max_len: int = 8, seed: int = 0, exclude=frozenset()
) -> list[tuple[str, str]]:
    """``n`` distinct (source, target) pairs whose sources are not in ``exclude``."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if not 1 <= min_len <= max_len:
        raise ValueError(f"need 1 <= min_len <= max_len, got min_len={min_len}, max_len={max_len}")
    if task == "reverse" and n > 10**max_len // 2:
        raise ValueError(f"cannot draw {n} distinct strings of at most {max_len} digits")
    rng = np.random.RandomState(seed)
    seen, pairs = set(exclude), []
    for _ in range(50 * n + 1000):  # a bound, so a too-small space fails loudly instead of looping
        if len(pairs) == n:
            break
        src = _random_source(task, rng, min_len, max_len)
        if src not in seen:
            seen.add(src)
            pairs.append((src, solve(task, src)))
    if len(pairs) < n:
        raise ValueError(f"only {len(pairs)} distinct sources available, asked for {n}")
    return pairs


def train_test_split(
    task: str, n_train: int, n_test: int, min_len: int = 1, max_len: int = 8, seed: int = 0
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Disjoint training and held-out pairs: no test source occurs in the training set."""
    train = make_pairs(task, n_train, min_len, max_len, seed)
    test = make_pairs(task, n_test, min_len, max_len, seed + 1, exclude={s for s, _ in train})
    return train, test


def to_tensors(pairs, device=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pairs → padded ``src`` (b s), ``tgt_in`` = BOS + target (b t), ``tgt_out`` = target + EOS (b t).

    ``tgt_in`` is ``tgt_out`` shifted right by one: teacher forcing feeds the decoder the true
    previous token and asks it for the next one.
    """
    if not pairs:
        raise ValueError("pairs is empty")
    srcs = [encode(s) for s, _ in pairs]
    tgts = [encode(t) for _, t in pairs]
    s_len, t_len = max(map(len, srcs)), max(map(len, tgts)) + 1
    src = torch.full((len(pairs), s_len), PAD, dtype=torch.long)
    tgt_in = torch.full((len(pairs), t_len), PAD, dtype=torch.long)
    tgt_out = torch.full((len(pairs), t_len), PAD, dtype=torch.long)
    for i, (s, t) in enumerate(zip(srcs, tgts, strict=True)):
        src[i, : len(s)] = torch.tensor(s)
        tgt_in[i, : len(t) + 1] = torch.tensor([BOS] + t)
        tgt_out[i, : len(t) + 1] = torch.tensor(t + [EOS])
    return src.to(device), tgt_in.to(device), tgt_out.to(device)


@torch.no_grad()
def exact_match(model, pairs, batch_size: int = 512, device=None) -> float:
    """Fraction of pairs whose greedily decoded output equals the target string exactly."""
    model.eval()
    correct = 0
    for i in range(0, len(pairs), batch_size):
        chunk = pairs[i : i + batch_size]
        src, _, tgt_out = to_tensors(chunk, device)
        pred = model.greedy_decode(src, BOS, tgt_out.shape[1])
        correct += sum(decode(p) == t for p, (_, t) in zip(pred.cpu(), chunk, strict=True))
    return correct / len(pairs)
