"""Text-to-image families side by side (chapter 7, notebook 5): one prompt set, one judge, one table.

A *sampler* is any function ``sampler(prompts, seed) -> images (b 3 32 32) in [0, 1]``, one image
per prompt: chapter 6's latent diffusion, DALL·E 1 with or without CLIP reranking, unCLIP, or real
scenes (:func:`real_sampler`, the reference row). :func:`evaluate_family` measures one sampler on
the same prompts as every other:

- **prompt accuracy** on seen and on held-out combinations (the judge,
  :func:`genai_course.data.shapes.prompt_accuracy`), and per attribute;
- the **course FID**: the Fréchet distance on chapter 6's autoencoder features
  (:func:`genai_course.latent.evaluation.latent_fid`) between all generated images and one real
  scene per prompt. It favours models that were trained in that very feature space, and with a few
  dozen images it is biased upwards, so only rows of the same prompt list are comparable;
- the **CLIP score** (Hessel et al.'s 2.5 · max(cos, 0), :func:`genai_course.clip.score.clip_score`);
- **diversity** relative to real scenes, from several seeds' images of a few prompts;
- **seconds per image**: the median over the timed sampling calls (seen, held-out, diversity
  batches) after one untimed warm-up call, so it is measured on the machine that runs it, at
  those batch sizes.

:func:`detail_prompts` and :func:`detail_study` measure prompt engineering inside the grammar:
the same scene asked for with more or less detail.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

import numpy as np
import torch

Sampler = Callable[[list[str], int], torch.Tensor]
DETAIL_VARIANTS = ("bare", "+ size", "+ position", "+ size and position")
REAL_SEED = 5  # the reference scenes FID and diversity compare with, as unclip.pretrained.evaluate_unclip


def real_sampler(offset: int = 1000) -> Sampler:
    """A sampler that returns fresh *real* scenes of the prompts (seed ``offset + seed``): the table's reference row."""
    from ..latent.evaluation import real_scenes

    def sample(prompts: list[str], seed: int = 0) -> torch.Tensor:
        return real_scenes(list(prompts), seed=offset + seed)

    return sample


def _timed(sampler: Sampler, prompts: list[str], seed: int) -> tuple[torch.Tensor, float]:
    """The sampler's images and the seconds it took per image (GPU work included: see utils.timer)."""
    from ..utils import timer

    with timer() as elapsed:
        images = sampler(list(prompts), seed)
    if images.shape[0] != len(prompts):
        raise ValueError(f"the sampler returned {images.shape[0]} images for {len(prompts)} prompts")
    return images.cpu(), elapsed() / len(prompts)


def evaluate_family(
    sampler: Sampler,
    prompts: dict[str, list[str]],
    autoencoder,
    clip_model=None,
    diversity_prompts=(),
    per_prompt: int = 4,
    seed: int = 0,
) -> dict:
    """One row of the comparison: ``prompts`` is ``{"seen": [...], "heldout": [...]}`` (chapter 6's
    ``evaluation_prompts``), the same for every family.

    Returns a dict with ``seen`` and ``heldout`` (prompt accuracy), ``attributes`` (per split,
    :func:`~genai_course.data.shapes.attribute_accuracy`), ``fid`` (course FID of all images against
    one real scene per prompt), ``clip_score`` (mean over all images), ``diversity`` (NaN without
    ``diversity_prompts``), ``seconds_per_image`` (median over the timed calls), ``timings`` (each
    call's seconds per image) and ``images`` (per split, to look at).
    """
    from ..clip.score import clip_score
    from ..data.shapes import attribute_accuracy, prompt_accuracy
    from ..latent.evaluation import latent_fid, real_scenes, relative_diversity

    if set(prompts) != {"seen", "heldout"}:
        raise ValueError(f"prompts must have the keys 'seen' and 'heldout', got {sorted(prompts)}")
    row: dict = {"images": {}, "attributes": {}, "timings": []}
    sampler(prompts["seen"][:1], seed)  # untimed warm-up: first calls allocate and pick kernels
    for split, ps in prompts.items():
        images, seconds = _timed(sampler, ps, seed)
        row["images"][split], row["timings"] = images, row["timings"] + [seconds]
        row[split] = sum(prompt_accuracy(images, ps)) / len(ps)
        row["attributes"][split] = attribute_accuracy(images, ps)
    every_prompt = prompts["seen"] + prompts["heldout"]
    every_image = torch.cat([row["images"]["seen"], row["images"]["heldout"]])
    row["fid"] = latent_fid(every_image, real_scenes(every_prompt, seed=REAL_SEED), autoencoder)
    row["clip_score"] = clip_score(every_image, every_prompt, model=clip_model).mean().item()
    row["diversity"] = float("nan")
    if diversity_prompts:
        group = [p for p in diversity_prompts for _ in range(per_prompt)]  # prompt-major, per_prompt seeds each
        images, seconds = _timed(sampler, group, seed + 1)
        row["timings"].append(seconds)
        row["diversity"] = relative_diversity(images, list(diversity_prompts), per_prompt, seed=REAL_SEED)
    row["seconds_per_image"] = statistics.median(row["timings"])
    return row


