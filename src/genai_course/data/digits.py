"""scikit-learn's handwritten digits as a small image data set for the image chapters.

``sklearn.datasets.load_digits`` ships 1,797 grey 8×8 digits (pixel values 0..16) inside
scikit-learn, so nothing is downloaded. We upsample them bilinearly to ``size``×``size``
(16 by default) and scale them to **[-1, 1]** (background = -1, ink = +1), the range
diffusion models and GANs with a ``tanh`` output expect. Use :func:`to_unit` for [0, 1].

The train/test split is a fixed, stratified permutation given ``seed``: 80 % train, 20 % test.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

TEST_FRACTION = 0.2


def _split_indices(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A stratified split: the same fraction of each class goes to the test set."""
    rng = np.random.RandomState(seed)
    train, test = [], []
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(len(idx))]
        n_test = int(round(TEST_FRACTION * len(idx)))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def load_digits_tensor(size: int = 16, split: str = "train", seed: int = 0):
    """Digits as a float tensor ``(b 1 size size)`` in [-1, 1] and labels ``(b,)`` (int64).

    ``split`` is ``"train"`` (80 %), ``"test"`` (20 %) or ``"all"``; the split is deterministic
    given ``seed``.
    """
    from sklearn.datasets import load_digits

    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    if not isinstance(size, int) or size < 8:
        raise ValueError(f"size must be an int >= 8 (the digits are 8x8), got {size!r}")
    bunch = load_digits()
    images = torch.tensor(bunch.images, dtype=torch.float32)[:, None] / 16.0  # (b 1 8 8) in [0, 1]
    labels = torch.tensor(bunch.target, dtype=torch.long)
    if size != 8:
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    images = images.clamp(0, 1) * 2 - 1
    if split != "all":
        train_idx, test_idx = _split_indices(bunch.target, seed)
        idx = torch.as_tensor(train_idx if split == "train" else test_idx)
        images, labels = images[idx], labels[idx]
    return images.contiguous(), labels


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] → [0, 1] (for plotting)."""
    return ((images + 1) / 2).clamp(0, 1)
