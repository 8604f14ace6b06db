"""The chapter's shipped unCLIP prior and decoder, and the recipes that make them.

    genai-course recipe unclip_prior     # diffusion prior: CLIP text embedding → CLIP image embedding
    genai-course recipe unclip_decoder   # chapter 6's U-Net + projection + LoRA, conditioned on image embeddings

Both learn from the *training* split's scenes (chapter 6's 20,000 text-to-image scenes), embedded
by the shipped CLIP. The decoder file holds only what training changed (the projection and the
LoRA matrices); the U-Net it modifies is chapter 6's shipped one. Weights are stored in float16,
with the metrics measured right after training in a ``.json`` beside each file.
"""

from __future__ import annotations

import time

import torch

from ..checkpoint_io import (
    checkpoint_path,
    load_metrics,
    load_shipped_model,
    load_state,
    recipe_command,
    save_state,
)
from ..latent.pretrained import evaluation_prompts, half, training_images
from .prior import EMBEDDING_SCALE, DiffusionPrior, PriorConfig

PRIOR_NAME, PRIOR_FORMAT = "unclip_prior", "genai_course.unclip_prior/1"
DECODER_NAME, DECODER_FORMAT = "unclip_decoder", "genai_course.unclip_decoder/1"
PRIOR_SCHEDULE = ("cosine", 1000)
PRIOR_TRAINING = dict(n_images=20000, steps=4000, batch_size=256, lr=1e-3, p_uncond=0.1, ema_decay=0.999)
DECODER_TRAINING = dict(n_images=20000, steps=3000, batch_size=32, lr=1e-3, p_uncond=0.1, ema_decay=0.995)
GUIDANCE_SWEEP = (2.0, 4.0)


def prior_schedule():
    from ..diffusion.schedules import NoiseSchedule

    return NoiseSchedule.make(*PRIOR_SCHEDULE)


@torch.no_grad()
def embedded_scenes(clip, n_images: int, seed: int = 10, split: str = "train") -> dict:
    """Scenes of a split (default: chapter 6's training scenes, seed 10) as images in [−1, 1], captions, and CLIP image and text embeddings."""
    images, prompts = training_images(n_images, seed=seed, split=split)
    device = next(clip.parameters()).device
    image_emb = torch.cat(
        [clip.encode_image(((images[i : i + 500] + 1) / 2).to(device)).cpu() for i in range(0, len(images), 500)]
    )
    text_emb = torch.cat([clip.encode_prompts(prompts[i : i + 500]).cpu() for i in range(0, len(prompts), 500)])
    return {"images": images, "prompts": prompts, "image_emb": image_emb, "text_emb": text_emb}


@torch.no_grad()
def evaluate_prior(prior, clip, n: int = 500) -> dict:
    """Cosine similarity to the real image embedding of fresh captioned scenes: the prior's sample against the text embedding itself."""
    from .pipeline import sample_prior

    out = {}
    for split, seed in (("train", 1), ("heldout", 2)):
        data = embedded_scenes(clip, n, seed=seed, split=split)
        sampled = sample_prior(prior, data["text_emb"], seed=0).cpu()
        out[split] = {
            "cos_prior_sample_to_image": round((sampled * data["image_emb"]).sum(1).mean().item(), 4),
            "cos_text_to_image": round((data["text_emb"] * data["image_emb"]).sum(1).mean().item(), 4),
        }
    return out


def make_prior(device=None) -> dict:
    """The recipe ``unclip_prior``: embed the training scenes with CLIP, train the diffusion prior, measure, write."""
    from ..clip.pretrained import load_clip
    from ..diffusion.training import train_diffusion
    from ..utils import count_parameters

    settings, device = PRIOR_TRAINING, device or "cpu"
    torch.manual_seed(0)
    clip = load_clip(device)
    data = embedded_scenes(clip, settings["n_images"])
    prior = DiffusionPrior(PriorConfig())
    start = time.perf_counter()
    _, ema = train_diffusion(
        prior,
        data["image_emb"] * EMBEDDING_SCALE,
        prior_schedule(),
        settings["steps"],
        settings["batch_size"],
        lr=settings["lr"],
        labels={"text": data["text_emb"]},
        null_label={"text": torch.zeros(clip_dim(clip))},
        p_uncond=settings["p_uncond"],
        prediction="x0",
        ema_decay=settings["ema_decay"],
        device=device,
    )
    seconds = time.perf_counter() - start
    prior = ema.model.eval()
    metrics = {
        "command": recipe_command(PRIOR_NAME),
        "training": settings,
        "schedule": list(PRIOR_SCHEDULE),
        "parameters": count_parameters(prior, trainable_only=False),
        "train_seconds": round(seconds, 1),
        **evaluate_prior(prior, clip),
    }
    path = checkpoint_path(f"{PRIOR_NAME}.pt")
    save_state(path, PRIOR_FORMAT, prior.cfg.to_dict(), half(prior.cpu().state_dict()), metrics)
    print(f"wrote {path}: {metrics}")
    return metrics


