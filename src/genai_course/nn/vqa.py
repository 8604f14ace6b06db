"""A toy visual question answering model: image patches and question words in one Transformer.

Questions about scenes of coloured shapes (:mod:`genai_course.data.vqa` makes them):
``"what colour is the circle ?"`` → ``"red"`` and ``"what shape is red ?"`` → ``"circle"``.
The model concatenates ``[CLS]``, the question's word tokens and the image's patch tokens
(each with its own learned position and a type embedding) and runs encoder blocks over the
whole sequence, so words can attend to patches and back (a *single-stream* design, as in
VisualBERT or ViLT). The answer is a class predicted from the ``[CLS]`` token. Antol et al.
(2015) introduced the VQA task on real photographs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import repeat
from torch import nn

from ..errors import ShapeError
from ..shape_check import expect_shape
from .transformer import EncoderBlock
from .vit import PatchEmbedding, check_images


@dataclass
class VQAConfig:
    image_size: int = 24
    patch_size: int = 8
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    # the task's sizes: len(WORDS), len(ANSWERS), MAX_WORDS and PAD_ID of data.vqa (a model
    # knows sizes, not words; tests/test_vit.py checks that these defaults match the data)
    vocab_size: int = 15
    n_answers: int = 8
    max_words: int = 6
    pad_id: int = 0


class VQAModel(nn.Module):
    """(images (b 3 h w), questions (b w)) → answer logits (b n_answers)."""

    def __init__(self, config: VQAConfig):
        super().__init__()
        c = self.config = config
        self.patches = PatchEmbedding(c.image_size, c.patch_size, 3, c.d_model)
        self.words = nn.Embedding(c.vocab_size, c.d_model)
        self.word_positions = nn.Parameter(torch.randn(c.max_words, c.d_model) * 0.02)
        self.types = nn.Parameter(torch.randn(2, c.d_model) * 0.02)  # 0: text, 1: image
        self.cls = nn.Parameter(torch.zeros(1, 1, c.d_model))
        self.blocks = nn.ModuleList(EncoderBlock(c.d_model, c.n_heads) for _ in range(c.n_layers))
        self.ln = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.n_answers)

    def forward(self, images: torch.Tensor, questions: torch.Tensor) -> torch.Tensor:
        c = self.config
        dims = check_images(images, 3, c.image_size)
        words = expect_shape(questions, "b w", b=dims["b"], name="questions")["w"]
        if questions.dtype != torch.long:
            raise ValueError(f"questions must be torch.long word ids, got dtype {questions.dtype}")
        if words > c.max_words:
            raise ShapeError(f"questions: {words} words, more than max_words={c.max_words}")
        text = self.words(questions) + self.word_positions[: questions.shape[1]] + self.types[0]
        image = self.patches(images) + self.types[1]
        cls = repeat(self.cls, "1 1 d -> b 1 d", b=images.shape[0])
        x = torch.cat([cls, text, image], dim=1)  # (b 1+w+n d)
        mask = torch.cat(
            [
                torch.ones_like(questions[:, :1], dtype=torch.bool),
                questions != c.pad_id,
                torch.ones(images.shape[0], image.shape[1], dtype=torch.bool, device=images.device),
            ],
            1,
        )
        mask = mask[:, None, None, :]  # padding words are invisible as keys
        for block in self.blocks:
            x = block(x, mask)
        return self.head(self.ln(x[:, 0]))


@torch.no_grad()
def attention_rollout(model: VQAModel, images: torch.Tensor, questions: torch.Tensor) -> torch.Tensor:
    r"""Where ``[CLS]`` gets its information from, per image patch: attention rollout (b n).

    Abnar & Zuidema (2020): average each layer's attention over heads, add the residual path as
    an identity, :math:`\hat A_l = \tfrac12 (A_l + I)`, and multiply through the layers,
    :math:`R = \hat A_L \cdots \hat A_1`. Row 0 of ``R`` says how much each input token feeds
    ``[CLS]`` at the top, directly or through other tokens (the question words read the patches
    in layer 1, so ``[CLS]``'s last-layer attention alone would miss that route). Returned: the
    patch columns of that row, renormalised to sum to 1 over the patches.
    """
    modules = [block.attn for block in model.blocks]
    saved = [(m.record_weights, m.last_weights) for m in modules]
    try:
        for m in modules:
            m.record_weights = True
        model(images, questions)
        weights = [m.last_weights.mean(1) for m in modules]  # (b q k) each, heads averaged
    finally:
        for m, (record, last) in zip(modules, saved, strict=True):
            m.record_weights, m.last_weights = record, last
    eye = torch.eye(weights[0].shape[-1], device=weights[0].device)
    rollout = eye.expand_as(weights[0])
    for a in weights:
        rollout = (0.5 * (a + eye)) @ rollout  # rows of ½(A + I) sum to 1: R stays a mixing matrix
    n = model.patches.n_patches
    cls_to_patches = rollout[:, 0, -n:]  # (b n)
    return cls_to_patches / cls_to_patches.sum(-1, keepdim=True)
