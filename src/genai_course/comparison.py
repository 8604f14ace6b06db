"""Every model the course ships, in one table: task, size, training cost, quality, speed and memory (chapter 8).

Quality and training time are *read* from the records the recipes wrote beside each checkpoint
(``<name>.json``), so the table shows what was measured when the file was made, on the data and
judge of its own chapter. Parameters are counted from the loaded weights and the time per sample
is *re-measured live*, because both are cheap. A record that holds no training time falls back to
the recipe's rough estimate, and the table says which of the two a number is.

Quality numbers of different rows are not comparable with each other: each is its chapter's own
measure (bits per character, a course FID on the digit classifier's features, prompt accuracy under
the scene judge, a hidden preference score). Compare rows only within one task.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .checkpoint_io import checkpoint_path, load_manifest, load_metrics
from .rng import randn
from .utils import count_parameters, timer

# A sampler draws one batch and returns how many units (tokens, images, ...) it made.
Sampler = Callable[[], int]
# A builder loads a model on a device → (its networks, (sampler, unit) or None when live sampling is too slow).
Builder = Callable[[torch.device | str], tuple[torch.nn.Module, tuple[Sampler, str] | None]]


# --- builders: load each model once and say how to time one batch of its samples ---


def _seq2seq(device):
    from .data import sequences as seq
    from .seq2seq import DATA, load_seq2seq_reverse

    model = load_seq2seq_reverse(device)
    pairs = seq.train_test_split(**DATA)[1][:64]
    src, _, tgt_out = seq.to_tensors(pairs, device)  # (64 s), (64 t)

    def sample() -> int:
        with torch.no_grad():
            model.greedy_decode(src, seq.BOS, tgt_out.shape[1])
        return len(pairs)

    return model, (sample, "sequence")


def _gpt_sampler(model, prompt_ids: list[int], device, new_tokens: int = 64) -> tuple[Sampler, str]:
    from .gpt.sampling import generate

    idx = torch.tensor([prompt_ids], device=device)  # (1 t)
    gen = torch.Generator(device).manual_seed(0)

    def sample() -> int:
        generate(model, idx, new_tokens, temperature=0.8, generator=gen)
        return new_tokens

    return sample, "token"


def _char_gpt(device):
    from .gpt.pretrained import load_pretrained

    model, tokenizer, _ = load_pretrained(device)
    return model, _gpt_sampler(model, tokenizer.encode("The "), device)


def _policy(name: str) -> Builder:
    def build(device):
        from .rlhf import pretrained

        model = getattr(pretrained, f"load_{name}")(device)[0]
        tokenizer = pretrained.load_sft("cpu")[1]  # every policy shares the SFT model's tokenizer
        return model, _gpt_sampler(model, tokenizer.encode("Q: "), device)

    return build


def _reward_model(device):
    from .rlhf.encoding import encode_responses
    from .rlhf.pretrained import load_reward_model, load_sft

    rm, _ = load_reward_model(device)
    tokenizer = load_sft("cpu")[1]
    prompts = torch.tensor([tokenizer.encode("Q: name a colour.")] * 16, device=device)  # (16 p)
    responses, mask = encode_responses(tokenizer, ["blue"] * 16, device)  # (16 r) each

    def sample() -> int:
        with torch.no_grad():
            rm(prompts, responses, mask)
        return len(prompts)

    return rm, (sample, "answer scored")


def _code_gpt(name: str) -> Builder:
    def build(device):
        from .codex.pretrained import load_code_model

        model, tokenizer, _ = load_code_model(name, device)
        return model, _gpt_sampler(model, tokenizer.encode("def add(a, b):\n"), device)

    return build


def _gan(name: str) -> Builder:
    def build(device):
        from .gan.checkpoint import load_model

        g, n = load_model(name, device).eval(), 64
        gen = torch.Generator(device).manual_seed(0)
        labels = torch.arange(n, device=device) % 10 if getattr(g.cfg, "n_classes", 0) else None

        def sample() -> int:
            with torch.no_grad():
                z = randn((n, g.cfg.z_dim), gen, device)  # (n z)
                g(z) if labels is None else g(z, labels)
            return n

        return g, (sample, "image")

    return build


def _digit_diffusion(device):
    from .diffusion.sampling import ddim_sample
    from .diffusion.train_checkpoints import digit_schedule, load_digit_diffusion

    net, schedule, n = load_digit_diffusion(device), digit_schedule(), 16
    gen = torch.Generator(device).manual_seed(0)

    def sample() -> int:
        ddim_sample(lambda x, t: net(x, t), (n, 1, 16, 16), schedule, 50, generator=gen, device=device, clip=1.0)
        return n

    return net, (sample, "image")


def _text_to_image(family: str, networks: Callable) -> Builder:
    def build(device):
        from .latent.pretrained import evaluation_prompts

        text_to_image = importlib.import_module(f"genai_course.{family}").text_to_image
        prompts = evaluation_prompts()["heldout"][:8]
        text_to_image(prompts[:1], seed=0, device=device)  # loads and caches the weights, outside the clock

        def sample() -> int:
            text_to_image(prompts, seed=0, device=device)
            return len(prompts)

        return torch.nn.ModuleList(networks(device)), (sample, "image")

    return build


def _latent_networks(device):
    from .latent.pretrained import load_autoencoder, load_text_to_image

    return [load_text_to_image(device), load_autoencoder(device)]


def _dalle_networks(device):
    from .dalle.pretrained import load_dalle, load_vqvae

    return [load_dalle(device), load_vqvae(device)]


def _unclip_networks(device):
    from .clip.pretrained import load_clip
    from .latent.pretrained import load_autoencoder
    from .unclip.pretrained import load_decoder, load_prior

    # the decoder holds chapter 6's U-Net and text encoder inside it
    return [load_prior(device), load_decoder(device), load_autoencoder(device), load_clip(device)]


def _pixel_diffusion(device):
    from .latent.pixel_baseline import load_pixel_text_to_image

    return load_pixel_text_to_image(device), None  # 25 steps at 32×32 take seconds per image: read the record


def _clip(device):
    from .clip.pretrained import load_clip
    from .data.scene_prompts import text_to_image_dataset

    clip = load_clip(device)
    images = text_to_image_dataset(64, seed=0, split="train")[0].to(device)  # (64 3 32 32)

    def sample() -> int:
        with torch.no_grad():
            clip.encode_image(images)
        return len(images)

    return clip, (sample, "image encoded")


# --- the rows ---


@dataclass(frozen=True)
class CourseModel:
    """One row: a shipped model, what it does, where its record keeps its quality, and how to load it."""

    chapter: int
    name: str
    family: str
    task: str
    files: tuple[str, ...]  # shipped checkpoint stems whose weights make up the model (first: the record to read)
    quality_label: str
    quality_key: str  # dotted path into the first file's record
    higher_is_better: bool
    build: Builder
    quality_scale: float = 1.0  # 1/ln 2 turns nats into bits


BITS = 1 / math.log(2)  # nats → bits
ACCURACY_HELDOUT = "prompt accuracy, held-out combinations"

# fmt: off
MODELS = (
    CourseModel(1, "encoder–decoder", "transformer", "reverse a digit string", ("seq2seq_reverse",),
                "held-out exact match", "heldout_exact_match", True, _seq2seq),
    CourseModel(2, "character GPT", "GPT", "text", ("gpt_char_small",),
                "held-out loss, bits/char", "val_loss_nats_per_char", False, _char_gpt, BITS),
    CourseModel(2, "SFT policy", "GPT", "answer instructions", ("rlhf_sft",),
                "hidden preference score", "eval_true_score", True, _policy("sft")),
    CourseModel(2, "reward model", "GPT scorer", "score answers", ("rlhf_reward",),
                "agreement with the hidden preference", "held_out_accuracy_vs_truth", True, _reward_model),
    CourseModel(2, "PPO policy", "GPT", "answer instructions", ("rlhf_ppo",),
                "hidden preference score", "eval_true_score", True, _policy("ppo")),
    CourseModel(2, "DPO policy", "GPT", "answer instructions", ("rlhf_dpo",),
                "hidden preference score", "eval_true_score", True, _policy("dpo")),
    CourseModel(3, "code GPT, pretrained", "Codex-style GPT", "Python code", ("codex_stdlib",),
                "held-out loss, bits/char", "heldout_nats_per_char", False, _code_gpt("codex_stdlib"), BITS),
    CourseModel(3, "code GPT, fine-tuned", "Codex-style GPT", "docstring → function", ("codex_sft",),
                "held-out-combination loss, nats/token", "heldout_combinations_nats_per_token", False,
                _code_gpt("codex_sft")),
    CourseModel(4, "DCGAN", "GAN", "digits 16×16", ("gan_dcgan_digits",),
                "course FID (digit features)", "course_fid", False, _gan("dcgan_digits")),
    CourseModel(4, "conditional DCGAN", "GAN", "digit of a given class", ("gan_cgan_digits",),
                "course FID (digit features)", "course_fid", False, _gan("cgan_digits")),
    CourseModel(4, "DCGAN", "GAN", "faces 32×32", ("gan_dcgan_faces",),
                "face FD (attribute features)", "face_fd", False, _gan("dcgan_faces")),
    CourseModel(4, "style-based GAN", "GAN", "faces 32×32", ("gan_stylegan_faces",),
                "face FD (attribute features)", "face_fd", False, _gan("stylegan_faces")),
    CourseModel(5, "DDPM U-Net, DDIM 50 steps", "diffusion", "digits 16×16", ("diffusion_digits",),
                "course FID (digit features)", "course_fid_ddim50_uncond", False, _digit_diffusion),
    CourseModel(6, "latent diffusion", "diffusion", "text → scene 32×32", ("latent_text_to_image", "latent_autoencoder"),
                ACCURACY_HELDOUT, "prompt_accuracy_by_guidance.4.0.heldout", True,
                _text_to_image("latent", _latent_networks)),
    CourseModel(6, "pixel diffusion, same training time", "diffusion", "text → scene 32×32", ("pixel_text_to_image",),
                ACCURACY_HELDOUT, "prompt_accuracy.heldout", True, _pixel_diffusion),
    CourseModel(7, "DALL·E 1, T = 0.7", "autoregressive image tokens", "text → scene 32×32",
                ("dalle_transformer", "dalle_vqvae"),
                ACCURACY_HELDOUT, "prompt_accuracy_by_temperature.0.7.heldout", True,
                _text_to_image("dalle", _dalle_networks)),
    CourseModel(7, "CLIP", "contrastive encoders", "match images and captions", ("clip_scenes",),
                "zero-shot accuracy, held-out combinations", "zero_shot_accuracy.heldout.single", True, _clip),
    CourseModel(7, "unCLIP, prior + decoder", "diffusion", "text → scene 32×32",
                ("unclip_decoder", "unclip_prior", "clip_scenes", "latent_text_to_image", "latent_autoencoder"),
                ACCURACY_HELDOUT, "by_conditioning_and_guidance.prior | 4.0.heldout", True,
                _text_to_image("unclip", _unclip_networks)),
)
# fmt: on

# Shipped weights that are not a model of their own row: judges, or parts of a row above.
NOT_A_ROW = {
    "digit_classifier": "the judge behind the course FID on digits",
    "gan_face_attributes": "the judge behind the face FD",
    "latent_customise": "LoRA and textual-inversion add-ons to latent diffusion (chapter 6, notebook 5)",
}


# --- reading the records ---


def _lookup(rec: dict, dotted: str):
    """``rec["a"]["b"]`` for ``"a.b"``; a key may itself hold dots (``"4.0"``), so the longest key that matches wins."""
    value, rest = rec, dotted
    while rest:
        for cut in range(len(rest), 0, -1):
            head = rest[:cut]
            if isinstance(value, dict) and head in value and (cut == len(rest) or rest[cut] == "."):
                value, rest = value[head], rest[cut + 1 :]
                break
        else:
            raise KeyError(f"the record has no {dotted!r} (nothing matches {rest!r})")
    return value


def record(stem: str) -> dict:
    """What the recipe recorded for the shipped file ``<stem>.pt``."""
    return load_metrics(checkpoint_path(f"{stem}.pt"))


def quality(model: CourseModel) -> float:
    """The model's quality number, read from its record (nats turned into bits where the label says bits)."""
    return float(_lookup(record(model.files[0]), model.quality_key)) * model.quality_scale


