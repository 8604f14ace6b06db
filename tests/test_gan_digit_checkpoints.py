"""The shipped digit DCGAN and conditional GAN load and still score their recorded metrics."""

import pytest

from genai_course.gan.checkpoint import load_model, metrics_of
from genai_course.gan.pretrain import evaluate_digit_generator


@pytest.mark.parametrize("name", ["dcgan_digits", "cgan_digits"])
def test_recorded_metrics_are_reproduced(name):
    G = load_model(name)
    recorded = metrics_of(name)
    measured = evaluate_digit_generator(G)
    assert set(measured) == set(recorded)
    assert measured["course_fid"] == pytest.approx(recorded["course_fid"], rel=0.02)
    if "class_accuracy" in recorded:
        assert measured["class_accuracy"] >= recorded["class_accuracy"] - 0.01
        assert recorded["class_accuracy"] >= 0.9


def test_conditional_checkpoint_is_conditional():
    assert load_model("cgan_digits").cfg.n_classes == 10
    assert load_model("dcgan_digits").cfg.n_classes == 0
