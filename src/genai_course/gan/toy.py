"""Train the 2-D GANs of notebooks 1 and 2 with one call per method, logging the mode metrics.

Methods (each a loss, a discriminator and the optimizer settings of its paper, :data:`SETTINGS`):

- ``minimax``: the original saturating generator loss (Goodfellow et al. 2014);
- ``vanilla``: the non-saturating loss (what "a GAN" usually means in code);
- ``minibatch-std``: vanilla, with the discriminator also seeing the spread of its batch
  (Karras et al. 2018, a simple form of the minibatch discrimination of Salimans et al. 2016);
- ``pacgan``: vanilla, with the discriminator judging packs of 4 samples at once (Lin et al.
  2018; their best grid result, PacGAN4);
- ``wgan-gp``: Wasserstein critic, 5 critic steps per generator step, Adam with lr 1e-4 and
  betas (0.5, 0.9), gradient penalty λ = 0.1: the settings of the authors' own script for these
  2-D benchmarks (``gan_toy.py`` in github.com/igul222/improved_wgan_training, 10⁵ generator
  steps; "smaller lambda makes things faster for toy tasks"). The paper's defaults for images
  (Algorithm 1: betas (0, 0.9), λ = 10) were slower here: on the ring, seed 0, after 500
  generator steps the energy distance to the data was 0.52 with them and 0.09 with the script's;
- ``spectral``: hinge loss, every discriminator layer spectrally normalized, one critic step,
  Adam betas (0, 0.9) (Miyato et al. 2018).

The GAN baselines (minimax, vanilla, minibatch-std, pacgan) and the spectral-norm GAN use the course's
rate 1e-3 (their papers' rates, 1e-4 to 2e-4, were tuned for 10⁵ image steps; with 2e-4 and
2,000 steps the spectral-norm GAN had found all 8 modes of the ring but only about 2/3 of its
samples were high quality). WGAN-GP keeps its paper's 1e-4: at 1e-3 its critic could not keep
up and the generator ended as a uniform disc (the course's earlier table).

Every logged step records, on a fixed batch of noise: the mode metrics of
:func:`genai_course.metrics.two_d.mode_report` (modes, the PacGAN code's lenient count, the
high-quality share, the share of samples on each mode), the energy distance to real samples, and
the critic's gap ``E[D(real)] - E[D(fake)]`` on fixed batches (for WGAN-GP, the Wasserstein estimate).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..data.toy2d import Mixture2D
from ..metrics.two_d import energy_distance, mode_report
from .models2d import Discriminator2D, Generator2D, MLP2DConfig
from .train import GANTrainConfig, train_gan

METHODS = ("minimax", "vanilla", "minibatch-std", "pacgan", "wgan-gp", "spectral")


@dataclass
class ToyRun:
    generator: Generator2D
    steps: list = field(default_factory=list)
    modes: list = field(default_factory=list)  # course rule: >= 20 % of a mode's fair share
    modes_any: list = field(default_factory=list)  # PacGAN code's rule: >= 1 high-quality sample
    high_quality: list = field(default_factory=list)
    shares: list = field(default_factory=list)  # per step: (k,) share of all samples on each mode
    energy: list = field(default_factory=list)  # energy distance to 1,000 real samples
    critic_gap: list = field(default_factory=list)  # E[D(real)] - E[D(fake)] on fixed batches
    d_loss: list = field(default_factory=list)  # the discriminator's training loss at the logged step
    snapshots: dict = field(default_factory=dict)  # step -> (n 2) samples

    @property
    def final(self) -> dict:
        return {
            "modes": self.modes[-1],
            "modes_any": self.modes_any[-1],
            "high_quality": self.high_quality[-1],
            "top2_share": top_share(self.shares[-1], 2),
        }


def top_share(shares, k: int = 2) -> float:
    """Fraction of the *high-quality* samples that sit on the k most popular modes (1.0: all on k modes)."""
    s = sorted(shares, reverse=True)
    return sum(s[:k]) / max(sum(s), 1e-12)


# method -> (loss, lr, Adam betas, critic steps per generator step, GP λ, discriminator options)
SETTINGS = {
    "minimax": ("minimax", 1e-3, (0.5, 0.999), 1, 0.0, {}),
    "vanilla": ("nonsaturating", 1e-3, (0.5, 0.999), 1, 0.0, {}),
    "minibatch-std": ("nonsaturating", 1e-3, (0.5, 0.999), 1, 0.0, {"minibatch_std": True}),
    "pacgan": ("nonsaturating", 1e-3, (0.5, 0.999), 1, 0.0, {"pack": 4}),
    "wgan-gp": ("wasserstein", 1e-4, (0.5, 0.9), 5, 0.1, {}),  # Gulrajani et al.'s 2-D script gan_toy.py
    "spectral": ("hinge", 1e-3, (0.0, 0.9), 1, 0.0, {"spectral_norm": True}),
}


def method_config(
    method: str, steps: int, lr: float | None = None, batch_size: int = 256, lr_decay: bool = False
) -> tuple[GANTrainConfig, dict]:
    """(training config, discriminator options for :class:`MLP2DConfig`) for a method name.

    ``lr=None`` uses the method's own rate from :data:`SETTINGS`."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    loss, own_lr, betas, n_critic, gp, d_options = SETTINGS[method]
    lr = own_lr if lr is None else lr
    cfg = GANTrainConfig(
        loss=loss,
        steps=steps,
        batch_size=batch_size,
        lr_g=lr,
        lr_d=lr,
        betas=betas,
        n_critic=n_critic,
        gp_weight=gp,
        lr_decay=lr_decay,
        desc=method,
    )
    return cfg, dict(d_options)


