"""The chapter's shipped CLIP, and the recipe that makes it.

    genai-course recipe clip_scenes   # image and text encoders, trained contrastively (~10 min, 1 thread)

Trained on the *training* split of the captioned shape scenes
(:func:`genai_course.data.scene_prompts.text_to_image_dataset`, the same images and seed as
chapter 6's text-to-image model): it never sees a purple triangle or a small yellow square. Its
record measures zero-shot colour–shape classification (15 classes, one caption or an ensemble of
seven per class) on seen and held-out scenes, and retrieval recall@1/@5 in both directions among
100 fresh pairs of each split. Weights are stored in float16, with the metrics measured right
after training in a ``.json`` beside the file.
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
from ..latent.pretrained import half
from .model import CLIP, CLIPConfig

NAME = "clip_scenes"
FORMAT = "genai_course.clip_scenes/1"
TRAINING = dict(n_images=20000, steps=2000, batch_size=256, lr=2e-3, weight_decay=0.1, warmup=0.05)


@torch.no_grad()
def evaluate_clip(model: CLIP, n_per_class: int = 40, n_pairs: int = 100) -> dict:
    """Zero-shot accuracy (one caption, and the ensemble of :data:`~.zero_shot.TEMPLATES`) on seen and
    held-out scenes, and retrieval recall@1/@5 among ``n_pairs`` fresh pairs of each split."""
    from ..data.scene_prompts import text_to_image_dataset, tokenize
    from .zero_shot import class_embeddings, class_prompts, recall_at_k, zero_shot_predict, zero_shot_task

    model = model.eval()
    device = model.logit_scale.device
    task = zero_shot_task(n_per_class, seed=0)
    single = class_embeddings(model, class_prompts(templates=("a {c} {s}",)))
    ensemble = class_embeddings(model, class_prompts())
    zero_shot = {}
    for split in ("seen", "heldout", "purple_triangle", "small_yellow_square"):
        images, labels = task[split]
        zero_shot[split] = {
            name: round(float((zero_shot_predict(model, images, w).cpu() == labels).float().mean()), 4)
            for name, w in (("single", single), ("ensemble", ensemble))
        }
    retrieval = {}
    for split, seed in (("train", 11), ("heldout", 12)):  # fresh pairs: the training set is seed 10
        images, prompts = text_to_image_dataset(n_pairs, seed=seed, split=split)
        image_emb = model.encode_image(images.to(device))
        text_emb = model.encode_text(tokenize(prompts).to(device))
        retrieval[split] = {
            direction: {k: round(v, 4) for k, v in recall_at_k(image_emb, text_emb, direction=direction).items()}
            for direction in ("image_to_text", "text_to_image")
        }
    return {
        "zero_shot_accuracy": zero_shot,
        "zero_shot_chance": round(1 / 15, 4),
        "zero_shot_images": {k: len(task[k][1]) for k in ("seen", "heldout", "purple_triangle", "small_yellow_square")},
        "retrieval_recall": retrieval,
        "retrieval_pairs": n_pairs,
    }


def make_clip(device=None, steps: int | None = None) -> dict:
    """The recipe ``clip_scenes``: train on the training split's pairs, measure, write the file and its ``.json``."""
    from ..data.scene_prompts import text_to_image_dataset, tokenize
    from ..utils import count_parameters
    from .training import train_clip

    settings = {**TRAINING, **({"steps": steps} if steps else {})}
    device = device or "cpu"
    torch.manual_seed(0)
    images, prompts = text_to_image_dataset(settings["n_images"], seed=10, split="train")
    tokens = tokenize(prompts)
    model = CLIP(CLIPConfig())
    start = time.perf_counter()
    history = train_clip(
        model,
        images,
        tokens,
        settings["steps"],
        batch_size=settings["batch_size"],
        lr=settings["lr"],
        device=device,
        weight_decay=settings["weight_decay"],
        warmup=settings["warmup"],
        progress=None,
    )
    seconds = time.perf_counter() - start
    tail = history["loss"][-50:]
    metrics = {
        "command": recipe_command(NAME),
        "config": model.cfg.to_dict(),
        "training": settings,
        "parameters": count_parameters(model),
        "distinct_training_captions": len(set(prompts)),
        "final_loss": round(sum(tail) / len(tail), 4),
        "logit_scale": round(float(model.scale().detach()), 3),
        "temperature": round(model.temperature, 5),
        "train_seconds": round(seconds, 1),
        **evaluate_clip(model),
    }
    path = checkpoint_path(f"{NAME}.pt")
    save_state(path, FORMAT, model.cfg.to_dict(), half(model.cpu().state_dict()), metrics)
    print(f"wrote {path}: {metrics}")
    return metrics


def load_clip(device=None) -> CLIP:
    """The shipped CLIP (eval mode, frozen); a missing or damaged file raises a clear error."""
    return load_shipped_model(NAME, FORMAT, lambda c: CLIP(CLIPConfig.from_dict(c)), device)


def clip_metrics() -> dict:
    """What the recipe measured when it made the shipped CLIP."""
    return load_metrics(checkpoint_path(f"{NAME}.pt"))
