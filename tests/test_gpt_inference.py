import json

import pytest
import torch

from genai_course.gpt.inference import distill, distillation_loss, quantize_int8, serialized_bytes
from genai_course.gpt.model import GPT, GPTConfig
from genai_course.gpt.train import TrainConfig


def tiny(d_model=32, n_layers=2):
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=20, block_size=16, n_layers=n_layers, n_heads=2, d_model=d_model)).eval()


def test_quantized_model_is_smaller_and_close():
    m = tiny(64)
    q = quantize_int8(m)
    assert serialized_bytes(q) < 0.6 * serialized_bytes(m)
    x = torch.randint(0, 20, (2, 16))
    with torch.no_grad():
        assert (m(x)[0] - q(x)[0]).abs().max() < 0.1
    assert isinstance(m.blocks[0].attn.q_proj, torch.nn.Linear)  # the original is untouched


def test_distillation_loss_definition():
    s, t = torch.randn(2, 3, 5), torch.randn(2, 3, 5)
    y = torch.randint(0, 5, (2, 3))
    ce = torch.nn.functional.cross_entropy(s.reshape(-1, 5), y.reshape(-1))
    assert torch.allclose(distillation_loss(s, t, y, alpha=0.0), ce)
    soft = -(t.softmax(-1) * s.log_softmax(-1)).sum(-1).mean()
    assert torch.allclose(distillation_loss(s, t, y, alpha=1.0), soft)
    assert distillation_loss(t, t, y, alpha=1.0) <= distillation_loss(s, t, y, alpha=1.0)  # CE ≥ entropy


def test_distill_moves_student_towards_teacher():
    teacher, student = tiny(32), tiny(16, 1)
    ids = torch.randint(0, 20, (400,))
    x = ids[:16][None]
    with torch.no_grad():

        def gap() -> float:
            return torch.nn.functional.kl_div(
                student(x)[0].log_softmax(-1), teacher(x)[0].log_softmax(-1), log_target=True, reduction="batchmean"
            ).item()

        before = gap()
    distill(
        student,
        teacher,
        ids,
        TrainConfig(batch_size=8, max_iters=40, lr=3e-3, warmup_iters=2),
        alpha=1.0,
        show_progress=False,
    )
    with torch.no_grad():
        assert gap() < before
    with pytest.raises(ValueError, match="block_size"):
        distill(
            GPT(GPTConfig(vocab_size=20, block_size=32, n_layers=1, n_heads=1, d_model=8)),
            teacher,
            ids,
            TrainConfig(max_iters=1),
        )


def test_shipped_checkpoint_matches_its_recorded_loss():
    """The checkpoint made by `python -m genai_course.gpt.pretrained` still scores what it recorded."""
    from genai_course.data.corpus import load_course_text
    from genai_course.gpt.pretrained import CHECKPOINT, load_pretrained
    from genai_course.gpt.train import evaluate, prepare_data

    model, tok, metrics = load_pretrained()
    record = json.loads(CHECKPOINT.with_suffix(".json").read_text())
    assert record["val_loss_nats_per_char"] == pytest.approx(metrics["val_loss_nats_per_char"])
    _, val_ids, cpt = prepare_data(load_course_text(), tok)
    assert evaluate(model, val_ids) / cpt[1] == pytest.approx(metrics["val_loss_nats_per_char"], abs=2e-3)
    assert metrics["val_loss_nats_per_char"] < 1.6
    assert CHECKPOINT.stat().st_size < 5_000_000


def test_int8_linear_matches_its_dequantized_weight_and_rounds_within_half_a_step():
    from genai_course.gpt.inference import Int8Linear

    torch.manual_seed(0)
    lin = torch.nn.Linear(24, 10)
    q = Int8Linear.from_linear(lin)
    assert q.weight_q.dtype == torch.int8 and q.scale.shape == (10,)
    assert q.weight_q.abs().amax(1).eq(127).all()  # absmax of each row maps to ±127
    # rounding error of each weight at most half a step of its own row's scale
    assert ((q.dequantized_weight() - lin.weight).abs() <= q.scale[:, None] / 2 + 1e-7).all()
    x = torch.randn(3, 5, 24)
    expected = torch.nn.functional.linear(x, q.dequantized_weight(), lin.bias)  # independent route
    assert torch.allclose(q(x), expected, atol=1e-5)
    with pytest.raises(ValueError, match="int8"):
        Int8Linear(lin.weight.detach(), q.scale, None)


def test_quantize_int8_replaces_every_linear_and_uses_no_deprecated_api():
    import warnings

    from genai_course.gpt.inference import Int8Linear

    m = tiny(64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecation warning from torch.ao
        q = quantize_int8(m)
    assert not any(isinstance(mod, torch.nn.Linear) for mod in q.modules())
    assert sum(isinstance(mod, Int8Linear) for mod in q.modules()) == 2 * 6 + 1  # 4 attn + 2 mlp per block, head
