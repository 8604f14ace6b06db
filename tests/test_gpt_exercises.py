"""The chapter-2 GPT checkers: the reference passes, the usual mistakes fail with their hint."""

import math

import torch

from genai_course.exercises.gpt import check_kv_attention_step, check_param_count
from genai_course.gpt.anatomy import closed_form_params
from genai_course.gpt.inference import attend_with_cache
from genai_course.gpt.model import GPTConfig


def params(V, T, L, d):
    return closed_form_params(GPTConfig(vocab_size=V, block_size=T, n_layers=L, n_heads=2, d_model=d))


def test_param_count_checker():
    assert check_param_count(params)
    assert check_param_count(lambda V, T, L, d: float(params(V, T, L, d)))  # 8.14e5 as a float is fine
    cases = {
        "tied": lambda V, T, L, d: params(V, T, L, d) + V * d,
        "position embedding": lambda V, T, L, d: params(V, T, L, d) - T * d,
        "bias": lambda V, T, L, d: params(V, T, L, d) - 13 * L * d,
        "final LayerNorm": lambda V, T, L, d: params(V, T, L, d) - 2 * d,
        "12 L d²": lambda V, T, L, d: 12 * L * d * d,  # the leading term alone: the generic hint
    }
    for words, wrong in cases.items():
        fb = check_param_count(wrong)
        assert not fb
        if words != "12 L d²":
            assert words in fb.message, fb.message
        else:
            assert "per block" in fb.message
    assert "Not attempted" in check_param_count(lambda *a: (_ for _ in ()).throw(NotImplementedError())).message


def test_kv_step_checker_accepts_the_reference_and_catches_the_usual_mistakes():
    assert check_kv_attention_step(attend_with_cache)

    def attend(q, keys, values, mask=None):
        s = q @ keys.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if mask is not None:
            s = s.masked_fill(~mask, float("-inf"))
        return s.softmax(-1) @ values

    def wrong_axis(q, k, v, ck, cv):
        keys, values = torch.cat([ck, k], dim=1), torch.cat([cv, v], dim=1)
        return attend(q, keys, values), keys, values

    def masked(q, k, v, ck, cv):
        keys, values = torch.cat([ck, k], dim=2), torch.cat([cv, v], dim=2)
        mask = torch.ones(1, keys.shape[2], dtype=torch.bool).tril()
        return attend(q, keys, values, mask), keys, values

    def before_append(q, k, v, ck, cv):
        out = attend(q, ck, cv)
        return out, torch.cat([ck, k], dim=2), torch.cat([cv, v], dim=2)

    def unscaled(q, k, v, ck, cv):
        keys, values = torch.cat([ck, k], dim=2), torch.cat([cv, v], dim=2)
        return (q @ keys.transpose(-2, -1)).softmax(-1) @ values, keys, values

    for fn, words in ((wrong_axis, "time axis"), (masked, "no mask"), (before_append, "itself"), (unscaled, "√d")):
        fb = check_kv_attention_step(fn)
        assert not fb and words in fb.message, (fn.__name__, fb.message)
