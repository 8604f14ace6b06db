"""Training curves and isoFLOP profiles read off a sweep (genai_course.scaling)."""

import numpy as np
import pytest

from genai_course.scaling import CharData, flops_per_token, isoflop_profiles, smooth_curve, sweep


def test_smooth_curve_is_the_window_mean_at_the_window_middle():
    loss = np.arange(25, dtype=float)  # 25 steps, windows of 10: the last 5 are dropped
    tokens, means = smooth_curve(loss, tokens_per_step=100, window=10)
    np.testing.assert_allclose(means, [4.5, 14.5])
    np.testing.assert_allclose(tokens, [500.0, 1500.0])


def test_smooth_curve_bad_input():
    with pytest.raises(ValueError, match="at least window"):
        smooth_curve([1.0, 2.0], 10, window=5)


def test_flops_per_token_is_6n_plus_attention():
    assert flops_per_token(1000, d_model=16, n_layers=2, context=64) == 6000 + 12 * 2 * 16 * 64


def _row(d, params, fpt, losses, tps=10):
    return {"d_model": d, "params": params, "flops_per_token": fpt, "train_loss": losses, "tokens_per_step": tps}


def test_isoflop_profiles_read_each_curve_at_budget_over_flops_per_token():
    # curve: loss = 1 / tokens exactly at the window middles, so log-linear interpolation is checkable
    steps = 40
    small = _row(8, 100, 1000.0, [3.0] * 10 + [2.0] * 10 + [1.5] * 10 + [1.0] * 10)
    big = _row(16, 400, 4000.0, [2.5] * 10 + [1.5] * 10 + [1.0] * 10 + [0.5] * 10)
    tokens, _ = smooth_curve(small["train_loss"], 10)
    assert len(tokens) == steps // 10
    budget = 1000.0 * tokens[1]  # the small model exactly at its second window, the big one before its first
    prof = isoflop_profiles([small, big], [budget])[budget]
    assert [p["d_model"] for p in prof] == [8]
    assert prof[0]["loss"] == pytest.approx(2.0)
    budget = 4000.0 * tokens[2]  # big at its third window; small needs 4× the tokens: beyond its curve
    prof = isoflop_profiles([small, big], [budget])[budget]
    assert [(p["d_model"], p["loss"]) for p in prof] == [(16, pytest.approx(1.0))]
    # between two windows: linear in log tokens
    mid = float(np.sqrt(tokens[0] * tokens[1]))
    prof = isoflop_profiles([small], [1000.0 * mid])[1000.0 * mid]
    assert prof[0]["loss"] == pytest.approx(2.5)
    with pytest.raises(ValueError, match="positive"):
        isoflop_profiles([small], [0.0])


def test_sweep_rows_carry_the_training_curve():
    data = CharData("the quick brown fox jumps over the lazy dog. " * 60)
    rows = sweep([8, 16], data, steps=4, n_layers=1, n_heads=2, context=16, batch_size=4)
    for r in rows:
        assert len(r["train_loss"]) == 4 and np.isfinite(r["train_loss"]).all()
        assert r["tokens_per_step"] == 4 * 16
        assert r["flops_per_token"] == flops_per_token(r["params"], r["d_model"], 1, 16)


def test_readable_log_axis_labels_are_plain_numbers():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from genai_course.viz.log_axes import plain_number, readable_log_axis

    assert [plain_number(v) for v in (2.5, 20, 25_000, 3e6)] == ["2.5", "20", "25k", "3M"]
    fig, ax = plt.subplots()
    ax.loglog([1e4, 3e5], [2.6, 1.9])
    readable_log_axis(ax, "x")
    readable_log_axis(ax, "y", ticks=[2.0, 2.2, 2.4])
    fig.canvas.draw()
    ylabels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert ylabels == ["2", "2.2", "2.4"]
    xlabels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert "10k" in xlabels and "100k" in xlabels and not any("10^" in s or "$" in s for s in xlabels)
    with pytest.raises(ValueError, match="which"):
        readable_log_axis(ax, "z")
    plt.close(fig)
