"""Procedurally drawn scenes of coloured shapes, with structured descriptions and captions.

A scene is a list of :class:`SceneObject` (shape, colour, centre, radius) drawn on a plain
background by :func:`draw_scene`. :func:`random_scene` draws a random scene from a
``numpy.random.RandomState`` and returns a :class:`Scene`: the image ``(3 h w)`` in [0, 1],
the objects, and an English caption such as ``"a red circle and a blue square"``. Everything
is deterministic given the seed, so the visual question answering notebook and the
text-to-image chapters can share the same scenes.

Edges are anti-aliased by supersampling: each pixel's coverage is averaged over a k×k grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.90, 0.12, 0.12),
    "green": (0.15, 0.75, 0.20),
    "blue": (0.15, 0.35, 0.95),
    "yellow": (0.95, 0.85, 0.10),
    "purple": (0.60, 0.20, 0.80),
}
SHAPES = ("circle", "square", "triangle")


@dataclass(frozen=True)
class SceneObject:
    """One shape: ``x``, ``y`` centre and ``r`` half-size, all as fractions of the image side."""

    shape: str
    colour: str
    x: float
    y: float
    r: float

    def __post_init__(self):
        if self.shape not in SHAPES:
            raise ValueError(f"shape must be one of {SHAPES}, got {self.shape!r}")
        if self.colour not in COLOURS:
            raise ValueError(f"colour must be one of {tuple(COLOURS)}, got {self.colour!r}")
        if not (0 < self.r < 0.5 and 0 <= self.x <= 1 and 0 <= self.y <= 1):
            raise ValueError(f"need 0 <= x, y <= 1 and 0 < r < 0.5, got x={self.x}, y={self.y}, r={self.r}")


@dataclass
class Scene:
    image: torch.Tensor  # (3 h w) in [0, 1]
    objects: list[SceneObject]
    caption: str


def shape_mask(obj: SceneObject, size: int, supersample: int = 4) -> np.ndarray:
    """Coverage (h w) in [0, 1] of one object on a ``size``×``size`` grid."""
    k = supersample
    coords = (np.arange(size * k) + 0.5) / (size * k)  # sample points in (0, 1)
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    dx, dy = xx - obj.x, yy - obj.y
    if obj.shape == "circle":
        inside = dx**2 + dy**2 <= obj.r**2
    elif obj.shape == "square":
        inside = (np.abs(dx) <= obj.r * 0.85) & (np.abs(dy) <= obj.r * 0.85)  # same area feel as the circle
    else:  # upward triangle: apex at the top, base at the bottom of the bounding box
        top, bottom = obj.y - obj.r, obj.y + obj.r
        half_width = obj.r * (yy - top) / (bottom - top)
        inside = (yy >= top) & (yy <= bottom) & (np.abs(dx) <= half_width)
    return inside.reshape(size, k, size, k).mean(axis=(1, 3))


def draw_scene(objects, size: int = 32, background=(0.0, 0.0, 0.0), supersample: int = 4) -> torch.Tensor:
    """Paint objects in order (later ones on top) → float image (3 size size) in [0, 1]."""
    if not isinstance(size, int) or size < 4:
        raise ValueError(f"size must be an int >= 4, got {size!r}")
    image = np.zeros((3, size, size)) + np.asarray(background, dtype=float)[:, None, None]
    for obj in objects:
        if not isinstance(obj, SceneObject):
            raise ValueError(f"objects must be SceneObject instances, got {type(obj).__name__}")
        alpha = shape_mask(obj, size, supersample)
        colour = np.asarray(COLOURS[obj.colour])[:, None, None]
        image = image * (1 - alpha) + colour * alpha
    return torch.tensor(image, dtype=torch.float32)


def caption(objects) -> str:
    """``"a red circle"``, ``"a red circle and a blue square"``, ``"a red circle, a ... and a ..."``."""
    parts = [f"a {o.colour} {o.shape}" for o in objects]
    if len(parts) <= 2:
        return " and ".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def random_objects(
    rng: np.random.RandomState,
    n_objects: int = 2,
    shapes=SHAPES,
    colours=tuple(COLOURS),
    distinct: bool = True,
    r_range=(0.12, 0.2),
    max_tries: int = 200,
    grid: int | None = None,
) -> list[SceneObject]:
    """``n_objects`` non-overlapping objects; with ``distinct`` no shape or colour repeats.

    With ``grid=g`` every object sits inside its own cell of a g×g layout (the radius is capped
    to fit), which lines objects up with the patches of a ViT whose patch is the cell.
    """
    if distinct and (n_objects > len(shapes) or n_objects > len(colours)):
        raise ValueError(
            f"cannot draw {n_objects} objects with distinct shapes and colours from "
            f"{len(shapes)} shapes and {len(colours)} colours"
        )
    if distinct:
        picked_shapes = [shapes[i] for i in rng.permutation(len(shapes))[:n_objects]]
        picked_colours = [colours[i] for i in rng.permutation(len(colours))[:n_objects]]
    else:
        picked_shapes = [shapes[i] for i in rng.randint(len(shapes), size=n_objects)]
        picked_colours = [colours[i] for i in rng.randint(len(colours), size=n_objects)]
    if grid is not None:
        if n_objects > grid * grid:
            raise ValueError(f"cannot put {n_objects} objects in distinct cells of a {grid}×{grid} grid")
        cells = rng.permutation(grid * grid)[:n_objects]
        objects = []
        for cell, shape, colour in zip(cells, picked_shapes, picked_colours, strict=True):
            r = min(rng.uniform(*r_range), 0.45 / grid)
            jitter = rng.uniform(-1, 1, size=2) * (0.5 / grid - r) * 0.8
            x, y = (cell % grid + 0.5) / grid + jitter[0], (cell // grid + 0.5) / grid + jitter[1]
            objects.append(SceneObject(shape, colour, float(x), float(y), float(r)))
        return objects
    for _ in range(max_tries):  # rejection sampling of whole layouts: objects apart, every one visible
        objects: list[SceneObject] = []
        for shape, colour in zip(picked_shapes, picked_colours, strict=True):
            r = rng.uniform(*r_range)
            x, y = rng.uniform(r, 1 - r, size=2)
            if any((x - o.x) ** 2 + (y - o.y) ** 2 <= (r + o.r) ** 2 for o in objects):
                break
            objects.append(SceneObject(shape, colour, float(x), float(y), float(r)))
        if len(objects) == n_objects:
            return objects
    raise ValueError(f"could not place {n_objects} objects without overlap; use fewer or smaller ones")


def random_scene(rng: np.random.RandomState, size: int = 32, n_objects=(1, 3), **kwargs) -> Scene:
    """A random scene; ``n_objects`` is a count or an inclusive (min, max) range."""
    if not isinstance(rng, np.random.RandomState):
        raise ValueError(f"rng must be a numpy.random.RandomState, got {type(rng).__name__}")
    n = n_objects if isinstance(n_objects, int) else int(rng.randint(n_objects[0], n_objects[1] + 1))
    background = kwargs.pop("background", (0.0, 0.0, 0.0))
    objects = random_objects(rng, n, **kwargs)
    return Scene(draw_scene(objects, size, background), objects, caption(objects))


def random_scenes(n: int, seed: int = 0, size: int = 32, **kwargs) -> list[Scene]:
    """``n`` scenes from one seed (deterministic)."""
    rng = np.random.RandomState(seed)
    return [random_scene(rng, size, **kwargs) for _ in range(n)]
