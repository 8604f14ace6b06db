"""The chapter's shipped digit diffusion model: ``genai-course recipe diffusion_digits`` makes it.

One small class-conditional U-Net on 16×16 digits, trained with the label dropped (replaced by the
null label) a quarter of the time, so the *same* network is an unconditional model (null label) and a
conditional one — what classifier-free guidance needs. The EMA weights are saved to
``checkpoints/diffusion_digits.pt``, with the metrics measured at the end in ``diffusion_digits.json``.
On a 2-core CPU this takes roughly half an hour; :func:`train_digit_diffusion`'s ``steps`` trades
time for quality.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict

import torch

from genai_course.checkpoint_io import build_model, checkpoint_path, load_state, recipe_command, save_state
from genai_course.nn.unet import UNet, UNetConfig

from .schedules import NoiseSchedule

FORMAT = "genai_course.diffusion_digits/1"
CHECKPOINT = "diffusion_digits.pt"
DIGITS_UNET = dict(base_channels=16, channel_mults=(1, 2, 2), attn_levels=(), groups=4, n_classes=10)
SCHEDULE = ("linear", 200)
NULL_LABEL = 10
RECIPE = recipe_command("diffusion_digits")
# The settings that made the shipped file (recorded in diffusion_digits.json).
STEPS, BATCH_SIZE = 3000, 128


def digit_unet() -> UNet:
    """The chapter's digit U-Net, untrained (about 0.3 M parameters)."""
    return UNet(UNetConfig(**DIGITS_UNET))


def digit_schedule() -> NoiseSchedule:
    return NoiseSchedule.make(*SCHEDULE)


def load_digit_diffusion(device=None) -> UNet:
    """The shipped, trained digit U-Net (EMA weights) in eval mode; raises a clear error on a bad file."""
    path = checkpoint_path(CHECKPOINT)
    config, state = load_state(path, FORMAT, RECIPE)

    def build(c: dict) -> UNet:  # JSON stores tuples as lists
        return UNet(
            UNetConfig(**{**c, "channel_mults": tuple(c["channel_mults"]), "attn_levels": tuple(c["attn_levels"])})
        )

    net = build_model(path, build, config, state, RECIPE)
    net.eval().requires_grad_(False)
    return net.to(device) if device is not None else net


@torch.no_grad()
def unconditional_draw(net: UNet, draw: int, n: int = 256, seed: int = 1, n_steps: int = 50) -> torch.Tensor:
    """Draw ``draw`` of :func:`evaluate`'s unconditional samples: DDIM, seed ``seed + draw``; (n 1 16 16)."""
    from .sampling import ddim_sample

    gen = torch.Generator("cpu").manual_seed(seed + draw)
    return ddim_sample(lambda x, t: net(x, t), (n, 1, 16, 16), digit_schedule(), n_steps, generator=gen, clip=1.0)


@torch.no_grad()
def guided_samples(net: UNet, y: torch.Tensor, seed: int, n_steps: int = 50) -> torch.Tensor:
    """DDIM samples of the labels ``y`` (b) with classifier-free guidance at scale 3; (b 1 16 16)."""
    from .sampling import classifier_free_guidance, ddim_sample

    gen = torch.Generator("cpu").manual_seed(seed)
    guided = classifier_free_guidance(net, y, 3.0, NULL_LABEL)
    return ddim_sample(guided, (len(y), 1, 16, 16), digit_schedule(), n_steps, generator=gen, clip=1.0)


@torch.no_grad()
def evaluate(net: UNet, n: int = 500, n_steps: int = 50, seed: int = 1) -> dict:
    """The course FID protocol on unconditional DDIM samples, their confident fraction, and guided class accuracy.

    FID: :class:`~genai_course.metrics.fid.FIDProtocol`, draw ``d`` sampled with seed ``seed + d``; the
    confident fraction is measured on all those unconditional samples; class accuracy on ``n``
    samples guided at scale 3 (classes 0..9 in turn), seed ``seed + draws``.
    """
    from genai_course.metrics.digit_classifier import class_accuracy, confident_fraction, load_digit_classifier
    from genai_course.metrics.fid import FIDProtocol

    clf, protocol = load_digit_classifier(), FIDProtocol()
    uncond = []

    def sample(draw: int) -> torch.Tensor:
        uncond.append(unconditional_draw(net, draw, protocol.n, seed, n_steps))
        return uncond[-1]

    out = protocol.record(sample, prefix="course_fid_ddim50_uncond", model=clf)
    y = torch.arange(n) % 10
    guided = guided_samples(net, y, seed + protocol.draws, n_steps)
    return {
        **out,
        "confident_fraction_uncond": round(confident_fraction(torch.cat(uncond), model=clf), 4),
        "class_accuracy_guided_scale3": round(class_accuracy(guided, y, model=clf), 4),
        "n_samples": n,
        "seed": seed,
    }


def train_digit_diffusion(
    steps: int = STEPS, batch_size: int = BATCH_SIZE, progress: Callable[[int, int, float], None] | None = None
) -> tuple[UNet, dict]:
    """Train the digit U-Net from seed 0 → ``(EMA model, metrics)``; nothing is saved.

    ``progress(step, steps, seconds)`` is called every 250 steps (default: print a line).
    The metrics are :func:`evaluate`'s plus the settings and the mean loss of the last 100 steps.
    """
    from genai_course.data.digits import load_digits_tensor

    from .training import train_diffusion

    torch.manual_seed(0)
    x, y = load_digits_tensor(16, "train")
    net = digit_unet()
    start = time.time()
    if progress is None:

        def progress(step: int, total: int, seconds: float) -> None:
            print(f"step {step}/{total} ({seconds:.0f}s)", flush=True)

    def log(s: int, n: int, e) -> None:
        if (s + 1) % 250 == 0:
            progress(s + 1, steps, time.time() - start)

    losses, ema = train_diffusion(
        net,
        x,
        digit_schedule(),
        steps,
        batch_size,
        lr=2e-3,
        labels=y,
        null_label=NULL_LABEL,
        p_uncond=0.25,
        ema_decay=0.995,
        callback=log,
    )
    metrics = evaluate(ema.model)
    metrics.update(steps=steps, batch_size=batch_size, final_loss=round(sum(losses[-100:]) / 100, 4))
    return ema.model, metrics


def make_digit_diffusion() -> dict:
    """The recipe ``diffusion_digits``: train with the shipped settings, write the file and its metrics."""
    model, metrics = train_digit_diffusion()
    path = checkpoint_path(CHECKPOINT)
    save_state(path, FORMAT, asdict(model.config), model.state_dict(), metrics)
    print(f"wrote {path}: {metrics}")
    return metrics


if __name__ == "__main__":  # the old entry point: point to the recipe instead of silently doing nothing
    raise SystemExit(f"make this checkpoint with `{RECIPE}` (see `genai-course recipe --list`)")
