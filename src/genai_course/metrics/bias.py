r"""A bias audit of generators: does sampling keep, shrink or amplify a group's share of the data?

The audit of notebook 8.9 trains small generators on data whose *attribute* (a binary group
label) is deliberately imbalanced, then counts the groups among the samples.

**Bias amplification.** Zhao et al. (2017) define amplification for a *classifier's predictions*:
how much more often the model predicts an attribute together with an output than the training
labels pair them. The generator-side analogue used here compares one group's share among the
samples with its share in the training data:

.. math::  A(g) = \hat p_{\text{samples}}(g) - p_{\text{train}}(g)

:math:`A(g) < 0` for the minority group means the generator makes it rarer still (it drops
part of a mode); :math:`A = 0` means it reproduces the imbalance faithfully — which is *not* the
same as fair, only as faithful.

**Mitigations measured.** (1) *Reweighting*: train on a sampler that draws example i with
probability proportional to :math:`w_i = 1 / n_{g(i)}`, so each group is drawn equally often
(importance weights toward 50/50); (2) *conditioning*: train a class-conditional model and ask
for each group equally often at sampling time.

The data are two Gaussian clusters in 2-D, one per group, so the "attribute classifier" is
exact (the side of the y-axis a point lies on) and every measured change is the generator's.

**Seeds.** The seed changes the trained model, usually more than the sampling noise does, so the
audit is repeated with several seeds (:func:`audit_samples` is one seed: four models, five sample
sets). The recipe ``bias_audit_seeds`` runs seeds 0-2 and ships each sample set's share and
spread (:func:`load_bias_audit_seeds`); the notebook trains seed 0 live and reads the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..checkpoint_io import checkpoint_path, read_record, write_record
from ..diffusion.schedules import NoiseSchedule
from ..errors import CheckpointError
from ..gan.losses import d_loss, g_loss
from ..nn.unet import timestep_embedding
from .preferences import wilson_interval  # a group's share is a binomial proportion, like a win rate

# Notebook 8.9's audit: 2000 points with a 20 % minority, 1200 training steps, 2000 samples per set.
AUDIT = dict(n_points=2000, minority_share=0.2, steps=1200, n_samples=2000)
AUDIT_MODELS = ("GAN", "GAN, reweighted", "diffusion", "diffusion, reweighted", "diffusion, conditioned")
RECORD_SEEDS = (0, 1, 2)
RECORD_FILE = "bias_audit_seeds.json"
RECORD_RECIPE = "genai-course recipe bias_audit_seeds"

# The two groups' cluster centres (group 0 left, group 1 right) and spread: far enough apart
# that a sample's group is never ambiguous, close enough that one generator must cover both.
CENTRES = ((-1.5, 0.0), (1.5, 0.0))
SPREAD = 0.3


def _check_groups(groups, name: str = "groups") -> torch.Tensor:
    groups = torch.as_tensor(groups)
    if groups.dim() != 1 or len(groups) == 0:
        raise ValueError(f"{name} must be a non-empty 1-d tensor of group labels (n,), got shape {tuple(groups.shape)}")
    if groups.is_floating_point():
        raise TypeError(f"{name} must hold integer group labels, got dtype {groups.dtype}")
    return groups


def two_groups(n: int, minority_share: float = 0.2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(points (n 2), groups (n,))``: exactly ``round(minority_share·n)`` points of group 1, the rest group 0."""
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an int >= 2, got {n!r}")
    if not 0 < minority_share < 1:
        raise ValueError(f"minority_share must lie in (0, 1), got {minority_share!r}")
    g = torch.Generator("cpu").manual_seed(seed)
    groups = (torch.arange(n) < round(minority_share * n)).long()
    groups = groups[torch.randperm(n, generator=g)]
    points = torch.tensor(CENTRES)[groups] + SPREAD * torch.randn(n, 2, generator=g)
    return points, groups


