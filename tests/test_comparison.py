"""The comparison table of chapter 8: every shipped model has a row, every row reads a real record."""

import math
from pathlib import Path

import pytest

from genai_course import comparison
from genai_course.checkpoint_io import checkpoint_path, load_manifest
from genai_course.comparison import MODELS, NOT_A_ROW, _lookup, pareto_front, training_seconds
from genai_course.exercises.comparison import check_pareto_front


def test_every_shipped_model_has_a_row_or_a_reason():
    weights = {Path(name).stem for name in load_manifest() if name.endswith(".pt")}
    in_rows = {stem for m in MODELS for stem in m.files}
    assert weights - in_rows == set(NOT_A_ROW), "a new checkpoint needs a row in comparison.MODELS (or NOT_A_ROW)"
    assert in_rows <= weights, in_rows - weights


@pytest.mark.parametrize("model", MODELS, ids=lambda m: f"{m.chapter}-{m.name}")
def test_every_row_reads_a_finite_quality(model):
    value = comparison.quality(model)
    assert math.isfinite(value)
    if "accuracy" in model.quality_label or "score" in model.quality_label or "agreement" in model.quality_label:
        assert 0.0 <= value <= 1.0


def test_lookup_follows_keys_that_hold_dots():
    rec = {"a": {"4.0": {"heldout": 0.7}}, "prior | 4.0": {"x": 1}, "b": 2}
    assert _lookup(rec, "a.4.0.heldout") == 0.7
    assert _lookup(rec, "prior | 4.0.x") == 1
    assert _lookup(rec, "b") == 2
    with pytest.raises(KeyError, match="no 'a.5.0'"):
        _lookup(rec, "a.5.0")


def test_training_time_comes_from_the_record_else_the_recipe_estimate():
    seconds, source = training_seconds("gpt_char_small")
    assert seconds > 0 and source.startswith("recorded")
    assert training_seconds("gan_dcgan_digits", {"gan_dcgan_digits": "5"}) == (300.0, "recipe estimate")
    assert training_seconds("gan_dcgan_digits") == (None, "unknown")


def test_disk_bytes_are_the_files_sizes():
    m = next(m for m in MODELS if m.name == "DALL·E 1, T = 0.7")
    assert comparison.disk_bytes(m) == sum(checkpoint_path(f"{s}.pt").stat().st_size for s in m.files)


def test_measure_counts_parameters_and_times_a_cheap_model():
    m = next(m for m in MODELS if m.files == ("gan_dcgan_digits",))
    row = comparison.measure(m, "cpu", repeats=1)
    assert row["parameters"] > 100_000 and row["unit"] == "image" and 0 < row["ms_per_unit"] < 1e3
    assert row["weights_mb"] == pytest.approx(4 * row["parameters"] / 1e6)


def test_pareto_front_matches_brute_force():
    import itertools
    import random

    rng = random.Random(0)
    for _ in range(200):
        n = rng.randint(1, 7)
        q = [rng.choice([0.1, 0.5, 0.9]) for _ in range(n)]
        c = [rng.choice([1.0, 2.0, 3.0]) for _ in range(n)]
        dominated = {
            i
            for i, j in itertools.permutations(range(n), 2)
            if q[j] >= q[i] and c[j] <= c[i] and (q[j], c[j]) != (q[i], c[i])
        }
        assert pareto_front(q, c) == sorted(set(range(n)) - dominated)
    with pytest.raises(ValueError, match="one value per row"):
        pareto_front([1.0], [1.0, 2.0])


def test_pareto_checker_accepts_the_reference_and_explains_mistakes():
    assert check_pareto_front(pareto_front)
    wrong_direction = check_pareto_front(lambda q, c: pareto_front(q, [-x for x in c]))
    assert not wrong_direction and "LOWER cost" in wrong_direction.message
    strict_only = check_pareto_front(
        lambda q, c: [i for i in range(len(q)) if not any(q[j] > q[i] and c[j] < c[i] for j in range(len(q)))]
    )
    assert not strict_only and "strictly better in one" in strict_only.message

    def not_attempted(q, c):
        raise NotImplementedError

    assert "not attempted" in check_pareto_front(not_attempted).message.lower()
