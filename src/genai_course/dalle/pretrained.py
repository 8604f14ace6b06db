"""The chapter's shipped DALL·E models, and the recipes that make them.

    genai-course recipe dalle_vqvae         # the VQ-VAE: 32×32×3 scenes ⇄ 8×8 grids of codes
    genai-course recipe dalle_codebook_sweep # small VQ-VAEs: codebooks of 16-512 × (codebook loss, EMA, EMA + restarts)
    genai-course recipe dalle_transformer   # the course GPT over caption words and image codes

As in chapter 6, the image model (here the VQ-VAE) learns images without captions, of both splits,
and the text-to-image model (here the transformer) learns from the *training* split's captioned
scenes only: no purple triangle and no small yellow square is ever paired with its words.
Weights are stored in float16, with the metrics measured right after training in a ``.json``
beside each file.
"""

from __future__ import annotations

import time

import torch

from ..checkpoint_io import (
    checkpoint_path,
    load_metrics,
    load_shipped_model,
    recipe_command,
    save_state,
)
from ..latent.pretrained import AUTOENCODER_TRAINING, half, training_images
from .vqvae import VQVAE, VQVAEConfig, codebook_usage, train_vqvae

VQVAE_NAME = "dalle_vqvae"
VQVAE_FORMAT = "genai_course.dalle_vqvae/1"
VQVAE_CONFIG = dict(codebook_size=256, code_dim=16, ema=True, restart_dead=True)
VQVAE_TRAINING = dict(
    n_images=AUTOENCODER_TRAINING["n_images"],
    n_held_out_images=AUTOENCODER_TRAINING["n_held_out_images"],
    steps=1500,
    batch_size=32,
    lr=2e-3,
)
SWEEP_SIZES = (16, 64, 256, 512)
SWEEP_VARIANTS = {
    "codebook loss": dict(ema=False, restart_dead=False),
    "EMA": dict(ema=True, restart_dead=False),
    "EMA + restarts": dict(ema=True, restart_dead=True),
}
SWEEP_STEPS = 250
SWEEP_NAME = "dalle_codebook_sweep"


def vqvae_images(settings: dict = VQVAE_TRAINING) -> torch.Tensor:
    """The VQ-VAE's training images (n 3 32 32) in [−1, 1]: both splits, no captions (as chapter 6's autoencoder)."""
    seen, _ = training_images(settings["n_images"])
    held_out, _ = training_images(settings["n_held_out_images"], seed=100, split="heldout")
    return torch.cat([seen, held_out])


@torch.no_grad()
def evaluate_vqvae(model: VQVAE, n: int = 500) -> dict:
    """Reconstruction error, PSNR, the judge's accuracy on reconstructions, and codebook usage, on fresh scenes."""
    from ..data.shapes import prompt_accuracy
    from ..metrics.image_quality import psnr

    out = {}
    for split, seed in (("train", 1), ("heldout", 2)):
        x, prompts = training_images(n, seed=seed, split=split)
        x = x.to(model.quantizer.codebook.device)
        codes = model.encode(x)
        recon = model.decode(codes)
        ok = prompt_accuracy((recon.cpu() + 1) / 2, prompts)
        out[split] = {
            "mse": round(torch.mean((recon - x) ** 2).item(), 5),
            "psnr_db": round(psnr((recon.cpu() + 1) / 2, (x.cpu() + 1) / 2).mean().item(), 2),
            "prompt_accuracy": round(sum(ok) / len(ok), 4),
            **{k: round(v, 4) for k, v in codebook_usage(codes, model.cfg.codebook_size).items()},
        }
    return out


def make_vqvae(device=None) -> dict:
    """The recipe ``dalle_vqvae``: train the chosen VQ-VAE, measure, write the file and its ``.json``."""
    from ..utils import count_parameters

    settings = VQVAE_TRAINING
    torch.manual_seed(0)
    images = vqvae_images(settings)
    model = VQVAE(VQVAEConfig(**VQVAE_CONFIG))
    start = time.perf_counter()
    history = train_vqvae(
        model, images, settings["steps"], settings["batch_size"], settings["lr"], device=device or "cpu"
    )
    seconds = time.perf_counter() - start
    model = model.cpu().eval()
    metrics = {
        "command": recipe_command(VQVAE_NAME),
        "config": model.cfg.to_dict(),
        "training": settings,
        "parameters": count_parameters(model, trainable_only=False),
        "final_reconstruction_mse": round(sum(history["reconstruction_loss"][-50:]) / 50, 5),
        "train_seconds": round(seconds, 1),
        **evaluate_vqvae(model),
    }
    path = checkpoint_path(f"{VQVAE_NAME}.pt")
    save_state(path, VQVAE_FORMAT, model.cfg.to_dict(), half(model.state_dict()), metrics)
    print(f"wrote {path}: {metrics}")
    return metrics


def load_vqvae(device=None) -> VQVAE:
    """The shipped VQ-VAE (eval mode, frozen); a missing or damaged file raises a clear error."""
    return load_shipped_model(VQVAE_NAME, VQVAE_FORMAT, lambda c: VQVAE(VQVAEConfig.from_dict(c)), device)


def vqvae_metrics() -> dict:
    """What the recipe measured when it made the shipped VQ-VAE."""
    return load_metrics(checkpoint_path(f"{VQVAE_NAME}.pt"))


