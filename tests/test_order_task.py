"""Notebook 1.2's order task: labels, the classifier's blindness to order without positions, the shipped record."""

import pytest
import torch

from genai_course import order_task
from genai_course.errors import CheckpointError, CheckpointMissing
from genai_course.order_task import (
    POSITIONS,
    RECORD,
    TRAIN,
    OrderClassifier,
    load_positions_seeds,
    repeat_task,
    train_order_classifier,
)


def test_repeat_task_labels_every_adjacent_repeat_and_only_those():
    x, y = repeat_task(500, t=6, vocab=4, seed=3)
    expected = [int(any(row[i] == row[i + 1] for i in range(5))) for row in x.tolist()]
    assert y.tolist() == expected
    _, y_many = repeat_task(20_000, seed=0)
    assert y_many.float().mean().item() == pytest.approx(1 - 0.9**7, abs=0.01)  # 0.522 for 8 digits


def test_without_positions_the_classifier_cannot_see_order():
    """Attention is permutation-equivariant and the head mean-pools: shuffled digits, same logits."""
    tokens = torch.randint(0, 10, (16, 8))
    shuffled = tokens[:, torch.randperm(8)]
    for positions in POSITIONS:
        torch.manual_seed(0)
        model = OrderClassifier(positions).eval()
        with torch.no_grad():
            gap = (model(tokens) - model(shuffled)).abs().max().item()
        if positions == "none":
            assert gap < 1e-5
        else:
            assert gap > 1e-4, f"{positions}: order must change the logits"


def test_the_classifier_rejects_an_unknown_encoding():
    with pytest.raises(ValueError, match="positions must be one of"):
        OrderClassifier("alibi")


def test_a_short_run_returns_one_accuracy_per_evaluation():
    x, y = repeat_task(256, seed=1)
    data = {"x_train": x, "y_train": y, "x_test": x[:64], "y_test": y[:64]}
    curve = train_order_classifier("rope", steps=20, data=data, batch=16, every=10)
    assert len(curve) == 2 and all(0 <= a <= 1 for a in curve)


def test_the_shipped_record_has_every_encoding_and_seed():
    record = load_positions_seeds()
    assert record["steps"] == RECORD["steps"] and record["every"] == TRAIN["every"]
    for positions in POSITIONS:
        assert sorted(record["curves"][positions]) == [str(s) for s in RECORD["seeds"]]
        for curve in record["curves"][positions].values():
            assert len(curve) == RECORD["steps"] // TRAIN["every"] and all(0 <= a <= 1 for a in curve)


def test_a_missing_record_names_its_recipe(tmp_path, monkeypatch):
    monkeypatch.setattr(order_task, "checkpoint_path", lambda name: tmp_path / name)
    with pytest.raises(CheckpointMissing, match="genai-course recipe positions_seeds"):
        load_positions_seeds()


def test_a_damaged_record_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(order_task, "checkpoint_path", lambda name: tmp_path / name)
    (tmp_path / order_task.RECORD_FILE).write_text('{"curves": {', encoding="utf-8")
    with pytest.raises(CheckpointError, match="not valid JSON.*remake it with `genai-course recipe positions_seeds`"):
        load_positions_seeds()
