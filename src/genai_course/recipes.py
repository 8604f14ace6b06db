"""Recipes: the one list of the commands that make every file shipped in ``genai_course/checkpoints``.

    genai-course recipe --list                 # each recipe, the files it writes, its time on a 2-core CPU
    genai-course recipe diffusion_digits       # (re)make one shipped checkpoint, or several in order
    genai-course recipe --manifest             # rewrite MANIFEST.json from the files on disk
    genai-course recipe --check                # check every shipped file against MANIFEST.json
    python -m genai_course.recipes NAME        # the same without the ``genai-course`` script

A recipe is named after the file it writes and calls one plain library function (``make``) with
fixed settings — the settings that made the shipped file, so a recipe run reproduces it up to
floating-point rounding. After every recipe the manifest is rewritten from the files on disk
(their SHA-256, size, command and recorded metrics), so a remade file loads at once. Nothing here
imports torch until a recipe runs, which keeps ``genai-course --help`` fast.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    """How one shipped file (or a few) is made."""

    name: str
    files: tuple[str, ...]  # written into genai_course/checkpoints (a .pt's metrics .json beside it)
    minutes: str  # roughly, on a 2-core CPU
    about: str
    make: str  # "module:function", called with keyword arguments only
    needs: tuple[str, ...] = ()  # recipes whose shipped files this one reads
    seed: int | None = None  # torch.manual_seed(seed) first, for makers that do not seed themselves


def _recipe(name: str, minutes: str, about: str, make: str, needs=(), table=False, seed=None) -> Recipe:
    files = (f"{name}.json",) if table else (f"{name}.pt", f"{name}.json")
    return Recipe(name, files, minutes, about, make, tuple(needs), seed)


RECIPES = {
    r.name: r
    for r in [
        _recipe(
            "digit_classifier",
            "1",
            "the CNN that scores generated digits (course FID, class accuracy)",
            "genai_course.metrics.digit_classifier:make_digit_classifier",
        ),
        _recipe(
            "seq2seq_reverse",
            "1",
            "chapter 1's encoder-decoder trained to reverse digit strings (notebook 1.3's settings), float16",
            "genai_course.seq2seq:make_seq2seq_reverse",
            seed=0,
        ),
        _recipe(
            "positions_seeds",
            "21",
            "table: notebook 1.2's order classifier with each position encoding and seeds 0-2, 4000 steps, accuracy curves",
            "genai_course.order_task:make_positions_seeds",
            table=True,
        ),
        _recipe(
            "scaling_sweep",
            "7",
            "table: notebook 1.4's sweep (six GPT widths, 250 steps) with seeds 0-2: validation losses and training curves",
            "genai_course.scaling:make_scaling_sweep",
            table=True,
        ),
        _recipe(
            "bias_audit_seeds",
            "2",
            "table: notebook 8.9's bias audit (toy GANs and diffusion models, two mitigations) with seeds 0-2: share and spread of group 1",
            "genai_course.metrics.bias:make_bias_audit_seeds",
            table=True,
        ),
        _recipe(
            "diffusion_digits",
            "30",
            "class-conditional digit U-Net, 3000 steps of batch 128, EMA weights",
            "genai_course.diffusion.train_checkpoints:make_digit_diffusion",
            needs=["digit_classifier"],
        ),
        _recipe(
            "gpt_char_small",
            "36",
            "4-layer character GPT on the course corpus, 1200 steps on one thread",
            "genai_course.gpt.pretrained:make_gpt_char_small",
        ),
        _recipe(
            "codex_stdlib",
            "25",
            "code BPE + 4-layer GPT on the Python standard library's source (chapter 3)",
            "genai_course.codex.pretrained:make_codex_stdlib",
        ),
        _recipe(
            "codex_sft",
            "14",
            "codex_stdlib fine-tuned on docstring-to-function tasks of the training templates",
            "genai_course.codex.pretrained:make_codex_sft",
            needs=["codex_stdlib"],
        ),
        _recipe(
            "codex_humaneval",
            "10",
            "table: codex_sft on all 164 HumanEval problems (5 samples at T = 0.2, 20 at T = 0.8), graded in the sandbox",
            "genai_course.codex.humaneval:make_codex_humaneval",
            needs=["codex_sft"],
            table=True,
        ),
        _recipe(
            "latent_autoencoder",
            "12",
            "KL autoencoder of the captioned shape scenes, f = 4 (32x32x3 -> 8x8x4), float16",
            "genai_course.latent.pretrained:make_latent_autoencoder",
        ),
        _recipe(
            "latent_text_to_image",
            "30",
            "text encoder + latent U-Net on the training split's captions (caption dropout 10%), float16",
            "genai_course.latent.pretrained:make_latent_text_to_image",
            needs=["latent_autoencoder"],
        ),
        _recipe(
            "pixel_text_to_image",
            "30",
            "the latent model's text encoder and U-Net trained on pixels for the same wall time (notebook 6.4), float16",
            "genai_course.latent.pixel_baseline:make_pixel_text_to_image",
            needs=["latent_text_to_image"],
        ),
        _recipe(
            "latent_customise",
            "5",
            "textual inversion and LoRA (ranks 1, 2, 4, 8 with prior preservation, 4 without) teaching the colour 'copper' from 8 pictures",
            "genai_course.latent.customise:make_latent_customise",
            needs=["latent_text_to_image"],
        ),
        _recipe(
            "dalle_vqvae",
            "15",
            "VQ-VAE of the shape scenes (32x32x3 -> 8x8 codes of 256), EMA codebook with dead-code restarts, float16",
            "genai_course.dalle.pretrained:make_vqvae",
        ),
        _recipe(
            "dalle_codebook_sweep",
            "18",
            "table: small VQ-VAEs with codebooks of 16-512 x (codebook loss, EMA, EMA + dead-code restarts)",
            "genai_course.dalle.pretrained:make_codebook_sweep",
            table=True,
        ),
        _recipe(
            "dalle_transformer",
            "30",
            "DALL-E 1: the course GPT over caption words and VQ-VAE image codes, float16",
            "genai_course.dalle.pretrained:make_dalle",
            needs=["dalle_vqvae"],
        ),
        _recipe(
            "clip_scenes",
            "10",
            "CLIP: image and text encoders trained contrastively on the training split's captions, float16",
            "genai_course.clip.pretrained:make_clip",
        ),
        _recipe(
            "unclip_prior",
            "5",
            "unCLIP prior: CLIP text embedding -> CLIP image embedding, float16",
            "genai_course.unclip.pretrained:make_prior",
            needs=["clip_scenes"],
        ),
        _recipe(
            "unclip_decoder",
            "25",
            "unCLIP decoder: chapter 6's latent U-Net re-conditioned on CLIP image embeddings (adapter + LoRA), float16",
            "genai_course.unclip.pretrained:make_decoder",
            needs=["clip_scenes", "latent_text_to_image", "unclip_prior"],
        ),
        _recipe(
            "gan_face_attributes",
            "3",
            "attribute classifier of the procedural faces",
            "genai_course.gan.pretrain:make_face_attributes",
        ),
        _recipe(
            "gan_stylegan_faces",
            "62",
            "style-based generator on procedural faces (a 60-minute training budget)",
            "genai_course.gan.pretrain:make_stylegan_faces",
            needs=["gan_face_attributes"],
        ),
        _recipe(
            "gan_dcgan_faces",
            "5",
            "plain DCGAN on procedural faces (the detector's unseen generator)",
            "genai_course.gan.pretrain:make_dcgan_faces",
            needs=["gan_face_attributes"],
        ),
        _recipe(
            "gan_dcgan_digits",
            "5",
            "unconditional DCGAN on 16x16 digits",
            "genai_course.gan.pretrain:make_dcgan_digits",
            needs=["digit_classifier"],
        ),
        _recipe(
            "gan_cgan_digits",
            "5",
            "class-conditional DCGAN on 16x16 digits",
            "genai_course.gan.pretrain:make_cgan_digits",
            needs=["digit_classifier"],
        ),
        _recipe(
            "gan_toy_comparison",
            "30",
            "table of five stabilized GANs on the ring and the grid, equal generator steps, with curves, and longer "
            "grid runs of a GAN and PacGAN4 (1 thread, CPU)",
            "genai_course.gan.pretrain:make_toy_comparison",
            table=True,
        ),
        _recipe(
            "rlhf_sft",
            "3",
            "gpt_char_small fine-tuned on demonstrations (float16)",
            "genai_course.rlhf.pretrained:make_sft",
            seed=0,
            needs=["gpt_char_small"],
        ),
        _recipe(
            "rlhf_reward",
            "3",
            "reward model trained on the labeler's rankings of SFT samples",
            "genai_course.rlhf.pretrained:make_reward",
            seed=0,
            needs=["rlhf_sft"],
        ),
        _recipe(
            "rlhf_ppo",
            "3",
            "SFT policy optimised with PPO against the reward model",
            "genai_course.rlhf.pretrained:make_ppo",
            seed=0,
            needs=["rlhf_sft", "rlhf_reward"],
        ),
        _recipe(
            "rlhf_dpo",
            "3",
            "SFT policy optimised with DPO on the reward model's rankings",
            "genai_course.rlhf.pretrained:make_dpo",
            seed=0,
            needs=["rlhf_sft"],
        ),
    ]
}


def shipped_files() -> dict[str, str]:
    """``{file name: recipe name}`` of every file in MANIFEST.json (checkpoints and tables, not the
    metrics .json of a checkpoint: those are recorded inside its entry)."""
    return {r.files[0]: r.name for r in RECIPES.values()}


def get(name: str) -> Recipe:
    """The recipe called ``name``; an unknown name is a clear error listing the known ones."""
    from .errors import CommandError

    if name not in RECIPES:
        close = [n for n in RECIPES if name and (name in n or n in name)]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise CommandError(f"unknown recipe {name!r}{hint}; the recipes are: {', '.join(RECIPES)}")
    return RECIPES[name]


def write_manifest() -> dict:
    """Rewrite ``checkpoints/MANIFEST.json`` from the files on disk (run after every recipe)."""
    from .checkpoint_io import write_manifest as write

    return write(shipped_files())


def run(name: str, device: str | None = None):
    """Make the file(s) of recipe ``name``, then rewrite the manifest; returns what ``make`` returned."""
    from .errors import CommandError

    recipe = get(name)
    module, function = recipe.make.split(":")
    make = getattr(importlib.import_module(module), function)
    kwargs = {}
    if device is not None:
        if "device" not in inspect.signature(make).parameters:
            raise CommandError(f"recipe {name} runs on the CPU only (no --device)")
        kwargs["device"] = device
    if recipe.seed is not None:
        import torch

        torch.manual_seed(recipe.seed)
    try:
        return make(**kwargs)
    finally:
        write_manifest()  # also after a failure: files already rewritten must stay loadable


# ------------------------------------------------------------------------------ the command line


def list_recipes() -> str:
    """The table printed by ``genai-course recipe --list``."""
    width = max(len(n) for n in RECIPES)
    lines = [f"{'recipe':<{width}}  {'minutes':>7}  writes (in genai_course/checkpoints)"]
    for r in RECIPES.values():
        needs = f"; needs {', '.join(r.needs)}" if r.needs else ""
        lines.append(f"{r.name:<{width}}  {'~' + r.minutes:>7}  {' + '.join(r.files)}")
        lines.append(f"{'':<{width}}  {'':>7}  {r.about}{needs}")
    lines.append("minutes: roughly, on a 2-core CPU; run a recipe with `genai-course recipe NAME`")
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="*", metavar="NAME", help="recipes to run, in the order given")
    p.add_argument("--list", action="store_true", help="list the recipes, their files and their time")
    p.add_argument("--manifest", action="store_true", help="rewrite MANIFEST.json from the files on disk")
    p.add_argument("--check", action="store_true", help="check every shipped file against MANIFEST.json")
    p.add_argument("--device", default=None, help="cpu or cuda, for recipes that can use a GPU")


def register(sub) -> None:
    p = sub.add_parser(
        "recipe",
        help="(re)make the checkpoints shipped with the package",
        description="Make the checkpoints shipped in genai_course/checkpoints, or rewrite/check their "
        "MANIFEST.json. `genai-course recipe --list` lists the recipes.",
    )
    add_arguments(p)
    p.set_defaults(run=run_command)


def run_command(args) -> int:
    """``genai-course recipe``: list, check, rewrite the manifest, or run recipes."""
    from .errors import CommandError

    if args.list:
        print(list_recipes())
        return 0
    if args.check:
        from .checkpoint_io import check_manifest

        return 1 if check_manifest() else 0
    for name in args.names:
        get(name)  # every name is checked before the first (long) recipe starts
    if args.manifest:
        if args.names:
            raise CommandError("--manifest takes no recipe names (it rewrites the whole manifest)")
        files = write_manifest()
        print(f"rewrote MANIFEST.json: {len(files)} files")
        return 0
    if not args.names:
        raise CommandError("name a recipe (see `genai-course recipe --list`)")
    for name in args.names:
        start = time.time()
        print(f"recipe {name}: writing {' + '.join(RECIPES[name].files)}", flush=True)
        run(name, device=args.device)
        print(f"recipe {name}: done in {time.time() - start:.0f} s", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m genai_course.recipes``: the same as ``genai-course recipe``."""
    from .cli import main as cli_main

    return cli_main(["recipe", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
