"""Our power iteration agrees with the exact spectral norm, and torch's parametrization normalizes."""

import torch
from torch import nn

from genai_course.gan.models2d import Discriminator2D, MLP2DConfig
from genai_course.gan.spectral import apply_spectral_norm, power_iteration, spectral_norm


def test_power_iteration_matches_matrix_norm():
    g = torch.Generator().manual_seed(0)
    for shape in ((16, 8), (5, 40), (12, 3, 3, 3)):
        w = torch.randn(*shape, generator=g)
        sigma, _ = power_iteration(w, n_iter=100, generator=g)
        exact = torch.linalg.matrix_norm(w.flatten(1), ord=2)
        assert torch.allclose(sigma, exact, rtol=1e-4), (shape, sigma, exact)


def test_torch_parametrization_gives_unit_spectral_norm():
    torch.manual_seed(0)
    layer = spectral_norm(nn.Linear(20, 30))
    for _ in range(30):  # each training-mode forward does one power-iteration step
        layer(torch.randn(4, 20))
    sigma = torch.linalg.matrix_norm(layer.weight.detach(), ord=2)
    assert abs(sigma.item() - 1) < 1e-3


def test_apply_spectral_norm_wraps_every_linear():
    d = Discriminator2D(MLP2DConfig(spectral_norm=True))
    linears = [m for m in d.modules() if isinstance(m, nn.Linear)]
    assert linears and all(hasattr(m, "parametrizations") for m in linears)
    conv = apply_spectral_norm(nn.Sequential(nn.Conv2d(1, 2, 3)))
    assert hasattr(conv[0], "parametrizations")


def test_bad_weight_message():
    import pytest

    with pytest.raises(ValueError, match="at least 2 dims"):
        power_iteration(torch.zeros(5))
