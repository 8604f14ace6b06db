import math

import pytest
import torch

from genai_course.gpt.model import GPT, GPTConfig
from genai_course.gpt.tokenizers import CharTokenizer
from genai_course.gpt.train import (
    TrainConfig,
    configure_optimizer,
    evaluate,
    get_batch,
    load_checkpoint,
    lr_at,
    prepare_data,
    save_checkpoint,
    train,
)

TEXT = "the cat sat on the mat. " * 200


def small_model(vocab):
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=vocab, block_size=16, n_layers=1, n_heads=2, d_model=32))


def test_get_batch_targets_are_inputs_shifted():
    ids = torch.arange(100)
    x, y = get_batch(ids, 4, 8, torch.Generator().manual_seed(0))
    assert (
        x.shape == y.shape == (4, 8)
        and torch.equal(x[:, 1:], y[:, :-1])
        and torch.equal(y - x, torch.ones(4, 8, dtype=torch.long))
    )


def test_schedule_warms_up_then_decays_to_min():
    cfg = TrainConfig(lr=1.0, min_lr=0.1)
    assert lr_at(0.005, cfg, 0.01) == pytest.approx(0.5, rel=1e-6)
    assert lr_at(0.01, cfg, 0.01) == pytest.approx(1.0)
    assert lr_at(1.0, cfg, 0.01) == pytest.approx(0.1)
    values = [lr_at(f / 100, cfg, 0.01) for f in range(1, 101)]
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))


def test_weight_decay_only_on_matrices():
    m = small_model(10)
    opt = configure_optimizer(m, TrainConfig(weight_decay=0.1))
    decay, no_decay = opt.param_groups
    assert all(p.dim() == 2 for p in decay["params"]) and all(p.dim() == 1 for p in no_decay["params"])
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert sum(p.numel() for g in opt.param_groups for p in g["params"]) == sum(p.numel() for p in m.parameters())


def test_training_learns_and_checkpoint_loads_back_exactly(tmp_path):
    tok = CharTokenizer.train(TEXT)
    train_ids, val_ids, cpt = prepare_data(TEXT, tok)
    m = small_model(tok.vocab_size)
    before = evaluate(m, val_ids)
    hist = train(
        m,
        train_ids,
        val_ids,
        TrainConfig(batch_size=8, max_iters=60, lr=3e-3, eval_interval=30, eval_iters=2),
        cpt,
        show_progress=False,
    )
    after = evaluate(m, val_ids)
    assert after < 0.5 * before and len(hist["val_loss"]) == 1 and hist["tokens_per_second"] > 0
    path = save_checkpoint(tmp_path / "ckpt.pt", m, tok, {"val": after})
    m2, tok2, blob = load_checkpoint(tmp_path)
    assert tok2.to_dict() == tok.to_dict() and blob["metrics"]["val"] == after
    for (k, a), (_, b) in zip(m.state_dict().items(), m2.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    assert m2.lm_head.weight is m2.wte.weight
    assert evaluate(m2, val_ids) == after

    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_checkpoint(path)
    path.write_bytes(b"garbage" * 100)
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_checkpoint(path)
    with pytest.raises(ValueError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")


def test_evaluate_covers_whole_split():
    m = small_model(5)
    ids = torch.randint(0, 5, (16 * 7 + 1,))
    loss = evaluate(m, ids, batch_size=3)
    with torch.no_grad():
        _, ref = m(ids[:-1].view(7, 16), ids[1:].view(7, 16))
    assert loss == pytest.approx(ref.item(), rel=1e-5)
    assert math.isfinite(loss)


def test_nan_loss_raises_at_once_and_nothing_nan_is_saved(tmp_path):
    from genai_course.errors import TrainingDiverged

    tok = CharTokenizer.train(TEXT)
    train_ids, val_ids, cpt = prepare_data(TEXT, tok)
    m = small_model(tok.vocab_size)
    # step 0 runs at the warm-up's starting rate, 0 (as transformers' linear warm-up does); step 1 at 1e30
    with pytest.raises(TrainingDiverged, match="loss became nan at step 2"):
        train(
            m,
            train_ids,
            val_ids,
            TrainConfig(batch_size=8, max_iters=50, lr=1e30, warmup_iters=1),
            cpt,
            show_progress=False,
        )
    with pytest.raises(TrainingDiverged, match="not saving"):
        save_checkpoint(tmp_path / "ckpt.pt", m, tok)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(max_seconds=float("nan"), max_iters=None), "max_seconds must be finite"),
        (dict(max_seconds=float("inf"), max_iters=None), "max_seconds must be finite"),
        (dict(lr=float("nan")), "lr must be finite"),
        (dict(min_lr=-1e-4), "min_lr must lie in"),
        (dict(lr=1e-3, min_lr=1e-2), "min_lr must lie in"),
        (dict(eval_interval=-1), "eval_interval must be ≥ 0"),
        (dict(max_iters=0), "max_iters must be positive"),
    ],
)
def test_train_config_refuses_unusable_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_gpt_config_from_dict_checks_every_field():
    good = GPTConfig(vocab_size=5, block_size=8, n_layers=1, n_heads=2, d_model=8).to_dict()
    assert GPTConfig.from_dict(good) == GPTConfig(**good)
    for bad, message in [
        ({"colour": 1}, "unknown"),
        ({"n_heads": 2.0}, "n_heads"),
        ({"n_layers": True}, "n_layers"),
        ({"dropout": float("nan")}, "dropout"),
        ({"bias": "yes"}, "bias"),
        ({"d_model": 0}, "d_model"),
    ]:
        with pytest.raises(ValueError, match=message):
            GPTConfig.from_dict({**good, **bad})
