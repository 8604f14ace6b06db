r"""Scaling laws in miniature: train language models of several sizes on one budget, fit a power law.

Kaplan et al. (2020) found that a language model's test loss falls as a power of its number
of non-embedding parameters :math:`N` when data and compute are not the bottleneck:

.. math::

    L(N) \approx a \, N^{-\alpha} \quad\Longleftrightarrow\quad \log L = \log a - \alpha \log N ,

a straight line in log-log space. :func:`fit_power_law` fits that line by least squares;
:func:`sweep` trains character-level :class:`~genai_course.gpt.model.GPT` models of several
widths for the same number of steps and tokens with chapter 2's trainer
(:func:`genai_course.gpt.train.train`), and reports their validation loss.

One sweep is one seed: the seed draws the initial weights and the batches, and moves a model's
loss by a few hundredths, as much as the gap between neighbouring sizes. The recipe
``scaling_sweep`` runs notebook 1.4's sweep with several seeds and ships the rows
(:func:`load_scaling_sweep`); the notebook trains a few sizes live and reads the rest from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .checkpoint_io import checkpoint_path, read_record, write_record
from .errors import CheckpointError
from .gpt.model import GPT, GPTConfig
from .gpt.tokenizers import CharTokenizer
from .gpt.train import TrainConfig, get_batch, prepare_data, train
from .gpt.train import evaluate as evaluate_tokens
from .utils import progress

# Notebook 1.4's sweep: six widths, two layers, 250 steps of 32 windows of 64 characters.
SWEEP = dict(widths=(16, 24, 32, 48, 64, 96), steps=250, n_layers=2, context=64, batch_size=32, lr=3e-3)
RECORD_SEEDS = (0, 1, 2)  # the recipe runs the whole sweep once per seed
RECORD_FILE = "scaling_sweep.json"
RECORD_RECIPE = "genai-course recipe scaling_sweep"


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
    """A text as character ids (the GPT's character tokenizer), split 90/10 into train and
    validation as :func:`genai_course.gpt.train.prepare_data` splits it; random (b t) windows."""

    def __init__(self, text: str, val_fraction: float = 0.1):
        if not isinstance(text, str) or len(text) < 1000:
            raise ValueError(
                f"text must be a str of at least 1000 characters, got {type(text).__name__} "
                f"of length {len(text) if isinstance(text, str) else 'n/a'}"
            )
        self.tokenizer = CharTokenizer.train(text)  # the alphabet of the whole text, as nanoGPT
        self.chars = self.tokenizer.chars
        self.train, self.val, _ = prepare_data(text, self.tokenizer, val_fraction)

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    def batch(self, split: str, batch_size: int, context: int, generator: torch.Generator):
        """Inputs (b t) and next-character targets (b t)."""
        return get_batch(self.train if split == "train" else self.val, batch_size, context, generator)


def load_course_chars() -> CharData:
    """The course corpus (``pydoc_data.topics``) as character data."""
    from .data.corpus import load_course_text

    return CharData(load_course_text())


def make_model(d_model: int, vocab_size: int, n_layers: int = 2, n_heads: int = 4, context: int = 64) -> GPT:
    """The sweep's model: chapter 2's GPT (learned positions, pre-norm blocks, tied head), one width."""
    return GPT(GPTConfig(vocab_size, block_size=context, n_layers=n_layers, n_heads=n_heads, d_model=d_model))


def non_embedding_params(model: GPT) -> int:
    """Parameters outside the token and position tables: the N of Kaplan et al.'s scaling laws."""
    return model.num_params(non_embedding=True) - model.wte.weight.numel()


def evaluate(model: GPT, data: CharData, device=None) -> float:
    """Validation cross-entropy (nats per character) over the *whole* validation split."""
    return evaluate_tokens(model, data.val, device=device or "cpu")  # one character per token


def train_lm(
    d_model: int,
    data: CharData,
    steps: int,
    n_layers: int = 2,
    n_heads: int = 4,
    context: int = 64,
    batch_size: int = 32,
    lr: float = 3e-3,
    seed: int = 0,
    device=None,
    history: dict | None = None,
) -> GPT:
    """Train one GPT for ``steps`` steps of ``batch_size`` windows with chapter 2's trainer (AdamW,
    warm-up over the first 10 %, cosine decay to lr/10); the same data order for every size.

    ``history``, when given, is filled with the trainer's record (``train_loss`` per step, in nats
    per character, and ``tokens``), for training curves."""
    torch.manual_seed(seed)
    model = make_model(d_model, data.vocab_size, n_layers, n_heads, context)
    cfg = TrainConfig(
        batch_size=batch_size,
        max_iters=steps,
        lr=lr,
        min_lr=lr / 10,
        warmup_iters=max(1, steps // 10),
        eval_interval=0,  # one evaluation at the end, on the whole validation split
        seed=seed,  # the same batches for every model: only the size differs
    )
    hist = train(model, data.train, data.val, cfg, device=device or "cpu", show_progress=False)
    if history is not None:
        history.update(hist)
    return model.eval()


def flops_per_token(params: int, d_model: int, n_layers: int, context: int) -> int:
    """Training FLOPs per token: 6 N for the weights (Kaplan et al. 2020, C ≈ 6 N D) plus
    12 L d t for the attention scores, which is not small next to 6 N for these narrow models
    (the estimate of :meth:`genai_course.gpt.model.GPT.flops_per_token`, with N non-embedding)."""
    return 6 * params + 12 * n_layers * d_model * context


def sweep(
    widths,
    data: CharData,
    steps: int,
    n_layers: int = 2,
    n_heads: int = 4,
    context: int = 64,
    batch_size: int = 32,
    lr: float = 3e-3,
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
        hist: dict = {}
        model = train_lm(d, data, steps, n_layers, n_heads, context, batch_size, lr, seed, device, history=hist)
        n = non_embedding_params(model)
        rows.append(
            {
                "d_model": d,
                "params": n,
                "val_loss": evaluate(model, data, device),
                "train_loss": hist["train_loss"],  # one value per step: the training curve
                "tokens_per_step": batch_size * context,
                "flops_per_token": flops_per_token(n, d, n_layers, context),
            }
        )
    return rows


def smooth_curve(train_loss, tokens_per_step: int, window: int = 10):
    """Mean loss over consecutive windows of ``window`` steps, placed at each window's middle.

    One step's loss is one batch's: noisy. The mean over a window is far less so, and it stands for
    the loss half-way through the window. Returns (tokens, loss), two 1-D arrays of
    ``len(train_loss) // window`` values; a remainder shorter than ``window`` is dropped."""
    loss = np.asarray(train_loss, dtype=float)
    if loss.ndim != 1 or window < 1 or len(loss) < window:
        raise ValueError(f"train_loss must be 1-D with at least window={window} values, got shape {loss.shape}")
    k = len(loss) // window
    means = loss[: k * window].reshape(k, window).mean(axis=1)
    tokens = (np.arange(k) * window + window / 2) * tokens_per_step
    return tokens, means


def isoflop_profiles(rows, budgets, window: int = 10) -> dict[float, list[dict]]:
    """For each compute budget C: the models whose training curve reaches C, with the loss they
    had at that point (Hoffmann et al. 2022's isoFLOP profiles, read off training curves).

    A model with ``flops_per_token`` f has spent C after D = C / f tokens; its loss there is
    interpolated (in log tokens) on :func:`smooth_curve`. Models whose smoothed curve does not
    cover D (too few tokens trained, or D before the first window) are left out of that budget.
    Returns ``{C: [{"d_model", "params", "tokens", "loss"}, ...]}``, models in the order of ``rows``.
    """
    out = {}
    for budget in budgets:
        if not budget > 0:
            raise ValueError(f"compute budgets must be positive, got {budget}")
        profile = []
        for r in rows:
            tokens, loss = smooth_curve(r["train_loss"], r["tokens_per_step"], window)
            d = budget / r["flops_per_token"]
            if tokens[0] <= d <= tokens[-1]:
                value = float(np.interp(np.log(d), np.log(tokens), loss))
                profile.append({"d_model": r["d_model"], "params": r["params"], "tokens": d, "loss": value})
        out[budget] = profile
    return out


def make_scaling_sweep(device=None) -> dict:
    """The recipe ``scaling_sweep``: :data:`SWEEP` once with each seed of :data:`RECORD_SEEDS`, on one thread.

    Training curves are kept to 4 decimals (a few kB per run); everything else as :func:`sweep` returns it.
    """
    torch.set_num_threads(1)
    data = load_course_chars()
    runs = {}
    for seed in RECORD_SEEDS:
        rows = sweep(
            SWEEP["widths"], data, seed=seed, device=device, **{k: v for k, v in SWEEP.items() if k != "widths"}
        )
        runs[str(seed)] = [row | {"train_loss": [round(x, 4) for x in row["train_loss"]]} for row in rows]
    return write_record(checkpoint_path(RECORD_FILE), RECORD_RECIPE, **SWEEP, seeds=list(RECORD_SEEDS), runs=runs)


def load_scaling_sweep() -> dict:
    """The shipped record: ``runs[seed]`` is a list of :func:`sweep` rows, one per width of :data:`SWEEP`."""
    path = checkpoint_path(RECORD_FILE)
    record = read_record(path, RECORD_RECIPE)
    widths = list(SWEEP["widths"])
    runs = record.get("runs") if isinstance(record, dict) else None

    def one_row_per_width(rows) -> bool:
        return isinstance(rows, list) and [r.get("d_model") if isinstance(r, dict) else None for r in rows] == widths

    if not isinstance(runs, dict) or "0" not in runs or not all(map(one_row_per_width, runs.values())):
        raise CheckpointError(
            f"{path} does not hold one row per width {widths} for each seed; remake it with `{RECORD_RECIPE}`"
        )
    return record
