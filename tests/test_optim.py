import math

import pytest
import torch

from genai_course.optim import EMA, clipped_step, warmup_cosine


def test_warmup_cosine_shape():
    values = [warmup_cosine(s, 100, 10, min_ratio=0.1) for s in range(101)]
    assert values[0] == pytest.approx(0.1) and values[9] == pytest.approx(1.0)  # linear warm-up
    assert values[10] == pytest.approx(1.0) and values[100] == pytest.approx(0.1)
    assert values[55] == pytest.approx(0.1 + 0.45 * (1 + math.cos(math.pi * 0.5)))
    assert all(a >= b for a, b in zip(values[10:], values[11:], strict=False))  # decays monotonically


def test_clipped_step_clips_the_global_norm():
    w = torch.nn.Parameter(torch.zeros(3))
    opt = torch.optim.SGD([w], lr=1.0)
    norm = clipped_step(opt, (w * torch.tensor([30.0, 40.0, 0.0])).sum(), max_norm=1.0)
    assert norm == pytest.approx(50.0)
    torch.testing.assert_close(w.detach(), torch.tensor([-0.6, -0.8, 0.0]))


def test_ema_is_the_moving_average():
    net = torch.nn.Linear(2, 1)
    ema = EMA(net, decay=0.9)
    before = ema.model.weight.clone()
    with torch.no_grad():
        net.weight.add_(1.0)
    ema.update(net)
    torch.testing.assert_close(ema.model.weight, before + 0.1)
    with pytest.raises(ValueError, match="decay"):
        EMA(net, decay=1.0)