def training_seconds(stem: str, recipe_minutes: dict[str, str] | None = None) -> tuple[float | None, str]:
    """``(seconds, source)`` for one file: the record's own training time and the device it ran on, else the
    recipe's rough estimate in minutes (source ``"recipe estimate"``), else ``(None, "unknown")``."""
    rec = record(stem)
    for key in ("train_seconds", "seconds"):
        if isinstance(rec.get(key), (int, float)):
            return float(rec[key]), f"recorded, {rec.get('train_device', 'cpu')}"
    if recipe_minutes and stem in recipe_minutes:
        return 60.0 * float(recipe_minutes[stem]), "recipe estimate"
    return None, "unknown"


def disk_bytes(model: CourseModel) -> int:
    """Bytes of the model's shipped weight files, as MANIFEST.json lists them."""
    files = load_manifest()
    return sum(files[f"{stem}.pt"]["bytes"] for stem in model.files)


# --- the table ---


def measure(model: CourseModel, device="cpu", repeats: int = 2) -> dict:
    """Load ``model``, count its parameters and time its sampling: the best of ``repeats`` batches after a warm-up."""
    networks, sampler = model.build(device)
    row = {"parameters": count_parameters(networks, trainable_only=False)}
    row["weights_mb"] = sum(p.numel() * p.element_size() for p in networks.parameters()) / 1e6
    if sampler is None:
        return row | {"ms_per_unit": None, "unit": None}
    sample, unit = sampler
    sample()  # warm-up: first calls allocate and pick kernels
    best = math.inf
    for _ in range(repeats):
        with timer() as elapsed:
            units = sample()
        best = min(best, elapsed() / units)
    return row | {"ms_per_unit": 1e3 * best, "unit": unit}