def codebook_sweep(
    sizes=SWEEP_SIZES,
    variants=SWEEP_VARIANTS,
    steps: int = SWEEP_STEPS,
    n_images: int = 2000,
    channels=(8, 16, 32),
    device=None,
    progress=None,
) -> list[dict]:
    """Train one small VQ-VAE per (codebook size, variant) for ``steps`` steps and measure each on
    500 fresh scenes: a list of table rows (notebook 7.1's sweep)."""
    images = vqvae_images({"n_images": n_images, "n_held_out_images": n_images * 3 // 40})
    x_eval, _ = training_images(500, seed=1)
    device = device or "cpu"
    rows = []
    for size in sizes:
        for variant, options in variants.items():
            torch.manual_seed(0)
            model = VQVAE(VQVAEConfig(codebook_size=size, channels=channels, **options))
            train_vqvae(model, images, steps, device=device, progress=progress)
            codes = model.encode(x_eval.to(device))
            mse = torch.mean((model.decode(codes).cpu() - x_eval) ** 2).item()
            usage = codebook_usage(codes, size)
            rows.append({"codebook size": size, "variant": variant, "mse": mse, **usage})
    return rows


def make_codebook_sweep(device=None) -> dict:
    """The recipe ``dalle_codebook_sweep``: the table notebook 7.1 shows beside its live runs."""
    from ..checkpoint_io import write_json

    start = time.perf_counter()
    rows = codebook_sweep(device=device)
    table = {
        "command": recipe_command(SWEEP_NAME),
        "steps": SWEEP_STEPS,
        "rows": [{k: round(v, 5) if isinstance(v, float) else v for k, v in row.items()} for row in rows],
        "train_seconds": round(time.perf_counter() - start, 1),
        "train_device": torch.device(device or "cpu").type,
    }
    write_json(checkpoint_path(f"{SWEEP_NAME}.json"), table)
    return table


def codebook_sweep_table() -> dict:
    """The recorded sweep (``genai-course recipe dalle_codebook_sweep``): its rows and settings."""
    import json

    from ..errors import CheckpointMissing

    path = checkpoint_path(f"{SWEEP_NAME}.json")
    if not path.exists():
        raise CheckpointMissing(f"{path} is missing; make it with `{recipe_command(SWEEP_NAME)}`")
    return json.loads(path.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------ the transformer

DALLE_NAME = "dalle_transformer"
DALLE_FORMAT = "genai_course.dalle_transformer/1"
DALLE_TRAINING = dict(n_images=20000, steps=2500, batch_size=64, lr=2e-3)


@torch.no_grad()
def encode_dataset(vqvae: VQVAE, n_images: int, seed: int = 10) -> tuple[torch.Tensor, list[str]]:
    """The training split's scenes as streams (n 71) of caption tokens and image codes, and their captions."""
    from ..data.scene_prompts import tokenize
    from .transformer import to_sequence

    images, prompts = training_images(n_images, seed=seed)  # chapter 6's text-to-image training scenes
    device = vqvae.quantizer.codebook.device
    codes = torch.cat([vqvae.encode(images[i : i + 500].to(device)).cpu() for i in range(0, len(images), 500)])
    return to_sequence(tokenize(prompts), codes), prompts


@torch.no_grad()
def evaluate_dalle(model, vqvae, temperatures=(1.0,), seed: int = 0) -> dict:
    """Prompt accuracy (the judge) on chapter 6's seen and held-out evaluation prompts, per sampling temperature."""
    from ..data.shapes import prompt_accuracy
    from ..latent.pretrained import evaluation_prompts
    from .pipeline import generate

    prompts = evaluation_prompts()
    table = {}
    for temperature in temperatures:
        row = {}
        for split, ps in prompts.items():
            ok = prompt_accuracy(generate(model, vqvae, ps, seed=seed, temperature=temperature), ps)
            row[split] = round(sum(ok) / len(ok), 4)
        table[str(temperature)] = row
    return {"prompt_accuracy_by_temperature": table, "eval_prompts": {k: len(v) for k, v in prompts.items()}}


def make_dalle(device=None, steps: int | None = None) -> dict:
    """The recipe ``dalle_transformer``: encode the training scenes, train the GPT on their streams, measure, write."""
    from ..gpt.model import GPT
    from ..utils import count_parameters
    from .transformer import dalle_config, train_dalle

    settings = {**DALLE_TRAINING, **({"steps": steps} if steps else {})}
    device = device or "cpu"
    torch.manual_seed(0)
    vqvae = load_vqvae(device)
    seqs, _ = encode_dataset(vqvae, settings["n_images"])
    model = GPT(dalle_config(vqvae.cfg.codebook_size))
    start = time.perf_counter()
    history = train_dalle(model, seqs, settings["steps"], settings["batch_size"], settings["lr"], device=device)
    seconds = time.perf_counter() - start
    model = model.eval()
    metrics = {
        "command": recipe_command(DALLE_NAME),
        "config": model.config.to_dict(),
        "training": settings,
        "parameters": count_parameters(model, trainable_only=False),
        "final_loss": {k: round(sum(v[-100:]) / 100, 4) for k, v in history.items()},
        "train_seconds": round(seconds, 1),
        "train_device": torch.device(device).type,
        **evaluate_dalle(model, vqvae, temperatures=(0.7, 1.0)),
    }
    path = checkpoint_path(f"{DALLE_NAME}.pt")
    save_state(path, DALLE_FORMAT, model.config.to_dict(), half(model.cpu().state_dict()), metrics)
    print(f"wrote {path}: {metrics}")
    return metrics


def load_dalle(device=None):
    """The shipped DALL·E transformer (a course :class:`~genai_course.gpt.model.GPT`, eval mode, frozen)."""
    from ..gpt.model import GPT, GPTConfig

    return load_shipped_model(DALLE_NAME, DALLE_FORMAT, lambda c: GPT(GPTConfig.from_dict(c)), device)


def dalle_metrics() -> dict:
    """What the recipe measured when it made the shipped DALL·E transformer."""
    return load_metrics(checkpoint_path(f"{DALLE_NAME}.pt"))
