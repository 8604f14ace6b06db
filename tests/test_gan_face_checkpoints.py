"""The shipped face checkpoints of the GAN chapter load and still have their recorded metrics."""

import pytest
import torch

from genai_course.gan.checkpoint import checkpoint_path, load_model, metrics_of
from genai_course.gan.pretrain import evaluate_attributes_model, evaluate_face_generator

FACE_CHECKPOINTS = ("face_attributes", "stylegan_faces", "dcgan_faces")


@pytest.mark.parametrize("name", FACE_CHECKPOINTS)
def test_loads_small_and_has_metrics(name):
    model = load_model(name)
    assert not model.training
    assert checkpoint_path(f"gan_{name}.pt").stat().st_size < 5 * 2**20
    assert metrics_of(name)


def test_attribute_classifier_metrics_still_hold():
    recorded = metrics_of("face_attributes")
    got = evaluate_attributes_model(load_model("face_attributes"))
    for key, value in recorded.items():
        assert got[key] == pytest.approx(value, abs=0.01), key
    assert recorded["hair_color_accuracy"] > 0.95 and recorded["mae_smile"] < 0.15


@pytest.mark.parametrize("name", ("stylegan_faces", "dcgan_faces"))  # ~4 s each on 2 cores
def test_face_generator_metrics_still_hold(name):
    torch.set_num_threads(2)
    recorded = metrics_of(name)
    got = evaluate_face_generator(load_model(name))
    assert got["face_fd"] == pytest.approx(recorded["face_fd"], rel=0.02, abs=0.01)
    assert got["face_fd_real_vs_real"] == pytest.approx(recorded["face_fd_real_vs_real"], rel=0.02, abs=0.01)
    if name == "stylegan_faces":  # the smiling faces, the mode the generator once dropped (notebook 4.4)
        assert got["smile_share"] == pytest.approx(recorded["smile_share"], abs=0.01)
        assert got["smile_share_real"] == pytest.approx(recorded["smile_share_real"], abs=0.01)
