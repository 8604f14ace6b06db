"""From prompts to images with unCLIP: CLIP text embedding → prior → image embedding → decoder → image.

:func:`generate` runs any prior, decoder and CLIP; :func:`text_to_image` runs the shipped ones and
is the chapter's public entry point (``from genai_course.unclip import text_to_image``), with the
signature of chapter 6's ``genai_course.latent.text_to_image``. :func:`variations` is the other
thing a decoder of image embeddings can do: one picture's embedding, several new pictures.
"""

from __future__ import annotations

from functools import lru_cache

import torch

from ..latent.pipeline import DEFAULT_STEPS, check_prompts, generate_from_condition, initial_noise
from .prior import EMBEDDING_SCALE

DEFAULT_GUIDANCE = 4.0  # the decoder's; chosen from the sweep the recipe records (unclip_decoder.json)
PRIOR_STEPS = 25
PRIOR_SEED_OFFSET = 1_000_000  # the prior's noise must not be the decoder's noise for the same seed
CONDITIONINGS = ("prior", "text embedding")


@torch.no_grad()
def sample_prior(prior, text_embedding: torch.Tensor, seed: int = 0, guidance: float = 1.0, steps: int = PRIOR_STEPS):
    """CLIP text embeddings (b e) → sampled CLIP image embeddings (b e), unit length; row i from noise seeded (seed, i)."""
    from ..diffusion.sampling import classifier_free_guidance, ddim_sample
    from .pretrained import prior_schedule

    device = next(prior.parameters()).device
    n, e = text_embedding.shape
    z_T = initial_noise(n, (e,), seed + PRIOR_SEED_OFFSET)
    null = {"text": torch.zeros(e, device=device)}
    model = classifier_free_guidance(prior, {"text": text_embedding.to(device)}, guidance, null)
    z0 = ddim_sample(model, z_T.shape, prior_schedule(), n_steps=steps, device=device, x_T=z_T, prediction="x0")
    return torch.nn.functional.normalize(z0 / EMBEDDING_SCALE, dim=-1)


@torch.no_grad()
def decode(
    decoder,
    autoencoder,
    embedding: torch.Tensor,
    seed: int = 0,
    guidance: float = DEFAULT_GUIDANCE,
    steps: int = DEFAULT_STEPS,
) -> torch.Tensor:
    """CLIP embeddings (b e) → images (b 3 32 32) in [0, 1]; the zero embedding is classifier-free guidance's ∅."""
    null = {"embedding": torch.zeros(embedding.shape[1])}
    return generate_from_condition(
        decoder, autoencoder, {"embedding": embedding}, null, seed=seed, guidance=guidance, steps=steps
    )


@torch.no_grad()
def generate(
    prior,
    decoder,
    autoencoder,
    clip,
    prompts,
    seed: int = 0,
    guidance: float = DEFAULT_GUIDANCE,
    steps: int = DEFAULT_STEPS,
    conditioning: str = "prior",
) -> torch.Tensor:
    """Images (b 3 32 32) in [0, 1], one per prompt.

    ``conditioning="prior"`` is unCLIP; ``"text embedding"`` hands the decoder the CLIP *text*
    embedding in place of an image embedding, the ablation of DALL·E 2's §5.1 (Figure 8, Table 2).
    """
    prompts = check_prompts(prompts)
    if conditioning not in CONDITIONINGS:
        raise ValueError(f"conditioning must be one of {CONDITIONINGS}, got {conditioning!r}")
    text = clip.encode_prompts(prompts)  # (b e), unit length; an unknown word raises here
    embedding = sample_prior(prior, text, seed=seed) if conditioning == "prior" else text
    return decode(decoder, autoencoder, embedding.cpu(), seed=seed, guidance=guidance, steps=steps)


@torch.no_grad()
def variations(
    decoder,
    autoencoder,
    clip,
    images: torch.Tensor,
    n: int,
    seed: int = 0,
    guidance: float = DEFAULT_GUIDANCE,
    steps: int = DEFAULT_STEPS,
) -> torch.Tensor:
    """Images (b 3 32 32) in [0, 1] → ``n`` decodes of each one's CLIP image embedding (b n 3 32 32)."""
    device = next(decoder.parameters()).device
    embedding = clip.encode_image(images.to(device)).cpu().repeat_interleave(n, dim=0)  # (b·n e)
    out = decode(decoder, autoencoder, embedding, seed=seed, guidance=guidance, steps=steps)
    return out.reshape(len(images), n, *out.shape[1:])


@lru_cache(maxsize=2)
def _shipped(device: str):
    from ..clip.pretrained import load_clip
    from ..latent.pretrained import load_autoencoder
    from .pretrained import load_decoder, load_prior

    return load_prior(device), load_decoder(device), load_autoencoder(device), load_clip(device)


def text_to_image(
    prompts, seed: int = 0, guidance: float = DEFAULT_GUIDANCE, steps: int = DEFAULT_STEPS, device=None
) -> torch.Tensor:
    """Prompts in the scene grammar → images (b 3 32 32), float in [0, 1], one per prompt, from the shipped unCLIP.

    The same signature and output as chapter 6's ``genai_course.latent.text_to_image``:
    ``guidance`` is the decoder's classifier-free guidance scale, ``steps`` its DDIM steps.
    """
    from ..utils import pick_device

    prompts = check_prompts(prompts)
    prior, decoder, autoencoder, clip = _shipped(str(pick_device(device)))
    return generate(prior, decoder, autoencoder, clip, prompts, seed=seed, guidance=guidance, steps=steps)
