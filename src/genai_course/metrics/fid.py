r"""Fréchet distance between two sets of features — here a *course FID on a digit classifier*.

Fit a Gaussian to each feature set and take the Fréchet (2-Wasserstein) distance between them:

.. math::

    d^2 = \lVert \mu_a - \mu_b \rVert^2 + \operatorname{tr}\!\left(\Sigma_a + \Sigma_b
          - 2\,(\Sigma_a^{1/2} \Sigma_b \Sigma_a^{1/2})^{1/2}\right)

The real FID uses the 2048-d pool features of an Inception-v3 network trained on ImageNet.
We use the 64-d penultimate layer of the course's small digit classifier instead
(:mod:`genai_course.metrics.digit_classifier`), so the numbers are only comparable with each
other inside this course — they are **not** Inception FID.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch


def _as_2d(x, name: str) -> np.ndarray:
    arr = x.detach().cpu().double().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 2:
        raise ValueError(f"{name} must have shape (n d) with n >= 2, got {arr.shape}")
    return arr


def _sqrtm_psd(s: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition."""
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu_a, sigma_a, mu_b, sigma_b) -> float:
    """Fréchet distance between N(mu_a, sigma_a) and N(mu_b, sigma_b) (the squared form, as in FID)."""
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    sigma_a, sigma_b = np.asarray(sigma_a, np.float64), np.asarray(sigma_b, np.float64)
    d = mu_a.shape[0]
    for name, s in (("sigma_a", sigma_a), ("sigma_b", sigma_b)):
        if s.shape != (d, d):
            raise ValueError(f"{name} must have shape ({d} {d}) to match the mean, got {s.shape}")
    root_a = _sqrtm_psd(sigma_a)
    # tr((Σa^½ Σb Σa^½)^½) = sum of square roots of that PSD matrix's eigenvalues
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ sigma_b @ root_a), 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(sigma_a) + np.trace(sigma_b) - 2 * cross)


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and covariance (d d) of features (n d)."""
    f = _as_2d(features, "features")
    return f.mean(0), np.cov(f, rowvar=False)


def frechet_distance_features(features_a, features_b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (n d) and (m d)."""
    fa, fb = _as_2d(features_a, "features_a"), _as_2d(features_b, "features_b")
    if fa.shape[1] != fb.shape[1]:
        raise ValueError(f"feature sets must share d, got {fa.shape} and {fb.shape}")
    return frechet_distance(*feature_statistics(fa), *feature_statistics(fb))


@torch.no_grad()
def digit_features(images: torch.Tensor, model=None, batch_size: int = 512) -> torch.Tensor:
    """Penultimate-layer features (b 64) of the course digit classifier for images (b 1 16 16) in [-1, 1]."""
    from genai_course.metrics.digit_classifier import load_digit_classifier

    model = model or load_digit_classifier()
    dev = next(model.parameters()).device
    return torch.cat(
        [model.features(images[i : i + batch_size].to(dev)).cpu() for i in range(0, len(images), batch_size)]
    )


def course_fid(images_a: torch.Tensor, images_b: torch.Tensor, model=None) -> float:
    """Course FID between two image sets (b 1 16 16) in [-1, 1], on the digit classifier's features.

    Not Inception FID: only compare it with other course FIDs. Like FID it is biased upward for
    small sets, so compare sets of the same size.
    """
    from genai_course.metrics.digit_classifier import load_digit_classifier

    model = model or load_digit_classifier()
    return frechet_distance_features(digit_features(images_a, model), digit_features(images_b, model))


# --- small-sample bias (Chong & Forsyth 2020; Bińkowski et al. 2018) ---------------------------------


def sample_size_sweep(metric, features, reference, sizes, draws: int = 5, seed: int = 0) -> dict[int, np.ndarray]:
    """``metric(subset, reference)`` for ``draws`` random subsets of ``features`` (N d) of each size n.

    Subsets are drawn without replacement, afresh for each draw; ``reference`` (M d) stays
    fixed. Returns ``{n: array of draws values}``, so the mean and spread at each n show the
    estimator's bias and noise. ``metric`` is e.g. :func:`frechet_distance_features` or
    :func:`genai_course.metrics.kid.kernel_inception_distance`.
    """
    n_total = len(features)
    if any(not isinstance(n, int) or not 2 <= n <= n_total for n in sizes):
        raise ValueError(f"every size must be an int in 2..{n_total} (the number of features), got {list(sizes)}")
    rng = np.random.default_rng(seed)
    return {
        n: np.array([metric(features[rng.permutation(n_total)[:n]], reference) for _ in range(draws)]) for n in sizes
    }


