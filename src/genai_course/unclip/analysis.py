"""Measurements for chapter 7's unCLIP notebook: how far apart CLIP's two modalities are, where an
embedding lies between two kinds of scene (small and large, say), which held-out combination a
prompt asks for, and what an image variation keeps of its source.

All embeddings here are CLIP's unit vectors (b e); images are (b 3 h w) in [0, 1].
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..shape_check import expect_shape

HELD_OUT_GROUPS = ("purple triangle", "small yellow square")


def matched_cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of row i of ``a`` with row i of ``b`` (n e each) → (n,)."""
    dims = expect_shape(a, "n e", name="first embeddings")
    expect_shape(b, "n e", name="second embeddings", **dims)
    return F.cosine_similarity(a.float(), b.float(), dim=1)


def modality_gap(image_emb: torch.Tensor, text_emb: torch.Tensor) -> dict[str, float]:
    """How far CLIP's text embeddings are from its image embeddings, for n matched pairs (row i of each).

    - ``cos_matched``: mean cos(text i, image i), the pair CLIP was trained to bring together;
    - ``cos_mismatched``: mean cos(text i, image i+1), a random other pair (the baseline);
    - ``centre_distance``: ‖mean image − mean text‖, the distance between the centres of the two
      modalities that Liang et al. (2022) call the modality gap (0 when the clouds share a centre).
    """
    cos = matched_cosine(image_emb, text_emb)
    other = matched_cosine(image_emb.roll(1, dims=0), text_emb)
    centre = (image_emb.float().mean(0) - text_emb.float().mean(0)).norm()
    return {"cos_matched": cos.mean().item(), "cos_mismatched": other.mean().item(), "centre_distance": centre.item()}


def scene_centroid(clip, prompt: str, n: int = 32, seed: int = 1) -> torch.Tensor:
    """The mean CLIP image embedding (e,) of ``n`` real scenes of ``prompt`` (not renormalised)."""
    from ..latent.evaluation import real_scenes

    device = next(clip.parameters()).device
    with torch.no_grad():
        return clip.encode_image(real_scenes([prompt] * n, seed=seed).to(device)).cpu().mean(0)


def axis_position(embeddings: torch.Tensor, start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """Where embeddings (b e) lie along the line from ``start`` to ``end`` (e,): the projection
    (z − start)·(end − start) / ‖end − start‖², 0 at ``start``, 1 at ``end``, beyond 1 past it → (b,)."""
    dims = expect_shape(embeddings, "b e", name="embeddings")
    expect_shape(start, "e", name="start", e=dims["e"])
    expect_shape(end, "e", name="end", e=dims["e"])
    direction = (end - start).float()
    if direction.norm() == 0:
        raise ValueError("start and end are the same point: the axis has no direction")
    return (embeddings.float() - start.float()) @ direction / (direction @ direction)


def held_out_group(prompt: str) -> str | None:
    """Which held-out combination a prompt asks for ("purple triangle", "small yellow square"), or None."""
    from ..data.scene_prompts import is_held_out, parse_prompt

    if not is_held_out(prompt):
        return None
    spec = parse_prompt(prompt)
    return "purple triangle" if (spec.colour, spec.shape) == ("purple", "triangle") else "small yellow square"


def class_labels(prompts: list[str]) -> torch.Tensor:
    """The colour–shape class of each prompt (b,), an index into :data:`genai_course.clip.zero_shot.CLASSES`."""
    from ..clip.zero_shot import CLASSES
    from ..data.scene_prompts import parse_prompt

    specs = [parse_prompt(p) for p in prompts]
    return torch.tensor([CLASSES.index((s.colour, s.shape)) for s in specs], dtype=torch.long)


def nearest_class(embeddings: torch.Tensor, class_emb: torch.Tensor) -> torch.Tensor:
    """Zero-shot class of any CLIP embeddings (b e) against class embeddings (k e): the most similar → (b,)."""
    dims = expect_shape(class_emb, "k e", name="class embeddings")
    expect_shape(embeddings, "b e", e=dims["e"], name="embeddings")
    return (embeddings.float() @ class_emb.float().T).argmax(dim=1)


def variation_agreement(sources: torch.Tensor, variations: torch.Tensor, prompts: list[str]) -> dict[str, float]:
    """What image variations keep of their source scene.

    ``sources`` (b 3 h w), ``variations`` (b n 3 h w), ``prompts`` the b sources' full descriptions.
    Returns the judge's per-attribute agreement of every variation with its source's description
    (``colour``, ``shape``, ``size``, ``position``, ``count`` and ``prompt``, as
    :func:`~genai_course.data.shapes.attribute_accuracy`), ``layout_kept`` (same number of objects,
    every centre within a tenth of the side), and, where the object counts match,
    ``centre_shift`` (mean distance between matched centres, fraction of the side) and
    ``size_change`` (mean |r' − r| / r).
    """
    from ..data.shapes import attribute_accuracy, read_scenes
    from ..latent.editing import layout_kept

    b, n = variations.shape[:2]
    if len(sources) != b or len(prompts) != b:
        raise ValueError(f"got {len(sources)} sources, {b} rows of variations and {len(prompts)} prompts")
    flat = variations.reshape(b * n, *variations.shape[2:])
    out = attribute_accuracy(flat, [p for p in prompts for _ in range(n)])
    out["layout_kept"] = float(np.mean(layout_kept(sources.repeat_interleave(n, dim=0), flat)))
    shifts, changes = [], []
    for i, before in enumerate(read_scenes(sources)):
        for after in read_scenes(flat[i * n : (i + 1) * n]):
            if before and len(after) == len(before):
                shifts += [float(np.hypot(a.x - c.x, a.y - c.y)) for a, c in zip(before, after, strict=True)]
                changes += [abs(c.r - a.r) / a.r for a, c in zip(before, after, strict=True)]
    out["centre_shift"] = float(np.mean(shifts)) if shifts else float("nan")
    out["size_change"] = float(np.mean(changes)) if changes else float("nan")
    return out
