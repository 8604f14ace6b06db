"""The chapter's shipped latent-diffusion models, and the recipes that make them.

    genai-course recipe latent_autoencoder   # the KL autoencoder, f = 4 (32×32×3 → 8×8×4)
    genai-course recipe latent_text_to_image # the text encoder and latent U-Net (needs the autoencoder)

The text-to-image model is trained on the *training* split of the captioned shape scenes
(:func:`genai_course.data.scene_prompts.text_to_image_dataset`): it never sees a purple triangle
or a small yellow square, with or without its caption. The autoencoder learns images without
captions, as Stable Diffusion's did from a broad image corpus, so its images include the held-out
combinations at their natural frequency (about 1 in 15): what is held out is the pairing of words
and pictures, which is what the held-out prompts test. (Trained on the training split alone, the
same autoencoder redrew held-out small yellow squares as circles: its decoder had never drawn one.)
Weights are stored in float16, with the metrics measured right after training in a ``.json``
beside each file.
"""

from __future__ import annotations

import time

import torch

from ..checkpoint_io import (
    build_model,
    checkpoint_path,
    load_metrics,
    load_shipped_model,
    load_state,
    recipe_command,
    save_state,
)
from .autoencoder import Autoencoder, AutoencoderConfig

AUTOENCODER = "latent_autoencoder"
AUTOENCODER_FORMAT = "genai_course.latent_autoencoder/1"
AUTOENCODER_CONFIG = dict(channels=(16, 32, 64), latent_channels=4)
AUTOENCODER_TRAINING = dict(n_images=12000, n_held_out_images=900, steps=2500, batch_size=32, lr=2e-3, kl_weight=1e-4)
IMAGE_SIZE = 32


def half(state: dict) -> dict:
    """float16 copies of a state dict's floating-point tensors (half the file; loading casts back)."""
    return {k: v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu() for k, v in state.items()}


def training_images(n: int, seed: int = 0, split: str = "train") -> tuple[torch.Tensor, list[str]]:
    """n scenes of a split as images (n 3 32 32) in [−1, 1] and their captions."""
    from ..data.scene_prompts import text_to_image_dataset

    images, prompts = text_to_image_dataset(n, seed=seed, split=split, size=IMAGE_SIZE)
    return images * 2 - 1, prompts


@torch.no_grad()
def evaluate_autoencoder(model: Autoencoder, n: int = 500) -> dict:
    """PSNR, SSIM and the judge's prompt accuracy of reconstructions, on fresh seen and held-out scenes."""
    from ..data.shapes import prompt_accuracy
    from ..metrics.image_quality import psnr, ssim

    out = {}
    for split, seed in (("train", 1), ("heldout", 2)):  # fresh scenes, not the training images
        x, prompts = training_images(n, seed=seed, split=split)
        original, recon = (x + 1) / 2, (model.reconstruct(x) + 1) / 2
        ok = prompt_accuracy(recon, prompts)
        out[split] = {
            "psnr_db": round(psnr(recon, original).mean().item(), 2),
            "ssim": round(ssim(recon, original).mean().item(), 4),
            "prompt_accuracy": round(sum(ok) / len(ok), 4),
        }
    return out


