"""Patches and the Vision Transformer: patch order, shapes, bad input, and the toy VQA model."""

import pytest
import torch

from genai_course.data.vqa import ANSWERS, MAX_WORDS, PAD_ID, WORDS, encode_question, make_vqa_data
from genai_course.exercises.transformers import check_patchify
from genai_course.nn.vit import PatchEmbedding, ViT, ViTConfig, patchify
from genai_course.nn.vqa import VQAConfig, VQAModel


def test_patchify_matches_unfold_and_checker():
    images = torch.randn(2, 3, 8, 8)
    ours = patchify(images, 4)
    # torch's unfold gives (b c·p·p n) with the same channel-row-column order inside a patch
    ref = torch.nn.functional.unfold(images, kernel_size=4, stride=4).transpose(1, 2)
    assert torch.equal(ours, ref)
    assert ours.shape == (2, 4, 48)
    assert check_patchify(patchify).passed


def test_patchify_first_patch_is_top_left():
    img = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert patchify(img, 2)[0, 0].tolist() == [0.0, 1.0, 4.0, 5.0]
    assert patchify(img, 2)[0, 1].tolist() == [2.0, 3.0, 6.0, 7.0]


def test_vit_shapes_and_patch_count():
    model = ViT(ViTConfig(image_size=8, patch_size=2, channels=1, n_classes=10, d_model=32, n_heads=4))
    x = torch.randn(5, 1, 8, 8)
    assert model(x).shape == (5, 10)
    assert model.features(x).shape == (5, 1 + 16, 32)


def test_vit_is_permutation_sensitive_through_positions():
    torch.manual_seed(0)
    model = ViT(ViTConfig(patch_size=4, d_model=16, n_heads=2)).eval()
    x = torch.randn(1, 1, 8, 8)
    flipped = torch.flip(x, dims=[3])
    with torch.no_grad():
        assert not torch.allclose(model(x), model(flipped))


@pytest.mark.parametrize(
    "bad, match",
    [
        (torch.randn(2, 8, 8), r"images: expected shape \(b c=1 h=8 w=8\), got \(2, 8, 8\): 3 dims, not 4"),
        (torch.zeros(2, 1, 8, 8, dtype=torch.long), "floating point"),
        (torch.randn(2, 3, 8, 8), "c is 3, not 1"),
        (torch.randn(2, 1, 6, 6), "h is 6, not 8"),
        (torch.randn(2, 1, 12, 12), "h is 12, not 8"),
        ("not a tensor", "torch.Tensor"),
    ],
)
def test_vit_bad_input(bad, match):
    model = ViT(ViTConfig(patch_size=4, d_model=16, n_heads=2))
    with pytest.raises(ValueError, match=match):
        model(bad)


def test_patch_embedding_config_error():
    with pytest.raises(ValueError, match="divisible"):
        PatchEmbedding(10, 4, 1, 16)


def test_vqa_data_and_model_shapes():
    images, questions, answers, texts = make_vqa_data(5, seed=0)
    assert images.shape == (10, 3, 24, 24) and questions.shape == (10, 6) and answers.shape == (10,)
    assert texts[0].startswith("what colour is the") and texts[1].startswith("what shape is")
    again = make_vqa_data(5, seed=0)
    assert torch.equal(again[0], images) and again[3] == texts
    model = VQAModel(VQAConfig(d_model=32, n_heads=4, n_layers=1))
    assert model(images, questions).shape == (10, len(ANSWERS))


def test_vqa_config_defaults_fit_the_data():
    # nn/ does not import data/, so the model's default sizes repeat the task's: keep them equal
    c = VQAConfig()
    assert (c.vocab_size, c.n_answers, c.max_words, c.pad_id) == (len(WORDS), len(ANSWERS), MAX_WORDS, PAD_ID)


def test_vqa_padding_words_do_not_matter():
    torch.manual_seed(0)
    model = VQAModel(VQAConfig(d_model=32, n_heads=4, n_layers=1)).eval()
    images, questions, _, _ = make_vqa_data(2, seed=1)
    q = questions[1:2].clone()  # "what shape is red ?" has one padding slot
    assert (q == 0).any()
    with torch.no_grad():
        a = model(images[1:2], q)
        q2 = q.clone()
        q2[q2 == 0] = 0
        assert torch.equal(a, model(images[1:2], q2))


def test_vqa_bad_input():
    model = VQAModel(VQAConfig(d_model=32, n_heads=4, n_layers=1))
    with pytest.raises(ValueError, match="word ids"):
        model(torch.randn(2, 3, 24, 24), torch.zeros(2, 6))
    with pytest.raises(ValueError, match=r"questions: expected shape \(b=2 w\), got \(3, 6\): b is 3, not 2"):
        model(torch.randn(2, 3, 24, 24), torch.zeros(3, 6, dtype=torch.long))
    with pytest.raises(ValueError, match="more than max_words=6"):
        model(torch.randn(2, 3, 24, 24), torch.zeros(2, 7, dtype=torch.long))
    with pytest.raises(ValueError, match="c is 1, not 3"):
        model(torch.randn(2, 1, 24, 24), torch.zeros(2, 6, dtype=torch.long))
    with pytest.raises(ValueError, match="at most 6 words"):
        encode_question("what is the meaning of life ?")
