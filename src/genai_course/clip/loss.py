r"""CLIP's symmetric contrastive loss (Radford et al., 2021, Figure 3).

In a batch of b (image, caption) pairs, image i belongs with caption i and with no other: b
right pairings out of b². The paper's pseudocode, after both embeddings are L2-normalised::

    logits = np.dot(I_e, T_e.T) * np.exp(t)       # (b b): row i = image i against every caption
    labels = np.arange(n)
    loss_i = cross_entropy_loss(logits, labels, axis=0)
    loss_t = cross_entropy_loss(logits, labels, axis=1)
    loss   = (loss_i + loss_t) / 2

That is b-way classification twice: each image picks its caption among the batch's captions
(the rows), and each caption picks its image among the batch's images (the columns); the
other b − 1 pairs of a row or column are its negatives. Averaging the two directions makes the
loss symmetric, so neither encoder can win by making its own embeddings alike.

Limits that the tests use: perfectly matched embeddings and a large scale give ≈ 0; embeddings
that are all the same (or a scale of 0) give exactly log b, a uniform guess.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..shape_check import expect_shape


def contrastive_loss(image_emb: torch.Tensor, text_emb: torch.Tensor, logit_scale) -> torch.Tensor:
    """The symmetric cross-entropy of CLIP's Figure 3, a 0-d tensor.

    ``image_emb`` and ``text_emb`` are (b e), row i of each from the same pair, already
    L2-normalised (as :meth:`~genai_course.clip.model.CLIP.encode_image` and ``encode_text`` return
    them). ``logit_scale`` is the multiplier exp(t) = 1/τ (a number or a 0-d tensor), as in
    CLIP's code, not t itself.
    """
    dims = expect_shape(image_emb, "b e", name="image_emb")
    expect_shape(text_emb, "b e", name="text_emb", **dims)
    if dims["b"] < 1:
        raise ValueError("the batch is empty: the loss needs at least one (image, caption) pair")
    logits = logit_scale * image_emb @ text_emb.T  # (b b): logits[i, j] = exp(t) · cos(image i, caption j)
    labels = torch.arange(dims["b"], device=logits.device)  # the right caption of image i is caption i
    loss_images = F.cross_entropy(logits, labels)  # each row: image i picks its caption
    loss_texts = F.cross_entropy(logits.T, labels)  # each column: caption i picks its image
    return (loss_images + loss_texts) / 2
