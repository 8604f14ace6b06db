import math

import pytest
import torch

from genai_course.optim import EMA, clipped_step, warmup_cosine


def test_warmup_cosine_shape():
    steps = 100
    values = [warmup_cosine((s + 1) / steps, 0.1, min_ratio=0.1) for s in range(steps)]
    assert values[0] == pytest.approx(0.1) and values[9] == pytest.approx(1.0)  # linear warm-up over 10 steps
    assert values[-1] == pytest.approx(0.1)  # the last step gets exactly the floor
    u = (0.56 - 0.1) / 0.9
    assert values[55] == pytest.approx(0.1 + 0.45 * (1 + math.cos(math.pi * u)))
    assert all(a >= b for a, b in zip(values[9:], values[10:], strict=False))  # decays monotonically
    assert warmup_cosine(0.5, 0.0) == pytest.approx(0.5)  # no warm-up: half way down a cosine from 1 to 0


def test_gpt_schedule_is_the_shared_one():
    from genai_course.gpt.train import TrainConfig, lr_at

    cfg = TrainConfig(lr=1e-3, min_lr=1e-4)
    for fraction in (0.0, 0.05, 0.1, 0.3, 0.99, 1.0):
        assert lr_at(fraction, cfg, 0.1) == pytest.approx(1e-3 * warmup_cosine(fraction, 0.1, 0.1))
    assert lr_at(1.0, cfg, 0.1) == pytest.approx(1e-4) and lr_at(0.1, cfg, 0.1) == pytest.approx(1e-3)


def test_clipped_step_clips_the_global_norm():
    w = torch.nn.Parameter(torch.zeros(3))
    opt = torch.optim.SGD([w], lr=1.0)
    norm = clipped_step(opt, (w * torch.tensor([30.0, 40.0, 0.0])).sum(), max_norm=1.0)
    assert norm == pytest.approx(50.0)
    torch.testing.assert_close(w.detach(), torch.tensor([-0.6, -0.8, 0.0]))


def test_ema_is_the_moving_average():
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    ema = EMA(net, decay=0.9)
    before = ema.model[0].weight.clone()
    with torch.no_grad():
        net[0].weight.add_(1.0)
    net(torch.randn(8, 2))  # training mode: BatchNorm updates its running statistics
    ema.update(net)
    torch.testing.assert_close(ema.model[0].weight, before + 0.1)
    # buffers are copied, not averaged: they are running statistics already
    torch.testing.assert_close(ema.model[1].running_mean, net[1].running_mean)
    assert ema.model[1].num_batches_tracked.item() == 1
    assert not ema.model.training and not any(p.requires_grad for p in ema.model.parameters())
    with pytest.raises(ValueError, match="decay"):
        EMA(net, decay=1.0)