def clip_dim(clip) -> int:
    return clip.encode_prompts(["a red circle"]).shape[1]


def load_prior(device=None) -> DiffusionPrior:
    """The shipped diffusion prior (eval mode, frozen)."""
    return load_shipped_model(PRIOR_NAME, PRIOR_FORMAT, lambda c: DiffusionPrior(PriorConfig(**c)), device)


@torch.no_grad()
def evaluate_unclip(prior, decoder, autoencoder, clip, guidances=GUIDANCE_SWEEP) -> dict:
    """Prompt accuracy and the course FID of both conditionings (prior; CLIP text embedding alone), per guidance."""
    from ..data.shapes import prompt_accuracy
    from ..latent.evaluation import latent_fid, real_scenes
    from .pipeline import CONDITIONINGS, generate

    prompts = evaluation_prompts()
    table = {}
    for conditioning in CONDITIONINGS:
        for w in guidances:
            row = {}
            for split, ps in prompts.items():
                images = generate(prior, decoder, autoencoder, clip, ps, seed=0, guidance=w, conditioning=conditioning)
                ok = prompt_accuracy(images, ps)
                row[split] = round(sum(ok) / len(ok), 4)
                row[f"fid_{split}"] = round(latent_fid(images, real_scenes(ps, seed=5), autoencoder), 3)
            table[f"{conditioning} | {w}"] = row
    return {"by_conditioning_and_guidance": table, "eval_prompts": {k: len(v) for k, v in prompts.items()}}


def make_decoder(device=None, steps: int | None = None) -> dict:
    """The recipe ``unclip_decoder``: re-condition chapter 6's U-Net on CLIP image embeddings, measure, write."""
    from ..clip.pretrained import load_clip
    from ..diffusion.training import train_diffusion
    from ..latent.pretrained import latent_schedule, load_autoencoder, load_text_to_image
    from .decoder import decoder_from_latent_model, trainable_state

    settings = {**DECODER_TRAINING, **({"steps": steps} if steps else {})}
    device = device or "cpu"
    torch.manual_seed(0)
    clip, autoencoder = load_clip(device), load_autoencoder(device)
    data = embedded_scenes(clip, settings["n_images"])
    latents = torch.cat(
        [
            autoencoder.to_latent(data["images"][i : i + 500].to(device)).cpu()
            for i in range(0, settings["n_images"], 500)
        ]
    )
    decoder = decoder_from_latent_model(load_text_to_image(device), embed_dim=clip_dim(clip))
    start = time.perf_counter()
    _, ema = train_diffusion(
        decoder,
        latents,
        latent_schedule(),
        settings["steps"],
        settings["batch_size"],
        lr=settings["lr"],
        labels={"embedding": data["image_emb"]},
        null_label={"embedding": torch.zeros(clip_dim(clip))},
        p_uncond=settings["p_uncond"],
        ema_decay=settings["ema_decay"],
        device=device,
    )
    seconds = time.perf_counter() - start
    decoder = ema.model.eval()
    state = trainable_state(decoder)
    metrics = {
        "command": recipe_command(DECODER_NAME),
        "training": settings,
        "trainable_parameters": sum(v.numel() for v in state.values()),
        "train_seconds": round(seconds, 1),
        "train_device": torch.device(device).type,
        **evaluate_unclip(load_prior(device), decoder, autoencoder, clip),
    }
    path = checkpoint_path(f"{DECODER_NAME}.pt")
    save_state(path, DECODER_FORMAT, {"embed_dim": decoder.embed_dim}, half(state), metrics)
    print(f"wrote {path}: {metrics}")
    return metrics


def load_decoder(device=None):
    """The shipped decoder: chapter 6's shipped U-Net with the trained projection and LoRA (eval mode, frozen)."""
    from ..latent.pretrained import load_text_to_image
    from .decoder import decoder_from_latent_model, load_trainable_state

    path = checkpoint_path(f"{DECODER_NAME}.pt")
    remake = recipe_command(DECODER_NAME)
    config, state = load_state(path, DECODER_FORMAT, remake)

    def build(c: dict):
        return decoder_from_latent_model(load_text_to_image(), embed_dim=c["embed_dim"])

    decoder = build(config)
    try:
        load_trainable_state(decoder, {k: v.float() for k, v in state.items()})
    except (ValueError, RuntimeError, KeyError) as err:
        from ..errors import CheckpointError

        raise CheckpointError(f"{path}: the decoder state does not fit ({err}); remake it with `{remake}`") from None
    decoder = decoder.eval().requires_grad_(False)
    return decoder.to(device) if device is not None else decoder


def prior_metrics() -> dict:
    return load_metrics(checkpoint_path(f"{PRIOR_NAME}.pt"))


def decoder_metrics() -> dict:
    return load_metrics(checkpoint_path(f"{DECODER_NAME}.pt"))
