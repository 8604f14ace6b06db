r"""Scaling laws in miniature: train language models of several sizes on one budget, fit a power law.

Kaplan et al. (2020) found that a language model's test loss falls as a power of its number
of non-embedding parameters :math:`N` when data and compute are not the bottleneck:

.. math::

    L(N) \approx a \, N^{-\alpha} \quad\Longleftrightarrow\quad \log L = \log a - \alpha \log N ,

a straight line in log-log space. :func:`fit_power_law` fits that line by least squares;
:func:`sweep` trains character-level :class:`~genai_course.nn.transformer.DecoderOnlyLM`
models of several widths for the same number of steps and tokens, and reports their
validation loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .nn.transformer import DecoderOnlyLM, LMConfig
from .utils import progress


@dataclass
class PowerLawFit:
    """``loss ≈ a · n^(-alpha)``; ``r2`` is the coefficient of determination in log-log space."""

    a: float
    alpha: float
    r2: float

    def __call__(self, n):
        return self.a * np.asarray(n, dtype=float) ** (-self.alpha)


def fit_power_law(n, loss) -> PowerLawFit:
    """Least-squares line through (log n, log loss): slope −alpha, intercept log a."""
    n, loss = np.asarray(n, dtype=float), np.asarray(loss, dtype=float)
    if n.ndim != 1 or n.shape != loss.shape:
        raise ValueError(f"n and loss must be 1-D arrays of the same length, got shapes {n.shape} and {loss.shape}")
    if len(n) < 2:
        raise ValueError(f"a power-law fit needs at least 2 points, got {len(n)}")
    if (n <= 0).any() or (loss <= 0).any():
        raise ValueError("n and loss must be positive (they are fitted in log space)")
    x, y = np.log(n), np.log(loss)
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    total = ((y - y.mean()) ** 2).sum()
    r2 = 1.0 - (residual**2).sum() / total if total > 0 else 1.0
    return PowerLawFit(a=float(np.exp(intercept)), alpha=float(-slope), r2=float(r2))


class CharData:
    """A text as character ids, split 90/10 into train and validation; random (b t) windows."""

    def __init__(self, text: str, val_fraction: float = 0.1):
        if not isinstance(text, str) or len(text) < 1000:
            raise ValueError(
                f"text must be a str of at least 1000 characters, got {type(text).__name__} "
                f"of length {len(text) if isinstance(text, str) else 'n/a'}"
            )
        self.chars = sorted(set(text))
        lookup = {c: i for i, c in enumerate(self.chars)}
        ids = torch.tensor([lookup[c] for c in text], dtype=torch.long)
        split = int(len(ids) * (1 - val_fraction))
        self.train, self.val = ids[:split], ids[split:]

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def batch(self, split: str, batch_size: int, context: int, generator: torch.Generator):
        """Inputs (b t) and next-character targets (b t)."""
        data = self.train if split == "train" else self.val
        start = torch.randint(len(data) - context - 1, (batch_size,), generator=generator)
        x = torch.stack([data[s : s + context] for s in start.tolist()])
        y = torch.stack([data[s + 1 : s + context + 1] for s in start.tolist()])
        return x, y


def load_course_chars() -> CharData:
    """The course corpus (``pydoc_data.topics``) as character data."""
    from .data.corpus import load_course_text

    return CharData(load_course_text())


@torch.no_grad()
def evaluate(
    model, data: CharData, batch_size: int, context: int, batches: int, seed: int = 1234, device=None
) -> float:
    """Mean validation cross-entropy (nats per character) over a fixed set of windows."""
    model.eval()
    g = torch.Generator("cpu").manual_seed(seed)
    losses = []
    for _ in range(batches):
        x, y = data.batch("val", batch_size, context, g)
        logits = model(x.to(device))
        losses.append(F.cross_entropy(logits.flatten(0, 1), y.to(device).flatten()).item())
    return float(np.mean(losses))


def train_lm(
    config: LMConfig, data: CharData, steps: int, batch_size: int = 32, lr: float = 3e-3, seed: int = 0, device=None
):
    """Train one model for ``steps`` steps of ``batch_size`` windows; the same data order for every size."""
    torch.manual_seed(seed)
    model = DecoderOnlyLM(config).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.1)
    g = torch.Generator("cpu").manual_seed(seed)  # same batches for every model: only the size differs
    model.train()
    for _ in range(steps):
        x, y = data.batch("train", batch_size, config.max_len, g)
        loss = F.cross_entropy(model(x.to(device)).flatten(0, 1), y.to(device).flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
    return model


def sweep(
    widths,
    data: CharData,
    steps: int,
    n_layers: int = 2,
    n_heads: int = 4,
    context: int = 64,
    batch_size: int = 32,
    lr: float = 3e-3,
    eval_batches: int = 20,
    seed: int = 0,
    device=None,
) -> list[dict]:
    """Train one model per width on the same budget; return rows with width, N, and validation loss."""
    if len(widths) < 2:
        raise ValueError(f"a sweep needs at least 2 widths, got {list(widths)}")
    bad = [d for d in widths if d % n_heads]
    if bad:
        raise ValueError(f"every width must be divisible by n_heads={n_heads}, got {bad}")
    rows = []
    for d in progress(list(widths), desc="sweep"):
        config = LMConfig(vocab_size=data.vocab_size, d_model=d, n_heads=n_heads, n_layers=n_layers, max_len=context)
        model = train_lm(config, data, steps, batch_size, lr, seed, device)
        rows.append(
            {
                "d_model": d,
                "params": model.non_embedding_parameters(),
                "val_loss": evaluate(model, data, batch_size, context, eval_batches, device=device),
            }
        )
    return rows
