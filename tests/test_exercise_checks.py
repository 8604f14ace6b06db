"""Checkers accept the reference solution and reject wrong ones with a message naming the fault."""

import math

from einops import rearrange

from genai_course.exercises.transformers import check_attention, check_patchify, check_sinusoidal_encoding
from genai_course.nn.attention import scaled_dot_product_attention
from genai_course.nn.positional import sinusoidal_encoding


def test_reference_solutions_pass():
    assert check_attention(scaled_dot_product_attention)
    assert check_sinusoidal_encoding(sinusoidal_encoding)
    assert check_patchify(lambda x, p: rearrange(x, "b c (h p1) (w p2) -> b (h w) (c p1 p2)", p1=p, p2=p))


def test_not_attempted():
    def attention(q, k, v, mask=None):
        raise NotImplementedError()

    fb = check_attention(attention)
    assert not fb and "Not attempted" in fb.message
    assert repr(fb).startswith("❌")


def test_missing_scale_is_reported_as_wrong_values_with_a_hint():
    def attention(q, k, v, mask=None):
        scores = q @ k.transpose(-1, -2)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        return scores.softmax(-1) @ v

    fb = check_attention(attention)
    assert not fb and "wrong values" in fb.message and "√d" in fb.message


def test_softmax_over_wrong_axis_is_rejected():
    def attention(q, k, v, mask=None):
        return (q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])).softmax(-2) @ v

    fb = check_attention(attention)
    assert not fb and "wrong values" in fb.message


def test_ignoring_the_mask_is_caught_by_the_masked_case():
    def attention(q, k, v, mask=None):
        return (q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])).softmax(-1) @ v

    fb = check_attention(attention)
    assert not fb and "causal mask" in fb.message and "-inf" in fb.message


def test_wrong_shape_names_expected_and_got():
    fb = check_attention(lambda q, k, v, mask=None: q.transpose(-1, -2))
    assert (
        not fb
        and "wrong shape" in fb.message
        and "expected (2, 3, 5, 8)" in fb.message
        and "got (2, 3, 8, 5)" in fb.message
    )


def test_exception_in_student_code_shows_its_message_and_line():
    def attention(q, k, v, mask=None):
        return q @ k  # shapes do not line up

    fb = check_attention(attention)
    assert not fb and "Your code raised RuntimeError" in fb.message and "line" in fb.message
    assert "Traceback" not in fb.message


def test_non_tensor_and_non_function_answers():
    assert "expected a torch.Tensor" in check_sinusoidal_encoding(lambda t, d: [[0.0] * d] * t).message
    assert "Expected a function" in check_sinusoidal_encoding(42).message


def test_sin_cos_swapped_is_rejected():
    def encoding(t, d):
        pe = sinusoidal_encoding(t, d)
        return pe[:, [i ^ 1 for i in range(d)]]

    fb = check_sinusoidal_encoding(encoding)
    assert not fb and "wrong values" in fb.message


def test_patchify_in_wrong_order_is_rejected():
    fb = check_patchify(lambda x, p: rearrange(x, "b c (h p1) (w p2) -> b (w h) (c p1 p2)", p1=p, p2=p))
    assert not fb and "wrong values" in fb.message
