"""Make the chapter's shipped checkpoints and record their metrics.

    genai-course recipe gan_NAME [--device cuda]      # one recipe per file; see `genai-course recipe --list`

Each ``make_<name>`` function below writes ``genai_course/checkpoints/gan_<name>.pt`` and ``.json``:

- ``face_attributes``: the attribute classifier of the procedural faces;
- ``stylegan_faces``: the style-based generator trained on procedural faces;
- ``dcgan_faces``: a plain DCGAN on the same faces (the "unseen generator" of the detector notebook);
- ``dcgan_digits`` and ``cgan_digits``: unconditional and class-conditional DCGANs on 16×16 digits;
- ``toy_comparison``: not a checkpoint but ``gan_toy_comparison.json``, the side-by-side table of
  the stabilizing notebook (every method on the ring and the grid with the same number of
  generator steps and its paper's optimizer settings, plus the logged curves, and the longer grid
  runs of :data:`genai_course.gan.toy.LONG_GRID`; 1 torch thread, CPU).

Training may run on a GPU; the recorded metrics are always measured afterwards on the CPU with
fixed seeds by the ``evaluate_*`` functions below, which the tests call again.
"""

from __future__ import annotations

import copy
import time

import torch

from ..data.faces import make_faces
from ..optim import EMA
from .checkpoint import load_model, save_model
from .dcgan import DCDiscriminator, DCGANConfig, DCGenerator
from .stylegan import FaceDiscriminator, StyleGANConfig, StyleGenerator, config_dict
from .train import GANTrainConfig, train_gan


@torch.no_grad()
def face_feature_distance(fake: torch.Tensor, real: torch.Tensor, classifier) -> float:
    """Fréchet distance between attribute-classifier features (b 128) of two face sets: a *course* metric."""
    from ..metrics.fid import frechet_distance_features

    classifier.eval()
    fa = torch.cat([classifier.features(fake[i : i + 500]) for i in range(0, len(fake), 500)])
    fb = torch.cat([classifier.features(real[i : i + 500]) for i in range(0, len(real), 500)])
    return frechet_distance_features(fa, fb)


@torch.no_grad()
def style_samples(G: StyleGenerator, n: int, seed: int = 0, truncation: float = 1.0) -> torch.Tensor:
    gen = torch.Generator("cpu").manual_seed(seed)
    z = torch.randn(n, G.cfg.z_dim, generator=gen)
    ws = G.ws_from_z(z, truncation=truncation)
    return G.synthesize(ws, G.fixed_noise(n, gen)).clamp(-1, 1)


@torch.no_grad()
def dcgan_samples(G: DCGenerator, n: int, seed: int = 0, labels: torch.Tensor | None = None) -> torch.Tensor:
    gen = torch.Generator("cpu").manual_seed(seed)
    G.eval()
    return G(torch.randn(n, G.cfg.z_dim, generator=gen), labels)


def evaluate_attributes_model(model) -> dict:
    from .attributes import evaluate_attributes

    return {k: round(v, 4) for k, v in evaluate_attributes(model, n=1000, seed=123).items()}


def evaluate_face_generator(G, n: int = 1000) -> dict:
    clf = load_model("face_attributes")
    fake = style_samples(G, n) if isinstance(G, StyleGenerator) else dcgan_samples(G, n)
    real = make_faces(n, seed=777).images
    out = {
        "face_fd": round(face_feature_distance(fake, real, clf), 3),
        "face_fd_real_vs_real": round(face_feature_distance(make_faces(n, seed=778).images, real, clf), 3),
    }
    if isinstance(G, StyleGenerator):
        out.update(smile_share(fake, real, clf))
    return out


@torch.no_grad()
def smile_share(fake: torch.Tensor, real: torch.Tensor, clf) -> dict:
    """Share of faces whose smile score exceeds 0.5, among generated and among real images (b 3 32 32).

    The generator's weakest mode: a GAN that drops the smiling faces still scores a fair face FD.
    """
    from .style_edit import CONTINUOUS, attribute_scores

    s = CONTINUOUS.index("smile")
    fake_smile, real_smile = (attribute_scores(clf, x)[:, s] for x in (fake, real))
    return {
        "smile_share": round((fake_smile > 0.5).float().mean().item(), 4),
        "smile_share_real": round((real_smile > 0.5).float().mean().item(), 4),
    }


