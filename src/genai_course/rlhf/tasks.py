"""A tiny instruction-following world with a hidden true preference.

Four kinds of instruction, each with one ideal answer::

    repeat dog 3 times   →  dog dog dog
    reverse star         →  rats
    add 8 and 7          →  15
    shout moon           →  MOON

Demonstrations are written by simulated people who are right but inconsistent in style, as
real demonstrators are: about half of them wrap the answer in chatter ("sure, rats") and a few
make a typo. The **hidden true preference** is :func:`true_score`: how close the response is,
character by character, to the bare ideal answer. Labelers (``labeler.py``) see only noisy
rankings of it; the models never see it at all.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from difflib import SequenceMatcher

WORDS = (
    "cat",
    "dog",
    "sun",
    "map",
    "cup",
    "pen",
    "box",
    "key",
    "red",
    "sky",
    "tree",
    "book",
    "fish",
    "moon",
    "star",
    "code",
    "blue",
    "lamp",
    "rain",
    "milk",
)
KINDS = ("repeat", "reverse", "add", "shout")
STYLES = (("{}", 0.5), ("sure, {}", 0.2), ("{}, i think", 0.15), ("ok: {}", 0.15))
TYPO_RATE = 0.1


@dataclass(frozen=True)
class Instruction:
    kind: str
    text: str  # what the user asks, e.g. "reverse star"
    answer: str  # the ideal response, e.g. "rats"


def make_instruction(rng: random.Random, kind: str | None = None) -> Instruction:
    kind = kind or rng.choice(KINDS)
    word = rng.choice(WORDS)
    if kind == "repeat":
        n = rng.randint(2, 3)
        return Instruction(kind, f"repeat {word} {n} times", " ".join([word] * n))
    if kind == "reverse":
        return Instruction(kind, f"reverse {word}", word[::-1])
    if kind == "add":
        a, b = rng.randint(0, 9), rng.randint(0, 9)  # 100 facts: learnable by a tiny model from demonstrations
        return Instruction(kind, f"add {a} and {b}", str(a + b))
    if kind == "shout":
        return Instruction(kind, f"shout {word}", word.upper())
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def make_instructions(n: int, seed: int) -> list[Instruction]:
    """``n`` instructions, deterministic given ``seed``; the kinds are balanced on average."""
    if n < 0:
        raise ValueError(f"n must be ≥ 0, got {n}")
    rng = random.Random(seed)
    return [make_instruction(rng) for _ in range(n)]


def demonstrate(instruction: Instruction, rng: random.Random) -> str:
    """What a (simulated) human demonstrator writes: the right answer, in a random style,
    occasionally with a typo."""
    template = rng.choices([s for s, _ in STYLES], weights=[w for _, w in STYLES])[0]
    answer = instruction.answer
    if rng.random() < TYPO_RATE:
        i = rng.randrange(len(answer))
        answer = answer[:i] + rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") + answer[i + 1 :]
    return template.format(answer)


def true_score(instruction: Instruction, response: str) -> float:
    """The hidden preference, in [0, 1]: 1 for exactly the ideal answer; every wrong, missing or
    extra character costs (``difflib``'s similarity ratio, 2·matches / total length)."""
    if not isinstance(response, str):
        raise ValueError(f"response must be a str, got {type(response).__name__}")
    return SequenceMatcher(None, response, instruction.answer, autojunk=False).ratio()
