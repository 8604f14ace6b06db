"""PSNR and SSIM against scikit-image, the library a practitioner would call."""

import pytest
import torch

from genai_course.metrics.image_quality import psnr, ssim

skimage_metrics = pytest.importorskip("skimage.metrics")


def _pairs(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(4, 3, 32, 32, generator=g)
    noise = torch.randn(x.shape, generator=g) * torch.tensor([0.02, 0.05, 0.1, 0.3]).view(4, 1, 1, 1)
    return x, (x + noise).clamp(0, 1)


def test_ssim_matches_skimage():
    x, y = _pairs()
    ours = ssim(y, x)
    for i in range(len(x)):
        ref = skimage_metrics.structural_similarity(
            y[i].numpy(),
            x[i].numpy(),
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=1.0,
            channel_axis=0,
        )
        assert ours[i].item() == pytest.approx(float(ref), abs=1e-5)
    assert ours[0] > ours[1] > ours[2] > ours[3]  # more noise, less similar


def test_psnr_matches_skimage_and_identity():
    x, y = _pairs(1)
    ours = psnr(y, x)
    for i in range(len(x)):
        ref = skimage_metrics.peak_signal_noise_ratio(x[i].numpy(), y[i].numpy(), data_range=1.0)
        assert ours[i].item() == pytest.approx(float(ref), abs=1e-3)
    assert ssim(x, x).sub(1).abs().max() < 1e-6 and psnr(x, x).min() > 90


@pytest.mark.parametrize(
    "a,b,match",
    [
        (torch.rand(2, 3, 32, 32), torch.rand(2, 3, 16, 16), r"references: expected shape \(b=2 c=3 h=32 w=32\)"),
        (torch.rand(3, 32, 32), torch.rand(3, 32, 32), r"images: expected shape \(b c h w\)"),
        (torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), "at least 11×11"),
    ],
)
def test_bad_input_names_what_it_expected(a, b, match):
    with pytest.raises(ValueError, match=match):
        ssim(a, b)