def group_of(points: torch.Tensor) -> torch.Tensor:
    """The attribute classifier of the toy: group 1 right of the y-axis, group 0 left. (n 2) → (n,) int64."""
    if points.dim() != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (n 2), got {tuple(points.shape)}")
    return (points[:, 0] > 0).long()


def share(groups, group: int = 1) -> float:
    """The fraction of labels equal to ``group``."""
    groups = _check_groups(groups)
    return (groups == group).float().mean().item()


def bias_amplification(train_groups, sample_groups, group: int = 1) -> float:
    """:math:`A(g) = \\hat p_{\\text{samples}}(g) - p_{\\text{train}}(g)`, the generator-side analogue of Zhao et al. (2017)."""
    return share(_check_groups(sample_groups, "sample_groups"), group) - share(
        _check_groups(train_groups, "train_groups"), group
    )


def spread_ratio(samples: torch.Tensor, reference: torch.Tensor) -> float:
    """How much of the plane a set of points (n 2) covers, relative to ``reference`` (m 2):
    √(det Σ_samples / det Σ_reference), the ratio of the areas of their one-σ ellipses.

    1 when the samples spread like the reference; near 0 when they collapse onto a curve or a
    point, which a share alone cannot see (a group can have the right share and no diversity).
    """
    for name, x in (("samples", samples), ("reference", reference)):
        if x.dim() != 2 or x.shape[1] != 2 or len(x) < 3:
            raise ValueError(f"{name} must have shape (n 2) with n >= 3, got {tuple(x.shape)}")
    area = lambda x: torch.linalg.det(torch.cov(x.T.double()))  # noqa: E731  (det of the 2×2 covariance)
    return (area(samples) / area(reference)).sqrt().item()


def balancing_weights(groups) -> torch.Tensor:
    """Sampling weights (n,) that draw every group equally often: w_i = 1 / (G · n_{g(i)}), summing to 1."""
    groups = _check_groups(groups)
    values, counts = torch.unique(groups, return_counts=True)
    per_group = torch.zeros(int(values.max()) + 1)
    per_group[values] = 1.0 / (len(values) * counts.float())
    return per_group[groups]


def _batches(n: int, batch_size: int, weights: torch.Tensor | None, g: torch.Generator):
    """Indices of one training batch: uniform, or drawn with replacement in proportion to ``weights``."""
    if weights is None:
        return torch.randint(n, (batch_size,), generator=g)
    # inverse-CDF draw with replacement: example i is picked with probability w_i / Σw
    cdf = weights.cumsum(0)
    u = torch.rand(batch_size, generator=g) * cdf[-1]
    return torch.searchsorted(cdf, u, right=True).clamp_max(len(weights) - 1)


def _mlp(d_in: int, d_out: int, hidden: int, act=nn.ReLU) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), act(), nn.Linear(hidden, hidden), act(), nn.Linear(hidden, d_out))


def train_toy_gan(
    points: torch.Tensor,
    weights: torch.Tensor | None = None,
    steps: int = 1500,
    seed: int = 0,
    hidden: int = 64,
    z_dim: int = 4,
    batch_size: int = 128,
    lr: float = 1e-3,
) -> nn.Module:
    """A small non-saturating GAN (Goodfellow et al. 2014) on ``points`` (n 2); returns the generator z (b z_dim) → (b 2)."""
    torch.manual_seed(seed)
    g = torch.Generator("cpu").manual_seed(seed)
    G, D = _mlp(z_dim, 2, hidden), _mlp(2, 1, hidden, nn.LeakyReLU)
    # foreach: one update for all of a model's tensors at once; at this size the per-tensor loop
    # of the default CPU Adam is a fifth of the training time
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999), foreach=True)
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999), foreach=True)
    for _ in range(steps):
        real = points[_batches(len(points), batch_size, weights, g)]
        fake = G(torch.randn(batch_size, z_dim, generator=g))
        loss_d = d_loss("minimax", D(real).squeeze(1), D(fake.detach()).squeeze(1))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = g_loss("nonsaturating", D(fake).squeeze(1))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
    G.z_dim = z_dim
    return G.eval()


