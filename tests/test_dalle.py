"""DALL·E 1 (genai_course.dalle): the token stream, the weighted loss by hand, image-only sampling
through the course GPT's logits hook, the Gumbel-max draw, per-picture seeds, and the public API."""

import pytest
import torch
import torch.nn.functional as F

from genai_course.dalle import transformer as dt
from genai_course.data.scene_prompts import tokenize
from genai_course.gpt.model import GPT


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return GPT(dt.dalle_config(16, n_layers=1, d_model=32, n_heads=2)).eval()


def test_stream_layout_words_then_shifted_codes():
    tokens = tokenize(["a red circle", "two blue squares"])
    codes = torch.arange(128).reshape(2, 8, 8) % 16
    seq = dt.to_sequence(tokens, codes)
    assert seq.shape == (2, 71)
    assert torch.equal(seq[:, :7], tokens)
    assert torch.equal(seq[:, 7:], codes.flatten(1) + dt.TEXT_VOCAB)
    with pytest.raises(ValueError, match="codes"):
        dt.to_sequence(tokens, codes[:, :4])


def test_loss_weights_text_one_eighth_and_image_seven_eighths(tiny):
    g = torch.Generator("cpu").manual_seed(0)
    seq = dt.to_sequence(tokenize(["a red circle"] * 3), torch.randint(0, 16, (3, 8, 8), generator=g))
    parts = dt.dalle_loss(tiny, seq)
    logits, _ = tiny(seq[:, :-1])
    text = torch.stack([F.cross_entropy(logits[:, i], seq[:, i + 1]) for i in range(6)]).mean()
    image = torch.stack([F.cross_entropy(logits[:, i], seq[:, i + 1]) for i in range(6, 70)]).mean()
    torch.testing.assert_close(parts["text"], text)
    torch.testing.assert_close(parts["image"], image)
    torch.testing.assert_close(parts["loss"], text / 8 + 7 * image / 8)


def test_sampling_draws_only_image_codes_and_each_picture_has_its_own_seed(tiny):
    tokens = tokenize(["a red circle", "a blue square", "a red circle"])
    codes = dt.sample_codes(tiny, tokens, seeds=[5, 6, 5])
    assert codes.shape == (3, 8, 8) and codes.min() >= 0 and codes.max() < 16
    assert torch.equal(codes[0], codes[2]), "same prompt, same seed: same picture"
    alone = dt.sample_codes(tiny, tokens[1:2], seeds=[6])
    assert torch.equal(alone[0], codes[1]), "a picture does not depend on the rest of its batch"


def test_gumbel_max_samples_the_softmax():
    logits = torch.tensor([0.0, 1.0, 2.0, -1.0])
    noise = dt.gumbel_noise(list(range(4000)), 4, "cpu")[:, 0]  # (4000 4)
    counts = torch.bincount((logits + noise).argmax(1), minlength=4).float() / 4000
    torch.testing.assert_close(counts, logits.softmax(0), atol=0.025, rtol=0)


def test_hook_temperature_and_top_k():
    noise = torch.zeros(1, 64, dt.TEXT_VOCAB + 4)
    hook = dt.image_codes_hook(noise, temperature=0.5, top_k=2)
    logits = torch.arange(dt.TEXT_VOCAB + 4, dtype=torch.float)[None]  # the last codes score highest
    logits[0, :5] = 100.0  # words the model would love to write into the image
    out = hook(logits, torch.zeros(1, 7, dtype=torch.long))
    allowed = torch.isfinite(out[0]).nonzero().flatten().tolist()
    assert allowed == [dt.TEXT_VOCAB + 2, dt.TEXT_VOCAB + 3]  # image codes only, the top 2 of them
    assert out[0, -1].item() == pytest.approx(logits[0, -1].item() / 0.5)
    with pytest.raises(ValueError, match="temperature"):
        dt.sample_codes(
            GPT(dt.dalle_config(4, n_layers=1, d_model=16, n_heads=2)), tokenize(["a red circle"]), [0], temperature=0
        )


def test_image_only_hook_checker():
    from genai_course.exercises.dalle import check_image_only_hook
    from genai_course.gpt.sampling import only_tokens

    assert check_image_only_hook(lambda logits, idx: only_tokens(dt.TEXT_VOCAB, logits.shape[-1])(logits, idx)).passed

    def zeros(logits, idx):
        out = logits.clone()
        out[:, : dt.TEXT_VOCAB] = 0
        return out

    def off_by_one(logits, idx):
        out = logits.clone()
        out[:, : dt.TEXT_VOCAB + 1] = float("-inf")
        return out

    def rescaled(logits, idx):
        out = logits.clone() * 2
        out[:, : dt.TEXT_VOCAB] = float("-inf")
        return out

    for wrong, hint in ((zeros, "-inf"), (off_by_one, "masked too"), (rescaled, "image-code logits")):
        feedback = check_image_only_hook(wrong)
        assert not feedback.passed and hint in feedback.message, (wrong.__name__, feedback.message)


def test_public_text_to_image_shapes_seeds_reranking_and_clear_errors():
    from genai_course.dalle import text_to_image

    prompts = ["a red circle", "two small purple triangles"]
    images = text_to_image(prompts, seed=3)
    assert images.shape == (2, 3, 32, 32) and images.dtype == torch.float32
    assert images.min() >= 0 and images.max() <= 1
    assert torch.equal(text_to_image(prompts, seed=3, rerank=1), images), "best of 1 is plain sampling"
    reranked = text_to_image(prompts, seed=3, rerank=3)
    assert reranked.shape == images.shape
    for bad, match in (("a red circle", "list of strings"), (["a red hexagon"], "hexagon"), ([], "empty")):
        with pytest.raises(ValueError, match=match):
            text_to_image(bad)
    for rerank in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="rerank"):
            text_to_image(prompts, rerank=rerank)
    with pytest.raises(ValueError, match="seed"):
        text_to_image(prompts, seed=-1)
