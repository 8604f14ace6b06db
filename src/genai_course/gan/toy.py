"""Train the 2-D GANs of notebooks 1 and 2 with one call per method, logging the mode metrics.

Methods (each a loss, a discriminator and the optimizer settings of its paper):

- ``minimax``: the original saturating generator loss (Goodfellow et al. 2014);
- ``vanilla``: the non-saturating loss (what "a GAN" usually means in code);
- ``minibatch-std``: vanilla, with the discriminator also seeing the spread of its batch
  (Karras et al. 2018, a simple form of the minibatch discrimination of Salimans et al. 2016);
- ``wgan-gp``: Wasserstein critic, gradient penalty λ = 10, 5 critic steps per generator step,
  Adam betas (0.5, 0.9) (Gulrajani et al. 2017, Algorithm 1);
- ``spectral``: hinge loss, every discriminator layer spectrally normalized, one critic step,
  Adam betas (0, 0.9) (Miyato et al. 2018).

One deviation from the papers, for every method alike: the learning rate is 1e-3 (the papers
use 1e-4 to 2e-4 for 10⁵ steps), optionally decayed linearly to 0, so that a run fits in a few
thousand steps on a CPU. With 2e-4 and 2,000 steps the spectral-norm GAN had found all 8 modes
of the ring but only about 2/3 of its samples were high quality.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..data.toy2d import Mixture2D
from ..metrics.two_d import mode_metrics
from .models2d import Discriminator2D, Generator2D, MLP2DConfig
from .train import GANTrainConfig, train_gan

METHODS = ("minimax", "vanilla", "minibatch-std", "wgan-gp", "spectral")


@dataclass
class ToyRun:
    generator: Generator2D
    steps: list = field(default_factory=list)
    modes: list = field(default_factory=list)
    high_quality: list = field(default_factory=list)
    snapshots: dict = field(default_factory=dict)  # step -> (n 2) samples

    @property
    def final(self) -> dict:
        return {"modes": self.modes[-1], "high_quality": self.high_quality[-1]}


def method_config(
    method: str, steps: int, lr: float = 1e-3, batch_size: int = 256, lr_decay: bool = False
) -> tuple[GANTrainConfig, dict]:
    """(training config, discriminator options for :class:`MLP2DConfig`) for a method name."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    common = dict(steps=steps, batch_size=batch_size, lr_g=lr, lr_d=lr, lr_decay=lr_decay, desc=method)
    if method == "minimax":
        return GANTrainConfig(loss="minimax", **common), {}
    if method == "vanilla":
        return GANTrainConfig(loss="nonsaturating", **common), {}
    if method == "minibatch-std":
        return GANTrainConfig(loss="nonsaturating", **common), {"minibatch_std": True}
    if method == "wgan-gp":
        return GANTrainConfig(loss="wasserstein", n_critic=5, gp_weight=10.0, betas=(0.5, 0.9), **common), {}
    return GANTrainConfig(loss="hinge", betas=(0.0, 0.9), **common), {"spectral_norm": True}


def train_toy_gan(
    mixture: Mixture2D,
    method: str,
    steps: int,
    seed: int = 0,
    log_every: int = 250,
    snapshot_at: tuple = (),
    n_eval: int = 2500,
    hidden: int = 128,
    lr: float = 1e-3,
    lr_decay: bool = False,
    device="cpu",
) -> ToyRun:
    """Train one method on one mixture; every ``log_every`` steps measure modes and quality on
    ``n_eval`` samples from a fixed latent batch."""
    cfg, d_options = method_config(method, steps, lr, lr_decay=lr_decay)
    cfg.log_every = log_every
    torch.manual_seed(seed)
    gen = torch.Generator("cpu").manual_seed(seed)
    model_cfg = MLP2DConfig(hidden=hidden, **d_options)
    G, D = Generator2D(model_cfg).to(device), Discriminator2D(model_cfg).to(device)
    z_eval = torch.randn(n_eval, model_cfg.z_dim, generator=torch.Generator("cpu").manual_seed(seed + 1)).to(device)
    run = ToyRun(G)

    def measure(step: int) -> None:
        with torch.no_grad():
            samples = G(z_eval).cpu()
        m = mode_metrics(samples, mixture)
        run.steps.append(step)
        run.modes.append(m["modes"])
        run.high_quality.append(m["high_quality"])
        if step in snapshot_at:
            run.snapshots[step] = samples

    train_gan(
        G,
        D,
        lambda b: (mixture.sample(b, gen).to(device), None),
        lambda b: (torch.randn(b, model_cfg.z_dim, generator=gen).to(device), None),
        cfg,
        callback=measure,
    )
    return run


# The side-by-side comparison of notebook 2: every stabilized method on the ring and the grid with
# the same number of discriminator updates. It takes about four minutes on a 2-core CPU, more than
# the notebook can afford, so a recipe makes it once and ships the result (TABLE_FILE); the
# notebook prints that table and reruns two of its rows live.
COMPARED = ("vanilla", "minibatch-std", "wgan-gp", "spectral")
D_UPDATES = {"ring": 3000, "grid": 1500}
TABLE_FILE = "gan_toy_comparison.json"
TABLE_RECIPE = "genai-course recipe gan_toy_comparison"


def generator_steps(method: str, d_updates: int) -> int:
    """Generator steps that spend ``d_updates`` discriminator updates (WGAN-GP: 5 per step)."""
    return d_updates // method_config(method, steps=1)[0].n_critic


def comparison_table(seed: int = 0, device="cpu") -> dict:
    """Train every method of :data:`COMPARED` on the ring and the grid; the final metrics of each run."""
    import time

    import torch

    from ..data.toy2d import grid, ring

    rows = []
    for mix_name, mixture in (("ring", ring()), ("grid", grid())):
        for method in COMPARED:
            steps = generator_steps(method, D_UPDATES[mix_name])
            start = time.perf_counter()
            run = train_toy_gan(mixture, method, steps, seed=seed, log_every=steps // 5, device=device)
            rows.append(
                {
                    "mixture": mix_name,
                    "method": method,
                    "d_updates": D_UPDATES[mix_name],
                    "generator_steps": steps,
                    "modes": run.final["modes"],
                    "high_quality": round(run.final["high_quality"], 4),
                    "seconds": round(time.perf_counter() - start, 1),
                }
            )
    return {
        "seed": seed,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "made_by": TABLE_RECIPE,
        "rows": rows,
    }


def load_comparison_table() -> dict:
    """The shipped table: ``{(mixture, method): row}`` plus its ``meta`` (seed, torch, threads)."""
    import json

    from ..checkpoint_io import checkpoint_path
    from ..errors import CheckpointMissing

    path = checkpoint_path(TABLE_FILE)
    if not path.exists():
        raise CheckpointMissing(f"{path} is missing; make it with `{TABLE_RECIPE}`")
    data = json.loads(path.read_text(encoding="utf-8"))
    table = {(row["mixture"], row["method"]): row for row in data["rows"]}
    return {"rows": table, "meta": {k: v for k, v in data.items() if k != "rows"}}
