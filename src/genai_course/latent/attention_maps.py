"""Where each word goes: the U-Net's cross-attention weights, read out as one map per prompt token.

Every attention block of the latent U-Net ends in cross-attention: each image position (a query)
spreads one unit of attention over the prompt's tokens (the keys). Reading those weights back
gives, for every token, a map over the image of how much each position looks at it, the same
readout that prompt-to-prompt editing builds on (Hertz et al., 2023)::

    scene ──► autoencoder.to_latent ──► z_0 (b 4 8 8) ──► q_sample at a few t ──► denoiser(z_t, t, tokens)
                                                                                       │ record_weights on
    maps (b s 8 8) ◄── mean over heads, timesteps and the blocks at that size ◄── weights (b h q s)

The maps sum to 1 over the s tokens at every position, padding included: a position that takes
nothing from the words has to put its attention somewhere, and ``<pad>`` is where it can.

- :func:`cross_attention_modules`: every cross-attention of a denoiser, by name.
- :func:`recording_cross_attention`: a context manager that switches their ``record_weights``
  on and restores each module's own setting afterwards, even after an error.
- :func:`attention_maps_by_module`, :func:`word_attention_maps`: the maps.
- :func:`object_masks`: the ground-truth coverage of a scene's objects on the same grid.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from einops import rearrange
from torch import nn

from ..nn.attention import MultiHeadAttention
from ..shape_check import expect_shape

DEFAULT_TIMESTEPS = (100, 200, 300, 400)  # noisy enough to need the prompt, clean enough to show the scene


def cross_attention_modules(denoiser: nn.Module) -> dict[str, MultiHeadAttention]:
    """The cross-attention of every attention block of ``denoiser``'s U-Net, by module name, in forward order
    of construction (down path, middle, up path)."""
    unet = getattr(denoiser, "unet", None)
    if not isinstance(unet, nn.Module) or not hasattr(denoiser, "text_encoder"):
        raise ValueError(
            f"denoiser must be a TextToImageDenoiser (a text encoder and a U-Net), got {type(denoiser).__name__}"
        )
    modules = {
        f"{name}.cross": module.cross
        for name, module in unet.named_modules()
        if isinstance(getattr(module, "cross", None), MultiHeadAttention)
    }
    if not modules:
        raise ValueError("this U-Net has no cross-attention (context_dim=None): there are no word maps to read")
    return modules


@contextmanager
def recording_cross_attention(denoiser: nn.Module) -> Iterator[dict[str, MultiHeadAttention]]:
    """Switch ``record_weights`` on for every cross-attention; each module's ``record_weights`` and
    ``last_weights`` are put back as they were on leaving, even after an error."""
    modules = cross_attention_modules(denoiser)
    saved = {name: (m.record_weights, m.last_weights) for name, m in modules.items()}
    try:
        for m in modules.values():
            m.record_weights, m.last_weights = True, None
        yield modules
    finally:
        for name, m in modules.items():
            m.record_weights, m.last_weights = saved[name]


def _check_timesteps(timesteps, T: int) -> list[int]:
    if isinstance(timesteps, (int, np.integer)) and not isinstance(timesteps, bool):
        timesteps = [int(timesteps)]
    if not isinstance(timesteps, Sequence) or isinstance(timesteps, str) or not timesteps:
        raise ValueError(f"timesteps must be an int or a non-empty sequence of ints, got {timesteps!r}")
    ts = []
    for t in timesteps:
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not 0 <= t < T:
            raise ValueError(f"every timestep must be an int in [0, {T - 1}], got {t!r}")
        ts.append(int(t))
    return ts


@torch.no_grad()
def attention_maps_by_module(
    denoiser: nn.Module,
    latents: torch.Tensor,
    tokens: torch.Tensor,
    timesteps=DEFAULT_TIMESTEPS,
    seed: int = 0,
    schedule=None,
) -> dict[str, torch.Tensor]:
    """Each cross-attention's maps (b s side side), averaged over its heads and the timesteps.

    ``latents`` (b c h w, square) are clean latents z_0 (``autoencoder.to_latent`` of the scenes),
    ``tokens`` (b s) their prompts' token ids. Each z_0 is noised by ``q_sample`` at every timestep
    with noise from a generator seeded by ``seed`` (one draw per timestep and latent), the denoiser
    runs once on the whole batch, and ``side`` is each block's own resolution (8 or 4 for the
    chapter's U-Net). ``schedule`` defaults to the chapter's (:func:`~.pretrained.latent_schedule`).
    """
    from ..diffusion.process import q_sample
    from .pretrained import latent_schedule

    cross_attention_modules(denoiser)  # refuse a model without cross-attention before any work
    cfg = denoiser.cfg
    dims = expect_shape(latents, "b c h w", c=cfg.unet.in_channels, name="latents")
    b = dims["b"]
    if dims["h"] != dims["w"]:
        raise ValueError(f"latents must be square, got {dims['h']}×{dims['w']}")
    if not latents.is_floating_point():
        raise ValueError(f"latents must be a float tensor, got {latents.dtype}")
    expect_shape(tokens, "b s", b=b, s=cfg.text.length, name="tokens")
    if tokens.dtype != torch.long:
        raise ValueError(f"tokens must be int64 token ids (scene_prompts.tokenize), got {tokens.dtype}")
    schedule = latent_schedule() if schedule is None else schedule
    ts = _check_timesteps(timesteps, schedule.T)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int, got {seed!r}")

    device = next(denoiser.parameters()).device
    z0 = latents.detach().float().cpu()
    noise = torch.randn((len(ts), *z0.shape), generator=torch.Generator("cpu").manual_seed(seed))  # (n b c h w)
    z_t = torch.cat([q_sample(z0, t, schedule, noise[i]) for i, t in enumerate(ts)])  # (n·b c h w)
    t_vec = torch.tensor(ts, dtype=torch.long).repeat_interleave(b)  # (n·b,): timestep-major, like z_t
    with recording_cross_attention(denoiser) as recording:
        denoiser(z_t.to(device), t_vec.to(device), tokens.to(device).repeat(len(ts), 1))
        weights = {name: m.last_weights for name, m in recording.items()}  # (n·b h q s) each
    maps = {}
    for name, w in weights.items():
        if w is None:  # a block the forward pass did not reach: cannot happen for the chapter's U-Net
            raise RuntimeError(f"cross-attention {name} recorded no weights")
        q = w.shape[2]
        r = int(round(q**0.5))
        per_step = rearrange(w.float().mean(1), "(n b) (y x) s -> n b s y x", n=len(ts), y=r)  # heads averaged
        maps[name] = per_step.mean(0).cpu()  # (b s r r)
    return maps


def word_attention_maps(
    denoiser: nn.Module,
    latents: torch.Tensor,
    tokens: torch.Tensor,
    timesteps=DEFAULT_TIMESTEPS,
    seed: int = 0,
    resolution: int | None = None,
    schedule=None,
) -> torch.Tensor:
    """Per prompt token, where the image attends to it: (b s r r), averaged over heads, timesteps and every
    cross-attention at resolution r×r (default: the latents' own, 8×8 for the chapter's U-Net).

    At each position the maps sum to 1 over the s tokens (the weights of a softmax over the prompt).
    See :func:`attention_maps_by_module` for the arguments.
    """
    by_module = attention_maps_by_module(denoiser, latents, tokens, timesteps, seed, schedule)
    r = latents.shape[-1] if resolution is None else resolution
    chosen = [m for m in by_module.values() if m.shape[-1] == r]
    if not chosen:
        sides = sorted({m.shape[-1] for m in by_module.values()}, reverse=True)
        raise ValueError(f"no cross-attention works at {r}×{r}; this U-Net has it at sides {sides}")
    return torch.stack(chosen).mean(0)


def object_masks(scenes, size: int = 8, supersample: int = 16) -> torch.Tensor:
    """The fraction of each cell of a size×size grid that the scene's objects cover: (b size size) in [0, 1].

    ``scenes`` is a list of :class:`~genai_course.data.shapes.Scene` (or of lists of
    :class:`~genai_course.data.shapes.SceneObject`). Where objects overlap the larger coverage counts.
    """
    from ..data.shapes import Scene, SceneObject, shape_mask

    if not isinstance(scenes, (list, tuple)):
        raise ValueError(f"scenes must be a list of Scene objects, got {type(scenes).__name__}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    out = np.zeros((len(scenes), size, size))
    for i, scene in enumerate(scenes):
        objects = scene.objects if isinstance(scene, Scene) else scene
        if not isinstance(objects, (list, tuple)) or not all(isinstance(o, SceneObject) for o in objects):
            raise ValueError(f"scenes[{i}] must be a Scene or a list of SceneObject, got {type(scene).__name__}")
        for obj in objects:
            out[i] = np.maximum(out[i], shape_mask(obj, size, supersample))
    return torch.tensor(out, dtype=torch.float32)
