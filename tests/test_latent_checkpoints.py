"""The shipped chapter 6 models: they load, and they still do what their recorded metrics say."""

import pytest
import torch

from genai_course.data.scene_prompts import all_prompts, is_held_out
from genai_course.data.shapes import prompt_accuracy
from genai_course.latent import text_to_image
from genai_course.latent.pretrained import (
    autoencoder_metrics,
    evaluate_autoencoder,
    load_autoencoder,
    text_to_image_metrics,
)


def test_autoencoder_reconstructs_seen_and_held_out_scenes():
    recorded = autoencoder_metrics()
    measured = evaluate_autoencoder(load_autoencoder(), n=100)
    for split in ("train", "heldout"):
        assert measured[split]["psnr_db"] > 35 and measured[split]["ssim"] > 0.95
        assert measured[split]["prompt_accuracy"] >= 0.95
        assert measured[split]["psnr_db"] == pytest.approx(recorded[split]["psnr_db"], abs=2.0)


def test_text_to_image_composes_held_out_combinations():
    held_out = [p for p in all_prompts() if is_held_out(p)]  # 28 prompts never paired with a picture in training
    guided = prompt_accuracy(text_to_image(held_out, seed=0, guidance=4.0), held_out)
    unguided = prompt_accuracy(text_to_image(held_out, seed=0, guidance=0.0), held_out)
    assert sum(guided) / len(guided) > 0.4 and sum(unguided) / len(unguided) < 0.15
    record = text_to_image_metrics()["prompt_accuracy_by_guidance"]
    assert record["4.0"]["heldout"] > record["0.0"]["heldout"] + 0.3


def test_public_api_contract():
    images = text_to_image(["a red circle", "two small purple triangles"], seed=1)
    assert images.shape == (2, 3, 32, 32) and images.dtype == torch.float32
    assert 0 <= images.min() and images.max() <= 1
    alone = text_to_image(["a red circle"], seed=1)
    torch.testing.assert_close(alone[0], images[0], atol=1e-4, rtol=0)  # batch-mates do not change an image
    assert not torch.equal(text_to_image(["a red circle"], seed=2), alone)
    with pytest.raises(ValueError, match="unknown word 'octagon'"):
        text_to_image(["a red octagon"])
    with pytest.raises(ValueError, match="list of strings"):
        text_to_image("a red circle")
    for seed in (-1, 1.5, True):
        with pytest.raises(ValueError, match="seed must be a non-negative int"):
            text_to_image(["a red circle"], seed=seed)


def test_pixel_baseline_trained_for_the_latent_models_time_and_trails_it():
    from genai_course.latent.pipeline import generate
    from genai_course.latent.pixel_baseline import load_pixel_text_to_image, pixel_metrics

    record, latent = pixel_metrics(), text_to_image_metrics()
    assert record["training"]["budget_seconds"] == latent["train_seconds"]
    steps, per_step = record["training"]["steps"], record["seconds_per_step"]
    assert abs(steps * per_step - latent["train_seconds"]) <= per_step + 1  # as many steps as the time allows
    assert record["training"]["steps"] < latent["training"]["steps"] / 3  # each pixel step costs several latent ones
    for split in ("seen", "heldout"):
        assert record["prompt_accuracy"][split] < latent["prompt_accuracy_by_guidance"]["4.0"][split]
    model = load_pixel_text_to_image()
    images = generate(model, None, ["a red circle", "two blue squares"], steps=3)
    assert images.shape == (2, 3, 32, 32) and model.cfg.unet.in_channels == 3


def test_customisations_learned_copper_and_kept_old_colours():
    from genai_course.latent.attention_maps import cross_attention_modules
    from genai_course.latent.customise import LORA_KINDS, customise_metrics, load_customised
    from genai_course.latent.lora import lora_layers

    record = customise_metrics()
    base = record["base"]
    ti = record["textual_inversion"]
    assert ti["new_concept"] > base["word_as_red"]["new_concept"] + 0.3
    assert ti["old_concepts"] == base["word_as_red"]["old_concepts"]  # a new vector cannot change old words
    for kind in LORA_KINDS:
        row, rank = record[kind], int(kind[4])
        assert row["new_concept"] > base["random_word"]["new_concept"] + 0.15
        if kind != "lora4_no_prior":
            assert row["old_concepts"] > base["random_word"]["old_concepts"] - 0.1
        model = load_customised(kind)
        layers = lora_layers(model)
        assert len(layers) == 4 * len(cross_attention_modules(model))  # q, k, v and out of every cross-attention
        assert row["parameters"] == sum(rank * (m.base.in_features + m.base.out_features) for m in layers.values())
    with pytest.raises(ValueError, match="kind must be one of"):
        load_customised("lora3")
