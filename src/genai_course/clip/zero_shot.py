r"""Zero-shot classification and retrieval with CLIP (Radford et al., 2021, §3.1).

A trained CLIP classifies without a classifier: write each class as a caption, encode the
captions once, and give an image the class whose caption embedding is nearest::

    w_k = T(caption of class k)         (k e), unit vectors: the "weights" of a linear classifier
    ŷ   = argmax_k  I(image) · w_k

Prompt ensembling (§3.1.4): with several captions per class ("a red circle", "a small red
circle", "a red circle on the left", ...), average their *normalised* embeddings and normalise
the mean again; the paper gains almost 5 points on ImageNet from 80 templates.

:func:`zero_shot_task` builds this chapter's test: single-object scenes of all 15 colour–shape
pairs, and separately the held-out ones (purple triangles, small yellow squares), which no
training image shows. They are drawn from the grammar by
:func:`~genai_course.data.scene_prompts.scene_for_prompt` with their own seed, never taken
from the training data. :func:`recall_at_k` measures retrieval, with the right partner of
item i at index i.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..data.scene_prompts import COLOURS, POSITION_PHRASES, SHAPES, SIZES, PromptSpec, is_held_out, scene_for_prompt
from ..shape_check import expect_shape

CLASSES: tuple[tuple[str, str], ...] = tuple((c, s) for c in COLOURS for s in SHAPES)  # 15 (colour, shape)
# Templates drawn from the grammar. "one {c} {s}" is left out: tokenize() renders prompts
# canonically, so it is the same tokens as "a {c} {s}" and would only count that template twice.
TEMPLATES = (
    "a {c} {s}",
    *(f"a {size} {{c}} {{s}}" for size in SIZES),
    *(f"a {{c}} {{s}} {phrase}" for phrase in POSITION_PHRASES.values()),
)


def class_prompts(templates=TEMPLATES, classes=CLASSES) -> list[list[str]]:
    """The captions of each class: ``[[template.format(c=colour, s=shape) for template in templates], ...]``."""
    return [[t.format(c=c, s=s) for t in templates] for c, s in classes]


@torch.no_grad()
def class_embeddings(model, classes: list[list[str]]) -> torch.Tensor:
    """One unit vector per class (k e) from its captions: a single caption's embedding, or the
    renormalised mean of several captions' normalised embeddings (prompt ensembling)."""
    if isinstance(classes, str) or not isinstance(classes, (list, tuple)) or not classes:
        raise ValueError("classes must be a non-empty list with a list of prompts per class")
    for i, prompts in enumerate(classes):
        if isinstance(prompts, str) or not isinstance(prompts, (list, tuple)) or not prompts:
            raise ValueError(
                f"class {i} must be a non-empty list of prompts (wrap one prompt as [prompt]), got {prompts!r}"
            )
    flat = [p for prompts in classes for p in prompts]
    emb = model.encode_prompts(flat)  # (Σ n_k, e), unit vectors
    out, start = [], 0
    for prompts in classes:
        out.append(emb[start : start + len(prompts)].mean(0))  # the mean of unit vectors is shorter than 1 ...
        start += len(prompts)
    return F.normalize(torch.stack(out), dim=-1)  # ... so normalise again; (k e)


@torch.no_grad()
def zero_shot_predict(model, images: torch.Tensor, class_embeddings: torch.Tensor) -> torch.Tensor:
    """images (b 3 32 32) in [0, 1], class embeddings (k e) → the predicted class of each image (b,) int64."""
    expect_shape(class_embeddings, "k e", name="class_embeddings")
    image_emb = model.encode_image(images.to(class_embeddings.device))  # (b e)
    return (image_emb @ class_embeddings.T).argmax(dim=1)  # (b k) → (b,)


def recall_at_k(image_emb: torch.Tensor, text_emb: torch.Tensor, ks=(1, 5), direction: str = "text_to_image") -> dict:
    """Retrieval recall@k of n pairs (image_emb, text_emb: (n e), pair i in row i of both).

    ``direction="text_to_image"``: each caption ranks the n images, a hit when its own image is
    among the top k; ``"image_to_text"``: each image ranks the n captions. Returns
    ``{"recall@1": ..., "recall@5": ...}`` (fractions). The rank of the right partner is the number
    of candidates strictly more similar, so a tie counts in its favour: with repeated captions,
    retrieving an identical copy of the right caption is a hit.
    """
    dims = expect_shape(image_emb, "n e", name="image_emb")
    expect_shape(text_emb, "n e", name="text_emb", **dims)
    if direction not in ("text_to_image", "image_to_text"):
        raise ValueError(f"direction must be 'text_to_image' or 'image_to_text', got {direction!r}")
    if isinstance(ks, int):
        ks = (ks,)
    if not all(isinstance(k, int) and k >= 1 for k in ks):
        raise ValueError(f"ks must be positive ints, got {ks!r}")
    sim = image_emb.float() @ text_emb.float().T  # (n n): sim[i, j] = image i · caption j
    if direction == "text_to_image":
        sim = sim.T  # row i: caption i against every image
    right = sim.diagonal().unsqueeze(1)  # (n 1)
    rank = (sim > right).sum(dim=1)  # (n,): how many candidates beat the right one
    return {f"recall@{k}": float((rank < k).float().mean()) for k in ks}


def zero_shot_task(n_per_class: int = 40, seed: int = 0, size: int = 32) -> dict:
    """Single-object scenes for zero-shot colour–shape classification (15 classes, :data:`CLASSES`).

    Returns ``{"classes", "seen", "heldout", "purple_triangle", "small_yellow_square"}``: each but
    the first is ``(images (n 3 size size) in [0, 1], labels (n,) int64)``. ``seen`` holds
    ``n_per_class`` scenes of every pair a training image can show (14 pairs; yellow squares only
    large); ``heldout`` the held-out combinations, ``n_per_class`` purple triangles (any size) and
    ``n_per_class`` small yellow squares, also given apart. Size and position are drawn at random
    (a position left open puts the object anywhere).
    """
    if not isinstance(n_per_class, int) or n_per_class < 1:
        raise ValueError(f"n_per_class must be a positive int, got {n_per_class!r}")
    rng = np.random.RandomState(seed)
    positions = (None, *POSITION_PHRASES)

    def scenes(colour: str, shape: str, sizes) -> tuple[torch.Tensor, torch.Tensor]:
        images = []
        for _ in range(n_per_class):
            size_word = sizes[rng.randint(len(sizes))]
            position = positions[rng.randint(len(positions))]
            images.append(scene_for_prompt(PromptSpec(colour, shape, size_word, position), rng, size).image)
        label = CLASSES.index((colour, shape))
        return torch.stack(images), torch.full((n_per_class,), label, dtype=torch.long)

    seen, held = [], {}
    for colour, shape in CLASSES:
        sizes = [s for s in SIZES if not is_held_out(PromptSpec(colour, shape, s))]
        if sizes:
            seen.append(scenes(colour, shape, sizes))
    held["purple_triangle"] = scenes("purple", "triangle", SIZES)
    held["small_yellow_square"] = scenes("yellow", "square", ("small",))

    def cat(parts):
        return torch.cat([x for x, _ in parts]), torch.cat([y for _, y in parts])

    return {"classes": list(CLASSES), "seen": cat(seen), "heldout": cat(list(held.values())), **held}
