"""The shipped digit diffusion checkpoint loads, fails clearly when damaged, and still has its recorded quality."""

import pytest
import torch

from genai_course.checkpoint_io import checkpoint_path, load_metrics, load_state
from genai_course.diffusion.train_checkpoints import (
    CHECKPOINT,
    FORMAT,
    guided_samples,
    load_digit_diffusion,
    unconditional_draw,
)


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
    """The recorded numbers, re-measured on a part of their samples (a quarter of the cost of `evaluate`).

    Draw 0 of the FID is the same computation as when it was recorded, so it must match closely; the
    confident fraction and the guided accuracy are re-measured on subsets, with a sampling margin.
    """
    from genai_course.metrics.digit_classifier import class_accuracy, confident_fraction, load_digit_classifier
    from genai_course.metrics.fid import FIDProtocol

    recorded = load_metrics(checkpoint_path(CHECKPOINT))
    protocol, net, clf = FIDProtocol(**recorded["fid_protocol"]), load_digit_diffusion(), load_digit_classifier()
    draw0 = unconditional_draw(net, 0, protocol.n, seed=recorded["seed"])
    assert protocol.score(draw0, draw=0, model=clf) == pytest.approx(
        recorded["course_fid_ddim50_uncond_draws"][0], rel=0.05
    )
    # 256 samples: a binomial standard deviation of about 0.02 around the recorded fraction of 1,024
    assert confident_fraction(draw0, model=clf) >= recorded["confident_fraction_uncond"] - 0.06
    y = torch.arange(100) % 10
    guided = guided_samples(net, y, seed=recorded["seed"] + protocol.draws)
    assert class_accuracy(guided, y, model=clf) >= recorded["class_accuracy_guided_scale3"] - 0.03