@torch.no_grad()
def gan_samples(G: nn.Module, n: int, seed: int = 0) -> torch.Tensor:
    """n points (n 2) from a generator of :func:`train_toy_gan`."""
    return G(torch.randn(n, G.z_dim, generator=torch.Generator("cpu").manual_seed(seed)))


class ConditionalDenoiser(nn.Module):
    """ε_θ(x, t, y) for 2-D points: an MLP on [x, time embedding, group embedding]; y = n_groups is "no group"."""

    def __init__(self, n_groups: int = 2, hidden: int = 128, t_dim: int = 16):
        super().__init__()
        self.n_groups, self.t_dim = n_groups, t_dim
        self.group = nn.Embedding(n_groups + 1, t_dim)
        self.net = nn.Sequential(
            nn.Linear(2 + 2 * t_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
            nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 2),
        )  # fmt: skip

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, timestep_embedding(t, self.t_dim), self.group(y)], dim=-1))


@dataclass
class ToyDiffusion:
    net: ConditionalDenoiser
    schedule: NoiseSchedule


def train_toy_diffusion(
    points: torch.Tensor,
    groups: torch.Tensor,
    weights: torch.Tensor | None = None,
    steps: int = 1500,
    seed: int = 0,
    p_uncond: float = 0.5,
    batch_size: int = 128,
    lr: float = 2e-3,
    T: int = 100,
) -> ToyDiffusion:
    """A small DDPM (Ho et al. 2020) on ``points`` (n 2) with group labels (n,), the label dropped for a
    ``p_uncond`` fraction of examples so that the same network also samples without asking for a group."""
    torch.manual_seed(seed)
    g = torch.Generator("cpu").manual_seed(seed)
    schedule = NoiseSchedule.make("linear", T)
    net = ConditionalDenoiser(n_groups=int(groups.max()) + 1)
    opt = torch.optim.Adam(net.parameters(), lr=lr, foreach=True)  # as in train_toy_gan
    abar = schedule.alphas_cumprod
    decay = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 - step / steps)  # smaller steps late: less noise
    for _ in range(steps):
        idx = _batches(len(points), batch_size, weights, g)
        x0, y = points[idx], groups[idx].clone()
        y[torch.rand(batch_size, generator=g) < p_uncond] = net.n_groups
        t = torch.randint(T, (batch_size,), generator=g)
        eps = torch.randn(batch_size, 2, generator=g)
        a = abar[t][:, None]
        xt = a.sqrt() * x0 + (1 - a).sqrt() * eps  # q(x_t | x_0), Ho et al. (2020) eq. 4
        loss = (net(xt, t, y) - eps).pow(2).mean()  # their eq. 14
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        decay.step()
    return ToyDiffusion(net.eval(), schedule)


@torch.no_grad()
def diffusion_samples(model: ToyDiffusion, n: int, groups: torch.Tensor | None = None, seed: int = 0) -> torch.Tensor:
    """n points (n 2) by ancestral sampling; ``groups`` (n,) asks for a group per sample, ``None`` for none."""
    from ..diffusion.sampling import ddpm_sample

    net = model.net
    y = torch.full((n,), net.n_groups) if groups is None else torch.as_tensor(groups).long()
    if y.shape != (n,):
        raise ValueError(f"groups must have shape ({n},), got {tuple(y.shape)}")
    g = torch.Generator("cpu").manual_seed(seed)
    return ddpm_sample(lambda x, t: net(x, t, y), (n, 2), model.schedule, generator=g)