def real_vs_real_sweep(metric, features, sizes, draws: int = 5, seed: int = 0) -> dict[int, np.ndarray]:
    """The same as :func:`sample_size_sweep` for one data set against itself, without overlap.

    Each draw splits ``features`` (N d) at random into two disjoint halves, takes n rows of the
    first and compares them with the whole second half, so n can reach N // 2 at most. A perfect
    generator would score like this.
    """
    half = len(features) // 2
    if any(not isinstance(n, int) or not 2 <= n <= half for n in sizes):
        raise ValueError(f"every size must be an int in 2..{half} (half the features), got {list(sizes)}")
    rng = np.random.default_rng(seed)
    out = {n: [] for n in sizes}
    for _ in range(draws):
        order = rng.permutation(len(features))
        first, second = features[order[:half]], features[order[half:]]
        for n in sizes:
            out[n].append(metric(first[:n], second))
    return {n: np.array(v) for n, v in out.items()}


# --- the course's one FID protocol for digit generators (chapters 4 and 5) ---------------------------


@lru_cache(maxsize=1)
def _all_digits() -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """All 1,797 digits (b 1 16 16) and the train / test indices that ``load_digits_tensor`` uses."""
    from sklearn.datasets import load_digits

    from genai_course.data.digits import _split_indices, load_digits_tensor

    images, labels = load_digits_tensor(16, "all")
    train, test = _split_indices(load_digits().target, seed=0)
    return images, train, test


@dataclass(frozen=True)
class FIDProtocol:
    r"""How every digit generator of the course is scored, so that its numbers can be compared.

    - **n = 256 images per set, always.** FID is biased upward at small n (the mean term alone
      adds about :math:`\operatorname{tr}\Sigma\,(1/n_a + 1/n_b)`, and noisy covariances lower the
      cross term), so two course FIDs are only comparable at the same n. 256 is a round number
      that the 359 held-out digits can supply without repeats.
    - **reference = n held-out (test-split) digits, chosen at random**: never the training digits a
      generator may have memorised, and not the first n in index order (the order of the data
      file is not a random draw).
    - **features = the 64 penultimate features of the shipped digit classifier**
      (:func:`digit_features`): a *course* FID, not Inception FID.
    - **floor = the course FID of n other real digits** (a random draw from the training split,
      hence disjoint from the reference), scored exactly like a generator. It is what a perfect
      generator would get at this n: compare every score with it, not with 0.
    - **draws = 4 independent draws**, each with its own reference, floor set and generated set
      (draw ``i`` uses seed ``seed + i``); report their mean and standard deviation. At n = 256 one
      draw scatters by several FID points, enough to reorder two similar generators.

    A generated set must have exactly ``n`` images: ``sample(draw)`` returns ``n`` images made
    with a seed that depends on the draw.
    """

    n: int = 256
    draws: int = 4
    seed: int = 0

    def __post_init__(self):
        if not isinstance(self.n, int) or not 2 <= self.n <= 359:
            raise ValueError(f"n must be an int in 2..359 (the number of held-out digits), got {self.n!r}")
        if not isinstance(self.draws, int) or self.draws < 1:
            raise ValueError(f"draws must be a positive int, got {self.draws!r}")

    def _indices(self, pool: np.ndarray, draw: int, offset: int) -> torch.Tensor:
        gen = torch.Generator("cpu").manual_seed(1000 * (self.seed + draw) + offset)
        return torch.as_tensor(pool)[torch.randperm(len(pool), generator=gen)[: self.n]]

    def reference_indices(self, draw: int = 0) -> torch.Tensor:
        """(n,) indices (into all 1,797 digits) of draw ``draw``'s reference: random held-out digits."""
        return self._indices(_all_digits()[2], draw, 0)

    def floor_indices(self, draw: int = 0) -> torch.Tensor:
        """(n,) indices of draw ``draw``'s floor set: random training digits, disjoint from any reference."""
        return self._indices(_all_digits()[1], draw, 1)

    def reference(self, draw: int = 0) -> torch.Tensor:
        """The reference images (n 1 16 16) in [-1, 1] of draw ``draw``."""
        return _all_digits()[0][self.reference_indices(draw)]

    def floor_set(self, draw: int = 0) -> torch.Tensor:
        """The floor's real images (n 1 16 16) in [-1, 1] of draw ``draw``."""
        return _all_digits()[0][self.floor_indices(draw)]

    def score(self, images: torch.Tensor, draw: int = 0, model=None) -> float:
        """Course FID of ``images`` (n 1 16 16) in [-1, 1] against draw ``draw``'s reference."""
        if images.ndim != 4 or images.shape[0] != self.n or tuple(images.shape[1:]) != (1, 16, 16):
            raise ValueError(
                f"images must have shape ({self.n} 1 16 16), n as in the protocol, got {tuple(images.shape)}"
            )
        return course_fid(images, self.reference(draw).to(images.device), model)

    def floor(self, draw: int = 0, model=None) -> float:
        """The floor of draw ``draw``: the score of n real digits that are not in the reference."""
        return self.score(self.floor_set(draw), draw, model)

    def evaluate(self, sample, model=None) -> dict:
        """Score a generator on every draw: ``sample(draw)`` → n images (n 1 16 16).

        Returns ``{"fid": mean, "fid_sd": sd, "fid_draws": [...], "floor": mean, "floor_sd": sd}``
        (sd with ``ddof=1``; 0 for one draw), rounded to 3 decimals.
        """
        from genai_course.metrics.digit_classifier import load_digit_classifier

        model = model or load_digit_classifier()
        fid = [self.score(sample(d), d, model) for d in range(self.draws)]
        floor = [self.floor(d, model) for d in range(self.draws)]
        sd = lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0  # noqa: E731
        return {
            "fid": round(float(np.mean(fid)), 3),
            "fid_sd": round(sd(fid), 3),
            "fid_draws": [round(v, 3) for v in fid],
            "floor": round(float(np.mean(floor)), 3),
            "floor_sd": round(sd(floor), 3),
        }

    def record(self, sample, prefix: str = "course_fid", model=None) -> dict:
        """:meth:`evaluate` as the fields of a checkpoint's metrics (``prefix``, ``prefix_sd``, ...)."""
        r = self.evaluate(sample, model)
        return {
            prefix: r["fid"],
            f"{prefix}_sd": r["fid_sd"],
            f"{prefix}_draws": r["fid_draws"],
            "course_fid_floor": r["floor"],
            "course_fid_floor_sd": r["floor_sd"],
            "fid_protocol": {"n": self.n, "draws": self.draws, "seed": self.seed},
        }


