"""Notebook 1.2's test of positional encodings: a task that needs word order, and a classifier for it.

The task: each input is ``t`` random digits; the label says whether some digit equals its left
neighbour. Without positions an attention model sees only the multiset of digits, which is a clue
(many duplicates make a repeat likely) but not the answer. With positions it can compare neighbours.

How soon a run learns to compare neighbours, and whether it gets to 100 %, depends on the seed, so
one run per encoding cannot rank the encodings. The recipe ``positions_seeds`` trains
every encoding with several seeds for longer and ships the accuracy curves; the notebook trains a
few runs live and reads the rest from that record.
"""

from __future__ import annotations

import torch
from torch import nn

from .checkpoint_io import checkpoint_path, read_record, write_record
from .nn.attention import MultiHeadAttention
from .nn.positional import LearnedPositions, SinusoidalPositions
from .nn.transformer import FeedForward
from .utils import progress

POSITIONS = ("none", "sinusoidal", "learned", "rope")
TRAIN = dict(batch=128, lr=3e-3, every=100)  # the notebook's settings; every: steps between test evaluations
RECORD = dict(seeds=(0, 1, 2), steps=4000)  # the recipe's runs: every encoding with each seed
RECORD_FILE = "positions_seeds.json"
RECORD_RECIPE = "genai-course recipe positions_seeds"


def repeat_task(n: int, t: int = 8, vocab: int = 10, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` sequences of ``t`` random digits (b t) and their labels (b): 1 if some digit equals its left neighbour.

    A sequence has such a repeat with probability ``1 - (1 - 1/vocab)^(t-1)``: 0.52 for 8 digits.
    """
    g = torch.Generator("cpu").manual_seed(seed)
    x = torch.randint(0, vocab, (n, t), generator=g)
    return x, (x[:, 1:] == x[:, :-1]).any(dim=1).long()


def task_data() -> dict[str, torch.Tensor]:
    """The notebook's fixed data: 8,192 training and 2,048 test sequences of 8 digits."""
    x_train, y_train = repeat_task(8192, seed=1)
    x_test, y_test = repeat_task(2048, seed=2)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


class OrderClassifier(nn.Module):
    """Embed → (positions) → 2 pre-norm attention blocks → mean-pool → 2 classes.

    ``positions`` is how word order enters: ``"none"``, ``"sinusoidal"`` or ``"learned"`` (added to
    the token embeddings), or ``"rope"`` (queries and keys rotated inside attention).
    """

    def __init__(self, positions: str, d: int = 32, vocab: int = 10, t: int = 8, n_heads: int = 4):
        super().__init__()
        if positions not in POSITIONS:
            raise ValueError(f"positions must be one of {POSITIONS}, got {positions!r}")
        self.embed = nn.Embedding(vocab, d)
        added = {"sinusoidal": SinusoidalPositions, "learned": LearnedPositions}.get(positions)
        self.pos = added(t, d) if added else nn.Identity()
        rotary = positions == "rope"
        self.attn = nn.ModuleList(MultiHeadAttention(d, n_heads, rotary=rotary) for _ in range(2))
        self.ff = nn.ModuleList(FeedForward(d, 4 * d) for _ in range(2))
        self.attn_norms = nn.ModuleList(nn.LayerNorm(d) for _ in range(2))
        self.ff_norms = nn.ModuleList(nn.LayerNorm(d) for _ in range(2))
        self.head = nn.Linear(d, 2)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (b t) → logits (b 2)."""
        h = self.pos(self.embed(tokens))  # (b t d)
        for attn, ff, attn_norm, ff_norm in zip(self.attn, self.ff, self.attn_norms, self.ff_norms, strict=True):
            h = h + attn(attn_norm(h))
            h = h + ff(ff_norm(h))
        return self.head(h.mean(dim=1))  # mean over positions: the order can only matter through h


def train_order_classifier(
    positions: str,
    steps: int = 1500,
    seed: int = 0,
    data: dict | None = None,
    batch: int = TRAIN["batch"],
    lr: float = TRAIN["lr"],
    every: int = TRAIN["every"],
    device=None,
) -> list[float]:
    """Train one :class:`OrderClassifier` → its test accuracy after every ``every`` steps.

    The last entry is the final accuracy. ``seed`` seeds torch's global generator, which draws the
    initial weights and the batches.
    """
    data = task_data() if data is None else data
    torch.manual_seed(seed)
    model = OrderClassifier(positions).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    x_test, y_test = data["x_test"].to(device), data["y_test"].to(device)
    curve = []
    for step in progress(range(1, steps + 1), desc=positions):
        idx = torch.randint(0, len(data["x_train"]), (batch,))
        x, y = data["x_train"][idx].to(device), data["y_train"][idx].to(device)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % every == 0:
            with torch.no_grad():
                curve.append((model(x_test).argmax(-1) == y_test).float().mean().item())
    return curve


def make_positions_seeds(device=None) -> dict:
    """The recipe ``positions_seeds``: every encoding with each seed of :data:`RECORD`, on one thread."""
    torch.set_num_threads(1)
    data = task_data()
    curves = {
        p: {
            str(s): [round(a, 4) for a in train_order_classifier(p, RECORD["steps"], s, data, device=device)]
            for s in RECORD["seeds"]
        }
        for p in POSITIONS
    }
    return write_record(checkpoint_path(RECORD_FILE), RECORD_RECIPE, **TRAIN, **RECORD, curves=curves)


def load_positions_seeds() -> dict:
    """The shipped record: ``curves[positions][seed]`` is a test-accuracy curve, one value every ``every`` steps."""
    return read_record(checkpoint_path(RECORD_FILE), RECORD_RECIPE)
