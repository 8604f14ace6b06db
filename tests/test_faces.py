"""Procedural faces: deterministic, attributes visibly change the pixels, classifier checkpoint."""
import pytest
import torch

from genai_course.data.faces import make_faces, render_faces, sample_attributes


def test_deterministic_and_in_range():
    a, b = make_faces(16, seed=3), make_faces(16, seed=3)
    assert a.images.shape == (16, 3, 32, 32)
    assert torch.equal(a.images, b.images)
    assert a.images.min() >= -1 and a.images.max() <= 1
    assert not torch.equal(a.images, make_faces(16, seed=4).images)


@pytest.mark.parametrize("name,lo,hi", [("smile", -1.0, 1.0), ("pose", -1.0, 1.0), ("hair_length", 0.0, 1.0), ("skin", 0.0, 1.0)])
def test_each_attribute_changes_the_image(name, lo, hi):
    attrs = sample_attributes(4, torch.Generator().manual_seed(0))
    low, high = dict(attrs), dict(attrs)
    low[name], high[name] = torch.full((4,), lo), torch.full((4,), hi)
    diff = (render_faces(low) - render_faces(high)).abs().mean(dim=(1, 2, 3))
    assert (diff > 0.002).all(), diff


def test_bad_attrs():
    with pytest.raises(ValueError, match="missing"):
        render_faces({"smile": torch.zeros(2)})


def test_shipped_attribute_classifier_matches_recorded_metrics():
    from genai_course.gan.checkpoint import load_model, metrics_of
    from genai_course.gan.pretrain import evaluate_attributes_model

    recorded = metrics_of("face_attributes")
    measured = evaluate_attributes_model(load_model("face_attributes"))
    for k, v in recorded.items():
        assert measured[k] == pytest.approx(v, abs=0.01), k
    assert recorded["hair_color_accuracy"] > 0.95 and recorded["mae_smile"] < 0.15
