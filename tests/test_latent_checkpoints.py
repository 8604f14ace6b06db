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
