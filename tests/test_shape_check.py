"""expect_shape: binding named sizes, and messages that name the tensor and the axis at fault."""

import pytest
import torch

from genai_course.errors import ShapeError
from genai_course.shape_check import expect_shape


def test_right_shape_returns_the_bound_sizes():
    x = torch.zeros(8, 3, 16, 12)
    assert expect_shape(x, "b c h w", c=3, name="x") == {"b": 8, "c": 3, "h": 16, "w": 12}
    assert expect_shape(torch.zeros(5, 2), "b 2") == {"b": 5}  # integers fix a size and bind no name
    assert expect_shape(torch.zeros(4, 6, 6), "b t t") == {"b": 4, "t": 6}
    assert expect_shape(x, "b c h w", c=None, h=16) == {"b": 8, "c": 3, "h": 16, "w": 12}  # None: any size


def test_wrong_number_of_dims():
    with pytest.raises(ShapeError, match=r"^images: expected shape \(b c=3 h w\), got \(8, 16, 16\): 3 dims, not 4$"):
        expect_shape(torch.zeros(8, 16, 16), "b c h w", c=3, name="images")


def test_wrong_fixed_size():
    with pytest.raises(ShapeError, match=r"^x: expected shape \(b c=3 h w\), got \(8, 1, 16, 16\): c is 1, not 3$"):
        expect_shape(torch.zeros(8, 1, 16, 16), "b c h w", c=3)
    with pytest.raises(ShapeError, match=r"got \(5, 3\): axis 1 is 3, not 2$"):
        expect_shape(torch.zeros(5, 3), "b 2")


def test_repeated_names_must_agree():
    with pytest.raises(ShapeError, match=r"^mask: expected shape \(b t t\), got \(2, 3, 4\): t is both 3 and 4$"):
        expect_shape(torch.zeros(2, 3, 4), "b t t", name="mask")
    with pytest.raises(ShapeError, match=r"t is 3, not 4$"):
        expect_shape(torch.zeros(2, 3, 3), "b t t", t=4)


def test_sizes_carry_over_between_tensors():
    dims = expect_shape(torch.zeros(4, 3, 8, 8), "b c h w", name="images")
    with pytest.raises(ShapeError, match=r"^labels: expected shape \(b=4\), got \(5,\): b is 5, not 4$"):
        expect_shape(torch.zeros(5), "b", b=dims["b"], name="labels")


def test_non_tensor_input():
    with pytest.raises(ShapeError, match=r"^z: expected a torch.Tensor of shape \(b z=8\), got list$"):
        expect_shape([[0.0] * 8], "b z", z=8, name="z")


def test_shape_error_is_a_value_error_and_unknown_axes_are_a_bug():
    assert issubclass(ShapeError, ValueError)  # the CLI and notebooks treat it as any bad input
    with pytest.raises(TypeError, match="not axes"):
        expect_shape(torch.zeros(2, 3), "b d", c=3)
