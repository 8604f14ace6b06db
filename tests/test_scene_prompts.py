"""The scene grammar, its data set and held-out split, and the judge that reads scenes back."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genai_course.data.scene_prompts import (
    GAP,
    MAX_PROMPT_WORDS,
    NULL,
    PAD,
    POSITION_PHRASES,
    TOKEN_ID,
    VOCAB,
    PromptSpec,
    all_prompts,
    all_specs,
    detokenize,
    is_held_out,
    parse_prompt,
    render_prompt,
    scene_for_prompt,
    text_to_image_dataset,
    text_to_image_scenes,
    tokenize,
)
from genai_course.data.shapes import (
    COLOURS,
    POSITIONS,
    SHAPES,
    SIZE_RADII,
    SceneObject,
    attribute_accuracy,
    draw_scene,
    position_holds,
    prompt_accuracy,
    read_scene,
    read_scenes,
    size_of,
)

# ---------------------------------------------------------------------------------------------
# grammar


def test_parse_render_round_trip_over_the_whole_grammar():
    specs = all_specs()
    assert len(specs) == len(set(specs)) == 15 * 3 * 7
    prompts = all_prompts()
    assert len(set(prompts)) == len(prompts)
    for spec, prompt in zip(specs, prompts, strict=True):
        assert parse_prompt(prompt) == spec
        assert render_prompt(parse_prompt(prompt)) == prompt
        assert len(prompt.split()) <= MAX_PROMPT_WORDS


@pytest.mark.parametrize(
    "prompt, spec",
    [
        ("a red circle", PromptSpec("red", "circle")),
        ("  One  RED Circle \n", PromptSpec("red", "circle")),
        ("a small blue square on the left", PromptSpec("blue", "square", "small", "left")),
        ("two large green triangles", PromptSpec("green", "triangle", "large", None, 2)),
        ("three purple circles", PromptSpec("purple", "circle", None, None, 3)),
        ("a yellow triangle at the top", PromptSpec("yellow", "triangle", None, "top")),
        ("A Large Red Square At The Bottom", PromptSpec("red", "square", "large", "bottom")),
    ],
)
def test_parse_examples(prompt, spec):
    assert parse_prompt(prompt) == spec


@pytest.mark.parametrize(
    "prompt, message",
    [
        ("a red octagon", "unknown word 'octagon' in prompt 'a red octagon'; known words: a, one"),
        ("a red circle please", "unknown word 'please'"),
        ("a Crimson circle", "unknown word 'crimson'"),
        ("red circle", "must start with a count"),
        ("a small large red circle", "needs a colour"),
        ("a circle red", "needs a colour"),
        ("a red circles", "singular noun"),
        ("two red circle", "plural noun"),
        ("a red", "singular noun"),
        ("two red circles on the left", "only for a single object"),
        ("a red circle on the", "must end with the noun or a position"),
        ("a red circle left", "must end with the noun or a position"),
        ("a red circle on the left at the top", "must end with the noun or a position"),
        ("", "empty prompt"),
        ("   ", "empty prompt"),
    ],
)
def test_bad_prompts_raise_clear_errors(prompt, message):
    with pytest.raises(ValueError, match=message):
        parse_prompt(prompt)


def test_prompt_spec_validates():
    with pytest.raises(ValueError, match="colour must be"):
        PromptSpec("pink", "circle")
    with pytest.raises(ValueError, match="position is only for a single object"):
        PromptSpec("red", "circle", position="left", count=2)
    with pytest.raises(ValueError, match="count must be"):
        PromptSpec("red", "circle", count=4)
    with pytest.raises(ValueError, match="PromptSpec"):
        render_prompt("a red circle")


def test_held_out_rule():
    assert is_held_out("a purple triangle")
    assert is_held_out("three small purple triangles")
    assert is_held_out("a large purple triangle on the right")
    assert is_held_out("a small yellow square at the top")
    assert is_held_out("two small yellow squares")
    assert not is_held_out("a yellow square")  # open size: its training images are large
    assert not is_held_out("a large yellow square")
    assert not is_held_out("a small yellow triangle")
    assert not is_held_out("a purple circle")
    held = [s for s in all_specs() if is_held_out(s)]
    assert len(held) == 3 * 7 + 7  # purple triangles of every size choice, small yellow squares


# ---------------------------------------------------------------------------------------------
# tokens


def test_vocabulary_and_tokens():
    assert VOCAB[:2] == [PAD, NULL] and TOKEN_ID[PAD] == 0 and TOKEN_ID[NULL] == 1
    assert len(set(VOCAB)) == len(VOCAB)
    prompts = all_prompts()
    tokens = tokenize(prompts)
    assert tokens.shape == (len(prompts), MAX_PROMPT_WORDS) and tokens.dtype == torch.long
    assert detokenize(tokens) == prompts
    assert tokens[0].tolist() == [TOKEN_ID[w] for w in "a red circle".split()] + [0] * (MAX_PROMPT_WORDS - 3)
    assert torch.equal(tokenize(["One  RED circle "]), tokenize(["a red circle"]))  # canonical first
    assert torch.equal(tokenize("a red circle", length=3), tokenize(["a red circle"])[:, :3])


def test_empty_prompt_is_the_null_caption():
    tokens = tokenize(["", "  ", "a red circle"], length=5)
    assert tokens[0].tolist() == tokens[1].tolist() == [TOKEN_ID[NULL], 0, 0, 0, 0]
    assert detokenize(tokens)[:2] == ["", ""]


def test_tokenize_errors():
    with pytest.raises(ValueError, match="unknown word 'octagon'"):
        tokenize(["a red circle", "a red octagon"])
    with pytest.raises(ValueError, match="more than length=3"):
        tokenize(["a small red circle"], length=3)
    with pytest.raises(ValueError, match="length must be"):
        tokenize(["a red circle"], length=0)
    with pytest.raises(ValueError, match="token ids"):
        detokenize(torch.tensor([[len(VOCAB)]]))


# ---------------------------------------------------------------------------------------------
# scenes and data set


def _satisfies(objects, spec: PromptSpec) -> bool:
    """The ground truth of a scene shows the prompt (the generator's own, stricter rules)."""
    ok = len(objects) == spec.count
    for o in objects:
        ok &= o.colour == spec.colour and o.shape == spec.shape
        lo, hi = SIZE_RADII[spec.size] if spec.size else (SIZE_RADII["small"][0], SIZE_RADII["large"][1])
        ok &= lo <= o.r <= hi and o.r <= o.x <= 1 - o.r and o.r <= o.y <= 1 - o.r
        if spec.position is not None:
            ok &= position_holds(spec.position, o.x, o.y)
            ok &= not any(position_holds(p, o.x, o.y) for p in POSITIONS if p != spec.position)
    return bool(ok)


def _apart(objects) -> bool:
    for i, a in enumerate(objects):
        for b in objects[i + 1 :]:
            half = a.r * (0.85 if a.shape == "square" else 1)
            if abs(a.x - b.x) < 2 * half + GAP - 1e-9 and abs(a.y - b.y) < 2 * half + GAP - 1e-9:
                return False
    return True


def test_scene_for_every_prompt_shows_it_and_the_judge_agrees():
    rng = np.random.RandomState(0)
    specs = all_specs()
    scenes = [scene_for_prompt(spec, rng) for spec in specs]
    for spec, scene in zip(specs, scenes, strict=True):
        assert _satisfies(scene.objects, spec), spec
        assert _apart(scene.objects)
        assert len({o.r for o in scene.objects}) == 1  # several objects share one size
        assert scene.caption == render_prompt(spec)
        assert torch.equal(scene.image, draw_scene(scene.objects, 32))
    assert all(prompt_accuracy(torch.stack([s.image for s in scenes]), [s.caption for s in scenes]))
    assert scene_for_prompt("a red circle", np.random.RandomState(1), size=20).image.shape == (3, 20, 20)
    with pytest.raises(ValueError, match="RandomState"):
        scene_for_prompt("a red circle", 0)


@pytest.fixture(scope="module")
def train_scenes():
    return text_to_image_scenes(3000, seed=0, split="train")


@pytest.fixture(scope="module")
def heldout_scenes():
    return text_to_image_scenes(500, seed=0, split="heldout")


def test_train_split_never_shows_a_held_out_combination(train_scenes):
    for scene in train_scenes:
        spec = parse_prompt(scene.caption)
        assert not is_held_out(spec)
        for o in scene.objects:  # the image, not only the caption: an open size is drawn too
            assert not is_held_out(PromptSpec(o.colour, o.shape, size_of(o.r)))
        assert _satisfies(scene.objects, spec), scene.caption  # the caption is true
        assert _apart(scene.objects)
    seen = {(o.colour, o.shape, size_of(o.r)) for s in train_scenes for o in s.objects}
    assert len(seen) == 5 * 3 * 2 - 2 - 1  # every other combination is seen


def test_heldout_split_shows_only_held_out_combinations(heldout_scenes):
    kinds = set()
    for scene in heldout_scenes:
        spec = parse_prompt(scene.caption)
        assert is_held_out(spec)
        assert _satisfies(scene.objects, spec), scene.caption
        for o in scene.objects:
            assert is_held_out(PromptSpec(o.colour, o.shape, size_of(o.r)))
            kinds.add((o.colour, o.shape))
    assert kinds == {("purple", "triangle"), ("yellow", "square")}


def test_captions_name_a_random_subset_of_optional_words(train_scenes):
    specs = [parse_prompt(s.caption) for s in train_scenes]
    single = [s for s in specs if s.count == 1]
    assert 0.65 < np.mean([s.size is not None for s in specs]) < 0.75
    assert 0.55 < np.mean([s.position is not None for s in single]) < 0.65
    assert 0.45 < len(single) / len(specs) < 0.55
    words = {w for s in train_scenes for w in s.caption.split()}
    assert words == set(VOCAB) - {PAD, NULL, "one"}  # every word is learnt ("one" reads as "a")


def test_dataset_is_deterministic_and_well_formed():
    images, captions = text_to_image_dataset(40, seed=3)
    again, captions_again = text_to_image_dataset(40, seed=3)
    assert torch.equal(images, again) and captions == captions_again
    assert text_to_image_dataset(40, seed=4)[1] != captions
    assert images.shape == (40, 3, 32, 32) and images.dtype == torch.float32
    assert 0 <= images.min() and images.max() <= 1
    assert (images.amax(1) == 0).float().mean() > 0.5  # most of the fixed black background shows
    small, _ = text_to_image_dataset(3, seed=3, split="heldout", size=24)
    assert small.shape == (3, 3, 24, 24)
    assert text_to_image_dataset(0)[0].shape == (0, 3, 32, 32)
    with pytest.raises(ValueError, match="split must be"):
        text_to_image_dataset(4, split="test")


# ---------------------------------------------------------------------------------------------
# the judge


def _images(scenes):
    return torch.stack([s.image for s in scenes])


def _captions(scenes):
    return [s.caption for s in scenes]


def test_judge_reads_ground_truth_exactly():
    objects = [SceneObject("triangle", "purple", 0.25, 0.3, 0.17), SceneObject("circle", "green", 0.7, 0.72, 0.1)]
    found = read_scene(draw_scene(objects, 32))
    assert [(d.shape, d.colour) for d in found] == [("triangle", "purple"), ("circle", "green")]
    for d, o in zip(found, objects, strict=True):
        assert abs(d.x - o.x) < 0.005 and abs(d.y - o.y) < 0.005 and abs(d.r - o.r) < 0.005
        assert d.misfit < 0.02


def test_judge_on_ground_truth(train_scenes, heldout_scenes):
    for scenes, n in ((train_scenes, 2000), (heldout_scenes, 500)):
        accuracy = attribute_accuracy(_images(scenes[:n]), _captions(scenes[:n]))  # measured: all 1.0
        assert set(accuracy) == {"colour", "shape", "size", "position", "count", "prompt"}
        assert min(accuracy.values()) >= 0.99, accuracy


def test_attribute_accuracy_agrees_with_prompt_accuracy(train_scenes):
    images, captions = _images(train_scenes[:100]), _captions(train_scenes[:100])
    images[::3] = F.avg_pool2d(images[::3], 5, 1, 2)  # some wrong, for a non-trivial comparison
    accepted = prompt_accuracy(images, captions)
    assert 0 < np.mean(accepted) < 1
    assert attribute_accuracy(images, captions)["prompt"] == np.mean(accepted)


def _wrong_prompts(scene) -> dict[str, str]:
    """The scene's caption with one attribute made false."""
    spec, truth = parse_prompt(scene.caption), scene.objects[0]
    i = lambda values, v: values[(values.index(v) + 1) % len(values)]  # noqa: E731  the next value
    size = size_of(truth.r)
    wrong = {
        "colour": PromptSpec(i(list(COLOURS), spec.colour), spec.shape, spec.size, spec.position, spec.count),
        "shape": PromptSpec(spec.colour, i(SHAPES, spec.shape), spec.size, spec.position, spec.count),
        "count": PromptSpec(spec.colour, spec.shape, spec.size, None, spec.count % 3 + 1),
        "size": PromptSpec(spec.colour, spec.shape, "large" if size == "small" else "small", spec.position, spec.count),
    }
    if spec.position is not None:
        wrong["position"] = PromptSpec(spec.colour, spec.shape, spec.size, i(POSITIONS, spec.position), 1)
    return {k: render_prompt(v) for k, v in wrong.items()}


@pytest.mark.parametrize("blur", [False, True])
def test_judge_rejects_wrong_prompts(train_scenes, blur):
    scenes = train_scenes[:600]
    images = _images(scenes)
    if blur:  # still strict on a soft image
        images = F.avg_pool2d(images, 3, 1, 1, count_include_pad=False)
    pairs = [(a, j, p) for j, s in enumerate(scenes) for a, p in _wrong_prompts(s).items()]
    accepted = np.array(prompt_accuracy(images[[j for _, j, _ in pairs]], [p for _, _, p in pairs]))
    for attribute in ("colour", "shape", "count", "size", "position"):  # measured: none accepted
        rows = [a == attribute for a, _, _ in pairs]
        assert sum(rows) > 100 and accepted[rows].mean() <= 0.01, (attribute, accepted[rows].mean())


def test_blank_and_noise_images_match_no_prompt():
    g = torch.Generator().manual_seed(0)
    images = torch.stack(
        [
            torch.zeros(3, 32, 32),
            torch.full((3, 32, 32), 0.5),
            torch.ones(3, 32, 32),
            *torch.rand(4, 3, 32, 32, generator=g),
        ]
    )
    prompts = all_prompts()
    for image in images:
        assert not any(prompt_accuracy(image.expand(len(prompts), -1, -1, -1).clone(), prompts))
    assert all(read_scene(image) == [] for image in images[:3])


def test_an_extra_object_makes_the_prompt_wrong():
    red = SceneObject("circle", "red", 0.3, 0.5, 0.12)
    blue = SceneObject("square", "blue", 0.25, 0.15, 0.1)  # on the left too
    images = torch.stack([draw_scene([red]), draw_scene([red, blue])])
    assert prompt_accuracy(images, ["a red circle", "a red circle"]) == [True, False]
    accuracy = attribute_accuracy(images, ["a red circle on the left"] * 2)
    assert accuracy["count"] == 0.5 and accuracy["position"] == 1.0 and math.isnan(accuracy["size"])


@pytest.mark.parametrize("corrupt", ["noise", "blur", "noise and blur"])
def test_judge_is_robust_to_what_generated_images_look_like(train_scenes, corrupt):
    scenes = train_scenes[:1000]
    images = _images(scenes)
    g = torch.Generator().manual_seed(0)
    if "blur" in corrupt:
        images = F.avg_pool2d(images, 3, 1, 1, count_include_pad=False)
    if "noise" in corrupt:
        images = (images + 0.05 * torch.randn(images.shape, generator=g)).clamp(0, 1)
    bound = 0.95 if corrupt == "noise and blur" else 0.98  # measured: 1.0, 1.0, 0.98
    assert np.mean(prompt_accuracy(images, _captions(scenes))) >= bound


@pytest.mark.parametrize(
    "images, prompts, match",
    [
        (torch.zeros(2, 32, 32), ["a red circle"] * 2, r"\(b 3 h w\)"),
        (torch.zeros(2, 1, 32, 32), ["a red circle"] * 2, r"\(b 3 h w\)"),
        (torch.zeros(2, 3, 32, 32, dtype=torch.uint8), ["a red circle"] * 2, "float"),
        (-torch.ones(2, 3, 32, 32), ["a red circle"] * 2, r"in \[0, 1\]"),
        (torch.full((2, 3, 32, 32), float("nan")), ["a red circle"] * 2, "NaN"),
        (torch.zeros(2, 3, 32, 32), ["a red circle"] * 3, "2 images but 3 prompts"),
        (torch.zeros(1, 3, 32, 32), "a red circle", "list of strings"),
        (torch.zeros(1, 3, 32, 32), ["a red octagon"], "unknown word 'octagon'"),
        ([[0.0]], ["a red circle"], "torch.Tensor or numpy"),
    ],
)
def test_judge_rejects_bad_input(images, prompts, match):
    with pytest.raises(ValueError, match=match):
        prompt_accuracy(images, prompts)


def test_read_scenes_takes_numpy_and_single_images():
    image = draw_scene([SceneObject("square", "yellow", 0.5, 0.5, 0.18)])
    assert read_scenes(image[None].numpy()) == [read_scene(image)]
    assert read_scene(image)[0].size == "large" and read_scene(image)[0].shape == "square"
    with pytest.raises(ValueError, match=r"\(3 h w\)"):
        read_scene(image[None])


def test_position_phrases_cover_positions():
    assert set(POSITION_PHRASES) == set(POSITIONS)
    assert position_holds("left", 0.3, 0.1) and position_holds("top", 0.3, 0.1)  # a corner is both
    assert not position_holds("left", 0.45, 0.5) and not position_holds("bottom", 0.5, 0.55)
    with pytest.raises(ValueError, match="position must be"):
        position_holds("centre", 0.5, 0.5)
