"""Judging generated scenes: prompt accuracy, a Fréchet distance, and diversity.

- **Prompt accuracy** is the judge's (:func:`genai_course.data.shapes.prompt_accuracy`): every
  attribute the prompt names is right, and nothing else is in the picture.
- **Course FID on autoencoder features**: the Fréchet distance (as in FID) between generated and
  real scenes of the same prompts, on the shipped autoencoder's posterior means, 2×2 average-pooled
  to 4×4×4 = 64 numbers per image. Inception features would need a download and know nothing of
  32×32 shape scenes; these know the scenes but are the very space the diffusion model was trained
  in, so they reward matching its training distribution. The number is comparable only inside
  this chapter.
- **Diversity**: the mean pixel distance between images made for the same prompt from different
  noise, relative to the same quantity for real scenes of those prompts (1: as varied as the
  data; 0: one image per prompt).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


@torch.no_grad()
def autoencoder_features(images: torch.Tensor, autoencoder) -> torch.Tensor:
    """Images (b 3 32 32) in [0, 1] → features (b 64): pooled, scaled posterior means."""
    device = autoencoder.scale.device
    z = torch.cat([autoencoder.to_latent(images[i : i + 256].to(device) * 2 - 1) for i in range(0, len(images), 256)])
    return F.avg_pool2d(z, 2).flatten(1).cpu()  # (b 4 4 4) → (b 64)


def latent_fid(generated: torch.Tensor, real: torch.Tensor, autoencoder) -> float:
    """Fréchet distance between generated and real images on :func:`autoencoder_features`."""
    from ..metrics.fid import frechet_distance_features

    return frechet_distance_features(
        autoencoder_features(generated, autoencoder), autoencoder_features(real, autoencoder)
    )


def real_scenes(prompts: list[str], seed: int = 0) -> torch.Tensor:
    """One real scene (3 32 32) in [0, 1] per prompt: the reference the generated images are compared with."""
    from ..data.scene_prompts import scene_for_prompt

    rng = np.random.RandomState(seed)
    return torch.stack([scene_for_prompt(p, rng).image for p in prompts])


def mean_pairwise_distance(groups: torch.Tensor) -> float:
    """Mean L2 distance between the images of each group (g k 3 h w), averaged over groups."""
    flat = groups.flatten(2)  # (g k d)
    d = torch.cdist(flat, flat)  # (g k k)
    k = flat.shape[1]
    return (d.sum() / (len(flat) * k * (k - 1))).item()


def relative_diversity(generated: torch.Tensor, prompts: list[str], per_prompt: int, seed: int = 0) -> float:
    """Diversity of ``generated`` (g·k 3 h w: k images per prompt, prompt-major) relative to real scenes of the same prompts."""
    g = len(prompts)
    real = real_scenes([p for p in prompts for _ in range(per_prompt)], seed=seed)
    shape = (g, per_prompt, *generated.shape[1:])
    return mean_pairwise_distance(generated.reshape(shape)) / mean_pairwise_distance(real.reshape(shape))
