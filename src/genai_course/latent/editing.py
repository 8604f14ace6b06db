r"""Editing images with the text-to-image model: img2img (SDEdit) and inpainting, in latent space.

Both start from a real image's latent z₀ = E(x) and reuse the sampler unchanged:

- **img2img** (SDEdit, Meng et al., 2022): noise z₀ to timestep t₀ = strength·T with the forward
  process, z_{t₀} = √ᾱ_{t₀} z₀ + √(1−ᾱ_{t₀}) ε, then run DDIM with guidance from t₀ to 0 under the
  new prompt. Strength 0 keeps the image; strength 1 ignores it. In between, the layout survives
  the noise and the details follow the prompt.
- **Inpainting** by replacement (Lugmayr et al., 2022, without resampling; Stable Diffusion's
  first inpainting pipeline did the same in latent space): at every step the known region of the
  latent is overwritten with z₀ noised to the current level, so the generated region must agree
  with it; at the end the known pixels are pasted back exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .pipeline import DEFAULT_GUIDANCE, DEFAULT_STEPS, initial_noise


def _guided(denoiser, tokens: torch.Tensor, guidance: float):
    from ..diffusion.sampling import classifier_free_guidance
    from .model import null_tokens

    device = next(denoiser.parameters()).device
    return classifier_free_guidance(
        denoiser, {"tokens": tokens.to(device)}, guidance, {"tokens": null_tokens().to(device)}
    )


def _check_images(images: torch.Tensor, tokens: torch.Tensor) -> None:
    from ..shape_check import expect_shape

    expect_shape(images, "b 3 32 32", name="images")
    if len(tokens) != len(images):
        raise ValueError(f"got {len(images)} images but {len(tokens)} prompts")


def img2img_start(z0: torch.Tensor, strength: float, schedule, noise: torch.Tensor) -> tuple[int, torch.Tensor]:
    """Where SDEdit enters the reverse process: t₀ = strength·T (at most T − 1) and
    z_t₀ = √ᾱ_t₀ z₀ + √(1 − ᾱ_t₀) ε, the clean latents z0 (b c h w) noised to that level in one go."""
    from ..diffusion.process import q_sample

    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    t0 = min(schedule.T - 1, round(strength * schedule.T))  # strength 1: start from (almost) pure noise
    return t0, q_sample(z0, torch.full((len(z0),), t0, device=z0.device), schedule, noise)


@torch.no_grad()
def img2img(
    denoiser,
    autoencoder,
    images,
    tokens,
    strength: float,
    seed: int = 0,
    guidance=DEFAULT_GUIDANCE,
    steps=DEFAULT_STEPS,
):
    """SDEdit: images (b 3 32 32) in [0, 1] redrawn under prompts' tokens (b s) → (b 3 32 32) in [0, 1]."""
    from ..diffusion.sampling import ddim_sample
    from .pretrained import latent_schedule

    _check_images(images, tokens)
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    if strength == 0:
        return images.clone()
    schedule = latent_schedule()
    z0 = autoencoder.to_latent(images * 2 - 1)  # (b 4 8 8)
    eps = initial_noise(len(z0), tuple(z0.shape[1:]), seed).to(z0.device)
    t0, z_t0 = img2img_start(z0, strength, schedule.to(z0.device), eps)
    # the full run's DDIM grid, entered at t₀: about strength·steps model calls (as diffusers' img2img)
    model = _guided(denoiser, tokens, guidance)
    z = ddim_sample(model, z0.shape, schedule, steps, device=z0.device, x_T=z_t0, t_start=t0)
    return ((autoencoder.from_latent(z) + 1) / 2).clamp(0, 1)


@torch.no_grad()
def inpaint(denoiser, autoencoder, images, keep, tokens, seed: int = 0, guidance=DEFAULT_GUIDANCE, steps=DEFAULT_STEPS):
    """Redraw where ``keep`` (b 1 32 32 or 1 1 32 32, 1 = keep) is 0, under prompts' tokens (b s).

    The latent keeps the 4×4-pixel cells that lie wholly in the kept region; the final image
    keeps every kept pixel exactly. Returns (b 3 32 32) in [0, 1].
    """
    from ..diffusion.sampling import ddim_step, ddim_timesteps
    from .pretrained import latent_schedule

    _check_images(images, tokens)
    if keep.dim() != 4 or keep.shape[1] != 1 or keep.shape[-2:] != images.shape[-2:]:
        raise ValueError(f"keep must have shape (b 1 32 32) or (1 1 32 32), got {tuple(keep.shape)}")
    keep = keep.to(images.dtype)
    schedule = latent_schedule().to(images.device)
    model = _guided(denoiser, tokens, guidance)
    z0 = autoencoder.to_latent(images * 2 - 1)  # (b 4 8 8)
    f = autoencoder.cfg.factor
    keep_z = (F.avg_pool2d(keep, f) > 0.999).to(z0.dtype)  # (b 1 8 8): a latent cell is kept only if all its pixels are
    z = eps = initial_noise(len(z0), tuple(z0.shape[1:]), seed).to(z0.device)  # (b 4 8 8)
    ts = ddim_timesteps(schedule.T, steps)
    for t, t_prev in zip(ts, ts[1:] + [-1], strict=True):
        abar = schedule.alphas_cumprod[t]
        known_t = abar.sqrt() * z0 + (1 - abar).sqrt() * eps  # the kept region, noised to level t
        z = keep_z * known_t + (1 - keep_z) * z
        tt = torch.full((len(z),), t, device=z.device)
        z = ddim_step(model(z, tt), t, t_prev, z, schedule)
    z = keep_z * z0 + (1 - keep_z) * z
    out = ((autoencoder.from_latent(z) + 1) / 2).clamp(0, 1)
    return keep * images + (1 - keep) * out  # the kept pixels, exactly


def layout_kept(before: torch.Tensor, after: torch.Tensor, tolerance: float = 0.1) -> list[bool]:
    """Did an edit keep the scene's layout? Per image pair (b 3 h w each, in [0, 1]): the judge
    reads the same number of objects, and each object's centre moved less than ``tolerance``
    (a fraction of the side; objects matched in reading order)."""
    from ..data.shapes import read_scenes

    if before.shape != after.shape:
        raise ValueError(
            f"before and after must have the same shape, got {tuple(before.shape)} and {tuple(after.shape)}"
        )
    kept = []
    for old, new in zip(read_scenes(before), read_scenes(after), strict=True):
        same = len(old) == len(new) and len(old) > 0
        kept.append(
            same
            and all(abs(a.x - b.x) < tolerance and abs(a.y - b.y) < tolerance for a, b in zip(old, new, strict=False))
        )
    return kept
