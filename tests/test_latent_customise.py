"""Teaching the model a new colour word (genai_course.latent.customise) and the palette it needs (extra_colours)."""

import pytest
import torch

from genai_course.data import shapes
from genai_course.data.scene_prompts import VOCAB, parse_prompt, tokenize
from genai_course.latent import customise as C
from genai_course.latent.model import LatentDiffusionConfig, TextToImageDenoiser


def test_extra_colours_draw_parse_and_judge_then_restore():
    before = dict(shapes.COLOURS)
    with shapes.extra_colours(C.NEW_COLOUR):
        assert parse_prompt("a copper circle").colour == "copper"
        with shapes.extra_colours(C.NEW_COLOUR):  # nested blocks are fine
            pass
        assert "copper" in shapes.COLOURS
    assert shapes.COLOURS == before
    images = C.concept_images(["a copper circle", "two small copper squares"])
    assert C.concept_accuracy(images, ["a copper circle", "two small copper squares"]) == 1.0
    assert C.concept_accuracy(images[[1, 0]], ["a copper circle", "two small copper squares"]) == 0.0
    with pytest.raises(ValueError, match="unknown word 'copper'"):
        parse_prompt("a copper circle")  # outside the block the grammar is the original one


def test_extra_colours_rejects_clashes():
    with pytest.raises(ValueError, match="new one-word name"):
        with shapes.extra_colours({"red": (1.0, 0.0, 0.0)}):
            pass
    with pytest.raises(ValueError, match="from 'red'"):
        with shapes.extra_colours({"crimson": (0.9, 0.1, 0.15)}):
            pass
    with pytest.raises(ValueError, match="RGB triple"):
        with shapes.extra_colours({"ghost": (0.0, 0.0, 0.0)}):
            pass
    assert "crimson" not in shapes.COLOURS


def test_new_word_embedding_leaves_old_words_alone():
    torch.manual_seed(0)
    net = TextToImageDenoiser(LatentDiffusionConfig())
    tokens = tokenize(["a red circle", "two blue squares"])
    before = net.text_encoder(tokens)
    new_id = C.add_word(net, C.initial_vector(net))
    assert new_id == len(VOCAB)
    torch.testing.assert_close(net.text_encoder(tokens), before, rtol=0, atol=0)
    with shapes.extra_colours(C.NEW_COLOUR):
        copper = C.tokenize_with_word(["a copper circle"])
    assert copper[0, 1] == new_id and copper[0, 0] == tokens[0, 0]
    red = tokenize(["a red circle"])
    torch.testing.assert_close(net.text_encoder(copper), net.text_encoder(red))  # starts as "red"
    with pytest.raises(ValueError, match="already has a new word"):
        C.add_word(net, C.initial_vector(net))


def test_textual_inversion_trains_only_the_new_vector():
    from genai_course.latent.pretrained import load_text_to_image

    torch.manual_seed(0)
    net = (
        load_text_to_image()
    )  # trained: a fresh U-Net's zero-initialised cross-attention passes no gradient to the text
    prompts = ["a copper circle", "a copper square"]
    latents = torch.randn(2, 4, 8, 8)
    with shapes.extra_colours(C.NEW_COLOUR):
        tokens = C.tokenize_with_word(prompts)
    frozen = {k: v.clone() for k, v in net.state_dict().items()}
    model, losses = C.textual_inversion(net, latents, tokens, steps=3, lr=0.1)
    assert len(losses) == 3
    trained = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trained == ["text_encoder.tokens.new"]
    assert not torch.equal(model.text_encoder.tokens.new[0], C.initial_vector(net))
    for k, v in net.state_dict().items():
        torch.testing.assert_close(v, frozen[k], rtol=0, atol=0)  # the original model is untouched


def test_concept_prompts_cover_the_grammar():
    prompts = C.concept_prompts()
    assert len(prompts) == 63 and all("copper" in p for p in prompts)
    assert C.concept_prompts(5, seed=0) == C.concept_prompts(5, seed=0)
