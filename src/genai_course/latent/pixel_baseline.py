"""The pixel-space twin of the chapter's latent model: what the autoencoder saves (notebook 4).

Latent diffusion's claim (Rombach et al., 2022, section 3) is that a denoiser working on an
f-times smaller latent costs far less per step, so the same compute buys a better model. To test
it the recipe ``pixel_text_to_image`` trains the same text encoder and a U-Net of the same widths
and parameter count directly on 32×32×3 pixels, on the same prompts, for the same wall-clock time
the latent U-Net trained (the autoencoder is a one-off cost, reused by every model built on it,
and is reported separately).

One change makes the pixel model fairer, not weaker: its self- and cross-attention run only at
16×16, as in pixel-space DDPM (Ho et al., 2020), because attention over all 32×32 = 1,024 positions
costs ~2.5× more per training step again (notebook 4 measures both).
"""

from __future__ import annotations

import copy
import time

import torch

from ..checkpoint_io import checkpoint_path, load_metrics, recipe_command, save_state
from .model import LatentDiffusionConfig, TextToImageDenoiser, latent_unet_config

PIXEL = "pixel_text_to_image"
PIXEL_FORMAT = "genai_course.pixel_text_to_image/1"
PIXEL_GUIDANCE = 4.0  # the latent model's default, so the two are judged alike


def pixel_unet_config(**overrides):
    """The latent U-Net's widths and depth on 3 pixel channels, attention at 16×16 only (level 1)."""
    return latent_unet_config(latent_channels=3, **{"attn_levels": (1,), **overrides})


def pixel_model_config() -> LatentDiffusionConfig:
    return LatentDiffusionConfig(unet=pixel_unet_config())


def seconds_per_step(net, data: torch.Tensor, tokens: torch.Tensor, batch_size: int) -> float:
    """Median wall time of one training step of (a copy of) ``net`` on ``batch_size`` examples."""
    from .cost import median_seconds, training_step

    probe = copy.deepcopy(net).train()
    return median_seconds(training_step(probe, data[:batch_size], tokens[:batch_size]), repeats=5)


def make_pixel_text_to_image(device=None) -> dict:
    """The recipe ``pixel_text_to_image``: train on pixels for the latent U-Net's training time, measure, write."""
    from ..data.scene_prompts import tokenize
    from ..utils import count_parameters
    from .pretrained import (
        TEXT_TO_IMAGE_TRAINING,
        half,
        text_to_image_metrics,
        train_denoiser,
        training_images,
    )

    latent_record = text_to_image_metrics()
    budget = latent_record["train_seconds"]
    settings = {k: v for k, v in TEXT_TO_IMAGE_TRAINING.items() if k != "steps"}
    torch.manual_seed(0)
    images, prompts = training_images(settings["n_images"], seed=10)  # the latent model's very scenes
    tokens = tokenize(prompts)
    cfg = pixel_model_config()
    net = TextToImageDenoiser(cfg)
    per_step = seconds_per_step(net, images, tokens, settings["batch_size"])
    steps = max(1, int(budget / per_step))
    # The same averaging horizon as a fraction of the run: with the latent run's 0.999 over 4-5× fewer
    # steps, the average would still hold ~half of the random initial weights (0.999^750 ≈ 0.47).
    latent_steps = latent_record["training"]["steps"]
    settings["ema_decay"] = round(1 - (1 - settings["ema_decay"]) * latent_steps / steps, 5)
    print(
        f"{per_step:.2f} s per step: {steps} steps fit the latent model's {budget:.0f} s; "
        f"EMA decay {settings['ema_decay']}",
        flush=True,
    )
    start = time.perf_counter()
    model = train_denoiser(net, images, tokens, settings, steps, device or "cpu").cpu()
    seconds = time.perf_counter() - start
    record = {
        "command": recipe_command(PIXEL),
        "training": {**settings, "steps": steps, "budget_seconds": budget},
        "parameters": {
            "text_encoder": count_parameters(model.text_encoder, trainable_only=False),
            "unet": count_parameters(model.unet, trainable_only=False),
        },
        "seconds_per_step": round(per_step, 3),
        "train_seconds": round(seconds, 1),
        "latent_model": {"steps": latent_record["training"]["steps"], "train_seconds": budget},
    }
    record.update(evaluate_pixel(model))
    path = checkpoint_path(f"{PIXEL}.pt")
    save_state(path, PIXEL_FORMAT, cfg.to_dict(), half(model.state_dict()), record)
    print(f"wrote {path}: {record}")
    return record


def evaluate_pixel(model) -> dict:
    """The judge on the latent model's evaluation prompts at guidance 4 and 25 DDIM steps (x̂₀ clipped to
    [−1, 1], as pixel-space DDPM samples): prompt accuracy, attribute accuracy, seconds per image."""
    from ..data.shapes import attribute_accuracy
    from .pipeline import generate
    from .pretrained import evaluation_prompts

    out = {"prompt_accuracy": {"guidance": PIXEL_GUIDANCE}, "attribute_accuracy": {}}
    for split, ps in evaluation_prompts().items():
        start = time.perf_counter()
        scores = attribute_accuracy(generate(model, None, ps, seed=0, guidance=PIXEL_GUIDANCE), ps)
        out[f"sample_seconds_per_image_{split}"] = round((time.perf_counter() - start) / len(ps), 4)
        out["prompt_accuracy"][split] = round(scores.pop("prompt"), 4)
        out["attribute_accuracy"][split] = {k: round(v, 4) for k, v in scores.items()}
    return out


def load_pixel_text_to_image(device=None) -> TextToImageDenoiser:
    """The shipped pixel-space model (eval mode, frozen); sample it with ``generate(model, None, prompts)``."""
    from .pretrained import load_denoiser

    return load_denoiser(PIXEL, PIXEL_FORMAT, device)


def pixel_metrics() -> dict:
    """What the recipe measured when it made the shipped pixel model."""
    return load_metrics(checkpoint_path(f"{PIXEL}.pt"))
