"""Questions and answers about scenes of coloured shapes: the toy visual question answering task.

Each scene of :mod:`genai_course.data.shapes` gets two questions with one-word answers:
``"what colour is the circle ?"`` → ``"red"`` and ``"what shape is red ?"`` → ``"circle"``.
Questions are encoded as word ids from a closed vocabulary, padded with id 0 to
``MAX_WORDS``; answers are class ids into ``ANSWERS``. The model that answers them is
:class:`genai_course.nn.vqa.VQAModel`.
"""

from __future__ import annotations

import numpy as np
import torch
from einops import reduce

from .shapes import COLOURS, SHAPES, random_scene

WORDS = ["<pad>", "what", "colour", "shape", "is", "the", "?"] + list(COLOURS) + list(SHAPES)
WORD_ID = {w: i for i, w in enumerate(WORDS)}
PAD_ID = WORD_ID["<pad>"]
ANSWERS = list(COLOURS) + list(SHAPES)
ANSWER_ID = {a: i for i, a in enumerate(ANSWERS)}
MAX_WORDS = 6


def encode_question(question: str) -> list[int]:
    """``"what shape is red ?"`` → MAX_WORDS word ids, padded at the end with PAD_ID."""
    words = question.split()
    unknown = [w for w in words if w not in WORD_ID]
    if unknown or len(words) > MAX_WORDS:
        raise ValueError(f"question must use at most {MAX_WORDS} words from {WORDS[1:]}, got {question!r}")
    return [WORD_ID[w] for w in words] + [PAD_ID] * (MAX_WORDS - len(words))


def questions_for(objects, rng: np.random.RandomState) -> list[tuple[str, str]]:
    """One colour question and one shape question about a random object of the scene."""
    a, b = (objects[i] for i in rng.randint(len(objects), size=2))
    return [(f"what colour is the {a.shape} ?", a.colour), (f"what shape is {b.colour} ?", b.shape)]


def make_vqa_data(
    n_scenes: int, seed: int = 0, size: int = 24, n_objects=(2, 3), r_range=(0.1, 0.15), grid: int | None = 3
):
    """Images (b 3 h w), question ids (b MAX_WORDS), answer ids (b,), and the question strings.

    Two questions per scene, so b = 2·n_scenes. Every scene has distinct shapes and distinct
    colours, so each question has one answer.
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


def named_object_patch(images: torch.Tensor, questions: torch.Tensor, answers: torch.Tensor, patch_size: int):
    """Index (b,) of the patch that holds the object a question is about, found by its colour.

    Colours are distinct within a scene, so the colour identifies the object: for "what colour
    is the circle ?" it is the answer, for "what shape is red ?" the question's colour word. The
    patch with the most pixels of that colour (within 0.1 per channel) is the object's patch.
    """
    colour_names = set(COLOURS)
    idx = []
    for q, a in zip(questions.tolist(), answers.tolist(), strict=True):
        words = [WORDS[i] for i in q]
        named = next((w for w in words if w in colour_names), None) or ANSWERS[a]
        if named not in colour_names:
            raise ValueError(f"cannot tell the named object's colour from {' '.join(words)!r} → {ANSWERS[a]!r}")
        idx.append(named)
    rgb = torch.tensor([COLOURS[c] for c in idx], dtype=images.dtype, device=images.device)  # (b 3)
    close = ((images - rgb[:, :, None, None]).abs() < 0.1).all(1).float()  # (b h w)
    counts = reduce(close, "b (nh p1) (nw p2) -> b (nh nw)", "sum", p1=patch_size, p2=patch_size)
    if (counts.amax(-1) == 0).any():
        raise ValueError("some image has no pixel of the named colour")
    return counts.argmax(-1)
