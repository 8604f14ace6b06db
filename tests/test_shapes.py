"""Procedural shape scenes: deterministic, drawn where described, captioned, bad input rejected."""

import numpy as np
import pytest
import torch

from genai_course.data.shapes import (
    COLOURS,
    SHAPES,
    SceneObject,
    caption,
    draw_scene,
    random_objects,
    random_scene,
    random_scenes,
    shape_mask,
)


def test_deterministic_given_seed():
    a, b = random_scenes(4, seed=7, size=16), random_scenes(4, seed=7, size=16)
    assert all(torch.equal(x.image, y.image) and x.caption == y.caption for x, y in zip(a, b, strict=True))
    c = random_scenes(4, seed=8, size=16)
    assert any(x.caption != y.caption for x, y in zip(a, c, strict=True))


def test_image_range_shape_and_colour_at_centre():
    obj = SceneObject("circle", "red", 0.5, 0.5, 0.3)
    img = draw_scene([obj], size=32)
    assert img.shape == (3, 32, 32) and img.dtype == torch.float32
    assert 0 <= img.min() and img.max() <= 1
    assert torch.allclose(img[:, 16, 16], torch.tensor(COLOURS["red"]), atol=1e-6)
    assert torch.all(img[:, 0, 0] == 0)  # background


def test_circle_area_matches_pi_r_squared():
    mask = shape_mask(SceneObject("circle", "blue", 0.5, 0.5, 0.3), 64, supersample=8)
    assert abs(mask.mean() - np.pi * 0.3**2) < 0.005


def test_shapes_differ():
    masks = [shape_mask(SceneObject(s, "red", 0.5, 0.5, 0.3), 16) for s in SHAPES]
    assert not np.allclose(masks[0], masks[1]) and not np.allclose(masks[1], masks[2])


def test_random_scene_description_and_caption():
    rng = np.random.RandomState(0)
    for _ in range(50):
        scene = random_scene(rng, size=24, n_objects=(2, 3))
        assert 2 <= len(scene.objects) <= 3
        assert len({o.shape for o in scene.objects}) == len(scene.objects)  # distinct shapes
        assert len({o.colour for o in scene.objects}) == len(scene.objects)  # distinct colours
        for o in scene.objects:
            assert f"{o.colour} {o.shape}" in scene.caption
        for i, a in enumerate(scene.objects):  # no overlaps
            for b in scene.objects[i + 1 :]:
                assert (a.x - b.x) ** 2 + (a.y - b.y) ** 2 > (a.r + b.r) ** 2


def test_caption_grammar():
    objs = [
        SceneObject("circle", "red", 0.2, 0.2, 0.1),
        SceneObject("square", "blue", 0.7, 0.7, 0.1),
        SceneObject("triangle", "green", 0.2, 0.7, 0.1),
    ]
    assert caption(objs[:1]) == "a red circle"
    assert caption(objs[:2]) == "a red circle and a blue square"
    assert caption(objs) == "a red circle, a blue square and a green triangle"


def test_repeats_allowed_when_not_distinct():
    rng = np.random.RandomState(0)
    objs = random_objects(rng, 3, shapes=("circle",), colours=("red",), distinct=False, r_range=(0.05, 0.1))
    assert [o.shape for o in objs] == ["circle"] * 3


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: SceneObject("star", "red", 0.5, 0.5, 0.1), "shape must be one of"),
        (lambda: SceneObject("circle", "pink", 0.5, 0.5, 0.1), "colour must be one of"),
        (lambda: SceneObject("circle", "red", 0.5, 0.5, 0.7), "0 < r < 0.5"),
        (lambda: draw_scene([], size=2), "size must be"),
        (lambda: draw_scene(["circle"], size=8), "SceneObject"),
        (lambda: random_objects(np.random.RandomState(0), 4), "distinct"),
        (lambda: random_scene(0), "RandomState"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_grid_layout_puts_each_object_in_its_own_cell():
    rng = np.random.RandomState(0)
    for _ in range(30):
        objs = random_objects(rng, 3, grid=3, r_range=(0.1, 0.15))
        cells = {(int(o.x * 3), int(o.y * 3)) for o in objs}
        assert len(cells) == 3
        for o in objs:  # the whole object stays inside its cell
            cx, cy = int(o.x * 3), int(o.y * 3)
            assert cx / 3 <= o.x - o.r and o.x + o.r <= (cx + 1) / 3
            assert cy / 3 <= o.y - o.r and o.y + o.r <= (cy + 1) / 3
    with pytest.raises(ValueError, match="distinct cells"):
        random_objects(rng, 2, grid=1)


def test_draw_scene_paints_as_the_full_canvas_masks_would():
    """draw_scene only touches each object's box; the image is the one full-size masks paint."""
    rng = np.random.RandomState(0)
    for _ in range(200):
        size, k = int(rng.randint(4, 40)), int(rng.randint(1, 5))
        background = rng.uniform(0, 1, size=3)
        objects = [
            SceneObject(
                SHAPES[rng.randint(3)], list(COLOURS)[rng.randint(5)], *rng.uniform(0, 1, 2), rng.uniform(0.01, 0.49)
            )
            for _ in range(rng.randint(1, 4))
        ]
        expected = np.zeros((3, size, size)) + background[:, None, None]
        for obj in objects:
            alpha = shape_mask(obj, size, k)
            expected = expected * (1 - alpha) + np.asarray(COLOURS[obj.colour])[:, None, None] * alpha
        assert torch.equal(draw_scene(objects, size, background, k), torch.tensor(expected, dtype=torch.float32))
