import pytest
import torch

from genai_course.data.digits import load_digits_tensor, to_unit


def test_shapes_range_and_split():
    xtr, ytr = load_digits_tensor(16, "train")
    xte, yte = load_digits_tensor(16, "test")
    assert xtr.shape[1:] == (1, 16, 16) and xte.shape[1:] == (1, 16, 16)
    assert len(xtr) + len(xte) == 1797 and abs(len(xte) - 360) <= 5
    assert xtr.min() >= -1 and xtr.max() <= 1 and xtr.min() == -1
    assert ytr.dtype == torch.long and set(yte.tolist()) == set(range(10))
    assert to_unit(xtr).min() >= 0


def test_deterministic_and_disjoint():
    a, _ = load_digits_tensor(16, "test", seed=0)
    b, _ = load_digits_tensor(16, "test", seed=0)
    c, _ = load_digits_tensor(16, "test", seed=1)
    assert torch.equal(a, b) and not torch.equal(a, c)
    xall, _ = load_digits_tensor(8, "all")
    assert xall.shape == (1797, 1, 8, 8)


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        load_digits_tensor(16, "valid")
    with pytest.raises(ValueError, match="size"):
        load_digits_tensor(4)
