"""Chapter 7's CLIP: the loss against an explicit loop, the encoders' contracts, CLIPScore by hand,
zero-shot and retrieval on hand-made cases, the held-out data, the shipped model and the checkers."""

import math

import pytest
import torch
import torch.nn.functional as F

from genai_course.checkpoint_io import checkpoint_path
from genai_course.clip import clip_score
from genai_course.clip.loss import contrastive_loss
from genai_course.clip.model import CLIP, CLIPConfig
from genai_course.clip.pretrained import clip_metrics, evaluate_clip, load_clip
from genai_course.clip.score import rerank
from genai_course.clip.training import duplicate_floor, train_clip
from genai_course.clip.zero_shot import (
    CLASSES,
    PLURAL_TEMPLATES,
    caption_fits,
    class_embeddings,
    class_prompts,
    fitting_at_1,
    multi_object_task,
    recall_at_k,
    zero_shot_predict,
    zero_shot_task,
)
from genai_course.data.scene_prompts import PromptSpec, is_held_out, text_to_image_dataset, tokenize
from genai_course.data.shapes import prompt_accuracy, read_scenes
from genai_course.exercises.dalle import check_clip_rerank, check_contrastive_loss


def unit(*shape, seed=0):
    return F.normalize(torch.randn(*shape, generator=torch.Generator().manual_seed(seed)), dim=-1)


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    return CLIP(CLIPConfig()).eval()


@pytest.fixture(scope="module")
def shipped():
    return load_clip()


# ------------------------------------------------------------------------------ the loss


def test_contrastive_loss_is_the_explicit_two_way_cross_entropy():
    b, e, scale = 5, 7, 3.7
    images, texts = unit(b, e, seed=1), unit(b, e, seed=2)
    logits = [[scale * float(images[i] @ texts[j]) for j in range(b)] for i in range(b)]
    image_loss = text_loss = 0.0
    for i in range(b):  # −log softmax of the right partner, written out, per row and per column
        row = [logits[i][j] for j in range(b)]
        col = [logits[j][i] for j in range(b)]
        image_loss -= row[i] - math.log(sum(math.exp(v) for v in row))
        text_loss -= col[i] - math.log(sum(math.exp(v) for v in col))
    expect = (image_loss / b + text_loss / b) / 2
    assert float(contrastive_loss(images, texts, scale)) == pytest.approx(expect, rel=1e-5)
    assert float(contrastive_loss(images, texts, torch.tensor(scale))) == pytest.approx(expect, rel=1e-5)
    assert float(contrastive_loss(texts, images, scale)) == pytest.approx(expect, rel=1e-5)  # symmetric


def test_contrastive_loss_limits():
    matched = torch.linalg.qr(torch.randn(8, 8, generator=torch.Generator().manual_seed(0)))[0][:6]
    assert float(contrastive_loss(matched, matched, 100.0)) < 1e-6
    same = unit(1, 8).expand(6, 8)
    assert float(contrastive_loss(same, same, 50.0)) == pytest.approx(math.log(6), abs=1e-5)
    assert float(contrastive_loss(unit(6, 8), unit(6, 8, seed=3), 0.0)) == pytest.approx(math.log(6), abs=1e-6)
    with pytest.raises(ValueError, match="text_emb: expected shape"):
        contrastive_loss(unit(6, 8), unit(5, 8), 10.0)


# ------------------------------------------------------------------------------ the model


def test_temperature_starts_at_0_07_and_is_clipped_at_100(small):
    model = CLIP()
    assert float(model.scale().detach()) == pytest.approx(1 / 0.07, rel=1e-5)
    images, tokens = torch.rand(3, 3, 32, 32), tokenize(["a red circle", "two blue squares", "a green triangle"])
    with torch.no_grad():
        model.logit_scale.fill_(20.0)  # exp(20) ≈ 5e8: the clip holds it at 100
        cos = model.encode_image(images) @ model.encode_text(tokens).T
        assert float(model.scale()) == pytest.approx(100.0) and model.temperature == pytest.approx(0.01)
        torch.testing.assert_close(model(images, tokens), 100 * cos)
        model.logit_scale.fill_(-5.0)
        assert float(model.scale()) == pytest.approx(1.0)


def test_encoders_return_unit_vectors_of_the_shared_space(small):
    images = torch.rand(4, 3, 32, 32)
    prompts = ["a red circle", "a small blue square on the left", "three large green triangles", "a purple triangle"]
    i, t = small.encode_image(images), small.encode_prompts(prompts)
    assert i.shape == t.shape == (4, 64)
    torch.testing.assert_close(i.norm(dim=-1), torch.ones(4))
    torch.testing.assert_close(t.norm(dim=-1), torch.ones(4))
    torch.testing.assert_close(t, small.encode_text(tokenize(prompts)))
    # padding does not count: the masked mean of a short caption ignores what the pads would add
    assert not torch.allclose(small.encode_prompts(["a red circle"]), small.encode_prompts(["a red square"]))


