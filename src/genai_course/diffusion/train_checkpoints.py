"""Train and ship the chapter's digit diffusion model: ``python -m genai_course.diffusion.train_checkpoints``.

One small class-conditional U-Net on 16×16 digits, trained with the label dropped (replaced by the
null label) a quarter of the time, so the *same* network is an unconditional model (null label) and a
conditional one — what classifier-free guidance needs. The EMA weights are saved to
``checkpoints/diffusion_digits.pt``, with the metrics measured at the end in ``diffusion_digits.json``.
On a 2-core CPU this takes roughly half an hour; ``--steps`` trades time for quality.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict

import torch

from genai_course.metrics._io import build_model, checkpoint_path, load_state, save_state
from genai_course.nn.unet import UNet, UNetConfig

from .schedules import NoiseSchedule

FORMAT = "genai_course.diffusion_digits/1"
CHECKPOINT = "diffusion_digits.pt"
DIGITS_UNET = dict(base_channels=16, channel_mults=(1, 2, 2), attn_levels=(), groups=4, n_classes=10)
SCHEDULE = ("linear", 200)
NULL_LABEL = 10


def digit_unet() -> UNet:
    """The chapter's digit U-Net, untrained (about 0.3 M parameters)."""
    return UNet(UNetConfig(**DIGITS_UNET))


def digit_schedule() -> NoiseSchedule:
    return NoiseSchedule.make(*SCHEDULE)


def load_digit_diffusion(device=None) -> UNet:
    """The shipped, trained digit U-Net (EMA weights) in eval mode; raises a clear error on a bad file."""
    path = checkpoint_path(CHECKPOINT)
    config, state = load_state(path, FORMAT)

    def build(c: dict) -> UNet:  # JSON stores tuples as lists
        return UNet(
            UNetConfig(**{**c, "channel_mults": tuple(c["channel_mults"]), "attn_levels": tuple(c["attn_levels"])})
        )

    net = build_model(path, build, config, state)
    net.eval().requires_grad_(False)
    return net.to(device) if device is not None else net


@torch.no_grad()
def evaluate(net: UNet, n: int = 500, n_steps: int = 50, seed: int = 1) -> dict:
    """Course FID (vs the test split), confident fraction (unconditional) and class accuracy (guided, scale 3)."""
    from genai_course.data.digits import load_digits_tensor
    from genai_course.metrics.digit_classifier import class_accuracy, confident_fraction, load_digit_classifier
    from genai_course.metrics.fid import course_fid

    from .sampling import classifier_free_guidance, ddim_sample

    clf, sched = load_digit_classifier(), digit_schedule()
    test, _ = load_digits_tensor(16, "test")
    gen = torch.Generator("cpu").manual_seed(seed)
    uncond = ddim_sample(lambda x, t: net(x, t), (n, 1, 16, 16), sched, n_steps, generator=gen, clip=1.0)
    y = torch.arange(n) % 10
    guided = ddim_sample(
        classifier_free_guidance(net, y, 3.0, NULL_LABEL), (n, 1, 16, 16), sched, n_steps, generator=gen, clip=1.0
    )
    return {
        "course_fid_ddim50_uncond": round(course_fid(uncond, test, clf), 3),
        "confident_fraction_uncond": round(confident_fraction(uncond, model=clf), 4),
        "class_accuracy_guided_scale3": round(class_accuracy(guided, y, model=clf), 4),
        "n_samples": n,
        "seed": seed,
    }


def main(argv=None) -> None:
    from genai_course.data.digits import load_digits_tensor

    from .training import train_diffusion

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    x, y = load_digits_tensor(16, "train")
    net = digit_unet()
    start = time.time()

    def log(s: int, n: int, e) -> None:
        if (s + 1) % 250 == 0:
            print(f"step {s + 1}/{args.steps} ({time.time() - start:.0f}s)", flush=True)

    losses, ema = train_diffusion(
        net,
        x,
        digit_schedule(),
        args.steps,
        args.batch_size,
        lr=2e-3,
        labels=y,
        null_label=NULL_LABEL,
        p_uncond=0.25,
        ema_decay=0.995,
        callback=log,
    )
    metrics = evaluate(ema.model)
    metrics.update(steps=args.steps, batch_size=args.batch_size, final_loss=round(sum(losses[-100:]) / 100, 4))
    path = checkpoint_path(CHECKPOINT)
    save_state(path, FORMAT, asdict(ema.model.config), ema.model.state_dict(), metrics)
    print(f"wrote {path}: {metrics}")


if __name__ == "__main__":
    main()
