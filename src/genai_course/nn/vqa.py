"""A toy visual question answering model: image patches and question words in one Transformer.

Questions about scenes of coloured shapes (:mod:`genai_course.data.shapes`):
``"what colour is the circle ?"`` → ``"red"`` and ``"what shape is red ?"`` → ``"circle"``.
The model concatenates ``[CLS]``, the question's word tokens and the image's patch tokens
(each with its own learned position and a type embedding) and runs encoder blocks over the
whole sequence, so words can attend to patches and back (a *single-stream* design, as in
VisualBERT or ViLT). The answer is a class predicted from the ``[CLS]`` token. Antol et al.
(2015) introduced the VQA task on real photographs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from einops import repeat
from torch import nn

from ..data.shapes import COLOURS, SHAPES, random_scene
from .transformer import EncoderBlock
from .vit import PatchEmbedding

WORDS = ["<pad>", "what", "colour", "shape", "is", "the", "?"] + list(COLOURS) + list(SHAPES)
WORD_ID = {w: i for i, w in enumerate(WORDS)}
ANSWERS = list(COLOURS) + list(SHAPES)
ANSWER_ID = {a: i for i, a in enumerate(ANSWERS)}
MAX_WORDS = 6


def encode_question(question: str) -> list[int]:
    words = question.split()
    unknown = [w for w in words if w not in WORD_ID]
    if unknown or len(words) > MAX_WORDS:
        raise ValueError(f"question must use at most {MAX_WORDS} words from {WORDS[1:]}, got {question!r}")
    return [WORD_ID[w] for w in words] + [0] * (MAX_WORDS - len(words))


def questions_for(objects, rng: np.random.RandomState) -> list[tuple[str, str]]:
    """One colour question and one shape question about a random object of the scene."""
    a, b = (objects[i] for i in rng.randint(len(objects), size=2))
    return [(f"what colour is the {a.shape} ?", a.colour), (f"what shape is {b.colour} ?", b.shape)]


def make_vqa_data(
    n_scenes: int, seed: int = 0, size: int = 24, n_objects=(2, 3), r_range=(0.1, 0.15), grid: int | None = 3
):
    """Images (b 3 h w), question ids (b MAX_WORDS), answer ids (b,), and the question strings.

    Every scene has distinct shapes and distinct colours, so each question has one answer.
    """
    rng = np.random.RandomState(seed)
    images, questions, answers, texts = [], [], [], []
    for _ in range(n_scenes):
        scene = random_scene(rng, size, n_objects=n_objects, r_range=r_range, grid=grid)
        for q, a in questions_for(scene.objects, rng):
            images.append(scene.image)
            questions.append(encode_question(q))
            answers.append(ANSWER_ID[a])
            texts.append(q)
    return torch.stack(images), torch.tensor(questions), torch.tensor(answers), texts


@dataclass
class VQAConfig:
    image_size: int = 24
    patch_size: int = 8
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2


class VQAModel(nn.Module):
    """(images (b 3 h w), questions (b w)) → answer logits (b n_answers)."""

    def __init__(self, config: VQAConfig):
        super().__init__()
        c = self.config = config
        self.patches = PatchEmbedding(c.image_size, c.patch_size, 3, c.d_model)
        self.words = nn.Embedding(len(WORDS), c.d_model)
        self.word_positions = nn.Parameter(torch.randn(MAX_WORDS, c.d_model) * 0.02)
        self.types = nn.Parameter(torch.randn(2, c.d_model) * 0.02)  # 0: text, 1: image
        self.cls = nn.Parameter(torch.zeros(1, 1, c.d_model))
        self.blocks = nn.ModuleList(EncoderBlock(c.d_model, c.n_heads) for _ in range(c.n_layers))
        self.ln = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, len(ANSWERS))

    def forward(self, images: torch.Tensor, questions: torch.Tensor) -> torch.Tensor:
        if not isinstance(questions, torch.Tensor) or questions.dim() != 2 or questions.dtype != torch.long:
            got = (tuple(questions.shape), questions.dtype) if isinstance(questions, torch.Tensor) else type(questions)
            raise ValueError(f"questions must be a (b w) torch.long tensor of word ids, got {got}")
        if questions.shape[0] != images.shape[0]:
            raise ValueError(f"batch sizes differ: {images.shape[0]} images, {questions.shape[0]} questions")
        text = self.words(questions) + self.word_positions[: questions.shape[1]] + self.types[0]
        image = self.patches(images) + self.types[1]
        cls = repeat(self.cls, "1 1 d -> b 1 d", b=images.shape[0])
        x = torch.cat([cls, text, image], dim=1)  # (b 1+w+n d)
        mask = torch.cat(
            [
                torch.ones_like(questions[:, :1], dtype=torch.bool),
                questions != 0,
                torch.ones(images.shape[0], image.shape[1], dtype=torch.bool, device=images.device),
            ],
            1,
        )
        mask = mask[:, None, None, :]  # padding words are invisible as keys
        for block in self.blocks:
            x = block(x, mask)
        return self.head(self.ln(x[:, 0]))