def test_config_round_trips_and_the_model_is_small(small):
    cfg = CLIPConfig.from_dict(small.cfg.to_dict())
    assert cfg == small.cfg and isinstance(cfg.image_widths, tuple)
    assert sum(p.numel() for p in small.parameters()) <= 300_000
    assert checkpoint_path("clip_scenes.pt").stat().st_size <= 600_000
    with pytest.raises(ValueError, match="divisible"):
        CLIPConfig(image_size=30)


def test_bad_inputs_are_clear_errors(small):
    with pytest.raises(ValueError, match=r"images: expected shape .* c is 1, not 3"):
        small.encode_image(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match=r"h is 16, not 32"):
        clip_score(torch.rand(2, 3, 16, 16), ["a red circle"] * 2, model=small)
    with pytest.raises(ValueError, match="list of strings"):
        clip_score(torch.rand(1, 3, 32, 32), "a red circle", model=small)
    with pytest.raises(ValueError, match="every prompt must be a string"):
        clip_score(torch.rand(1, 3, 32, 32), [3], model=small)
    with pytest.raises(ValueError, match="got 2 images but 1 prompts"):
        clip_score(torch.rand(2, 3, 32, 32), ["a red circle"], model=small)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        clip_score(torch.rand(1, 3, 32, 32) * 2 - 1, ["a red circle"], model=small)
    with pytest.raises(ValueError, match="unknown word 'octagon'"):
        small.encode_prompts(["a red octagon"])
    with pytest.raises(ValueError, match="tokens: expected shape"):
        small(torch.rand(2, 3, 32, 32), tokenize(["a red circle"]))


def test_train_clip_lowers_the_loss():
    images, prompts = text_to_image_dataset(256, seed=5)
    torch.manual_seed(0)
    history = train_clip(CLIP(), images, tokenize(prompts), 40, batch_size=32, lr=3e-3)
    assert len(history["loss"]) == len(history["scale"]) == 40
    assert sum(history["loss"][-5:]) / 5 < sum(history["loss"][:5]) / 5 - 0.5
    with pytest.raises(ValueError, match="batch_size"):
        train_clip(CLIP(), images, tokenize(prompts), 1, batch_size=512)


# ------------------------------------------------------------------------------ CLIPScore and reranking


def test_clip_score_is_hessels_formula(small, shipped):
    images, prompts = text_to_image_dataset(6, seed=3)
    cos = (small.encode_image(images) * small.encode_text(tokenize(prompts))).sum(-1)
    torch.testing.assert_close(clip_score(images, prompts, model=small), 2.5 * cos.clamp(min=0))
    torch.testing.assert_close(clip_score(images, prompts, model=small, scale=100), 100 * cos.clamp(min=0))
    default = clip_score(images, prompts)  # the shipped model
    torch.testing.assert_close(default, clip_score(images, prompts, model=shipped))
    wrong = clip_score(images, prompts[1:] + prompts[:1])
    assert default.shape == (6,) and (default > wrong).float().mean() >= 5 / 6


def test_rerank_picks_the_highest_score(shipped):
    prompts = ["a red circle", "two small blue squares"]
    candidates = torch.stack([text_to_image_dataset(5, seed=s)[0] for s in (20, 21)])  # (2 5 3 32 32)
    candidates[0, 3] = 0  # a black image
    best, scores = rerank(candidates, prompts, model=shipped)
    assert best.shape == (2, 3, 32, 32) and scores.shape == (2, 5)
    for i, prompt in enumerate(prompts):
        torch.testing.assert_close(scores[i], clip_score(candidates[i], [prompt] * 5, model=shipped))
        torch.testing.assert_close(best[i], candidates[i, scores[i].argmax()])


# ------------------------------------------------------------------------------ zero-shot and retrieval


def test_prompt_ensembling_averages_normalised_embeddings(small):
    classes = [["a red circle", "a small red circle on the left"], ["two blue squares"]]
    got = class_embeddings(small, classes)
    e = small.encode_prompts(["a red circle", "a small red circle on the left", "two blue squares"])
    expect = torch.stack([F.normalize(e[0] + e[1], dim=0), e[2]])
    torch.testing.assert_close(got, expect)
    images = torch.rand(3, 3, 32, 32)
    torch.testing.assert_close(zero_shot_predict(small, images, got), (small.encode_image(images) @ got.T).argmax(1))
    with pytest.raises(ValueError, match="wrap one prompt"):
        class_embeddings(small, ["a red circle"])
    assert len(class_prompts()) == 15 and len(class_prompts()[0]) == 7


