r"""Reconstruction quality of an image against its original: PSNR and SSIM.

PSNR (peak signal-to-noise ratio) is the mean squared error on a log scale, for images in [0, 1]:

.. math::  \mathrm{PSNR} = 10 \log_{10} \frac{1}{\mathrm{MSE}}\ \text{dB}

so halving the error adds 3 dB. SSIM (structural similarity, Wang et al., 2004) compares local
means, contrasts and correlations in an 11×11 Gaussian window (σ = 1.5) instead of single pixels:

.. math::  \mathrm{SSIM}(x, y) = \frac{(2\mu_x\mu_y + C_1)(2\sigma_{xy} + C_2)}{(\mu_x^2 + \mu_y^2 + C_1)(\sigma_x^2 + \sigma_y^2 + C_2)},
           \quad C_1 = (0.01)^2,\ C_2 = (0.03)^2

averaged over the window positions that fit inside the image and over the channels: 1 for
identical images. The settings are the paper's, and those of ``skimage.metrics.structural_similarity``
with ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1``, which a test
checks this implementation against.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..shape_check import expect_shape


def _pair(x: torch.Tensor, y: torch.Tensor) -> None:
    dims = expect_shape(x, "b c h w", name="images")
    expect_shape(y, "b c h w", name="references", **dims)


def psnr(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """PSNR in dB of each image x (b c h w) against y, both in [0, 1] → (b,)."""
    _pair(x, y)
    mse = (x.float() - y.float()).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(1.0 / (mse + eps))


def _gaussian_window(size: int, sigma: float) -> torch.Tensor:
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(r**2) / (2 * sigma**2))
    return g / g.sum()  # (size,)


def ssim(x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Mean SSIM of each image x (b c h w) against y, both in [0, 1] → (b,)."""
    _pair(x, y)
    b, c, h, w = x.shape
    if h < window or w < window:
        raise ValueError(f"images must be at least {window}×{window} for an {window}×{window} window, got {h}×{w}")
    g = _gaussian_window(window, sigma)
    kernel = (g[:, None] * g[None, :]).expand(c, 1, window, window)  # one 2-D Gaussian per channel
    x, y = x.double(), y.double()

    def blur(z):  # local weighted mean; "valid": only windows fully inside the image
        return F.conv2d(z, kernel, groups=c)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return s.flatten(1).mean(1).float()
