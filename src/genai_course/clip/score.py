r"""CLIPScore and CLIP reranking: a trained CLIP as a judge of generated images.

CLIPScore (Hessel et al., 2021, eq. 1) scores how well an image matches its caption without
reference images::

    CLIP-S(c, v) = w · max(cos(E_I(v), E_T(c)), 0),     w = 2.5

w only stretches the range (CLIP ViT-B/32's cosines rarely pass 0.4); torchmetrics'
``CLIPScore`` reports 100 · max(cos, 0) instead, which ``scale=100`` reproduces. Here the
encoders are the shipped ``clip_scenes`` model of the scene grammar, not OpenAI's.

DALL·E generated 512 candidates per caption and kept the ones CLIP ranked best (Ramesh et al.,
2021, §2.3); :func:`rerank` keeps the best of k.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F

from ..shape_check import expect_shape

HESSEL_W = 2.5  # Hessel et al.'s w
IMAGE_SIZE = 32


@lru_cache(maxsize=2)
def _shipped(device: str):
    from .pretrained import load_clip

    return load_clip(device)


def _check_prompts(prompts, n: int) -> list[str]:
    if isinstance(prompts, str) or not isinstance(prompts, (list, tuple)):
        raise ValueError(f"prompts must be a list of strings, got {type(prompts).__name__}")
    bad = [type(p).__name__ for p in prompts if not isinstance(p, str)]
    if bad:
        raise ValueError(f"every prompt must be a string, got {bad[0]}")
    if len(prompts) != n:
        raise ValueError(f"got {n} images but {len(prompts)} prompts: give one prompt per image")
    return list(prompts)


def _check_range(images: torch.Tensor) -> None:
    lo, hi = float(images.min()), float(images.max())
    if lo < -1e-3 or hi > 1 + 1e-3:
        raise ValueError(
            f"images must be in [0, 1], got values in [{lo:.3g}, {hi:.3g}] (map [−1, 1] images with (x + 1) / 2)"
        )


@torch.no_grad()
def cosines(images: torch.Tensor, prompts: list[str], model=None) -> torch.Tensor:
    """cos(E_I(image i), E_T(prompt i)) of each pair (b,), on the images' device."""
    expect_shape(images, "b c h w", c=3, h=IMAGE_SIZE, w=IMAGE_SIZE, name="images")
    prompts = _check_prompts(prompts, images.shape[0])
    if images.shape[0] == 0:
        return torch.zeros(0, device=images.device)
    _check_range(images)
    if model is None:
        model = _shipped(str(images.device))
    device = next(model.parameters()).device
    image_emb = model.encode_image(images.to(device, torch.float32))  # (b e), unit vectors
    text_emb = model.encode_prompts(prompts)  # (b e), unit vectors
    return (image_emb * text_emb).sum(-1).to(images.device)  # (b,)


def clip_score(images: torch.Tensor, prompts: list[str], model=None, scale: float = HESSEL_W) -> torch.Tensor:
    """CLIPScore of each (image, prompt) pair: ``scale · max(cos(E_I, E_T), 0)``, a tensor (b,).

    images (b 3 32 32) in [0, 1] on any device; one prompt of the scene grammar per image.
    ``model=None`` uses the shipped ``clip_scenes`` model (loaded once per device). ``scale``
    2.5 is Hessel et al.'s w; 100 gives torchmetrics' ``CLIPScore``. Wrong shapes, a prompt count
    that differs from the image count, non-string prompts or images outside [0, 1] raise ValueError.
    """
    return scale * cosines(images, prompts, model).clamp(min=0)


def best_candidate(image_emb: torch.Tensor, text_emb: torch.Tensor) -> torch.Tensor:
    """Index of each prompt's best candidate (n,): image_emb (n k e), text_emb (n e), normalised or not.

    The highest cosine wins, which is also the highest CLIPScore; an exact tie goes to the first candidate.
    """
    expect_shape(image_emb, "n k e", name="candidate embeddings")
    expect_shape(text_emb, "n e", n=image_emb.shape[0], e=image_emb.shape[2], name="prompt embeddings")
    cos = torch.einsum("nke,ne->nk", F.normalize(image_emb, dim=-1), F.normalize(text_emb, dim=-1))  # (n k)
    return cos.argmax(dim=1)


@torch.no_grad()
def rerank(candidates: torch.Tensor, prompts: list[str], model=None) -> tuple[torch.Tensor, torch.Tensor]:
    """DALL·E's reranking: candidates (n k 3 h w), one prompt each (n) → (best (n 3 h w), scores (n k)).

    ``scores`` are the CLIPScores (w = 2.5) of every candidate for its prompt; ``best`` is each
    prompt's candidate with the highest one. Candidates whose cosines are all negative score 0
    alike; the higher cosine still wins among them. Exact ties go to the first candidate.
    """
    dims = expect_shape(candidates, "n k c h w", c=3, h=IMAGE_SIZE, w=IMAGE_SIZE, name="candidates")
    n, k = dims["n"], dims["k"]
    prompts = _check_prompts(prompts, n)
    if k == 0:
        raise ValueError("candidates has k = 0 candidates per prompt: give at least one")
    flat = candidates.reshape(n * k, *candidates.shape[2:])  # (n·k 3 h w)
    cos = cosines(flat, [p for p in prompts for _ in range(k)], model).reshape(n, k)  # (n k)
    best = cos.argmax(dim=1)  # (n,): as best_candidate; the cosine decides when all scores clip to 0
    return candidates[torch.arange(n, device=candidates.device), best], HESSEL_W * cos.clamp(min=0)