def fid_terms(features_a, features_b) -> tuple[float, float]:
    """The two parts of the Fréchet distance: (mean term ‖μa − μb‖², covariance term); they sum to it.

    The mean term says the sets differ on average; the covariance term that they spread
    differently (e.g. one set is less varied than the other).
    """
    mu_a, sigma_a = feature_statistics(features_a)
    mu_b, sigma_b = feature_statistics(features_b)
    mean_term = float(((mu_a - mu_b) ** 2).sum())
    return mean_term, frechet_distance(mu_a, sigma_a, mu_b, sigma_b) - mean_term


def precision_recall(real_features, fake_features, k: int = 3) -> tuple[float, float]:
    """k-NN precision and recall (Kynkäänniemi et al. 2019) of features (n d) and (m d).

    Each set's "manifold" is the union of balls around its points, of radius the distance to the
    point's k-th nearest neighbour in the same set. **Precision** = fraction of fake points inside
    the real manifold (are samples realistic?); **recall** = fraction of real points inside the fake
    manifold (is the variety of the data covered?). FID folds both into one number.
    """
    real, fake = torch.as_tensor(real_features).double(), torch.as_tensor(fake_features).double()
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1] or min(len(real), len(fake)) <= k:
        raise ValueError(
            f"features must be (n d) and (m d) with n, m > k = {k}, got {tuple(real.shape)}, {tuple(fake.shape)}"
        )

    def radii(f):  # distance to the k-th neighbour; kthvalue's 1st is the point itself (distance 0)
        return torch.cdist(f, f).kthvalue(k + 1, dim=1).values

    precision = (torch.cdist(fake, real) <= radii(real)[None]).any(1).double().mean()
    recall = (torch.cdist(real, fake) <= radii(fake)[None]).any(1).double().mean()
    return float(precision), float(recall)
