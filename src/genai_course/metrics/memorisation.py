r"""Memorisation of images: is a generated image a near-copy of one training image?

**Nearest neighbours.** For each sample :math:`\hat x` the training images sorted by pixel
distance :math:`d_1 \le d_2 \le \dots`, with :math:`d_j = \lVert \hat x - x_{(j)} \rVert_2`
(per-pixel root mean square here, so that the number does not grow with the image size).

**Why a raw distance is not enough.** Some regions of image space are crowded (many training
"1"s look alike) and some are sparse, so one distance threshold means different things in
different places. Carlini et al. (2023) therefore judge a candidate copy *relative to its
neighbourhood*: they divide the ℓ2 distance to the nearest training image by α times the mean
ℓ2 distance to the n nearest training images, and flag a pair as extracted when that ratio is
below a threshold — a copy is much closer to one training image than to the rest of its
neighbourhood. :func:`relative_distance` computes that ratio (with our choice of n and α);
:func:`neighbour_ratio` is its simplest cousin, :math:`d_1 / d_2`.

**Calibration.** Real images the model never saw (the held-out split) give the distances of
*novel* images to the training set; a copy threshold at a low quantile of them fixes how often
a novel image is wrongly called a copy (:func:`calibrate_threshold`).

**A control that must be caught.** :class:`IdealDenoiser` is the exact minimiser of the
diffusion loss on a finite training set (the posterior mean of :math:`x_0` given :math:`x_t`
under the empirical distribution). A diffusion model that fitted its loss perfectly would be
this function — and it can only return training images.
"""

from __future__ import annotations

import torch

from ..diffusion.schedules import NoiseSchedule


def _flat(x: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.dim() < 2 or len(x) == 0:
        raise ValueError(f"{name} must be a non-empty tensor (n …) of images, got {getattr(x, 'shape', type(x))}")
    return x.reshape(len(x), -1).float()


def nearest_neighbours(
    samples: torch.Tensor, train: torch.Tensor, k: int = 2, batch_size: int = 256
) -> tuple[torch.Tensor, torch.Tensor]:
    """Distances (n k) and indices (n k) of each sample's k nearest training images, nearest first.

    ``samples`` (n …) and ``train`` (m …) are images of one shape; the distance is the per-pixel
    RMS difference ‖x̂ − x‖₂ / √(pixels).
    """
    s, t = _flat(samples, "samples"), _flat(train, "train").to(samples.device)
    if s.shape[1] != t.shape[1]:
        raise ValueError(f"samples and train images differ in size: {tuple(samples.shape)} vs {tuple(train.shape)}")
    if not 1 <= k <= len(t):
        raise ValueError(f"k must lie in 1..{len(t)} (the training images), got {k}")
    dists, idx = [], []
    for chunk in s.split(batch_size):
        d = torch.cdist(chunk, t) / s.shape[1] ** 0.5  # (chunk m)
        values, where = d.topk(k, dim=1, largest=False)  # sorted, nearest first
        dists.append(values)
        idx.append(where)
    return torch.cat(dists).cpu(), torch.cat(idx).cpu()


def neighbour_ratio(dists: torch.Tensor) -> torch.Tensor:
    """d₁ / d₂ (n,) from nearest-neighbour distances (n k ≥ 2): near 0 for a copy of one image, near 1 when two are equally close."""
    if dists.dim() != 2 or dists.shape[1] < 2:
        raise ValueError(f"dists must be (n k) with k >= 2 neighbours, got {tuple(dists.shape)}")
    return dists[:, 0] / dists[:, 1].clamp_min(1e-12)


def relative_distance(dists: torch.Tensor, alpha: float = 0.5) -> torch.Tensor:
    """Carlini et al. (2023)'s normalised distance (n,): d₁ / (α · mean of the k neighbour distances in ``dists`` (n k))."""
    if dists.dim() != 2 or dists.shape[1] < 2:
        raise ValueError(f"dists must be (n k) with k >= 2 neighbours, got {tuple(dists.shape)}")
    return dists[:, 0] / (alpha * dists.mean(dim=1)).clamp_min(1e-12)


def calibrate_threshold(novel_scores: torch.Tensor, false_positive_rate: float = 0.01) -> float:
    """The ``false_positive_rate`` quantile of the scores of novel images: below it, a sample is called a copy."""
    if not 0 < false_positive_rate < 1:
        raise ValueError(f"false_positive_rate must lie in (0, 1), got {false_positive_rate}")
    return torch.quantile(novel_scores.float(), false_positive_rate).item()


def copy_rate(scores: torch.Tensor, threshold: float) -> float:
    """The share of samples whose score (a distance or ratio; small means close) is below ``threshold``."""
    scores = torch.as_tensor(scores)
    if scores.dim() != 1 or len(scores) == 0:
        raise ValueError(f"scores must be a non-empty 1-d tensor (n,), got shape {tuple(scores.shape)}")
    return (scores < threshold).float().mean().item()


class IdealDenoiser:
    r"""The exact minimiser of the ε-prediction loss when the data are the images ``train`` (m …).

    With :math:`x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\varepsilon` and :math:`x_0`
    uniform over the training images, the loss-minimising prediction is the posterior mean:

    .. math::  \hat x_0(x_t) = \sum_i w_i\, x_i, \qquad
               w = \mathrm{softmax}_i\!\Big(-\frac{\lVert x_t - \sqrt{\bar\alpha_t}\,x_i\rVert^2}{2(1-\bar\alpha_t)}\Big),

    and :math:`\hat\varepsilon = (x_t - \sqrt{\bar\alpha_t}\,\hat x_0) / \sqrt{1-\bar\alpha_t}`. Called as
    ``model(x_t (b …), t (b,))`` like a trained network, so the course's samplers run it.
    """

    def __init__(self, train: torch.Tensor, schedule: NoiseSchedule):
        self.train = _flat(train, "train")
        self.schedule = schedule

    def __call__(self, xt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        abar = self.schedule.alphas_cumprod.to(xt.device)[t].reshape(-1, 1)  # (b 1)
        flat = xt.reshape(len(xt), -1)
        train = self.train.to(xt.device)
        # ‖x_t − √ᾱ x_i‖² for every pair, expanded so that it is one matrix product (b m)
        sq = flat.pow(2).sum(1, keepdim=True) - 2 * abar.sqrt() * flat @ train.T + abar * train.pow(2).sum(1)
        w = torch.softmax(-sq / (2 * (1 - abar)), dim=1)
        x0 = w @ train
        return ((flat - abar.sqrt() * x0) / (1 - abar).sqrt()).reshape(xt.shape)


__all__ = [
    "IdealDenoiser",
    "calibrate_threshold",
    "copy_rate",
    "nearest_neighbours",
    "neighbour_ratio",
    "relative_distance",
]
