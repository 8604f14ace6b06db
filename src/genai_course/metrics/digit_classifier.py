"""A small CNN that classifies 16×16 digits: the course's measuring stick for generated digits.

It gives three numbers for a batch of generated images: the fraction classified with high
confidence (do they look like *some* digit?), the accuracy against the class we asked for
(conditional models), and — through its penultimate layer — features for a Fréchet
distance (:mod:`genai_course.metrics.fid`). It is trained once on the training split of
:func:`genai_course.data.digits.load_digits_tensor` with small random shifts, and shipped as
``checkpoints/digit_classifier.pt`` (its test accuracy is recorded in the ``.json``).

Remake it with ``genai-course recipe digit_classifier`` (about a minute on a CPU).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genai_course.checkpoint_io import build_model, checkpoint_path, load_state, recipe_command, save_state

FORMAT = "genai_course.digit_classifier/1"
CHECKPOINT = "digit_classifier.pt"
RECIPE = recipe_command("digit_classifier")


@dataclass
class DigitClassifierConfig:
    size: int = 16
    channels: int = 32
    feature_dim: int = 64
    n_classes: int = 10


class DigitClassifier(nn.Module):
    """(b 1 16 16) in [-1, 1] → logits (b 10); :meth:`features` gives the (b 64) penultimate layer."""

    def __init__(self, config: DigitClassifierConfig | None = None):
        super().__init__()
        self.config = config = config or DigitClassifierConfig()
        c = config.channels
        self.body = nn.Sequential(
            nn.Conv2d(1, c, 3, padding=1),
            nn.GELU(),
            nn.Conv2d(c, c, 3, padding=1),
            nn.GELU(),
            nn.MaxPool2d(2),  # 16 → 8
            nn.Conv2d(c, 2 * c, 3, padding=1),
            nn.GELU(),
            nn.MaxPool2d(2),  # 8 → 4
            nn.Flatten(),
            nn.Linear(2 * c * (config.size // 4) ** 2, config.feature_dim),
            nn.GELU(),
        )
        self.head = nn.Linear(config.feature_dim, config.n_classes)

    def _check(self, x: torch.Tensor) -> None:
        s = self.config.size
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or tuple(x.shape[1:]) != (1, s, s):
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"expected images of shape (b 1 {s} {s}) in [-1, 1], got {got}")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random shifts of up to one pixel, so the classifier does not rely on exact placement."""
    pad = F.pad(x, (1, 1, 1, 1), value=-1.0)
    dx, dy = torch.randint(0, 3, (2,), generator=gen).tolist()
    return pad[:, :, dy : dy + x.shape[2], dx : dx + x.shape[3]]


def train_digit_classifier(steps: int = 1500, batch_size: int = 128, lr: float = 2e-3, seed: int = 0):
    """Train on the training split; returns ``(model, test_accuracy)``."""
    from genai_course.data.digits import load_digits_tensor

    torch.manual_seed(seed)
    gen = torch.Generator("cpu").manual_seed(seed)
    x, y = load_digits_tensor(16, "train", seed=0)
    model = DigitClassifier()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(x), (batch_size,), generator=gen)
        loss = F.cross_entropy(model(_augment(x[idx], gen)), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    return model, heldout_accuracy(model)


@torch.no_grad()
def heldout_accuracy(model: DigitClassifier) -> float:
    from genai_course.data.digits import load_digits_tensor

    x, y = load_digits_tensor(16, "test", seed=0)
    return (model(x.to(next(model.parameters()).device)).argmax(-1).cpu() == y).float().mean().item()


def load_digit_classifier(device=None) -> DigitClassifier:
    """The shipped, trained classifier in eval mode (frozen)."""
    path = checkpoint_path(CHECKPOINT)
    config, state = load_state(path, FORMAT, RECIPE)
    model = build_model(path, lambda c: DigitClassifier(DigitClassifierConfig(**c)), config, state, RECIPE)
    model.eval().requires_grad_(False)
    return model.to(device) if device is not None else model


@torch.no_grad()
def classify(images: torch.Tensor, model: DigitClassifier | None = None, batch_size: int = 512) -> torch.Tensor:
    """Class probabilities (b 10) for images (b 1 16 16) in [-1, 1]."""
    model = model or load_digit_classifier()
    dev = next(model.parameters()).device
    out = [model(images[i : i + batch_size].to(dev)).softmax(-1).cpu() for i in range(0, len(images), batch_size)]
    return torch.cat(out)


def confident_fraction(images: torch.Tensor, threshold: float = 0.9, model: DigitClassifier | None = None) -> float:
    """Fraction of images the classifier assigns to one class with probability ≥ ``threshold``."""
    return (classify(images, model).max(-1).values >= threshold).float().mean().item()


def class_accuracy(images: torch.Tensor, labels: torch.Tensor, model: DigitClassifier | None = None) -> float:
    """Fraction of images classified as the class they were generated for."""
    return (classify(images, model).argmax(-1) == labels.cpu()).float().mean().item()


def make_digit_classifier() -> dict:
    """The recipe ``digit_classifier``: train with the default settings, write the shipped file and its metrics."""
    model, acc = train_digit_classifier()
    path = checkpoint_path(CHECKPOINT)
    metrics = {"test_accuracy": round(acc, 4)}
    save_state(path, FORMAT, asdict(model.config), model.state_dict(), metrics)
    print(f"wrote {path} (test accuracy {acc:.4f})")
    return metrics
