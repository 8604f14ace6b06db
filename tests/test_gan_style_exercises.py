"""Checkers of the style-control and deepfake notebooks: right answers pass, typical faults are named."""

import torch
import torch.nn.functional as F

from genai_course.exercises.gans import check_modulated_weight, check_read_bits


def _modulate(weight, style):
    return weight[None] * style[:, None, :, None, None]


def test_modulated_weight_right_answer_passes():
    def right(weight, style):
        w = _modulate(weight, style)
        return w * torch.rsqrt(w.pow(2).sum(dim=(2, 3, 4), keepdim=True) + 1e-8)

    assert check_modulated_weight(right).passed


def test_modulated_weight_typical_faults():
    no_demod = check_modulated_weight(_modulate)
    assert not no_demod.passed and "did not demodulate" in no_demod.message

    def wrong_axes(weight, style):
        w = _modulate(weight, style)
        return w / w.pow(2).sum(dim=(1, 3, 4), keepdim=True).sqrt()

    fb = check_modulated_weight(wrong_axes)
    assert not fb.passed and "dims (2, 3, 4)" in fb.message

    def no_sqrt(weight, style):
        w = _modulate(weight, style)
        return w / w.pow(2).sum(dim=(2, 3, 4), keepdim=True)

    fb = check_modulated_weight(no_sqrt)
    assert not fb.passed and "square root" in fb.message

    def style_on_outputs(weight, style):
        return weight[None] * style[:, :, None, None, None]

    fb = check_modulated_weight(style_on_outputs)
    assert not fb.passed and "raised" in fb.message


def _residual(x):
    b, c, h, w = x.shape
    patches = F.unfold(F.pad(x.reshape(b * c, 1, h, w), (1, 1, 1, 1), mode="replicate"), 3)
    return x - patches.median(dim=1).values.reshape(b, c, h, w)


def test_read_bits_right_answer_passes():
    fb = check_read_bits(lambda x, p: (torch.einsum("bchw,nchw->bn", _residual(x), p) > 0).long())
    assert fb.passed, fb.message


def test_read_bits_typical_faults():
    raw = check_read_bits(lambda x, p: (torch.einsum("bchw,nchw->bn", x, p) > 0).long())
    assert not raw.passed and "raw image" in raw.message
    flipped = check_read_bits(lambda x, p: (torch.einsum("bchw,nchw->bn", _residual(x), p) < 0).long())
    assert not flipped.passed and "flipped" in flipped.message
    scores = check_read_bits(lambda x, p: torch.einsum("bchw,nchw->bn", _residual(x), p))
    assert not scores.passed and "0 and 1" in scores.message
    per_channel = check_read_bits(lambda x, p: (torch.einsum("bchw,nchw->bnc", _residual(x), p) > 0).long())
    assert not per_channel.passed and "(b n)" in per_channel.message