def test_recall_at_k_on_a_hand_made_similarity_matrix():
    sim = torch.tensor([[0.9, 0.1, 0.0, 0.0], [0.95, 0.5, 0.2, 0.0], [0.0, 0.1, 0.3, 0.8], [0.97, 0.2, 0.3, 0.4]])
    image_emb, text_emb = torch.eye(4), sim.T  # image i · text j = sim[i, j]
    # each image among the captions: ranks 0, 1, 1, 1
    assert recall_at_k(image_emb, text_emb, (1, 2), "image_to_text") == {"recall@1": 0.25, "recall@2": 1.0}
    # each caption among the images: ranks 2, 0, 0 (a tie at 0.3 counts in its favour), 1
    got = recall_at_k(image_emb, text_emb, (1, 2, 3), "text_to_image")
    assert got == {"recall@1": 0.5, "recall@2": 0.75, "recall@3": 1.0}
    with pytest.raises(ValueError, match="direction"):
        recall_at_k(image_emb, text_emb, direction="both")


def test_duplicate_floor_is_the_loss_of_a_perfect_model_with_repeated_captions():
    assert duplicate_floor(["a red circle", "two blue squares", "a small red circle"]) == 0.0
    # counts 2, 2, 1 ("one" is the same word as "a") → (log 2 + log 2 + 0) / 3
    assert duplicate_floor(["a red circle", "one red circle", "a blue square"]) == pytest.approx(2 * math.log(2) / 3)
    # the floor is reached: identical captions share one embedding, distinct ones are orthogonal,
    # and each image sits on its caption's embedding; a huge scale makes the rest of the softmax vanish
    captions = ["a red circle", "a red circle", "a blue square", "a red circle", "two green triangles"]
    basis = {c: torch.eye(4)[i] for i, c in enumerate(dict.fromkeys(captions))}
    text = torch.stack([basis[c] for c in captions])
    got = float(contrastive_loss(text.clone(), text, 1e4))
    assert got == pytest.approx(duplicate_floor(captions), abs=1e-5) and got == pytest.approx(3 * math.log(3) / 5)
    with pytest.raises(ValueError, match="non-empty"):
        duplicate_floor([])


def test_multi_object_task_draws_several_objects_and_splits_held_out_ones():
    task = multi_object_task(n_per_class=4, seed=2)
    images, labels = task["seen"]
    held_images, held_labels = task["heldout"]
    assert len(labels) + len(held_labels) == 15 * 4 and images.shape[1:] == (3, 32, 32)
    assert set(held_labels.tolist()) <= {CLASSES.index(("purple", "triangle")), CLASSES.index(("yellow", "square"))}
    assert CLASSES.index(("purple", "triangle")) not in labels.tolist()
    for found, label in zip(read_scenes(images), labels.tolist(), strict=True):
        assert len(found) in (2, 3) and all((d.colour, d.shape) == CLASSES[label] for d in found)
    for found in read_scenes(held_images):
        assert any(is_held_out(PromptSpec(d.colour, d.shape, d.size)) for d in found)
    assert len(PLURAL_TEMPLATES) == 6 and class_prompts(PLURAL_TEMPLATES)[0][0] == "two red circles"
    with pytest.raises(ValueError, match="counts"):
        multi_object_task(2, counts=(4,))


def test_caption_fits_and_fitting_at_1():
    images, prompts = text_to_image_dataset(6, seed=4)
    prompts = [*prompts, "three large purple squares"]
    fits = caption_fits(images, prompts)
    assert fits.shape == (7, 6) and fits.dtype == torch.bool
    for i, p in enumerate(prompts):
        assert fits[i].tolist() == prompt_accuracy(images, [p] * 6)
    # a hand-made case: 2 images, 3 captions; caption 0 fits both images, caption 1 fits image 1 only
    fits = torch.tensor([[True, True], [False, True], [False, False]])
    image_emb = torch.eye(3)[:2]  # image j · caption i = text_emb[i, j]
    text_emb = torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.2, 0.0], [0.0, 0.3, 0.0]])
    # captions pick images 1, 0, 1: fits True, False, False
    assert fitting_at_1(image_emb, text_emb, fits, "text_to_image") == pytest.approx(1 / 3)
    # image 0 picks caption 1 (0.8, does not fit), image 1 picks caption 0 (0.9, fits)
    assert fitting_at_1(image_emb, text_emb, fits, "image_to_text") == pytest.approx(1 / 2)
    with pytest.raises(ValueError, match="direction"):
        fitting_at_1(image_emb, text_emb, fits, "both")