def make_latent_autoencoder(device=None) -> dict:
    """The recipe ``latent_autoencoder``: train, measure, write the file and its ``.json``."""
    from ..utils import count_parameters
    from .autoencoder import train_autoencoder

    settings = AUTOENCODER_TRAINING
    torch.manual_seed(0)
    seen, _ = training_images(settings["n_images"])
    held_out, _ = training_images(settings["n_held_out_images"], seed=100, split="heldout")
    images = torch.cat([seen, held_out])  # images only: no caption reaches the autoencoder
    model = Autoencoder(AutoencoderConfig(**AUTOENCODER_CONFIG))
    start = time.perf_counter()
    history = train_autoencoder(
        model,
        images,
        settings["steps"],
        kl_weight=settings["kl_weight"],
        batch_size=settings["batch_size"],
        lr=settings["lr"],
        device=device or "cpu",
    )
    seconds = time.perf_counter() - start
    model = model.cpu().eval()
    metrics = {
        "command": recipe_command(AUTOENCODER),
        "config": model.cfg.to_dict(),
        "training": settings,
        "parameters": count_parameters(model),
        "latent_scale": round(float(model.scale), 5),
        "final_reconstruction_mse": round(sum(history["reconstruction"][-50:]) / 50, 5),
        "final_kl_per_value": round(sum(history["kl"][-50:]) / 50, 4),
        "train_seconds": round(seconds, 1),
        **evaluate_autoencoder(model),
    }
    path = checkpoint_path(f"{AUTOENCODER}.pt")
    save_state(path, AUTOENCODER_FORMAT, model.cfg.to_dict(), half(model.state_dict()), metrics)
    print(f"wrote {path}: {metrics}")
    return metrics


def load_autoencoder(device=None) -> Autoencoder:
    """The shipped autoencoder (eval mode, frozen); a missing or damaged file raises a clear error."""
    path = checkpoint_path(f"{AUTOENCODER}.pt")
    remake = recipe_command(AUTOENCODER)
    config, state = load_state(path, AUTOENCODER_FORMAT, remake)

    def build(c: dict) -> Autoencoder:
        return Autoencoder(AutoencoderConfig(**{**c, "channels": tuple(c["channels"])}))

    model = build_model(path, build, config, state, remake).eval().requires_grad_(False)
    return model.to(device) if device is not None else model


def autoencoder_metrics() -> dict:
    """What the recipe measured when it made the shipped autoencoder."""
    return load_metrics(checkpoint_path(f"{AUTOENCODER}.pt"))


# ------------------------------------------------------------------------ the text-to-image model

TEXT_TO_IMAGE = "latent_text_to_image"
TEXT_TO_IMAGE_FORMAT = "genai_course.latent_text_to_image/1"
SCHEDULE = ("linear", 1000)
TEXT_TO_IMAGE_TRAINING = dict(n_images=20000, steps=3500, batch_size=32, lr=1e-3, p_uncond=0.1, ema_decay=0.999)
GUIDANCE_SWEEP = (0.0, 1.0, 2.0, 4.0, 8.0)


def latent_schedule():
    from ..diffusion.schedules import NoiseSchedule

    return NoiseSchedule.make(*SCHEDULE)


def evaluation_prompts(n_seen: int = 160, repeats_held_out: int = 4, seed: int = 0) -> dict[str, list[str]]:
    """Prompts to judge a model by: ``n_seen`` random prompts of seen combinations, and every
    held-out prompt ``repeats_held_out`` times (28 prompts: 21 purple-triangle ones, 7 small yellow squares)."""
    import numpy as np

    from ..data.scene_prompts import all_prompts, is_held_out

    prompts = all_prompts()
    seen = [p for p in prompts if not is_held_out(p)]
    held_out = [p for p in prompts if is_held_out(p)]
    rng = np.random.RandomState(seed)
    return {"seen": [seen[i] for i in rng.randint(len(seen), size=n_seen)], "heldout": held_out * repeats_held_out}


@torch.no_grad()
def evaluate_text_to_image(denoiser, autoencoder, guidances=GUIDANCE_SWEEP, steps: int = 25) -> dict:
    """Prompt accuracy (the judge: every named attribute right) on seen and held-out prompts, per guidance scale."""
    from ..data.shapes import prompt_accuracy
    from .pipeline import generate

    prompts = evaluation_prompts()
    table = {}
    for w in guidances:
        row = {}
        for split, ps in prompts.items():
            images = generate(denoiser, autoencoder, ps, seed=0, guidance=w, steps=steps)
            ok = prompt_accuracy(images, ps)
            row[split] = round(sum(ok) / len(ok), 4)
        table[str(w)] = row
    return {
        "prompt_accuracy_by_guidance": table,
        "sampling_steps": steps,
        "eval_prompts": {k: len(v) for k, v in prompts.items()},
    }


