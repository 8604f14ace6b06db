"""Measuring and editing a style-based generator with an attribute classifier.

- :func:`attribute_scores`: the classifier's continuous outputs as one (b a) table;
- :func:`attribute_directions`: one direction per attribute in W, from a linear regression of
  classifier scores on w (the "labels" come from the classifier, not from a human);
- :func:`orthogonalize`: remove the other attributes' directions from one (conditional editing,
  as in InterFaceGAN) so that an edit moves its attribute and little else;
- :func:`edit_effect`: how much every attribute moves when w walks along a direction;
- :func:`path_length`: perceptual path length in Z (slerp) or W (lerp), measured with the
  classifier's features instead of a VGG network;
- :func:`wasserstein_1d`, :func:`ks_distance`, :func:`coverage`, :func:`attribute_coverage`: does the
  generator reach every part of the real faces' attribute distribution, or has it dropped a mode?
"""

from __future__ import annotations

import torch

from ..data.faces import CONTINUOUS
from .attributes import AttributeClassifier
from .stylegan import StyleGenerator

__all__ = [
    "CONTINUOUS",
    "attribute_scores",
    "attribute_directions",
    "attribute_patterns",
    "orthogonalize",
    "sample_w",
    "render",
    "edit_ws",
    "edit_effect",
    "slerp",
    "path_length",
    "interpolation_roughness",
    "wasserstein_1d",
    "ks_distance",
    "coverage",
    "attribute_coverage",
]


