"""Procedurally drawn scenes of coloured shapes, with structured descriptions and captions.

A scene is a list of :class:`SceneObject` (shape, colour, centre, radius) drawn on a plain
background by :func:`draw_scene`. :func:`random_scene` draws a random scene from a
``numpy.random.RandomState`` and returns a :class:`Scene`: the image ``(3 h w)`` in [0, 1],
the objects, and an English caption such as ``"a red circle and a blue square"``. Everything
is deterministic given the seed, so the visual question answering notebook and the
text-to-image chapters can share the same scenes.

Edges are anti-aliased by supersampling: each pixel's coverage is averaged over a k×k grid.

The second half reads scenes back: :func:`read_scene` is the inverse of :func:`draw_scene`
for scenes on the black background, and :func:`prompt_accuracy` and
:func:`attribute_accuracy` use it to judge whether a generated image shows its prompt (the
grammar of prompts is in :mod:`genai_course.data.scene_prompts`). The judge is not a learned
network, so it cannot share a model's blind spots: it knows the palette, the three shapes and
the background, finds objects by colour, and fits each with the drawing code's own templates
(sharp and blurred). On ground truth it is exact; on images with Gaussian noise σ = 0.05 or a
3×3 box blur it still reads ≥ 98 % of the data set's captions as right, and it accepts
no wrong caption.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

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
_BASE_COLOURS = tuple(COLOURS)


@contextmanager
def extra_colours(colours: dict[str, tuple[float, float, float]]) -> Iterator[None]:
    """Inside the block the palette has more colours: drawing, prompts and the judge all know them.

    Chapter 6 teaches a trained model a colour word it has never seen ("copper"); this is how the
    scenes are drawn and judged for it. A new colour must be a new name, an RGB triple in [0, 1],
    and at least :data:`COLOUR_TOLERANCE_DEG` away in direction from every colour already in the
    palette, so the judge can tell them apart. The palette is restored on leaving the block.
    """
    added = {}
    for name, rgb in colours.items():
        rgb = tuple(float(v) for v in rgb)
        if COLOURS.get(name) == rgb and name not in _BASE_COLOURS:
            continue  # added by an enclosing block: nothing to do
        if name in COLOURS or not isinstance(name, str) or not name.isalpha():
            raise ValueError(f"a new colour needs a new one-word name, got {name!r}")
        if len(rgb) != 3 or not all(0.0 <= v <= 1.0 for v in rgb) or max(rgb) == 0:
            raise ValueError(f"colour {name!r} must be an RGB triple in [0, 1], not black, got {rgb}")
        for other, ref in {**COLOURS, **added}.items():
            cosine = np.dot(rgb, ref) / (np.linalg.norm(rgb) * np.linalg.norm(ref))
            angle = float(np.degrees(np.arccos(np.clip(cosine, -1, 1))))
            if angle < COLOUR_TOLERANCE_DEG:
                raise ValueError(f"{name!r} is {angle:.1f}° from {other!r}; the judge needs ≥ {COLOUR_TOLERANCE_DEG}°")
        added[name] = rgb
    COLOURS.update(added)
    try:
        yield
    finally:
        for name in added:
            COLOURS.pop(name, None)


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
    return _inside(obj.shape, obj.x, obj.y, obj.r, xx, yy).reshape(size, k, size, k).mean(axis=(1, 3))


def _inside(shape: str, x: float, y: float, r: float, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """Which sample points (``xx``, ``yy``: fractions of the side, y down) the shape covers."""
    dx, dy = xx - x, yy - y
    if shape == "circle":
        return dx**2 + dy**2 <= r**2
    if shape == "square":
        return (np.abs(dx) <= r * 0.85) & (np.abs(dy) <= r * 0.85)  # same area feel as the circle
    # upward triangle: apex at the top, base at the bottom of the bounding box
    top, bottom = y - r, y + r
    half_width = r * (yy - top) / (bottom - top)
    return (yy >= top) & (yy <= bottom) & (np.abs(dx) <= half_width)


def draw_scene(objects, size: int = 32, background=(0.0, 0.0, 0.0), supersample: int = 4) -> torch.Tensor:
    """Paint objects in order (later ones on top) → float image (3 size size) in [0, 1]."""
    if not isinstance(size, int) or size < 4:
        raise ValueError(f"size must be an int >= 4, got {size!r}")
    image = np.zeros((3, size, size)) + np.asarray(background, dtype=float)[:, None, None]
    for obj in objects:
        if not isinstance(obj, SceneObject):
            raise ValueError(f"objects must be SceneObject instances, got {type(obj).__name__}")
        # only the pixels of the object's bounding box change: the rest would be painted with alpha 0
        rows, cols = _box(obj.y, obj.r, size), _box(obj.x, obj.r, size)
        coords = (np.arange(size * supersample) + 0.5) / (size * supersample)  # as in shape_mask
        yy, xx = np.meshgrid(
            coords[rows.start * supersample : rows.stop * supersample],
            coords[cols.start * supersample : cols.stop * supersample],
            indexing="ij",
        )
        inside = _inside(obj.shape, obj.x, obj.y, obj.r, xx, yy)
        alpha = inside.reshape(rows.stop - rows.start, supersample, cols.stop - cols.start, supersample).mean(
            axis=(1, 3)
        )
        colour = np.asarray(COLOURS[obj.colour])[:, None, None]
        image[:, rows, cols] = image[:, rows, cols] * (1 - alpha) + colour * alpha
    return torch.tensor(image, dtype=torch.float32)


def _box(centre: float, r: float, size: int) -> slice:
    """The pixels that [centre - r, centre + r] (fractions of the side) touches, one more each side."""
    return slice(max(int(np.floor((centre - r) * size)) - 1, 0), min(int(np.ceil((centre + r) * size)) + 1, size))


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


# ---------------------------------------------------------------------------------------------
# Reading a scene back from its pixels: the judge of the text-to-image chapter.

SIZE_RADII = {"small": (0.09, 0.11), "large": (0.16, 0.19)}  # r ranges drawn for each size word
SIZE_THRESHOLD = 0.133  # a read r below this is "small": the geometric mean of 0.11 and 0.16, ~20 % from both
POSITIONS = ("left", "right", "top", "bottom")
POSITION_THRESHOLD = 0.4  # "left" ⇔ x < 0.4, "right" ⇔ x > 0.6, "top" ⇔ y < 0.4, "bottom" ⇔ y > 0.6
AREA_FACTOR = {"circle": np.pi, "square": 1.7**2, "triangle": 2.0}  # area = factor · r² (see _inside)
COLOUR_TOLERANCE_DEG = 14.0  # half the smallest angle between two palette colours (blue, purple: 28°)
MIN_AREA = 0.008  # components smaller than this fraction of the image are specks (smallest object: 0.016)
MAX_MISFIT = 0.9  # a worse fit than this is no shape of ours (real objects: < 0.4 after blur and noise)
MAX_CLUTTER = 0.02  # a clean scene has at most this fraction of bright pixels outside its objects ...
BRIGHT = 0.35  # ... where bright is an RGB norm above this (3.5 σ of background noise with σ = 0.1)
CORE_ALPHA = 0.5  # a pixel belongs to an object's core when at least half of it is covered
DIM = 0.25  # pixels darker than this (RGB norm) may be edges of any colour: they join the nearest core
# The judge compares an object with its template sharp and blurred, as generated images are soft:
BLUR_KERNELS = (np.ones(1), np.array([1, 2, 1]) / 4, np.ones(3) / 3, np.array([1, 2, 3, 2, 1]) / 9)
GROW = 2  # edge pixels within this many steps of a core belong to it (1 for anti-aliasing, 1 for blur)


def size_of(r: float) -> str:
    """``"small"`` or ``"large"``: which side of :data:`SIZE_THRESHOLD` the half-size ``r`` is on."""
    return "small" if r < SIZE_THRESHOLD else "large"


def position_holds(position: str, x: float, y: float) -> bool:
    """Whether a centre (x, y), fractions of the side with y down, is at ``position``.

    Each position is a half-plane with a margin (the centre strip 0.4–0.6 is neither left nor
    right), and positions on different axes do not exclude each other: a centre at the top-left
    corner is both "left" and "top". Prompts name at most one position, so the judge checks only
    that one.
    """
    t = POSITION_THRESHOLD
    rules = {"left": x < t, "right": x > 1 - t, "top": y < t, "bottom": y > 1 - t}
    if position not in rules:
        raise ValueError(f"position must be one of {POSITIONS}, got {position!r}")
    return bool(rules[position])


@dataclass(frozen=True)
class Detection:
    """An object read from an image: like :class:`SceneObject`, plus what the reading measured.

    ``area`` is the covered fraction of the image; ``misfit`` is the L1 distance between the
    observed coverage and the closest template, relative to ``area`` (~0 on a ground-truth
    image, up to ~0.4 after blur and noise). ``shape`` is None when even the closest template
    misfits by more than :data:`MAX_MISFIT`: a blob, not a circle, square or triangle.
    """

    shape: str | None
    colour: str
    x: float
    y: float
    r: float
    area: float
    misfit: float

    @property
    def size(self) -> str:
        return size_of(self.r)

    def at(self, position: str) -> bool:
        return position_holds(position, self.x, self.y)


def _as_images(images) -> np.ndarray:
    """Check and convert images to a float64 array (b 3 h w) in [0, 1]."""
    if isinstance(images, torch.Tensor):
        if not images.is_floating_point():
            raise ValueError(f"images must be a float tensor in [0, 1], got dtype {images.dtype}")
        images = images.detach().to("cpu", torch.float64).numpy()
    elif isinstance(images, np.ndarray):
        if not np.issubdtype(images.dtype, np.floating):
            raise ValueError(f"images must be a float array in [0, 1], got dtype {images.dtype}")
        images = images.astype(np.float64)
    else:
        raise ValueError(f"images must be a torch.Tensor or numpy array, got {type(images).__name__}")
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[2] != images.shape[3] or images.shape[2] < 8:
        raise ValueError(f"images must have shape (b 3 h w) with h = w >= 8, got {tuple(images.shape)}")
    if not np.isfinite(images).all():
        raise ValueError("images contain NaN or infinity")
    lo, hi = (float(images.min()), float(images.max())) if images.size else (0.0, 1.0)
    if lo < -1e-4 or hi > 1 + 1e-4:  # a little slack for rounding in (x + 1) / 2
        raise ValueError(f"images must be in [0, 1] (map [-1, 1] with (x + 1) / 2), got values in [{lo:.3g}, {hi:.3g}]")
    return np.clip(images, 0.0, 1.0)


_NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]


def _shifted(a: np.ndarray, dy: int, dx: int, fill) -> np.ndarray:
    """``out[..., i, j] = a[..., i + dy, j + dx]`` on the last two axes, ``fill`` beyond the border."""
    h, w = a.shape[-2:]
    out = np.full_like(a, fill)
    out[..., max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)] = a[
        ..., max(dy, 0) : h - max(-dy, 0), max(dx, 0) : w - max(-dx, 0)
    ]
    return out


def _components(core: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """8-connected components of ``core`` (b h w) among pixels of the same ``colour`` id.

    Returns (b h w) int64: each core pixel gets the smallest flat index in its component, every
    other pixel -1. Labels spread by taking the minimum over neighbours; pointer jumping (a
    pixel adopts its label's label) lets a label travel much further than one pixel a round.
    """
    big = np.iinfo(np.int64).max
    labels = np.where(core, np.arange(core.size).reshape(core.shape), big)
    flat = labels.reshape(-1)
    joined = [_shifted(core, dy, dx, False) & (_shifted(colour, dy, dx, -1) == colour) & core for dy, dx in _NEIGHBOURS]
    while True:
        new = labels.copy()
        for (dy, dx), same in zip(_NEIGHBOURS, joined, strict=True):
            new = np.where(same, np.minimum(new, _shifted(labels, dy, dx, big)), new)
        new[core] = flat[new[core]]  # pointer jumping: flat holds the labels of the last round
        if np.array_equal(new, labels):
            return np.where(core, labels, -1)
        labels, flat = new, new.reshape(-1)


def _grow(labels: np.ndarray, steps: int) -> np.ndarray:
    """Give unlabelled pixels the label of a labelled neighbour, ``steps`` rings out from the cores."""
    for _ in range(steps):
        grown = labels.copy()
        for dy, dx in _NEIGHBOURS:
            neighbour = _shifted(labels, dy, dx, -1)
            grown = np.where((grown < 0) & (neighbour >= 0), neighbour, grown)
        labels = grown
    return labels


def _fit_shape(alpha: np.ndarray, rows: slice, cols: slice, h: int, w: int):
    """Analysis by synthesis: the drawn template closest (L1) to one object's coverage ``alpha``.

    For each shape the area fixes r (area = factor · r²) and the coverage-weighted centroid fixes
    the centre (a triangle's centroid sits r/3 below its box centre); the template is drawn with
    the same code and supersampling as :func:`draw_scene`, so ground truth fits exactly, and it
    is compared sharp and blurred by each of :data:`BLUR_KERNELS`.
    """
    k = 4
    ys = (np.arange(rows.start * k, rows.stop * k) + 0.5) / (h * k)
    xs = (np.arange(cols.start * k, cols.stop * k) + 0.5) / (w * k)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    mass = alpha.sum()
    area = mass / (h * w)
    cy = float((alpha.sum(1) * (np.arange(rows.start, rows.stop) + 0.5) / h).sum() / mass)
    cx = float((alpha.sum(0) * (np.arange(cols.start, cols.stop) + 0.5) / w).sum() / mass)
    fits, templates = [], []
    for shape in SHAPES:
        r = float(np.sqrt(area / AREA_FACTOR[shape]))
        y = cy - r / 3 if shape == "triangle" else cy
        fits.append((shape, cx, y, r))
        templates.append(
            _inside(shape, cx, y, r, xx, yy).reshape(alpha.shape[0], k, alpha.shape[1], k).mean(axis=(1, 3))
        )
    # (blur shape h w): every template under every blur, by banded matrices on both sides
    rows_blur, cols_blur = _blur_matrices(alpha.shape[0]), _blur_matrices(alpha.shape[1])
    blurred = rows_blur[:, None] @ np.stack(templates)[None] @ cols_blur.transpose(0, 2, 1)[:, None]
    errors = np.abs(blurred - alpha).sum((2, 3)).min(0) / mass  # (shape,): the best blur for each
    best = int(errors.argmin())
    return (*fits[best], area, float(errors[best]))


@cache
def _blur_matrices(n: int) -> np.ndarray:
    """(kernel n n): M @ v blurs a length-n signal with each of :data:`BLUR_KERNELS` (zeros beyond)."""
    out = np.zeros((len(BLUR_KERNELS), n, n))
    for i, kernel in enumerate(BLUR_KERNELS):
        half = len(kernel) // 2
        for offset, weight in enumerate(kernel):
            out[i] += weight * np.eye(n, k=offset - half)
    return out


def read_scenes(images) -> list[list[Detection]]:
    """Read every object of each image (b 3 h w) in [0, 1] on a black background: the inverse of
    :func:`draw_scene`. Objects come in reading order (by y, then x); see :func:`_read`."""
    return _read(images)[0]


def _read(images) -> tuple[list[list[Detection]], np.ndarray]:
    """The objects of each image and its clutter (b,): the fraction of bright pixels (RGB norm
    above :data:`BRIGHT`) that are neither in an object nor within :data:`GROW` steps of its core.

    1. Colour: each pixel is taken as coverage α times a palette colour, so its *direction* in
       RGB names the colour whatever α is. A pixel is confidently coloured when its direction is
       within :data:`COLOUR_TOLERANCE_DEG` of the nearest palette colour (grey and black are
       not), and α = ⟨pixel, colour⟩ / |colour|² is its coverage.
    2. Objects: 8-connected components of core pixels (confident, α > 0.5) of one colour; the
       edge pixels within :data:`GROW` steps that are dim or of the same colour join the nearest
       core, so soft edges count towards the area (a blur moves coverage, it does not remove it).
    3. Shape, size, position: the template of each shape with the same area and centroid is
       drawn and the closest one wins (:func:`_fit_shape`); r gives the size, the centre the
       position. Components smaller than :data:`MIN_AREA` are specks and are dropped.
    """
    x = _as_images(images)
    b, _, h, w = x.shape
    palette = np.asarray(list(COLOURS.values()))  # (k 3)
    names = list(COLOURS)
    norm = np.linalg.norm(x, axis=1)  # (b h w)
    cosine = np.einsum("bchw,kc->bkhw", x, palette / np.linalg.norm(palette, axis=1, keepdims=True))
    cosine = cosine / np.maximum(norm, 1e-8)[:, None]
    alpha = np.einsum("bchw,kc->bkhw", x, palette) / (palette**2).sum(1)[None, :, None, None]
    confident = cosine >= np.cos(np.radians(COLOUR_TOLERANCE_DEG))  # (b k h w)
    colour = cosine.argmax(1)  # (b h w)
    best_alpha = np.take_along_axis(alpha, colour[:, None], 1)[:, 0]
    core = np.take_along_axis(confident, colour[:, None], 1)[:, 0] & (best_alpha > CORE_ALPHA)
    labels = _components(core, np.where(core, colour, -1))
    owner = _grow(labels, GROW)
    # all the coverage within GROW steps bounds a component's area: most specks stop here
    owned = owner >= 0
    at_b, at_h, at_w = np.nonzero(owned)
    weights = np.clip(alpha[at_b, colour.reshape(-1)[owner[owned]], at_h, at_w], 0, 1)
    bound = np.bincount(owner[owned], weights=weights, minlength=b * h * w)
    scenes: list[list[Detection]] = [[] for _ in range(b)]
    kept = []
    for label in np.flatnonzero(bound >= MIN_AREA * h * w):
        i, c = label // (h * w), int(colour.reshape(-1)[label])
        region = (owner[i] == label) & (confident[i, c] | (norm[i] < DIM) | (labels[i] == label))
        a = np.where(region, np.clip(alpha[i, c], 0, 1), 0.0)
        if a.sum() < MIN_AREA * h * w:
            continue
        rr, cc = np.nonzero(region)
        rows = slice(max(rr.min() - 1, 0), min(rr.max() + 2, h))  # one pixel of margin for the template
        cols = slice(max(cc.min() - 1, 0), min(cc.max() + 2, w))
        shape, cx, cy, r, area, misfit = _fit_shape(a[rows, cols], rows, cols, h, w)
        shape = shape if misfit <= MAX_MISFIT else None
        kept.append(label)
        scenes[i].append(Detection(shape, names[c], float(cx), float(cy), float(r), float(area), float(misfit)))
    scenes = [sorted(found, key=lambda d: (d.y, d.x)) for found in scenes]  # reading order: top to bottom
    clutter = ((norm > BRIGHT) & ~np.isin(owner, kept)).mean((1, 2))  # stray paint: specks, noise, a wash
    return scenes, clutter


def read_scene(image) -> list[Detection]:
    """The objects of one image (3 h w) in [0, 1]; see :func:`read_scenes`."""
    if getattr(image, "ndim", None) != 3:
        raise ValueError(f"image must have shape (3 h w), got {tuple(getattr(image, 'shape', ()))}")
    return read_scenes(image[None])[0]


def _judge(images, prompts) -> list[dict[str, bool | None]]:
    """Per image, each attribute of its prompt: right (True), wrong (False) or not named (None)."""
    from .scene_prompts import parse_prompt  # the grammar builds on this module's drawing code

    if not isinstance(prompts, (list, tuple)) or not all(isinstance(p, str) for p in prompts):
        raise ValueError("prompts must be a list of strings, one per image")
    specs = [parse_prompt(p) for p in prompts]
    images = _as_images(images)
    if len(images) != len(specs):
        raise ValueError(f"got {len(images)} images but {len(specs)} prompts")
    # each distinct image is read once, so scoring one image against many prompts is cheap
    first: dict[bytes, int] = {}  # image bytes → index among the distinct images
    which, picks = [], []
    for i, image in enumerate(images):
        if image.tobytes() not in first:
            first[image.tobytes()] = len(picks)
            picks.append(i)
        which.append(first[image.tobytes()])
    read, clutter = _read(images[picks]) if picks else ([], np.zeros(0))
    return [_verdict(spec, read[j], clutter[j]) for spec, j in zip(specs, which, strict=True)]


def _verdict(spec, found: list[Detection], clutter: float) -> dict[str, bool | None]:
    def every(right) -> bool:  # an attribute is right when there is an object and every one has it
        return bool(found) and all(right(d) for d in found)

    return {
        "colour": every(lambda d: d.colour == spec.colour),
        "shape": every(lambda d: d.shape == spec.shape),
        "size": None if spec.size is None else every(lambda d: d.size == spec.size),
        "position": None if spec.position is None else every(lambda d: d.at(spec.position)),
        "count": len(found) == spec.count and bool(clutter <= MAX_CLUTTER),
    }


def prompt_accuracy(images, prompts) -> list[bool]:
    """Does each image (b 3 h w) in [0, 1] show its prompt? One bool per image.

    True iff the image holds exactly ``count`` objects and every one has each attribute the
    prompt names (colour, shape, and size or position when named; see :func:`size_of` and
    :func:`position_holds`). The image must hold nothing else: an extra object of any colour,
    or more than :data:`MAX_CLUTTER` of the pixels bright outside the objects (noise, a grey
    wash), makes it wrong: "a red circle" means one red circle on a black background.
    """
    return [all(v is not False for v in verdict.values()) for verdict in _judge(images, prompts)]


def attribute_accuracy(images, prompts) -> dict[str, float]:
    """Per attribute, the fraction of images that get it right, to see which word a model misses.

    ``colour``, ``shape``, ``size``, ``position``: every object read has the named value (and
    there is at least one); ``count``: the number of objects, and no clutter. ``size`` and ``position`` are
    averaged over the prompts that name them (NaN if none does); ``prompt`` is the mean of
    :func:`prompt_accuracy`.
    """
    verdicts = _judge(images, prompts)
    out = {}
    for key in ("colour", "shape", "size", "position", "count"):
        named = [v[key] for v in verdicts if v[key] is not None]
        out[key] = float(np.mean(named)) if named else float("nan")
    out["prompt"] = (
        float(np.mean([all(x is not False for x in v.values()) for v in verdicts])) if verdicts else float("nan")
    )
    return out
