"""The shipped digit diffusion checkpoint loads, fails clearly when damaged, and still has its recorded quality."""

import pytest
import torch

from genai_course.checkpoint_io import checkpoint_path, load_metrics, load_state
from genai_course.diffusion.train_checkpoints import CHECKPOINT, FORMAT, evaluate, load_digit_diffusion


def test_loads_and_predicts():
    net = load_digit_diffusion()
    out = net(torch.randn(2, 1, 16, 16), torch.tensor([0, 199]), y=torch.tensor([3, 10]))
    assert out.shape == (2, 1, 16, 16) and torch.isfinite(out).all()
    assert checkpoint_path(CHECKPOINT).stat().st_size < 5 * 2**20


def test_corrupt_checkpoint_fails_clearly(tmp_path):
    bad = tmp_path / "diffusion_digits.pt"
    bad.write_bytes(checkpoint_path(CHECKPOINT).read_bytes()[:1000])  # truncated
    with pytest.raises(ValueError, match="corrupt"):
        load_state(bad, FORMAT)
    with pytest.raises(ValueError, match="format"):
        load_state(checkpoint_path("digit_classifier.pt"), FORMAT)


@pytest.mark.slow
def test_recorded_metrics_still_hold():
    recorded = load_metrics(checkpoint_path(CHECKPOINT))
    torch.set_num_threads(2)
    got = evaluate(load_digit_diffusion(), n=recorded["n_samples"], seed=recorded["seed"])
    assert got["course_fid_ddim50_uncond"] == pytest.approx(recorded["course_fid_ddim50_uncond"], rel=0.05)
    assert got["confident_fraction_uncond"] >= recorded["confident_fraction_uncond"] - 0.03
    assert got["class_accuracy_guided_scale3"] >= recorded["class_accuracy_guided_scale3"] - 0.03