def evaluate_digit_generator(G: DCGenerator, n_per_class: int = 100) -> dict:
    """The course FID protocol (:class:`~genai_course.metrics.fid.FIDProtocol`) and, if conditional, class accuracy.

    Draw ``d`` of the FID uses ``dcgan_samples(G, n, seed=d)``; a conditional generator is asked for
    the classes 0..9 in turn (as balanced as n allows). Class accuracy: ``n_per_class`` of each class.
    """
    from ..metrics.digit_classifier import class_accuracy, load_digit_classifier
    from ..metrics.fid import FIDProtocol

    clf, protocol = load_digit_classifier(), FIDProtocol()
    cond = torch.arange(protocol.n) % 10 if G.cfg.n_classes else None
    out = protocol.record(lambda draw: dcgan_samples(G, protocol.n, seed=draw, labels=cond), model=clf)
    if G.cfg.n_classes:
        labels = torch.arange(10).repeat_interleave(n_per_class)
        out["class_accuracy"] = round(
            class_accuracy(dcgan_samples(G, len(labels), seed=0, labels=labels), labels, clf), 4
        )
    return out


def train_face_attributes(device, fast: bool) -> None:
    from .attributes import train_attribute_classifier

    model = train_attribute_classifier(n_train=2000 if fast else 10000, steps=20 if fast else 1200, device=device)
    model = model.cpu()
    save_model(
        "face_attributes",
        "attributes",
        {"channels": list(model.cfg.channels), "n_colors": model.cfg.n_colors},
        model,
        evaluate_attributes_model(model),
    )


def _face_sampler(device, n: int, seed: int = 1):
    images = make_faces(n, seed=seed).images.to(device)
    gen = torch.Generator(device=device).manual_seed(seed)
    return lambda b: (images[torch.randint(len(images), (b,), generator=gen, device=gen.device)], None)


def train_stylegan_faces(device, fast: bool, max_seconds: float = 3600) -> None:
    torch.manual_seed(0)
    cfg = StyleGANConfig(z_dim=32, w_dim=32, channels=(64, 64, 32, 32))
    # A (16, 32, 64) discriminator with R1 at every step (0.25 s a step on 2 cores) let the generator drop
    # the smiling faces (0.2 % of samples against 26 % of real ones). The default-width D, with StyleGAN2's
    # lazy R1 (every 16th step, scaled by 16) so that its double backward stays affordable, takes 0.58 s
    # a step and keeps far more of them (18 % after 6,000 steps).
    G, D = StyleGenerator(cfg).to(device), FaceDiscriminator().to(device)
    G.mix_prob = 0.9
    ema = EMA(G, decay=0.99)
    steps = 10 if fast else 6000
    # StyleGAN's lr of 2e-3 assumes equalized learning rates (weights N(0, 1) scaled at run time);
    # with plain init the same relative step is ~1/sqrt(fan_in) smaller, and 2e-3 collapsed here
    tcfg = GANTrainConfig(
        loss="nonsaturating",
        steps=steps,
        batch_size=32,
        lr_g=5e-4,
        lr_d=5e-4,
        betas=(0.0, 0.99),
        r1_weight=1.0,
        r1_every=16,
        log_every=1,
        desc="StyleGAN",
    )
    opt_g = torch.optim.Adam(
        [
            {"params": G.mapping.parameters(), "lr": 5e-5},  # mapping: slower, as in StyleGAN
            {"params": [p for n, p in G.named_parameters() if not n.startswith("mapping.")]},
        ],
        lr=tcfg.lr_g,
        betas=tcfg.betas,
    )
    sample_latent = lambda b: (torch.randn(b, cfg.z_dim, device=device), None)  # noqa: E731
    opt_d = torch.optim.Adam(D.parameters(), lr=tcfg.lr_d, betas=tcfg.betas)
    sample_real = _face_sampler(device, 2000 if fast else 10000)
    start, done, chunk = time.time(), 0, 250
    while done < steps and time.time() - start < max_seconds:  # chunks, so a time budget can stop it
        n = min(chunk, steps - done)
        tcfg.steps = n
        train_gan(G, D, sample_real, sample_latent, tcfg, callback=lambda step: ema.update(G), opt_g=opt_g, opt_d=opt_d)
        done += n
        # snapshot after every chunk: an interrupted run still leaves a usable (metric-less) checkpoint
        save_model("stylegan_faces", "stylegan", config_dict(cfg), copy.deepcopy(ema.model).cpu().eval())
        # the weakest mode, logged as the run goes (GAN coverage is not monotone in the step count)
        if done % 1000 == 0:
            fake, real = style_samples(copy.deepcopy(ema.model).cpu(), 500), make_faces(500, seed=777).images
            smile = smile_share(fake, real, load_model("face_attributes"))
        else:
            smile = {}
        print(f"StyleGAN: {done} steps, {time.time() - start:.0f} s {smile}", flush=True)
    print(f"StyleGAN: {done} steps in {time.time() - start:.0f} s", flush=True)
    G_ema = ema.model.cpu().eval()
    save_model("stylegan_faces", "stylegan", config_dict(cfg), G_ema, {**evaluate_face_generator(G_ema), "steps": done})


