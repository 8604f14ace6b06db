"""The bias audit's measures (genai_course.metrics.bias) and the chapter-8 bias exercise checker."""

import math

import pytest
import torch

from genai_course.exercises.responsible import check_bias_amplification
from genai_course.metrics import bias


def reference(train_labels, sample_labels, group):
    return (sample_labels == group).float().mean().item() - (train_labels == group).float().mean().item()


def test_two_groups_has_the_exact_share_and_separated_clusters():
    points, groups = bias.two_groups(1000, 0.2, seed=3)
    assert points.shape == (1000, 2) and groups.dtype == torch.int64
    assert int(groups.sum()) == 200
    assert torch.equal(bias.group_of(points), groups)  # the clusters never cross the y-axis at this spread


def test_amplification_share_and_interval():
    train = torch.tensor([1] * 20 + [0] * 80)
    assert bias.share(train) == pytest.approx(0.2)
    assert bias.bias_amplification(train, torch.tensor([1, 0, 0, 0]), 1) == pytest.approx(0.05)
    lo, hi = bias.wilson_interval(20, 100)
    assert lo < 0.2 < hi and hi - lo == pytest.approx(0.16, abs=0.01)
    lo, hi = bias.wilson_interval(0, 50)
    assert lo == pytest.approx(0, abs=1e-12) and 0 < hi < 0.1
    with pytest.raises(ValueError, match="0 ≤ k ≤ n"):
        bias.wilson_interval(5, 4)


def test_balancing_weights_give_equal_group_mass():
    groups = torch.tensor([0] * 8 + [1] * 2)
    w = bias.balancing_weights(groups)
    assert w.sum() == pytest.approx(1.0)
    assert w[groups == 1].sum() == pytest.approx(0.5) and w[groups == 0].sum() == pytest.approx(0.5)


def test_bad_labels_raise_clear_errors():
    with pytest.raises(TypeError, match="integer group labels"):
        bias.share(torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="non-empty 1-d"):
        bias.share(torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(n 2\)"):
        bias.group_of(torch.zeros(3, 3))


def test_tiny_generators_train_and_sample():
    points, groups = bias.two_groups(400, 0.2, seed=0)
    G = bias.train_toy_gan(points, bias.balancing_weights(groups), steps=20, seed=0)
    assert bias.gan_samples(G, 7, seed=1).shape == (7, 2)
    model = bias.train_toy_diffusion(points, groups, steps=20, seed=0, T=10)
    asked = torch.tensor([1, 1, 0])
    assert bias.diffusion_samples(model, 3, asked, seed=0).shape == (3, 2)
    assert torch.isfinite(bias.diffusion_samples(model, 5, seed=0)).all()
    with pytest.raises(ValueError, match=r"groups must have shape \(4,\)"):
        bias.diffusion_samples(model, 4, asked)


# --- the exercise checker ---------------------------------------------------------------------------


def not_attempted(*args):
    raise NotImplementedError()


def test_reference_passes():
    assert check_bias_amplification(reference)
    assert check_bias_amplification(bias.bias_amplification)


def test_not_attempted_is_reported():
    feedback = check_bias_amplification(not_attempted)
    assert not feedback and "Not attempted" in feedback.message


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda t, s, g: -reference(t, s, g), "sign is reversed"),
        (lambda t, s, g: (s == g).float().mean().item() / (t == g).float().mean().item(), "ratio"),
        (lambda t, s, g: float((s == g).sum() - (t == g).sum()), "counts"),
        (lambda t, s, g: reference(t, s, 0), "the other group"),
        (lambda t, s, g: s.float().mean().item() - t.float().mean().item(), "do not assume the labels are 0/1"),
        (lambda t, s, g: "small", "expected one number"),
        (lambda t, s, g: math.nan, "got NaN"),
        (lambda t, s, g: reference(t, s, g) + 0.01, "expected -0.10"),
    ],
)
def test_typical_mistakes_get_their_hint(wrong, hint):
    feedback = check_bias_amplification(wrong)
    assert not feedback and hint in feedback.message, feedback.message


def test_tensor_result_is_accepted():
    assert check_bias_amplification(lambda t, s, g: (s == g).float().mean() - (t == g).float().mean())


def test_reweighted_sampler_draws_groups_equally_often():
    groups = torch.tensor([0] * 800 + [1] * 200)
    idx = bias._batches(len(groups), 20000, bias.balancing_weights(groups), torch.Generator("cpu").manual_seed(0))
    assert idx.min() >= 0 and idx.max() < len(groups)
    assert abs(groups[idx].float().mean().item() - 0.5) < 0.02


def test_the_shipped_audit_record_has_every_model_and_seed():
    record = bias.load_bias_audit_seeds()
    assert record["seeds"] == list(bias.RECORD_SEEDS) and record["steps"] == bias.AUDIT["steps"]
    for name in bias.AUDIT_MODELS:
        for seed in record["seeds"]:
            row = record["rows"][name][str(seed)]
            assert row["n"] == bias.AUDIT["n_samples"]
            assert row["share"] == pytest.approx(row["group1"] / row["n"], abs=1e-4)
            assert 0 < row["spread"]


def test_audit_summary_counts_group_one_and_its_spread():
    points, groups = bias.two_groups(200, minority_share=0.25, seed=3)
    row = bias.audit_summary(points, points, groups)  # the training data audited against itself
    assert row == {"n": 200, "group1": 50, "share": 0.25, "spread": pytest.approx(1.0)}


def test_a_missing_or_damaged_audit_record_names_its_recipe(tmp_path, monkeypatch):
    from genai_course.errors import CheckpointError, CheckpointMissing

    monkeypatch.setattr(bias, "checkpoint_path", lambda name: tmp_path / name)
    with pytest.raises(CheckpointMissing, match="genai-course recipe bias_audit_seeds"):
        bias.load_bias_audit_seeds()
    (tmp_path / bias.RECORD_FILE).write_text("[1, 2", encoding="utf-8")
    with pytest.raises(CheckpointError, match="not valid JSON.*genai-course recipe bias_audit_seeds"):
        bias.load_bias_audit_seeds()
    (tmp_path / bias.RECORD_FILE).write_text('{"seeds": [0], "rows": {"GAN": {"0": {}}}}', encoding="utf-8")
    with pytest.raises(CheckpointError, match="every model"):
        bias.load_bias_audit_seeds()
