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

from ..data.scene_prompts import (
    COLOURS,
    COUNTS,
    POSITION_PHRASES,
    SHAPES,
    SIZES,
    PromptSpec,
    is_held_out,
    scene_for_prompt,
)
from ..shape_check import expect_shape

CLASSES: tuple[tuple[str, str], ...] = tuple((c, s) for c in COLOURS for s in SHAPES)  # 15 (colour, shape)
# Templates drawn from the grammar. "one {c} {s}" is left out: tokenize() renders prompts
# canonically, so it is the same tokens as "a {c} {s}" and would only count that template twice.
TEMPLATES = (
    "a {c} {s}",
    *(f"a {size} {{c}} {{s}}" for size in SIZES),
    *(f"a {{c}} {{s}} {phrase}" for phrase in POSITION_PHRASES.values()),
)
# Captions of two or three objects, for scenes that show several ("two red circles"): every
# shape's plural is the shape + "s" (:data:`~genai_course.data.scene_prompts.PLURALS`).
PLURAL_TEMPLATES = tuple(
    f"{count} {size}{{c}} {{s}}s" for count in ("two", "three") for size in ("", *(f"{z} " for z in SIZES))
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


def multi_object_task(n_per_class: int = 30, seed: int = 0, counts=(2, 3), size: int = 32) -> dict:
    """Scenes of two or three objects of one colour, shape and size, for zero-shot colour–shape
    classification (15 classes, :data:`CLASSES`), split by whether the grammar holds them out.

    Returns ``{"classes", "seen", "heldout"}``, each split ``(images (n 3 size size), labels (n,))``.
    Every class gets ``n_per_class`` scenes with a random size and a random count from ``counts``;
    a scene goes to ``"heldout"`` when its prompt is held out (every purple triangle, and small
    yellow squares), else to ``"seen"``. No position: several objects are placed anywhere.
    """
    if not isinstance(n_per_class, int) or n_per_class < 1:
        raise ValueError(f"n_per_class must be a positive int, got {n_per_class!r}")
    counts = tuple(counts)
    if not counts or any(c not in COUNTS for c in counts):
        raise ValueError(f"counts must be a non-empty subset of {COUNTS}, got {counts!r}")
    rng = np.random.RandomState(seed)
    parts: dict[str, tuple[list, list]] = {"seen": ([], []), "heldout": ([], [])}
    for label, (colour, shape) in enumerate(CLASSES):
        for _ in range(n_per_class):
            spec = PromptSpec(colour, shape, SIZES[rng.randint(len(SIZES))], None, counts[rng.randint(len(counts))])
            images, labels = parts["heldout" if is_held_out(spec) else "seen"]
            images.append(scene_for_prompt(spec, rng, size).image)
            labels.append(label)
    out = {"classes": list(CLASSES)}
    for split, (images, labels) in parts.items():
        out[split] = (torch.stack(images), torch.tensor(labels, dtype=torch.long))
    return out


def caption_fits(images: torch.Tensor, prompts: list[str]) -> torch.Tensor:
    """Which caption describes which image, by the judge: a bool matrix (n_prompts n_images).

    ``fits[i, j]`` is :func:`~genai_course.data.shapes.prompt_accuracy` of image j for prompt i:
    "a red circle" fits every picture of one red circle, of any size and anywhere. The judge
    reads each image once, so the n_prompts × n_images verdicts cost little more than n_images.
    """
    from ..data.shapes import prompt_accuracy

    dims = expect_shape(images, "n c h w", c=3, name="images")
    if isinstance(prompts, str) or not isinstance(prompts, (list, tuple)) or not prompts:
        raise ValueError("prompts must be a non-empty list of strings")
    n, m = len(prompts), dims["n"]
    verdicts = prompt_accuracy(images.cpu().repeat(n, 1, 1, 1), [p for p in prompts for _ in range(m)])
    return torch.tensor(verdicts, dtype=torch.bool).reshape(n, m)


def fitting_at_1(
    image_emb: torch.Tensor, text_emb: torch.Tensor, fits: torch.Tensor, direction: str = "text_to_image"
) -> float:
    """Recall@1 that accepts any right answer: the fraction of queries whose first result fits.

    ``fits`` (n_texts n_images) says which caption describes which image (:func:`caption_fits`).
    ``"text_to_image"``: caption i retrieves the most similar image j, a hit when ``fits[i, j]``;
    ``"image_to_text"``: image j retrieves the most similar caption i, a hit when ``fits[i, j]``.
    Recall@1 (:func:`recall_at_k`) asks for the pair's own partner instead, and so counts another
    picture that the caption describes just as well as a miss.
    """
    dims = expect_shape(image_emb, "n e", name="image_emb")
    expect_shape(text_emb, "m e", e=dims["e"], name="text_emb")
    expect_shape(fits, "m n", m=text_emb.shape[0], n=dims["n"], name="fits")
    sim = (text_emb.float() @ image_emb.float().T).cpu()  # (m n): caption i against image j
    if direction == "text_to_image":
        return float(fits.gather(1, sim.argmax(1, keepdim=True)).float().mean())
    if direction == "image_to_text":
        return float(fits.gather(0, sim.argmax(0, keepdim=True)).float().mean())
    raise ValueError(f"direction must be 'text_to_image' or 'image_to_text', got {direction!r}")
