"""From prompts to images with DALL·E 1: tokenize, sample 64 image codes, decode, optionally rerank by CLIP.

:func:`generate` runs any transformer and VQ-VAE; :func:`text_to_image` runs the shipped ones and
is the chapter's public entry point (``from genai_course.dalle import text_to_image``).

Candidate j of prompt i is drawn with its own seed, :func:`~.transformer.row_seed` (seed, i, j), so
an image depends on its prompt, the seed and its place in the list, never on the batch; and the
first candidate is the picture made without reranking, so best-of-1 is plain sampling.
"""

from __future__ import annotations

from functools import lru_cache

import torch

from ..latent.pipeline import check_prompts
from .transformer import row_seed, sample_codes


def _check_rerank(rerank) -> int:
    if rerank is None:
        return 1
    if isinstance(rerank, bool) or not isinstance(rerank, int) or rerank < 1:
        raise ValueError(f"rerank must be None or an int ≥ 1 (the number of candidates CLIP ranks), got {rerank!r}")
    return rerank


@torch.no_grad()
def candidates(model, vqvae, prompts, k: int, seed: int = 0, temperature: float = 1.0, top_k: int | None = None):
    """``k`` pictures per prompt → (n k 3 32 32) in [0, 1]; candidate j of prompt i uses row_seed(seed, i, j)."""
    from ..data.scene_prompts import tokenize

    prompts = check_prompts(prompts)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    tokens = tokenize(prompts).repeat_interleave(k, dim=0)  # (n·k 7), prompt-major; an unknown word raises here
    seeds = [row_seed(seed, i, j) for i in range(len(prompts)) for j in range(k)]
    codes = sample_codes(model, tokens, seeds, temperature=temperature, top_k=top_k)  # (n·k 8 8)
    images = torch.cat(
        [vqvae.decode(codes[i : i + 256].to(vqvae.quantizer.codebook.device)) for i in range(0, len(codes), 256)]
    )
    return ((images + 1) / 2).clamp(0, 1).cpu().reshape(len(prompts), k, *images.shape[1:])


@torch.no_grad()
def generate(
    model,
    vqvae,
    prompts,
    seed: int = 0,
    rerank: int | None = None,
    clip_model=None,
    temperature: float = 1.0,
    top_k: int | None = None,
) -> torch.Tensor:
    """Images (b 3 32 32) in [0, 1], one per prompt; with ``rerank=k``, the best of k candidates by CLIP score."""
    k = _check_rerank(rerank)
    pictures = candidates(model, vqvae, prompts, k, seed=seed, temperature=temperature, top_k=top_k)
    if k == 1:
        return pictures[:, 0]
    from ..clip.score import rerank as clip_rerank

    best, _ = clip_rerank(pictures, list(prompts), model=clip_model)
    return best


@lru_cache(maxsize=2)
def _shipped(device: str):
    from .pretrained import load_dalle, load_vqvae

    return load_dalle(device), load_vqvae(device)


def text_to_image(
    prompts, seed: int = 0, rerank: int | None = None, temperature: float = 1.0, top_k: int | None = None, device=None
) -> torch.Tensor:
    """Prompts in the scene grammar → images (b 3 32 32), float in [0, 1], one per prompt, from the shipped DALL·E.

    ``rerank=k`` draws k candidates per prompt and keeps the one the shipped CLIP scores highest
    (DALL·E kept the best 32 of 512); ``None`` or 1 keeps the first. A word outside the grammar
    raises ``ValueError`` naming the word.
    """
    from ..utils import pick_device

    prompts = check_prompts(prompts)
    model, vqvae = _shipped(str(pick_device(device)))
    return generate(model, vqvae, prompts, seed=seed, rerank=rerank, temperature=temperature, top_k=top_k)