def count_numbers(*parts) -> int:
    """Parameters of modules, plus the numbers of plain tensors (a VQ-VAE's EMA codebook is a buffer)."""
    total = 0
    for part in parts:
        if isinstance(part, torch.Tensor):
            total += part.numel()
        else:
            total += sum(p.numel() for p in part.parameters())
    return total


def detail_prompts(n: int, seed: int = 0) -> dict[str, list[str]]:
    """``n`` single-object scenes of *seen* combinations, each asked for four ways (:data:`DETAIL_VARIANTS`).

    ``"bare"`` names colour and shape ("a red circle"), ``"+ size"`` adds a size ("a large red
    circle"), ``"+ position"`` a position ("a red circle on the left"), ``"+ size and position"``
    both. Prompt i of every variant describes the same scene, so the variants can be sampled from
    the same noise and compared pair by pair. Colour–shape pairs cycle through the 14 seen ones in
    a shuffled order; a (size, colour, shape) that is held out (a small yellow square) is redrawn.
    """
    from ..data.scene_prompts import HELD_OUT, SIZES, PromptSpec, is_held_out, render_prompt
    from ..data.shapes import COLOURS, POSITIONS, SHAPES

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    rng = np.random.RandomState(seed)
    always_out = {(c, s) for c, s, size in HELD_OUT if size is None}
    pairs = [(c, s) for c in COLOURS for s in SHAPES if (c, s) not in always_out]
    out: dict[str, list[str]] = {v: [] for v in DETAIL_VARIANTS}
    order: list[int] = []
    while len(out["bare"]) < n:
        if not order:
            order = list(rng.permutation(len(pairs)))
        colour, shape = pairs[order.pop()]
        size, position = SIZES[rng.randint(len(SIZES))], POSITIONS[rng.randint(len(POSITIONS))]
        while is_held_out(PromptSpec(colour, shape, size)):
            size = SIZES[rng.randint(len(SIZES))]
        specs = (
            PromptSpec(colour, shape),
            PromptSpec(colour, shape, size),
            PromptSpec(colour, shape, None, position),
            PromptSpec(colour, shape, size, position),
        )
        for variant, spec in zip(DETAIL_VARIANTS, specs, strict=True):
            out[variant].append(render_prompt(spec))
    return out


