r"""The Inception score (IS) of Salimans et al. (2016), on any classifier's predictions.

A classifier gives each generated image $x$ a distribution $p(y \mid x)$ over classes. A good
generator, the argument goes, makes images the classifier is sure about (low entropy of
$p(y \mid x)$) and covers all classes (high entropy of the marginal $p(y) = \mathbb{E}_x\, p(y \mid x)$):

.. math::

    \mathrm{IS} = \exp\Big(\mathbb{E}_x\, \mathrm{KL}\big(p(y \mid x)\,\|\,p(y)\big)\Big)
                = \exp\big(H(y) - \mathbb{E}_x H(y \mid x)\big).

It lies between 1 (every prediction the same, or uniform) and the number of classes $K$
(every prediction one-hot and the classes balanced). The paper used Inception-v3's ImageNet
classes; the course uses the digit classifier (:mod:`genai_course.metrics.digit_classifier`),
so $K = 10$ and the numbers are not comparable with published ones. IS never looks at real
data: it cannot tell a generator that copies one image per class from one that models the data.
"""

from __future__ import annotations

import math

import torch

from ..shape_check import expect_shape


def inception_score(probs: torch.Tensor, eps: float = 1e-12) -> float:
    """IS = exp(mean_x KL(p(y|x) ‖ p(y))) of class probabilities probs (n k), rows summing to 1."""
    expect_shape(probs, "n k", name="probs")
    p = probs.detach().to(torch.float64)
    if p.shape[0] == 0 or (p < 0).any() or not torch.allclose(p.sum(1), torch.ones_like(p[:, 0]), atol=1e-4):
        raise ValueError("probs must be a non-empty (n k) tensor of probabilities: rows >= 0 that sum to 1 (softmax)")
    marginal = p.mean(0, keepdim=True)  # p(y) = E_x p(y|x), (1 k)
    # KL(p(y|x) ‖ p(y)) = Σ_y p(y|x) (log p(y|x) − log p(y)); 0·log 0 counts as 0
    kl = (p * (torch.log(p + eps) - torch.log(marginal + eps))).sum(1)  # (n,)
    return math.exp(kl.mean().item())  # Salimans et al. 2016, section 4


def digit_inception_score(images: torch.Tensor, model=None) -> float:
    """The course's Inception-style score: IS on the digit classifier's predictions for images (b 1 16 16) in [-1, 1]."""
    from .digit_classifier import classify

    return inception_score(classify(images, model))