def test_zero_shot_task_keeps_held_out_images_out_of_training():
    task = zero_shot_task(n_per_class=6, seed=1)
    assert len(task["classes"]) == 15 and task["seen"][0].shape == (14 * 6, 3, 32, 32)

    def held_out(images):
        return [any(is_held_out(PromptSpec(d.colour, d.shape, d.size)) for d in found) for found in read_scenes(images)]

    for key in ("heldout", "purple_triangle", "small_yellow_square"):
        assert all(held_out(task[key][0])), key
    assert not any(held_out(task["seen"][0]))
    assert set(task["purple_triangle"][1].tolist()) == {CLASSES.index(("purple", "triangle"))}
    images, prompts = text_to_image_dataset(400, seed=10, split="train")  # the start of the recipe's training set
    assert not any(held_out(images)) and not any(is_held_out(p) for p in prompts)


def test_shipped_model_classifies_held_out_combinations_zero_shot(shipped):
    measured = evaluate_clip(shipped, n_per_class=10, n_pairs=100)
    recorded = clip_metrics()
    zero_shot = measured["zero_shot_accuracy"]
    for variant in ("single", "ensemble"):
        assert zero_shot["seen"][variant] >= 0.95
        assert zero_shot["purple_triangle"][variant] >= 0.85  # chance: 1/15; recorded: 1.0
        assert zero_shot["heldout"][variant] >= 0.85
    assert measured["retrieval_recall"]["train"]["image_to_text"]["recall@5"] >= 0.9
    assert recorded["zero_shot_accuracy"]["heldout"]["ensemble"] >= 0.85 and recorded["parameters"] <= 300_000
    assert recorded["train_seconds"] <= 600


# ------------------------------------------------------------------------------ the checkers


def test_contrastive_loss_checker():
    assert check_contrastive_loss(contrastive_loss)

    def one_direction(i, t, s):
        return F.cross_entropy(s * i @ t.T, torch.arange(len(i)))

    assert "symmetric" in check_contrastive_loss(one_direction).message

    def summed(i, t, s):
        logits = s * i @ t.T
        return F.cross_entropy(logits, torch.arange(len(i))) + F.cross_entropy(logits.T, torch.arange(len(i)))

    assert "divide the sum by 2" in check_contrastive_loss(summed).message
    assert "multiplied by logit_scale" in check_contrastive_loss(lambda i, t, s: contrastive_loss(i, t, 1.0)).message
    exp_again = check_contrastive_loss(lambda i, t, s: contrastive_loss(i, t, torch.as_tensor(s).exp()))
    assert "do not exponentiate" in exp_again.message

    def per_pair(i, t, s):
        return F.cross_entropy(s * i @ t.T, torch.arange(len(i)), reduction="none")

    assert "0-d tensor" in check_contrastive_loss(per_pair).message


def candidate_cosines(image_emb, text_emb):
    """(n k e), (n e) → (n k)."""
    return (F.normalize(image_emb, dim=-1) * F.normalize(text_emb, dim=-1)[:, None]).sum(-1)


def test_clip_rerank_checker():
    assert check_clip_rerank(lambda i, t: candidate_cosines(i, t).argmax(1))
    dot = check_clip_rerank(lambda i, t: (i * t[:, None]).sum(-1).argmax(1))
    assert not dot and "normalise" in dot.message
    assert "lowest" in check_clip_rerank(lambda i, t: candidate_cosines(i, t).argmin(1)).message
    wrong_axis = check_clip_rerank(lambda i, t: candidate_cosines(i, t).argmax(0))
    assert "expected shape (5,)" in wrong_axis.message and "dim=1" in wrong_axis.message
    scores = check_clip_rerank(lambda i, t: candidate_cosines(i, t).max(1).values)
    assert "integer indices" in scores.message

    def last_on_tie(image_emb, text_emb):
        cos = candidate_cosines(image_emb, text_emb)
        return cos.shape[1] - 1 - cos.flip(1).argmax(1)

    tie = check_clip_rerank(last_on_tie)
    assert not tie and "tie" in tie.message


def test_best_candidate_takes_the_highest_cosine_whatever_the_length():
    from genai_course.clip.score import best_candidate

    text = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    images = torch.tensor([[[10.0, 10.0], [1.0, 0.1]], [[0.0, 3.0], [0.0, 1.0]]])  # a long vector does not win
    assert best_candidate(images, text).tolist() == [1, 0]  # the tie in row 2 goes to the first
    with pytest.raises(ValueError, match="prompt embeddings"):
        best_candidate(images, text[:1])
