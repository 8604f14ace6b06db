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


@pytest.mark.parametrize(
    "name,lo,hi", [("smile", -1.0, 1.0), ("pose", -1.0, 1.0), ("hair_length", 0.0, 1.0), ("skin", 0.0, 1.0)]
)
def test_each_attribute_changes_the_image(name, lo, hi):
    attrs = sample_attributes(4, torch.Generator().manual_seed(0))
    low, high = dict(attrs), dict(attrs)
    low[name], high[name] = torch.full((4,), lo), torch.full((4,), hi)
    diff = (render_faces(low) - render_faces(high)).abs().mean(dim=(1, 2, 3))
    assert (diff > 0.002).all(), diff


def test_bad_attrs():
    with pytest.raises(ValueError, match="missing"):
        render_faces({"smile": torch.zeros(2)})


def test_attribute_classifier_shapes_and_short_training():
    from genai_course.gan.attributes import AttributeClassifier, attribute_loss, predict_attributes

    torch.manual_seed(0)
    faces = make_faces(64, seed=0)
    model = AttributeClassifier()
    out = model(faces.images[:4])
    assert out["smile"].shape == (4,) and out["hair_color"].shape == (4, 4)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    first = attribute_loss(model(faces.images), faces.attrs).item()
    for _ in range(15):
        loss = attribute_loss(model(faces.images), faces.attrs)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first
    pred = predict_attributes(model, faces.images)
    assert pred["hair_color"].shape == (64,) and pred["hair_color_probs"].shape == (64, 4)
    with pytest.raises(ValueError, match="32 32"):
        model(torch.zeros(2, 3, 16, 16))
