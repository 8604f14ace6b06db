"""An invisible watermark for generated images: spread-spectrum bits, detected by correlation.

Each of ``n_bits`` bits owns a secret pseudo-random pattern P_i (made from ``key``): a ±1 grid of
``grid × grid`` cells per colour channel, upsampled to the image size, zero-mean and orthonormal to
the others. Embedding adds a faint sum of patterns with the bits as signs:

    x' = x + α · Σ_i (2 b_i − 1) P_i,  α set so the mark's per-pixel std is ``strength``

Detection needs only the key, not the original image: correlate the (resized) image, minus its 3×3 median
(which removes most of the image content), with every P_i and read the sign. Mid-frequency
patterns survive resizing and Gaussian noise. This is a teaching watermark: it is not robust to crops, rotations or an attacker who
knows the scheme.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class Watermark:
    n_bits: int = 16
    key: int = 0
    grid: int = 16
    size: int = 32
    channels: int = 3
    strength: float = 0.04  # per-pixel standard deviation of the mark (images in [-1, 1])

    def __post_init__(self):
        if self.n_bits < 1 or self.n_bits > self.grid * self.grid // 2:
            raise ValueError(f"n_bits must be in [1, {self.grid * self.grid // 2}], got {self.n_bits}")
        gen = torch.Generator("cpu").manual_seed(self.key)
        c = self.channels
        cells = torch.randint(0, 2, (self.n_bits * c, 1, self.grid, self.grid), generator=gen).float() * 2 - 1
        p = F.interpolate(cells, size=(self.size, self.size), mode="bilinear", align_corners=False)
        p = _highpass(p).reshape(self.n_bits, -1)  # (n chw): keep only what the detector will see
        p = p - p.mean(1, keepdim=True)
        q, _ = torch.linalg.qr(p.T)  # orthonormal columns: bits do not interfere with each other
        self.patterns = q.T.reshape(self.n_bits, c, self.size, self.size)  # (n c h w), unit norm

    def embed(self, images: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
        """images (b c h w) in [-1, 1], bits (b n_bits) of 0/1 → watermarked images, clamped to [-1, 1]."""
        _check_images(images, self.size)
        if bits.shape != (images.shape[0], self.n_bits):
            raise ValueError(f"bits must be ({images.shape[0]} {self.n_bits}), got {tuple(bits.shape)}")
        signs = bits.float() * 2 - 1
        if images.shape[1] != self.channels:
            raise ValueError(f"images must have {self.channels} channels, got {images.shape[1]}")
        mark = torch.einsum("bn,nchw->bchw", signs, self.patterns.to(images.device))
        mark = mark * (self.strength / mark.flatten(1).std(1).clamp_min(1e-8)[:, None, None, None])
        return (images + mark).clamp(-1, 1)

    def scores(self, images: torch.Tensor) -> torch.Tensor:
        """Correlation of each image with each bit's pattern (b n_bits); the sign is the bit."""
        if images.dim() != 4:
            raise ValueError(f"images must be (b c h w), got {tuple(images.shape)}")
        x = images.float()
        if x.shape[-2:] != (self.size, self.size):  # undo a resize before reading
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return correlate(x, self.patterns.to(x.device))

    def detect(self, images: torch.Tensor) -> torch.Tensor:
        """Recovered bits (b n_bits) of 0/1."""
        return (self.scores(images) > 0).long()


def median_residual(images: torch.Tensor) -> torch.Tensor:
    """images (b c h w) minus their 3×3 median, channel by channel."""
    b, c, h, w = images.shape
    return _median_residual(images.reshape(b * c, 1, h, w)).reshape(b, c, h, w)


def correlate(images: torch.Tensor, patterns: torch.Tensor) -> torch.Tensor:
    """The correlation detector: <median residual of image, P_i> for every image and bit -> (b n)."""
    if images.dim() != 4 or patterns.dim() != 4 or images.shape[1:] != patterns.shape[1:]:
        raise ValueError(
            f"images (b c h w) and patterns (n c h w) must share (c h w), "
            f"got {tuple(images.shape)} and {tuple(patterns.shape)}"
        )
    return torch.einsum("bchw,nchw->bn", median_residual(images), patterns)


def read_bits(images: torch.Tensor, patterns: torch.Tensor) -> torch.Tensor:
    """Bits (b n) of 0/1 (int64): 1 where the image correlates positively with pattern i."""
    return (correlate(images, patterns) > 0).long()


def _highpass(x: torch.Tensor) -> torch.Tensor:
    """x (b 1 h w) minus its 5×5 box blur: removes smooth image content."""
    return x - F.avg_pool2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), 5, stride=1)


def _median_residual(x: torch.Tensor) -> torch.Tensor:
    """x (b 1 h w) minus its 3×3 median: flat regions *and* sharp edges of the content vanish,
    the pseudo-random mark mostly survives."""
    patches = F.unfold(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3)  # (b 9 hw)
    return x - patches.median(dim=1).values.view_as(x)


def _check_images(images: torch.Tensor, size: int) -> None:
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[-2:] != (size, size):
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be (b c {size} {size}), got {got}")


def bit_accuracy(wm: Watermark, images: torch.Tensor, bits: torch.Tensor) -> float:
    return float((wm.detect(images) == bits).float().mean())


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB for images in [-1, 1] (peak-to-peak 2)."""
    mse = (a - b).pow(2).mean().item()
    return float("inf") if mse == 0 else 10 * torch.log10(torch.tensor(4.0 / mse)).item()


def add_noise(images: torch.Tensor, std: float, generator: torch.Generator | None = None) -> torch.Tensor:
    return (images + std * torch.randn(images.shape, generator=generator).to(images.device)).clamp(-1, 1)


def resize_roundtrip(images: torch.Tensor, size: int) -> torch.Tensor:
    """Downscale to ``size`` and back: what re-posting a thumbnail does."""
    small = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return F.interpolate(small, size=images.shape[-2:], mode="bilinear", align_corners=False)
