"""Power-law fits recover known exponents; the sweep runs end to end on a tiny budget."""

import numpy as np
import pytest
import torch

from genai_course.exercises.transformers import check_power_law_fit
from genai_course.scaling import CharData, fit_power_law, sweep


@pytest.mark.parametrize("a, alpha", [(5.0, 0.076), (2.5, 0.34), (10.0, 0.01)])
def test_fit_recovers_exact_power_law(a, alpha):
    n = np.geomspace(1e3, 1e7, 8)
    law = fit_power_law(n, a * n ** (-alpha))
    assert law.alpha == pytest.approx(alpha, rel=1e-9)
    assert law.a == pytest.approx(a, rel=1e-9)
    assert law.r2 == pytest.approx(1.0)
    assert law(1e4) == pytest.approx(a * 1e4 ** (-alpha))


def test_fit_with_noise_is_close_and_r2_drops():
    rng = np.random.RandomState(0)
    n = np.geomspace(1e3, 1e6, 12)
    loss = 4.0 * n ** (-0.1) * np.exp(rng.normal(0, 0.01, size=n.shape))
    law = fit_power_law(n, loss)
    assert abs(law.alpha - 0.1) < 0.01
    assert 0.9 < law.r2 < 1.0


def test_fit_agrees_with_numpy_lstsq():
    rng = np.random.RandomState(1)
    n, loss = np.geomspace(10, 1e5, 6), rng.uniform(1, 3, size=6)
    design = np.stack([np.ones(6), np.log(n)], axis=1)
    (intercept, slope), *_ = np.linalg.lstsq(design, np.log(loss), rcond=None)
    law = fit_power_law(n, loss)
    assert law.alpha == pytest.approx(-slope) and law.a == pytest.approx(np.exp(intercept))


@pytest.mark.parametrize(
    "n, loss, match",
    [
        ([1, 2, 3], [1, 2], "same length"),
        ([1], [1], "at least 2"),
        ([1, -2], [1, 2], "positive"),
        ([1, 2], [0, 2], "positive"),
    ],
)
def test_fit_bad_input(n, loss, match):
    with pytest.raises(ValueError, match=match):
        fit_power_law(n, loss)


def test_tiny_sweep_runs_and_is_deterministic():
    text = "the quick brown fox jumps over the lazy dog. " * 60
    data = CharData(text)
    kwargs = dict(steps=3, n_layers=1, n_heads=2, context=16, batch_size=4)
    rows = sweep([8, 16], data, **kwargs)
    assert [r["d_model"] for r in rows] == [8, 16]
    assert rows[0]["params"] < rows[1]["params"]
    assert all(np.isfinite(r["val_loss"]) for r in rows)
    assert sweep([8, 16], data, **kwargs) == rows


def test_char_data_batches_are_next_character_pairs():
    data = CharData("abcdefghij" * 200)
    x, y = data.batch("train", 3, 5, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (3, 5)
    assert torch.equal(x[:, 1:], y[:, :-1])


def test_bad_sweep_and_data_input():
    with pytest.raises(ValueError, match="at least 1000"):
        CharData("short")
    data = CharData("abc " * 400)
    with pytest.raises(ValueError, match="divisible by n_heads"):
        sweep([8, 10], data, steps=1, n_heads=4)
    with pytest.raises(ValueError, match="at least 2 widths"):
        sweep([8], data, steps=1)


def test_power_law_checker_accepts_reference_and_rejects_sign_error():
    def good(n, loss):
        law = fit_power_law(n, loss)
        return law.a, law.alpha

    def wrong_sign(n, loss):
        a, alpha = good(n, loss)
        return a, -alpha

    assert check_power_law_fit(good).passed
    feedback = check_power_law_fit(wrong_sign)
    assert not feedback.passed and "sign" in feedback.message


def test_sweep_models_are_the_gpt_and_n_excludes_the_embeddings():
    from genai_course.gpt.model import GPT
    from genai_course.scaling import make_model, non_embedding_params

    m = make_model(16, 103, n_layers=2, context=64)
    assert isinstance(m, GPT)
    # Kaplan et al.'s N: everything but the token and position tables (the tied head counted once)
    assert non_embedding_params(m) == sum(p.numel() for p in m.parameters()) - 103 * 16 - 64 * 16 == 6_592


def test_char_data_is_the_gpt_char_split():
    from genai_course.gpt.tokenizers import build_tokenizer
    from genai_course.gpt.train import prepare_data

    text = "the quick brown fox jumps over the lazy dog. " * 60
    data = CharData(text)
    train_ids, val_ids, cpt = prepare_data(text, build_tokenizer("char", text))
    assert torch.equal(data.train, train_ids) and torch.equal(data.val, val_ids) and cpt == (1.0, 1.0)


def test_the_shipped_sweep_record_has_every_width_and_seed():
    from genai_course.scaling import RECORD_SEEDS, SWEEP, load_scaling_sweep

    record = load_scaling_sweep()
    assert record["seeds"] == list(RECORD_SEEDS) and record["steps"] == SWEEP["steps"]
    for seed in RECORD_SEEDS:
        rows = record["runs"][str(seed)]
        assert [r["d_model"] for r in rows] == list(SWEEP["widths"])
        assert all(len(r["train_loss"]) == SWEEP["steps"] and 1.5 < r["val_loss"] < 3.5 for r in rows)
        params = [r["params"] for r in rows]
        assert params == sorted(params)  # non-embedding parameters grow with the width


def test_a_missing_or_damaged_sweep_record_names_its_recipe(tmp_path, monkeypatch):
    from genai_course import scaling
    from genai_course.errors import CheckpointError, CheckpointMissing

    monkeypatch.setattr(scaling, "checkpoint_path", lambda name: tmp_path / name)
    with pytest.raises(CheckpointMissing, match="genai-course recipe scaling_sweep"):
        scaling.load_scaling_sweep()
    (tmp_path / scaling.RECORD_FILE).write_text("{ not json", encoding="utf-8")
    with pytest.raises(CheckpointError, match="not valid JSON.*genai-course recipe scaling_sweep"):
        scaling.load_scaling_sweep()
    (tmp_path / scaling.RECORD_FILE).write_text('{"runs": {"0": [{"d_model": 16}]}}', encoding="utf-8")
    with pytest.raises(CheckpointError, match="one row per width"):
        scaling.load_scaling_sweep()