def train_dcgan_faces(device, fast: bool) -> None:
    torch.manual_seed(0)
    cfg = DCGANConfig(z_dim=64, base=32, img_channels=3, size=32)
    G, D = DCGenerator(cfg).to(device), DCDiscriminator(cfg).to(device)
    tcfg = GANTrainConfig(
        loss="hinge",
        steps=10 if fast else 800,
        batch_size=64,
        lr_g=2e-4,
        lr_d=4e-4,
        betas=(0.0, 0.9),
        desc="DCGAN faces",
    )
    train_gan(
        G,
        D,
        _face_sampler(device, 2000 if fast else 10000, seed=2),
        lambda b: (torch.randn(b, cfg.z_dim, device=device), None),
        tcfg,
    )
    G = G.cpu().eval()
    save_model("dcgan_faces", "dcgan", vars(cfg), G, evaluate_face_generator(G))


def digit_gan(conditional: bool, steps: int, device="cpu", seed: int = 0, G=None, D=None):
    """Train a (conditional) DCGAN on the 16×16 training digits; returns (G, D, history)."""
    from ..data.digits import load_digits_tensor

    torch.manual_seed(seed)
    images, labels = load_digits_tensor(16, "train")
    images, labels = images.to(device), labels.to(device)
    cfg = DCGANConfig(n_classes=10 if conditional else 0)
    G = G or DCGenerator(cfg).to(device)
    D = D or DCDiscriminator(cfg).to(device)
    gen = torch.Generator("cpu").manual_seed(seed)

    def sample_real(b):
        idx = torch.randint(len(images), (b,), generator=gen).to(device)
        return images[idx], (labels[idx] if conditional else None)

    def sample_latent(b):
        # the fake batch need not share the real batch's labels (no gradient penalty mixes the
        # two), so the generator is asked for uniformly random classes
        y = torch.randint(10, (b,), generator=gen).to(device) if conditional else None
        return torch.randn(b, cfg.z_dim, generator=gen).to(device), y

    tcfg = GANTrainConfig(
        loss="hinge",
        steps=steps,
        batch_size=64,
        lr_g=2e-4,
        lr_d=4e-4,
        betas=(0.0, 0.9),
        desc="cGAN digits" if conditional else "DCGAN digits",
    )
    hist = train_gan(G, D, sample_real, sample_latent, tcfg)
    return G.eval(), D, hist


def train_digits(conditional: bool, device, fast: bool) -> None:
    G, _, _ = digit_gan(conditional, 10 if fast else 2500, device)
    G = G.cpu().eval()
    save_model("cgan_digits" if conditional else "dcgan_digits", "dcgan", vars(G.cfg), G, evaluate_digit_generator(G))


def make_toy_comparison() -> None:
    """The recipe ``gan_toy_comparison``: the stabilizing notebook's table, on the CPU with 1 thread
    (about 30 minutes on an idle core: the ten runs of the table about 18, WGAN-GP's 5 critic steps per
    generator step a third of that, and the two longer grid runs about 10)."""
    from ..checkpoint_io import checkpoint_path, write_json
    from .toy import TABLE_FILE, comparison_table

    torch.set_num_threads(1)
    write_json(checkpoint_path(TABLE_FILE), comparison_table(seed=0, device="cpu"))


# ------------------------------------------------------------------------------ the recipes
# One function per shipped file, called by `genai-course recipe gan_<name>`; ``device`` is where it
# trains (default: the GPU when there is one); the metrics are measured on the CPU either way.


def _device(device) -> torch.device:
    return torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))


def make_face_attributes(device=None) -> None:
    train_face_attributes(_device(device), fast=False)


def make_stylegan_faces(device=None, max_seconds: float = 3600) -> None:
    train_stylegan_faces(_device(device), fast=False, max_seconds=max_seconds)


def make_dcgan_faces(device=None) -> None:
    train_dcgan_faces(_device(device), fast=False)


def make_dcgan_digits(device=None) -> None:
    train_digits(False, _device(device), fast=False)


def make_cgan_digits(device=None) -> None:
    train_digits(True, _device(device), fast=False)


if __name__ == "__main__":  # the old entry point: point to the recipes instead of silently doing nothing
    raise SystemExit("make these checkpoints with `genai-course recipe gan_NAME` (see `genai-course recipe --list`)")