def audit_samples(points, groups, weights, steps: int, seed: int, n_samples: int) -> dict[str, torch.Tensor]:
    """One seed of the audit → {name of :data:`AUDIT_MODELS`: samples (n_samples 2)}.

    Four models: a GAN and a diffusion model, each on the plain data and on the ``weights``
    sampler. The plain diffusion model, trained with the group label, is sampled twice: without a
    label, and asking for each group half of the time (the conditioning mitigation).
    """
    asked = torch.arange(n_samples) % 2
    runs = {
        "GAN": gan_samples(train_toy_gan(points, None, steps, seed), n_samples, seed + 100),
        "GAN, reweighted": gan_samples(train_toy_gan(points, weights, steps, seed), n_samples, seed + 100),
    }
    model = train_toy_diffusion(points, groups, None, steps, seed)
    runs["diffusion"] = diffusion_samples(model, n_samples, None, seed + 100)
    runs["diffusion, conditioned"] = diffusion_samples(model, n_samples, asked, seed + 100)
    reweighted = train_toy_diffusion(points, groups, weights, steps, seed)
    runs["diffusion, reweighted"] = diffusion_samples(reweighted, n_samples, None, seed + 100)
    return {name: runs[name] for name in AUDIT_MODELS}


def audit_summary(samples: torch.Tensor, points: torch.Tensor, groups: torch.Tensor) -> dict:
    """What the audit keeps of one sample set (n 2): ``n``, ``group1`` (how many samples are in group
    1), ``share`` (their fraction) and ``spread`` (:func:`spread_ratio` of group 1 against its
    training points)."""
    labels = group_of(samples)
    return {
        "n": len(labels),
        "group1": int(labels.sum()),
        "share": share(labels),
        "spread": spread_ratio(samples[labels == 1], points[groups == 1]),
    }


def make_bias_audit_seeds(device=None) -> dict:
    """The recipe ``bias_audit_seeds``: :func:`audit_samples` with :data:`AUDIT` for each seed of
    :data:`RECORD_SEEDS`, on one thread; keeps :func:`audit_summary` of every sample set."""
    torch.set_num_threads(1)
    points, groups = two_groups(AUDIT["n_points"], AUDIT["minority_share"], seed=0)
    weights = balancing_weights(groups)
    rows: dict = {name: {} for name in AUDIT_MODELS}
    for seed in RECORD_SEEDS:
        for name, samples in audit_samples(points, groups, weights, AUDIT["steps"], seed, AUDIT["n_samples"]).items():
            summary = audit_summary(samples, points, groups)
            rows[name][str(seed)] = summary | {
                "share": round(summary["share"], 4),
                "spread": round(summary["spread"], 4),
            }
    return write_record(checkpoint_path(RECORD_FILE), RECORD_RECIPE, **AUDIT, seeds=list(RECORD_SEEDS), rows=rows)


def load_bias_audit_seeds() -> dict:
    """The shipped record: ``rows[model][seed]`` is an :func:`audit_summary`, for every model of
    :data:`AUDIT_MODELS` and every seed in ``seeds``."""
    path = checkpoint_path(RECORD_FILE)
    record = read_record(path, RECORD_RECIPE)
    rows = record.get("rows") if isinstance(record, dict) else None
    seeds = [str(s) for s in record.get("seeds", [])] if isinstance(record, dict) else []
    complete = (
        isinstance(rows, dict)
        and seeds
        and all(
            isinstance(rows.get(name), dict) and all(isinstance(rows[name].get(s), dict) for s in seeds)
            for name in AUDIT_MODELS
        )
    )
    if not complete:
        raise CheckpointError(
            f"{path} does not hold every model of {AUDIT_MODELS} for each seed; remake it with `{RECORD_RECIPE}`"
        )
    return record


__all__ = [
    "AUDIT",
    "AUDIT_MODELS",
    "CENTRES",
    "SPREAD",
    "ConditionalDenoiser",
    "ToyDiffusion",
    "audit_samples",
    "audit_summary",
    "balancing_weights",
    "bias_amplification",
    "diffusion_samples",
    "gan_samples",
    "group_of",
    "load_bias_audit_seeds",
    "make_bias_audit_seeds",
    "share",
    "spread_ratio",
    "train_toy_diffusion",
    "train_toy_gan",
    "two_groups",
    "wilson_interval",
]