def train_toy_gan(
    mixture: Mixture2D,
    method: str,
    steps: int,
    seed: int = 0,
    log_every: int = 250,
    snapshot_at: tuple = (),
    n_eval: int = 2500,
    hidden: int = 128,
    lr: float | None = None,
    lr_decay: bool = False,
    device="cpu",
) -> ToyRun:
    """Train one method on one mixture; every ``log_every`` generator steps measure the metrics of
    :class:`ToyRun` on ``n_eval`` samples from a fixed latent batch."""
    cfg, d_options = method_config(method, steps, lr, lr_decay=lr_decay)
    cfg.log_every = log_every
    torch.manual_seed(seed)
    gen = torch.Generator("cpu").manual_seed(seed)
    model_cfg = MLP2DConfig(hidden=hidden, **d_options)
    G, D = Generator2D(model_cfg).to(device), Discriminator2D(model_cfg).to(device)
    z_eval = torch.randn(n_eval, model_cfg.z_dim, generator=torch.Generator("cpu").manual_seed(seed + 1)).to(device)
    real_eval = mixture.sample(n_eval, torch.Generator("cpu").manual_seed(seed + 2))
    run = ToyRun(G)
    hist = None

    def measure(step: int) -> None:
        with torch.no_grad():
            samples = G(z_eval)
            gap = D(real_eval.to(device)).mean() - D(samples).mean()
        samples = samples.cpu()
        m = mode_report(samples, mixture)
        run.steps.append(step)
        run.modes.append(m["modes"])
        run.modes_any.append(m["modes_any"])
        run.high_quality.append(m["high_quality"])
        run.shares.append([round(x, 4) for x in m["shares"]])
        run.energy.append(energy_distance(samples[:1000], real_eval[:1000]))
        run.critic_gap.append(gap.item())
        if step in snapshot_at:
            run.snapshots[step] = samples

    hist = train_gan(
        G,
        D,
        lambda b: (mixture.sample(b, gen).to(device), None),
        lambda b: (torch.randn(b, model_cfg.z_dim, generator=gen).to(device), None),
        cfg,
        callback=measure,
    )
    run.d_loss = list(hist.d_loss)
    return run