def make_latent_text_to_image(device=None, steps: int | None = None) -> dict:
    """The recipe ``latent_text_to_image``: encode training scenes, train text encoder + latent U-Net, measure, write."""
    from ..data.scene_prompts import tokenize
    from ..utils import count_parameters
    from .model import LatentDiffusionConfig, TextToImageDenoiser

    settings = {**TEXT_TO_IMAGE_TRAINING, **({"steps": steps} if steps else {})}
    device = device or "cpu"
    torch.manual_seed(0)
    autoencoder = load_autoencoder(device)
    images, prompts = training_images(settings["n_images"], seed=10)
    start = time.perf_counter()
    latents = torch.cat([autoencoder.to_latent(images[i : i + 500].to(device)) for i in range(0, len(images), 500)])
    tokens = tokenize(prompts)
    cfg = LatentDiffusionConfig()
    net = TextToImageDenoiser(cfg)
    model = train_denoiser(
        net,
        latents.cpu(),
        tokens,
        settings,
        settings["steps"],
        device,
        callback=lambda step, *_: (
            step % 500 == 499 and print(f"step {step + 1}: {time.perf_counter() - start:.0f} s", flush=True)
        ),
    )
    seconds = time.perf_counter() - start
    metrics = {
        "command": recipe_command(TEXT_TO_IMAGE),
        "training": settings,
        "schedule": list(SCHEDULE),
        "parameters": {
            "text_encoder": count_parameters(model.text_encoder, trainable_only=False),
            "unet": count_parameters(model.unet, trainable_only=False),
        },
        "latent_std": round(latents.std().item(), 4),
        "train_seconds": round(seconds, 1),
    }
    metrics.update(evaluate_text_to_image(model, autoencoder))
    path = checkpoint_path(f"{TEXT_TO_IMAGE}.pt")
    save_state(path, TEXT_TO_IMAGE_FORMAT, cfg.to_dict(), half(model.cpu().state_dict()), metrics)
    print(f"wrote {path}: {metrics}")
    return metrics


def train_denoiser(net, data, tokens, settings: dict, steps: int, device, callback=None):
    """Chapter 5's training loop on (data (n c h w), tokens (n s)) with caption dropout; returns the EMA model."""
    from ..diffusion.training import train_diffusion
    from .model import null_tokens

    _, ema = train_diffusion(
        net,
        data,
        latent_schedule(),
        steps,
        settings["batch_size"],
        lr=settings["lr"],
        labels={"tokens": tokens},
        null_label={"tokens": null_tokens()},
        p_uncond=settings["p_uncond"],
        ema_decay=settings["ema_decay"],
        device=device,
        callback=callback,
    )
    return ema.model.eval()


def load_text_to_image(device=None):
    """The shipped text encoder + latent U-Net (a :class:`~.model.TextToImageDenoiser`, eval mode, frozen)."""
    return load_denoiser(TEXT_TO_IMAGE, TEXT_TO_IMAGE_FORMAT, device)


def load_denoiser(name: str, fmt: str, device=None):
    """A shipped :class:`~.model.TextToImageDenoiser` by file name (eval mode, frozen); a missing
    or damaged file raises a clear error naming the recipe that remakes it."""
    from .model import LatentDiffusionConfig, TextToImageDenoiser

    return load_shipped_model(name, fmt, lambda c: TextToImageDenoiser(LatentDiffusionConfig.from_dict(c)), device)


def text_to_image_metrics() -> dict:
    """What the recipe measured when it made the shipped text-to-image model."""
    return load_metrics(checkpoint_path(f"{TEXT_TO_IMAGE}.pt"))
