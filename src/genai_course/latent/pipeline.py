"""From prompts to images: tokenize, encode, DDIM with classifier-free guidance in latent space, decode.

:func:`generate` runs any denoiser and autoencoder; :func:`text_to_image` runs the shipped ones and
is the chapter's public entry point (``from genai_course.latent import text_to_image``).

Each prompt's starting noise z_T comes from its own generator, seeded by ``(seed, position in the
list)``, and DDIM with η = 0 is deterministic after that: an image depends on its prompt, the seed
and its place in the list, not on which other prompts share the batch.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

# Chosen from the guidance sweep the recipe records (latent_text_to_image.json) and the notebook re-measures.
DEFAULT_GUIDANCE = 4.0
DEFAULT_STEPS = 25


def check_prompts(prompts) -> list[str]:
    if isinstance(prompts, str) or not isinstance(prompts, (list, tuple)):
        raise ValueError(f"prompts must be a list of strings, got {type(prompts).__name__}")
    if not prompts:
        raise ValueError("prompts is empty: give at least one prompt")
    bad = [type(p).__name__ for p in prompts if not isinstance(p, str)]
    if bad:
        raise ValueError(f"every prompt must be a string, got {bad[0]}")
    return list(prompts)


def _check_settings(guidance, steps, T: int) -> None:
    if isinstance(guidance, bool) or not isinstance(guidance, (int, float)) or not math.isfinite(guidance):
        raise ValueError(
            f"guidance must be a finite number (0 = unconditional, 1 = plain conditional), got {guidance!r}"
        )
    if guidance < 0:
        raise ValueError(f"guidance must be ≥ 0, got {guidance}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= T:
        raise ValueError(f"steps must be an int in [1, {T}], got {steps!r}")


def initial_noise(n: int, shape: tuple, seed: int) -> torch.Tensor:
    """z_T (n *shape): row i drawn from its own CPU generator seeded with (seed, i)."""
    rows = [torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed * 100_003 + i)) for i in range(n)]
    return torch.stack(rows)


@torch.no_grad()
def generate(
    denoiser, autoencoder, prompts, seed: int = 0, guidance: float = DEFAULT_GUIDANCE, steps: int = DEFAULT_STEPS
):
    """Images (b 3 h w) in [0, 1], one per prompt, from ``denoiser`` (a TextToImageDenoiser) and ``autoencoder``.

    ``autoencoder=None`` samples in pixel space: the denoiser's own output is the image in [−1, 1]
    (the pixel baseline of notebook 4).
    """
    from ..data.scene_prompts import tokenize

    prompts = check_prompts(prompts)
    tokens = tokenize(prompts)  # an unknown word raises here, naming it
    return generate_from_tokens(denoiser, autoencoder, tokens, seed=seed, guidance=guidance, steps=steps)


@torch.no_grad()
def generate_from_tokens(
    denoiser,
    autoencoder,
    tokens: torch.Tensor,
    seed: int = 0,
    guidance: float = DEFAULT_GUIDANCE,
    steps: int = DEFAULT_STEPS,
):
    """:func:`generate` from token ids (b s), for words outside the grammar's vocabulary (notebook 6)."""
    from .model import null_tokens

    return generate_from_condition(
        denoiser, autoencoder, {"tokens": tokens}, {"tokens": null_tokens()}, seed=seed, guidance=guidance, steps=steps
    )


@torch.no_grad()
def generate_from_condition(
    denoiser,
    autoencoder,
    condition: dict,
    null: dict,
    seed: int = 0,
    guidance: float = DEFAULT_GUIDANCE,
    steps: int = DEFAULT_STEPS,
):
    """Images (b 3 h w) in [0, 1] from any condition ``denoiser(z, t, **condition)`` reads, e.g.
    ``{"tokens": (b s)}`` here or ``{"embedding": (b e)}`` for chapter 7's unCLIP decoder; ``null``
    is the unconditional ∅ (one row, same keys) that classifier-free guidance mixes in."""
    from ..diffusion.sampling import classifier_free_guidance, ddim_sample
    from .pretrained import IMAGE_SIZE, latent_schedule

    schedule = latent_schedule()
    _check_settings(guidance, steps, schedule.T)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    device = next(denoiser.parameters()).device
    n = len(next(iter(condition.values())))
    f = autoencoder.cfg.factor if autoencoder is not None else 1
    clip = None if autoencoder is not None else 1.0  # pixels live in [−1, 1]: clip x̂₀ there, as DDPM does
    shape = (denoiser.unet.config.in_channels, IMAGE_SIZE // f, IMAGE_SIZE // f)  # (4 8 8), pixels (3 32 32)
    z_T = initial_noise(n, shape, seed)  # (b 4 8 8)
    null = {k: v.to(device) for k, v in null.items()}
    images = []
    for i in range(0, n, 256):  # bounded memory for long prompt lists
        part = {k: v[i : i + 256].to(device) for k, v in condition.items()}
        model = classifier_free_guidance(denoiser, part, guidance, null)
        z0 = ddim_sample(
            model, z_T[i : i + 256].shape, schedule, n_steps=steps, device=device, x_T=z_T[i : i + 256], clip=clip
        )
        x0 = autoencoder.from_latent(z0) if autoencoder is not None else z0  # (b 3 32 32) in [−1, 1]
        images.append((x0 + 1) / 2)
    return torch.cat(images).clamp(0, 1).cpu()


@lru_cache(maxsize=2)
def _shipped(device: str):
    from .pretrained import load_autoencoder, load_text_to_image

    return load_text_to_image(device), load_autoencoder(device)


def text_to_image(prompts, seed: int = 0, guidance: float = DEFAULT_GUIDANCE, steps: int = DEFAULT_STEPS, device=None):
    """Prompts in the scene grammar → images (b 3 32 32), float in [0, 1], one per prompt, from the shipped models.

    Any prompt of the grammar works, including attribute combinations never seen in training
    ("a purple triangle"); a word outside it raises ``ValueError`` naming the word. ``guidance`` is
    classifier-free guidance's scale w (0: ignore the prompt, 1: plain conditional); ``steps`` the
    number of DDIM steps.
    """
    from ..utils import pick_device

    prompts = check_prompts(prompts)
    denoiser, autoencoder = _shipped(str(pick_device(device)))
    return generate(denoiser, autoencoder, prompts, seed=seed, guidance=guidance, steps=steps)