def comparison_table(device="cpu", recipe_minutes: dict[str, str] | None = None, live: bool = True) -> list[dict]:
    """One dict per row of :data:`MODELS`: the record's quality and training time, and (``live``) the measured
    parameters, float32 weight memory and milliseconds per sampled unit."""
    rows = []
    for m in MODELS:
        times = [training_seconds(stem, recipe_minutes) for stem in m.files]
        known = [s for s, _ in times if s is not None]
        rows.append(
            {
                "chapter": m.chapter,
                "model": m.name,
                "family": m.family,
                "task": m.task,
                "quality_label": m.quality_label,
                "quality": quality(m),
                "higher_is_better": m.higher_is_better,
                # a model made of several files (DALL·E: transformer + VQ-VAE) took all their training times
                "train_seconds": sum(known) if len(known) == len(times) else None,
                "train_source": "; ".join(sorted({src for _, src in times})),
                "disk_mb": disk_bytes(m) / 1e6,
                **(measure(m, device) if live else {}),
            }
        )
    return rows


def pareto_front(quality: list[float], cost: list[float]) -> list[int]:
    """Indices (ascending) of the rows no other row beats: none has quality ≥ and cost ≤ with one of them strict.

    Higher quality is better, lower cost is better; turn a lower-is-better metric (FID, loss) into this
    convention by negating it. Two rows with equal quality and equal cost are both kept.
    """
    if len(quality) != len(cost):
        raise ValueError(f"quality and cost must have one value per row, got {len(quality)} and {len(cost)}")
    front = []
    for i, (q, c) in enumerate(zip(quality, cost, strict=True)):
        beaten = any(
            qj >= q and cj <= c and (qj > q or cj < c)
            for j, (qj, cj) in enumerate(zip(quality, cost, strict=True))
            if j != i
        )
        if not beaten:
            front.append(i)
    return front
