"""A small compositional language of shape scenes, for text-to-image models trained from scratch.

Every prompt follows one grammar::

    prompt   := count [size] colour noun [position]
    count    := "a" | "one" | "two" | "three"
    size     := "small" | "large"
    colour   := "red" | "green" | "blue" | "yellow" | "purple"
    noun     := "circle" | "square" | "triangle"            (count 1)
              | "circles" | "squares" | "triangles"         (count 2 or 3)
    position := "on the left" | "on the right" | "at the top" | "at the bottom"   (count 1 only)

e.g. ``"a red circle"``, ``"a small blue square on the left"``, ``"two large green triangles"``.
:func:`parse_prompt` reads a prompt into a :class:`PromptSpec` (case and spacing do not matter,
``"one"`` means ``"a"``); :func:`render_prompt` writes the canonical form back. There are 315
prompts in all (:func:`all_prompts`): 15 colour–shape pairs × 3 size choices × 7 count/position
choices.

Scenes (:func:`scene_for_prompt`) are drawn by :mod:`genai_course.data.shapes` on its fixed black
background, 32×32 by default, and satisfy the prompt for the judge that reads them back
(:func:`genai_course.data.shapes.prompt_accuracy`), with margins:

- size: r ∈ [0.09, 0.11] ("small") or [0.16, 0.19] ("large") of the side; the judge splits at 0.133.
- position: "on the left" puts the centre at x ≤ 0.3 and 0.42 ≤ y ≤ 0.58 (likewise for the other
  three), so it is clearly left and clearly neither top nor bottom; the judge asks only x < 0.4.
- count: two or three objects share colour, shape and size (one r), with bounding boxes at least
  :data:`GAP` apart, so they stay separate objects even after a blur.
- an attribute the prompt leaves open is drawn at random: any size, any place in the image.

The training captions (:func:`text_to_image_dataset`) always name count, colour and shape, and
name the size with probability 0.7 and the position (of a single object) with probability 0.6.
A random subset of the optional words is closer to real captions than naming everything, and
it makes every shorter prompt in-distribution: the model learns "a red circle" as "a red
circle of any size anywhere".

Held out (:data:`HELD_OUT`): every purple triangle, of any size, count and place, and every small
yellow square. No training image shows one; the ``"heldout"`` split shows only these, so it
measures whether a model composes words it has seen ("purple", "triangle") into a scene it has
never seen. A prompt that leaves the size open, "a yellow square", is not held out: its training
images are large yellow squares.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .shapes import COLOURS, POSITIONS, SHAPES, SIZE_RADII, Scene, SceneObject, draw_scene

SIZES = tuple(SIZE_RADII)
COUNT_WORDS = {"a": 1, "one": 1, "two": 2, "three": 3}
COUNTS = (1, 2, 3)
PLURALS = {shape: shape + "s" for shape in SHAPES}
POSITION_PHRASES = {"left": "on the left", "right": "on the right", "top": "at the top", "bottom": "at the bottom"}
GRAMMAR_WORDS = (
    list(COUNT_WORDS)
    + list(SIZES)
    + list(COLOURS)
    + list(SHAPES)
    + list(PLURALS.values())
    + sorted({w for phrase in POSITION_PHRASES.values() for w in phrase.split()})
)
PAD, NULL = "<pad>", "<null>"
VOCAB = [PAD, NULL] + GRAMMAR_WORDS  # token ids: <pad> = 0, <null> = 1 (the empty caption)
TOKEN_ID = {word: i for i, word in enumerate(VOCAB)}
MAX_PROMPT_WORDS = 7  # "a small yellow triangle at the bottom"

HELD_OUT = (("purple", "triangle", None), ("yellow", "square", "small"))  # (colour, shape, size); None: any size
GAP = 0.08  # least distance between the bounding boxes of two objects (2.6 px at 32×32)
POSITION_BAND = 0.3  # a placed centre is at most this far from its side ...
CROSS_BAND = (0.42, 0.58)  # ... and central along the other axis
CAPTION_NAMES_SIZE = 0.7  # probability that a training caption names the size
CAPTION_NAMES_POSITION = 0.6  # ... and the position of a single object
COUNT_PROBABILITIES = (0.5, 0.25, 0.25)  # of 1, 2, 3 objects in the data set
SPLITS = ("train", "heldout")


@dataclass(frozen=True)
class PromptSpec:
    """What a prompt asks for; ``size`` and ``position`` are None when it leaves them open."""

    colour: str
    shape: str
    size: str | None = None
    position: str | None = None
    count: int = 1

    def __post_init__(self):
        if self.colour not in COLOURS:
            raise ValueError(f"colour must be one of {tuple(COLOURS)}, got {self.colour!r}")
        if self.shape not in SHAPES:
            raise ValueError(f"shape must be one of {SHAPES}, got {self.shape!r}")
        if self.size not in (None, *SIZES):
            raise ValueError(f"size must be None or one of {SIZES}, got {self.size!r}")
        if self.position not in (None, *POSITIONS):
            raise ValueError(f"position must be None or one of {POSITIONS}, got {self.position!r}")
        if self.count not in COUNTS:
            raise ValueError(f"count must be one of {COUNTS}, got {self.count!r}")
        if self.position is not None and self.count != 1:
            raise ValueError(f"a position is only for a single object, got count {self.count}")


def _unknown_word_error(word: str, prompt: str) -> ValueError:
    return ValueError(f"unknown word {word!r} in prompt {prompt!r}; known words: {', '.join(GRAMMAR_WORDS)}")


def parse_prompt(prompt: str) -> PromptSpec:
    """``"a small blue square on the left"`` → PromptSpec("blue", "square", "small", "left", 1).

    Raises ValueError naming the first unknown word, or saying which part of
    ``count [size] colour noun [position]`` is missing or out of place.
    """
    if not isinstance(prompt, str):
        raise ValueError(f"prompt must be a string, got {type(prompt).__name__}")
    words = prompt.lower().split()
    for word in words:
        if word not in GRAMMAR_WORDS and word not in COLOURS:  # COLOURS: also a colour added by extra_colours
            raise _unknown_word_error(word, prompt)
    if not words:
        raise ValueError(
            "empty prompt: a prompt names at least a count, a colour and a shape (tokenize('') is the null caption)"
        )
    grammar = "count [size] colour noun [position], e.g. 'a small red circle on the left'"
    rest = list(words)
    if rest[0] not in COUNT_WORDS:
        raise ValueError(f"prompt {prompt!r} must start with a count (a, one, two, three): {grammar}")
    count = COUNT_WORDS[rest.pop(0)]
    size = rest.pop(0) if rest and rest[0] in SIZES else None
    if not rest or rest[0] not in COLOURS:
        raise ValueError(f"prompt {prompt!r} needs a colour after the count and size: {grammar}")
    colour = rest.pop(0)
    nouns = {shape: shape for shape in SHAPES} if count == 1 else {plural: s for s, plural in PLURALS.items()}
    if not rest or rest[0] not in nouns:
        expected = "a singular noun (circle, square, triangle)" if count == 1 else "a plural noun (circles, ...)"
        raise ValueError(f"prompt {prompt!r} needs {expected} after the colour: {grammar}")
    shape = nouns[rest.pop(0)]
    position = None
    if rest:
        phrase = " ".join(rest)
        matches = [p for p, text in POSITION_PHRASES.items() if text == phrase]
        if not matches:
            raise ValueError(
                f"prompt {prompt!r} must end with the noun or a position {list(POSITION_PHRASES.values())}"
            )
        if count != 1:
            raise ValueError(f"prompt {prompt!r}: a position is only for a single object")
        position = matches[0]
    return PromptSpec(colour, shape, size, position, count)


def render_prompt(spec: PromptSpec) -> str:
    """The canonical prompt of a spec, the inverse of :func:`parse_prompt`: count 1 reads "a"."""
    if not isinstance(spec, PromptSpec):
        raise ValueError(f"spec must be a PromptSpec, got {type(spec).__name__}")
    count = {1: "a", 2: "two", 3: "three"}[spec.count]
    noun = spec.shape if spec.count == 1 else PLURALS[spec.shape]
    words = [count, spec.size, spec.colour, noun, POSITION_PHRASES.get(spec.position)]
    return " ".join(w for w in words if w is not None)


def all_specs() -> list[PromptSpec]:
    """Every prompt of the grammar (315), in a fixed order."""
    specs = []
    for colour in COLOURS:
        for shape in SHAPES:
            for size in (None, *SIZES):
                for count in COUNTS:
                    for position in (None, *POSITIONS) if count == 1 else (None,):
                        specs.append(PromptSpec(colour, shape, size, position, count))
    return specs


def all_prompts() -> list[str]:
    return [render_prompt(s) for s in all_specs()]


def _as_spec(spec_or_prompt) -> PromptSpec:
    if isinstance(spec_or_prompt, PromptSpec):
        return spec_or_prompt
    return parse_prompt(spec_or_prompt)


def is_held_out(spec_or_prompt) -> bool:
    """Whether a prompt asks for a held-out combination (:data:`HELD_OUT`)."""
    spec = _as_spec(spec_or_prompt)
    return any(
        spec.colour == colour and spec.shape == shape and (size is None or spec.size == size)
        for colour, shape, size in HELD_OUT
    )


def tokenize(prompts, length: int | None = None) -> torch.Tensor:
    """Token ids (b t) int64 of the canonical prompts, padded at the end with ``<pad>`` (id 0).

    The empty prompt ``""`` is the null caption ``<null>`` (id 1) that classifier-free guidance
    drops captions to. Prompts are rendered canonically first, so "One RED circle" and "a red
    circle" give the same tokens. ``length`` defaults to :data:`MAX_PROMPT_WORDS`, so every
    batch has the same t.
    """
    if isinstance(prompts, str):
        prompts = [prompts]
    length = MAX_PROMPT_WORDS if length is None else length
    if not isinstance(length, int) or length < 1:
        raise ValueError(f"length must be a positive int, got {length!r}")
    rows = []
    for prompt in prompts:
        if not isinstance(prompt, str):
            raise ValueError(f"prompts must be strings, got {type(prompt).__name__}")
        words = [NULL] if not prompt.strip() else render_prompt(parse_prompt(prompt)).split()
        if len(words) > length:
            raise ValueError(f"prompt {prompt!r} has {len(words)} words, more than length={length}")
        rows.append([TOKEN_ID[w] for w in words] + [TOKEN_ID[PAD]] * (length - len(words)))
    return torch.tensor(rows, dtype=torch.long).reshape(len(rows), length)


def detokenize(tokens: torch.Tensor) -> list[str]:
    """Token ids (b t) back to prompts; the null caption comes back as ``""``."""
    if tokens.dim() != 2:
        raise ValueError(f"tokens must have shape (b t), got {tuple(tokens.shape)}")
    if tokens.numel() and (tokens.min() < 0 or tokens.max() >= len(VOCAB)):
        raise ValueError(f"token ids must be in [0, {len(VOCAB) - 1}]")
    return [" ".join(VOCAB[i] for i in row if VOCAB[i] not in (PAD, NULL)) for row in tokens.tolist()]


def _centres(count: int, half: float, r: float, position: str | None, rng: np.random.RandomState) -> np.ndarray:
    """Centres (count 2) of objects whose bounding boxes have half-side ``half``, ``GAP`` apart."""
    lo, hi = r, 1 - r  # the whole object inside the image, as in shapes.random_objects
    if position is not None:
        along = rng.uniform(lo, POSITION_BAND) if position in ("left", "top") else rng.uniform(1 - POSITION_BAND, hi)
        across = rng.uniform(*CROSS_BAND)
        return np.array([[along, across]] if position in ("left", "right") else [[across, along]])
    for _ in range(100):  # rejection sampling of whole layouts, 64 at a time
        layouts = rng.uniform(lo, hi, size=(64, count, 2))
        d = np.abs(layouts[:, :, None] - layouts[:, None, :])  # (64 count count 2)
        apart = (d >= 2 * half + GAP).any(-1) | np.eye(count, dtype=bool)  # apart along x or along y
        ok = np.flatnonzero(apart.all((1, 2)))
        if len(ok):
            return layouts[ok[0]]
    raise ValueError(f"could not place {count} objects of radius {r:.2f} apart")  # not reached for the grammar


def _scene(spec: PromptSpec, size_word: str, rng: np.random.RandomState, image_size: int, caption: str) -> Scene:
    r = float(rng.uniform(*SIZE_RADII[size_word]))
    half = r * (0.85 if spec.shape == "square" else 1.0)  # bounding box half-side (see shapes._inside)
    centres = _centres(spec.count, half, r, spec.position, rng)
    objects = [SceneObject(spec.shape, spec.colour, float(x), float(y), r) for x, y in centres]
    return Scene(draw_scene(objects, image_size), objects, caption)


def scene_for_prompt(spec_or_prompt, rng: np.random.RandomState, size: int = 32) -> Scene:
    """A random scene that shows the prompt; a size or position it leaves open is drawn at random.

    The scene's caption is the canonical prompt. Held-out combinations are not avoided here
    (an open size may come out small for "a yellow square"); :func:`text_to_image_dataset` does.
    """
    if not isinstance(rng, np.random.RandomState):
        raise ValueError(f"rng must be a numpy.random.RandomState, got {type(rng).__name__}")
    spec = _as_spec(spec_or_prompt)
    size_word = spec.size if spec.size is not None else SIZES[rng.randint(len(SIZES))]
    return _scene(spec, size_word, rng, size, render_prompt(spec))


def _caption_and_size(rng: np.random.RandomState, split: str) -> tuple[PromptSpec, str]:
    """A random caption for ``split`` and the size its image is drawn at (named or not)."""
    count = int(rng.choice(COUNTS, p=COUNT_PROBABILITIES))
    if split == "train":
        while True:  # ~1 in 10 draws is held out and redrawn
            colour = list(COLOURS)[rng.randint(len(COLOURS))]
            shape = SHAPES[rng.randint(len(SHAPES))]
            size = SIZES[rng.randint(len(SIZES))]
            if not is_held_out(PromptSpec(colour, shape, size)):
                break
    else:  # half purple triangles, half small yellow squares
        colour, shape, size = HELD_OUT[rng.randint(len(HELD_OUT))]
        size = size if size is not None else SIZES[rng.randint(len(SIZES))]
    named_size = size if rng.uniform() < CAPTION_NAMES_SIZE else None
    if split == "heldout" and not is_held_out(PromptSpec(colour, shape, named_size)):
        named_size = size  # "a yellow square" is a training caption: the held-out one says "small"
    position = None
    if count == 1 and rng.uniform() < CAPTION_NAMES_POSITION:
        position = POSITIONS[rng.randint(len(POSITIONS))]
    return PromptSpec(colour, shape, named_size, position, count), size


def text_to_image_scenes(n: int, seed: int = 0, split: str = "train", size: int = 32) -> list[Scene]:
    """``n`` captioned scenes of ``split`` (``"train"`` or ``"heldout"``), deterministic given ``seed``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    rng = np.random.RandomState(seed)
    scenes = []
    for _ in range(n):
        spec, size_word = _caption_and_size(rng, split)
        scenes.append(_scene(spec, size_word, rng, size, render_prompt(spec)))
    return scenes


def text_to_image_dataset(n: int, seed: int = 0, split: str = "train", size: int = 32):
    """Images (n 3 size size) float32 in [0, 1] and their captions, from :func:`text_to_image_scenes`."""
    scenes = text_to_image_scenes(n, seed, split, size)
    images = torch.stack([s.image for s in scenes]) if scenes else torch.zeros(0, 3, size, size)
    return images, [s.caption for s in scenes]