def detail_study(sampler: Sampler, variants: dict[str, list[str]], clip_model=None, seed: int = 0) -> dict:
    """Per variant of :func:`detail_prompts`: what the extra words buy, sampled from the same noise.

    Each variant's prompts go to the sampler with the same ``seed``, so image i of every variant
    starts from the same noise (the samplers seed each image by its place in the list). Returns
    ``{variant: {"clip_score", "colour", "shape", "count", "shared", "shared_right", "prompt", "size", "position"}}``:
    ``shared`` is the fraction of images right on all three attributes every variant names
    (judged against the bare prompt), ``shared_right`` that verdict per image (image i of every
    variant shows scene i, so the verdicts of two variants are paired: see :func:`mcnemar_p`), ``prompt`` the full prompt accuracy of the variant's own
    prompt, and ``size`` / ``position`` the named attribute's accuracy (NaN where not named).
    """
    from ..clip.score import clip_score
    from ..data.shapes import attribute_accuracy, prompt_accuracy

    bare = variants["bare"]
    table = {}
    for variant, prompts in variants.items():
        if len(prompts) != len(bare):
            raise ValueError(f"variant {variant!r} has {len(prompts)} prompts, the bare one {len(bare)}")
        images = sampler(list(prompts), seed).cpu()
        attributes = attribute_accuracy(images, prompts)
        shared = prompt_accuracy(images, bare)  # per image: colour, shape and count right
        table[variant] = {
            "clip_score": clip_score(images, list(prompts), model=clip_model).mean().item(),
            **{k: attributes[k] for k in ("colour", "shape", "count", "size", "position")},
            "shared": sum(shared) / len(bare),
            "shared_right": shared,
            "prompt": attributes["prompt"],
        }
    return table


def two_proportion_z(correct_a: int, n_a: int, correct_b: int, n_b: int) -> float:
    r"""The two-proportion z statistic for accuracies k_a/n_a and k_b/n_b, with the pooled proportion p:

    .. math::  z = \frac{\hat p_a - \hat p_b}{\sqrt{p(1-p)\,(1/n_a + 1/n_b)}}, \qquad p = \frac{k_a + k_b}{n_a + n_b}

    |z| > 1.96 is the usual 5 % threshold for "the two accuracies differ" (independent samples).
    Both accuracies 0 or both 1 give 0 (no evidence either way).
    """
    for name, k, n in (("a", correct_a, n_a), ("b", correct_b, n_b)):
        if not (isinstance(n, int) and n > 0 and isinstance(k, int) and 0 <= k <= n):
            raise ValueError(f"need 0 ≤ correct_{name} ≤ n_{name} and n_{name} > 0 (ints), got {k!r} of {n!r}")
    p = (correct_a + correct_b) / (n_a + n_b)
    if p in (0.0, 1.0):
        return 0.0
    return (correct_a / n_a - correct_b / n_b) / (p * (1 - p) * (1 / n_a + 1 / n_b)) ** 0.5


def discordant_pairs(right_a, right_b) -> tuple[int, int]:
    """Of two judges' verdicts on the same items: (items only ``a`` got right, items only ``b`` got right)."""
    right_a, right_b = [bool(v) for v in right_a], [bool(v) for v in right_b]
    if len(right_a) != len(right_b) or not right_a:
        raise ValueError(f"need two equally long, non-empty lists of verdicts, got {len(right_a)} and {len(right_b)}")
    only_a = sum(a and not b for a, b in zip(right_a, right_b, strict=True))
    only_b = sum(b and not a for a, b in zip(right_a, right_b, strict=True))
    return only_a, only_b


def mcnemar_tail(only_a: int, only_b: int) -> float:
    """P(Binomial(b + c, 1/2) ≤ min(b, c)): one tail of :func:`mcnemar_p` (1 when nothing is discordant)."""
    import math

    n = only_a + only_b
    return sum(math.comb(n, i) for i in range(min(only_a, only_b) + 1)) / 2**n


def mcnemar_p(right_a, right_b) -> float:
    r"""McNemar's exact test for two judges' verdicts on the *same* items (paired, unlike :func:`two_proportion_z`).

    Only the discordant items carry evidence: :math:`b` items that only ``a`` got right and
    :math:`c` that only ``b`` got right (:func:`discordant_pairs`). If both are equally good, each
    discordant item is a fair coin, so under the null hypothesis
    :math:`b \sim \mathrm{Binomial}(b + c, 1/2)`; the two-sided p-value is

    .. math::  p = \min\Big(1,\; 2 \sum_{i=0}^{\min(b, c)} \binom{b + c}{i} 2^{-(b + c)}\Big)

    (the exact form of McNemar's 1947 test, which used the normal approximation z = (b − c)/√(b + c)).
    No discordant item gives p = 1.
    """
    return min(1.0, 2 * mcnemar_tail(*discordant_pairs(right_a, right_b)))