@torch.no_grad()
def sample_w(G: StyleGenerator, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` latents z (b z) and their w = mapping(z) (b w), deterministic given ``seed``."""
    z = torch.randn(n, G.cfg.z_dim, generator=torch.Generator("cpu").manual_seed(seed)).to(G.const.device)
    return z, G.mapping(z)


@torch.no_grad()
def render(G: StyleGenerator, w: torch.Tensor, noise_seed: int = 0, batch_size: int = 256) -> torch.Tensor:
    """w (b w) or ws (b num_ws w) → images (b 3 32 32) in [-1, 1], with noise fixed by ``noise_seed``.

    Every image gets the *same* noise maps, so that two renders differ only through w.
    """
    noise = G.fixed_noise(1, torch.Generator("cpu").manual_seed(noise_seed))
    out = []
    for i in range(0, len(w), batch_size):
        chunk = w[i : i + batch_size]
        out.append(G.synthesize(chunk, [n.expand(len(chunk), -1, -1, -1) for n in noise]).clamp(-1, 1))
    return torch.cat(out)


@torch.no_grad()
def attribute_scores(clf: AttributeClassifier, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Classifier outputs for ``CONTINUOUS`` attributes: (b a), columns in that order."""
    clf.eval()
    dev = next(clf.parameters()).device
    outs = [clf(images[i : i + batch_size].to(dev)) for i in range(0, len(images), batch_size)]
    return torch.stack([torch.cat([o[k] for o in outs]) for k in CONTINUOUS], 1).cpu()


def attribute_directions(w: torch.Tensor, scores: torch.Tensor, names=CONTINUOUS) -> dict:
    """Least-squares fit scores ≈ (w − mean w) · B + c; returns {name: unit direction (w_dim,)}.

    The regression weights of attribute a form the direction along which a's score grows fastest
    per unit step *in the linear model*: the gradient of a linear readout of w.
    """
    if w.dim() != 2 or scores.dim() != 2 or len(w) != len(scores) or scores.shape[1] != len(names):
        raise ValueError(
            f"w must be (b w_dim) and scores (b {len(names)}) with the same b, "
            f"got {tuple(w.shape)} and {tuple(scores.shape)}"
        )
    x = torch.cat([w - w.mean(0), torch.ones(len(w), 1)], 1).double()
    coef = torch.linalg.lstsq(x, scores.double()).solution[:-1].float()  # (w_dim a)
    return {name: coef[:, i] / coef[:, i].norm() for i, name in enumerate(names)}


def attribute_patterns(w: torch.Tensor, scores: torch.Tensor, names=CONTINUOUS) -> dict:
    """Covariance directions: {name: unit vector along Cov(w, score_a)} (w_dim,), the way w varies with a.

    The regression weights B of :func:`attribute_directions` answer "which readout of w predicts
    a?"; in an anisotropic W they lean on low-variance dimensions that cancel the other factors,
    and a step along them leaves the region where the generator has data. The covariance
    Cov(w, s_a) = Σ_w B_a (Haufe et al., 2014) answers "how do the latents of faces with more a
    differ?", a direction the samples themselves move along.
    """
    if w.dim() != 2 or scores.dim() != 2 or len(w) != len(scores) or scores.shape[1] != len(names):
        raise ValueError(
            f"w must be (b w_dim) and scores (b {len(names)}) with the same b, "
            f"got {tuple(w.shape)} and {tuple(scores.shape)}"
        )
    cov = (w - w.mean(0)).T.double() @ (scores - scores.mean(0)).double() / (len(w) - 1)  # (w_dim a)
    return {name: (cov[:, i] / cov[:, i].norm()).float() for i, name in enumerate(names)}


def orthogonalize(directions: dict, target: str) -> torch.Tensor:
    """The target direction minus its projection on the span of all other directions (unit norm)."""
    others = torch.stack([d for k, d in directions.items() if k != target], 1)  # (w_dim a-1)
    q, _ = torch.linalg.qr(others)
    d = directions[target] - q @ (q.T @ directions[target])
    return d / d.norm()


def edit_ws(
    G: StyleGenerator, w: torch.Tensor, direction: torch.Tensor, alpha: float, layers: slice = slice(None)
) -> torch.Tensor:
    """Per-layer styles (b num_ws w_dim): w everywhere, plus α·direction in the chosen ``layers`` only."""
    ws = w[:, None].repeat(1, G.num_ws, 1)
    ws[:, layers] += alpha * direction
    return ws


@torch.no_grad()
def edit_effect(
    G: StyleGenerator,
    clf: AttributeClassifier,
    w: torch.Tensor,
    direction: torch.Tensor,
    alphas,
    w_std: float | torch.Tensor = 1.0,
    layers: slice = slice(None),
) -> torch.Tensor:
    """Mean classifier scores (len(alphas) a) after adding α·w_std·direction to the styles of ``layers``."""
    rows = [attribute_scores(clf, render(G, edit_ws(G, w, direction, a * w_std, layers))).mean(0) for a in alphas]
    return torch.stack(rows)


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of (b d) vectors at (b 1) times: the right path between Gaussian z."""
    a_n, b_n = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((a_n * b_n).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


@torch.no_grad()
def path_length(
    G: StyleGenerator, clf: AttributeClassifier, space: str, n: int = 512, eps: float = 1e-2, seed: int = 0
) -> float:
    """Perceptual path length (Karras et al. 2019) with the classifier's 128 features as the "perception".

    For random pairs and a random t, ``d = ‖f(g(lerp(t))) − f(g(lerp(t+ε)))‖² / ε²``, with slerp in Z
    and lerp in W; the mean over the central 98 % of pairs (the paper drops the outer 1 % each side).
    """
    if space not in ("z", "w"):
        raise ValueError(f"space must be 'z' or 'w', got {space!r}")
    gen = torch.Generator("cpu").manual_seed(seed)
    dev = G.const.device
    z0, z1 = torch.randn(2, n, G.cfg.z_dim, generator=gen).to(dev)
    t = torch.rand(n, 1, generator=gen).to(dev)
    if space == "z":
        wa, wb = G.mapping(slerp(z0, z1, t)), G.mapping(slerp(z0, z1, t + eps))
    else:
        w0, w1 = G.mapping(z0), G.mapping(z1)
        wa, wb = torch.lerp(w0, w1, t), torch.lerp(w0, w1, t + eps)
    fa, fb = clf.features(render(G, wa, seed)), clf.features(render(G, wb, seed))
    d = (fa - fb).pow(2).sum(-1) / eps**2
    lo, hi = torch.quantile(d, 0.01), torch.quantile(d, 0.99)
    return float(d[(d >= lo) & (d <= hi)].mean())


@torch.no_grad()
def interpolation_roughness(
    G: StyleGenerator, clf: AttributeClassifier, z0: torch.Tensor, z1: torch.Tensor, space: str, frames: int = 16
) -> tuple[torch.Tensor, torch.Tensor]:
    """Walk from z0 to z1 ((p z_dim) pairs) in ``frames`` steps, slerp in Z or lerp in W.

    Returns the frames (p f 3 32 32) and, per pair, the *roughness*
    ``(f − 1) · Σ_k ‖Δs_k‖² / ‖s_last − s_first‖²`` of the attribute scores s along the walk: 1 for a
    walk that changes the attributes in a straight line at an even pace, larger when the change is
    bunched into a few frames or takes a detour (by Cauchy–Schwarz it is never below 1).
    """
    if z0.shape != z1.shape or z0.dim() != 2:
        raise ValueError(f"z0 and z1 must be (p z_dim) of the same shape, got {tuple(z0.shape)} and {tuple(z1.shape)}")
    p = len(z0)
    t = torch.linspace(0, 1, frames, device=z0.device)[None, :, None]  # (1 f 1)
    if space == "z":
        zs = slerp(z0[:, None].expand(-1, frames, -1), z1[:, None].expand(-1, frames, -1), t.expand(p, -1, -1))
        w = G.mapping(zs.reshape(p * frames, -1))
    elif space == "w":
        w = torch.lerp(G.mapping(z0)[:, None], G.mapping(z1)[:, None], t).reshape(p * frames, -1)
    else:
        raise ValueError(f"space must be 'z' or 'w', got {space!r}")
    images = render(G, w)
    s = attribute_scores(clf, images).reshape(p, frames, -1)
    steps = (s[:, 1:] - s[:, :-1]).pow(2).sum(-1).sum(-1)  # (p,)
    ends = (s[:, -1] - s[:, 0]).pow(2).sum(-1).clamp_min(1e-8)
    return images.reshape(p, frames, *images.shape[1:]), (frames - 1) * steps / ends


def _check_1d(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if a.dim() != 1 or b.dim() != 1 or len(a) == 0 or len(b) == 0:
        raise ValueError(f"expected two non-empty 1-D samples (n,) and (m,), got {tuple(a.shape)} and {tuple(b.shape)}")
    return a.double().cpu(), b.double().cpu()


def _cdfs(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Both empirical CDFs evaluated on the sorted union of the samples: (values, F_a, F_b)."""
    a, b = _check_1d(a, b)
    v = torch.cat([a, b]).sort().values
    fa = torch.searchsorted(a.sort().values, v, right=True) / len(a)
    fb = torch.searchsorted(b.sort().values, v, right=True) / len(b)
    return v, fa.double(), fb.double()


def wasserstein_1d(a: torch.Tensor, b: torch.Tensor) -> float:
    """Earth mover's distance between two 1-D samples (n,) and (m,): ∫ |F_a(x) − F_b(x)| dx.

    In the units of the attribute: how far, on average, mass has to move to turn one histogram
    into the other. The same value as ``scipy.stats.wasserstein_distance``.
    """
    v, fa, fb = _cdfs(a, b)
    return float(((fa - fb).abs()[:-1] * v.diff()).sum())


def ks_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Kolmogorov–Smirnov statistic sup_x |F_a(x) − F_b(x)| of two 1-D samples, in [0, 1]."""
    _, fa, fb = _cdfs(a, b)
    return float((fa - fb).abs().max())


def coverage(fake: torch.Tensor, real: torch.Tensor, tail: float = 0.01) -> float:
    """Share of ``real`` values inside the central 1 − 2·tail range of ``fake`` (both (n,)).

    1 when the generator reaches every value the real data takes; a dropped mode at one end of the
    range (say, no broad smiles) shows up as the share of real faces beyond the generator's reach.
    """
    fake, real = _check_1d(fake, real)
    lo, hi = torch.quantile(fake, tail), torch.quantile(fake, 1 - tail)
    return float(((real >= lo) & (real <= hi)).double().mean())


def attribute_coverage(fake: torch.Tensor, real: torch.Tensor, names=CONTINUOUS) -> dict:
    """Per attribute: {name: {"w1", "ks", "coverage"}} for score tables fake (n a) and real (m a)."""
    if fake.dim() != 2 or real.dim() != 2 or fake.shape[1] != len(names) or real.shape[1] != len(names):
        raise ValueError(
            f"fake and real must be (n {len(names)}) score tables, got {tuple(fake.shape)} and {tuple(real.shape)}"
        )
    return {
        k: {
            "w1": wasserstein_1d(fake[:, i], real[:, i]),
            "ks": ks_distance(fake[:, i], real[:, i]),
            "coverage": coverage(fake[:, i], real[:, i]),
        }
        for i, k in enumerate(names)
    }