# The side-by-side comparison of notebook 2: every method on the ring and the grid with the same
# number of *generator* steps (WGAN-GP's critic takes 5 steps for each), each with its paper's
# optimizer settings. It takes longer than the notebook can afford, so a recipe makes it once and
# ships the result (TABLE_FILE): the final metrics of every run, plus the logged curves of the
# runs the notebook plots; the notebook prints that table and reruns two of its rows live.
COMPARED = ("vanilla", "minibatch-std", "pacgan", "wgan-gp", "spectral")
GENERATOR_STEPS = {"ring": 3000, "grid": 3000}
# The grid needs a longer run than 3,000 steps to place 25 thin modes. The recipe gives one to the pair
# that Lin et al. compare, a GAN and PacGAN4, each with the same generator steps, its rate decayed
# linearly to 0 (late small steps sharpen the samples instead of moving them between modes).
LONG_GRID = {"methods": ("vanilla", "pacgan"), "generator_steps": 20000, "lr_decay": True}
TABLE_FILE = "gan_toy_comparison.json"
TABLE_RECIPE = "genai-course recipe gan_toy_comparison"
CURVE_KEYS = ("steps", "modes", "modes_any", "high_quality", "energy", "critic_gap", "d_loss", "shares")
# Published mode counts for the 2-D grid (25 Gaussians, std 0.05, 2,500 samples, a mode counts with
# one sample within 3σ), Lin et al. 2018 (PacGAN), Table 1, means over runs of 400 epochs of 100,000
# points (400,000 steps of batch 100). Their high-quality shares are not copied here: not re-checked.
PUBLISHED_GRID = {"GAN": 17.3, "PacGAN4": 24.8}


def generator_steps(method: str, mixture: str) -> int:
    """The stated budget: the same number of generator steps for every method."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return GENERATOR_STEPS[mixture]


def comparison_table(seed: int = 0, device="cpu") -> dict:
    """Train every method of :data:`COMPARED` on the ring and the grid; final metrics and curves of each run."""
    import time

    import torch

    from ..data.toy2d import grid, ring

    rows, long_rows, curves = [], [], {}

    def run_and_record(mix_name, mixture, method, steps, lr_decay=False) -> dict:
        cfg, _ = method_config(method, steps, lr_decay=lr_decay)
        start = time.perf_counter()
        run = train_toy_gan(mixture, method, steps, seed=seed, log_every=steps // 30, lr_decay=lr_decay, device=device)
        row = {
            "mixture": mix_name,
            "method": method,
            "generator_steps": steps,
            "d_updates": steps * cfg.n_critic,
            "lr": cfg.lr_g,
            "lr_decay": lr_decay,
            "modes": run.final["modes"],
            "modes_any": run.final["modes_any"],
            "high_quality": round(run.final["high_quality"], 4),
            "top2_share": round(run.final["top2_share"], 4),
            "seconds": round(time.perf_counter() - start, 1),
        }
        print(row, flush=True)
        curves[f"{mix_name}/{method}" + ("/long" if lr_decay else "")] = {
            k: _rounded(getattr(run, k)) for k in CURVE_KEYS
        }
        return row

    for mix_name, mixture in (("ring", ring()), ("grid", grid())):
        for method in COMPARED:
            rows.append(run_and_record(mix_name, mixture, method, generator_steps(method, mix_name)))
    for method in LONG_GRID["methods"]:
        long_rows.append(
            run_and_record("grid", grid(), method, LONG_GRID["generator_steps"], lr_decay=LONG_GRID["lr_decay"])
        )
    return {
        "seed": seed,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "made_by": TABLE_RECIPE,
        "rows": rows,
        "long_grid": long_rows,
        "curves": curves,
    }


def _rounded(values):
    return [_rounded(v) if isinstance(v, list) else (round(v, 5) if isinstance(v, float) else v) for v in values]


def load_comparison_table() -> dict:
    """The shipped table: ``rows`` ``{(mixture, method): row}``, ``long_grid`` ``{method: row}`` (the
    longer grid runs of :data:`LONG_GRID`), ``curves`` ``{"ring/wgan-gp": {...}, "grid/pacgan/long": ...}``
    and ``meta`` (seed, torch, threads)."""
    import json

    from ..checkpoint_io import checkpoint_path
    from ..errors import CheckpointMissing

    path = checkpoint_path(TABLE_FILE)
    if not path.exists():
        raise CheckpointMissing(f"{path} is missing; make it with `{TABLE_RECIPE}`")
    data = json.loads(path.read_text(encoding="utf-8"))
    table = {(row["mixture"], row["method"]): row for row in data["rows"]}
    meta = {k: v for k, v in data.items() if k not in ("rows", "long_grid", "curves")}
    long_grid = {row["method"]: row for row in data.get("long_grid", [])}
    return {"rows": table, "long_grid": long_grid, "curves": data.get("curves", {}), "meta": meta}
