"""Training CLIP: random batches of (image, caption) pairs and the symmetric contrastive loss.

The paper's recipe at the scale of a CPU (Radford et al., 2021, §2.5 and Appendix F): AdamW with
decoupled weight decay on the weight matrices only (not on gains, biases or the temperature),
a linear warm-up then cosine decay of the learning rate, and the largest batch that fits. The
batch size matters more here than in most losses: each pair's negatives are the rest of its batch,
so a batch of 256 asks every image to pick its caption among 256 (CLIP used 32,768).

False negatives. The scene grammar has only 315 captions, and the training split's ~280 of them
fill a batch of 256 with repeats: two pictures of "a red circle" in one batch are both right
for that caption, yet the loss counts each as a wrong answer for the other's caption. The loss
cannot push two identical captions apart, so it settles at a floor above zero; compatible captions
("a red circle" and "a small red circle on the left") pull the same way, only less. CLIP's loss
ignores this as well: among 400 million web captions it is rare, here it is the rule. Batches are
drawn without replacement, so at least no pair is its own negative.
"""

from __future__ import annotations

import math

import torch

from ..shape_check import expect_shape
from .loss import contrastive_loss
from .model import CLIP


def parameter_groups(model: CLIP, weight_decay: float) -> list[dict]:
    """AdamW groups: weight decay for matrices and convolution kernels, none for gains, biases and t."""
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and n != "logit_scale"]
    rest = [p for n, p in model.named_parameters() if p.dim() < 2 or n == "logit_scale"]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def train_clip(
    model: CLIP,
    images: torch.Tensor,
    tokens: torch.Tensor,
    steps: int,
    batch_size: int = 256,
    lr: float = 2e-3,
    seed: int = 0,
    device="cpu",
    progress=None,
    weight_decay: float = 0.1,
    warmup: float = 0.05,
) -> dict[str, list[float]]:
    """AdamW on random batches of pairs (images (n 3 32 32) in [0, 1], tokens (n s)), warm-up then cosine.

    Batches come from a CPU generator seeded with ``seed``, so a run is reproducible on any device.
    Returns the per-step history ``{"loss", "scale"}`` (scale = exp(t), the logits' multiplier);
    the model ends in eval mode.
    """
    from ..optim import clipped_step, warmup_cosine

    dims = expect_shape(images, "n c h w", c=3, name="images")
    expect_shape(tokens, "n s", n=dims["n"], name="tokens")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if not isinstance(batch_size, int) or not 2 <= batch_size <= dims["n"]:
        raise ValueError(
            f"batch_size must be an int in [2, n = {dims['n']}] (a pair needs negatives), got {batch_size!r}"
        )
    gen = torch.Generator("cpu").manual_seed(seed)
    model.to(device).train()
    opt = torch.optim.AdamW(parameter_groups(model, weight_decay), lr=lr, betas=(0.9, 0.98), eps=1e-6)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine((s + 1) / steps, warmup))
    history: dict[str, list[float]] = {"loss": [], "scale": []}
    it = range(steps)
    for _ in progress(it) if progress else it:
        idx = torch.randperm(dims["n"], generator=gen)[:batch_size]  # without replacement
        image_emb = model.encode_image(images[idx].to(device))  # (b e), unit norm
        text_emb = model.encode_text(tokens[idx].to(device))  # (b e), unit norm
        loss = contrastive_loss(image_emb, text_emb, model.scale())
        clipped_step(opt, loss, max_norm=1.0)
        sched.step()
        history["loss"].append(loss.item())
        history["scale"].append(float(model.scale().detach()))
    model.eval()
    return history


def duplicate_floor(captions: list[str]) -> float:
    """The lowest contrastive loss a batch with these captions allows: the mean of log m over its
    pairs, m the number of times the pair's caption occurs in the batch.

    Identical captions have identical embeddings, so an image's m copies of its caption get equal
    logits and the right one gets at most 1/m of the softmax (image → text: −log p ≥ log m); the
    m columns of those captions are identical too, so their m right images share one softmax
    (text → image: the mean of −log p is ≥ log m). Captions are compared after
    :func:`~genai_course.data.scene_prompts.tokenize`, so "one" and "a" count as the same word.
    """
    from collections import Counter

    from ..data.scene_prompts import tokenize

    if isinstance(captions, str) or not isinstance(captions, (list, tuple)) or not captions:
        raise ValueError("captions must be a non-empty list of strings")
    rows = [tuple(row) for row in tokenize(list(captions)).tolist()]
    counts = Counter(rows)
    return sum(math.log(counts[r]) for r in rows) / len(rows)
