"""Low-level preprocessing that changes a feature-based metric: resizing filters and JPEG.

Parmar et al. (2022, "On Aliased Resizing and Surprising Subtleties in GAN Evaluation") show that
a metric such as FID depends on how images are brought to the feature network's input size:
a correct downsampling filter widens with the downsampling factor (antialiasing), while several
common implementations keep it fixed and alias; and that lossy JPEG compression shifts FID too.
Each function here takes and returns images (b c h w) in [-1, 1], the course's range, so the
same images can be prepared several ways and measured against one reference.
"""

from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..shape_check import expect_shape

# name → how the image is resized. PIL's filters widen with the downsampling factor, like torch's antialias=True;
# torch's "nearest" takes input pixel floor(i · factor), off-centre, while "nearest-exact" takes a central one
RESIZE_METHODS = (
    "torch nearest",
    "torch nearest-exact",
    "torch bilinear",
    "torch bilinear, antialias",
    "torch bicubic",
    "torch bicubic, antialias",
    "PIL bicubic",
    "PIL lanczos",
)
_PIL_FILTERS = {"PIL bicubic": Image.Resampling.BICUBIC, "PIL lanczos": Image.Resampling.LANCZOS}


def _check(images: torch.Tensor) -> None:
    expect_shape(images, "b c h w", name="images")
    if images.numel() and (images.min() < -1.001 or images.max() > 1.001):
        raise ValueError("images must lie in [-1, 1] (the course's range for digits)")


def _to_uint8(images: torch.Tensor) -> np.ndarray:
    """(b c h w) in [-1, 1] → (b h w c) uint8, as an image file would store them."""
    return ((images.detach().cpu().float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def _from_uint8(arrays: list[np.ndarray], like: torch.Tensor) -> torch.Tensor:
    x = torch.from_numpy(np.stack(arrays)).float() / 127.5 - 1  # (b h w c)
    return x.permute(0, 3, 1, 2).contiguous().to(like.device)


def _pil(a: np.ndarray) -> Image.Image:
    return Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a)


def _array(img: Image.Image) -> np.ndarray:
    a = np.asarray(img)
    return a[..., None] if a.ndim == 2 else a


def resize(images: torch.Tensor, size: int, method: str) -> torch.Tensor:
    """Resize images (b c h w) in [-1, 1] to (b c size size) with one of :data:`RESIZE_METHODS`.

    The PIL methods go through 8-bit images, as a pipeline that reads image files does.
    """
    _check(images)
    if method not in RESIZE_METHODS:
        raise ValueError(f"method must be one of {RESIZE_METHODS}, got {method!r}")
    if method in _PIL_FILTERS:
        arrays = [_array(_pil(a).resize((size, size), _PIL_FILTERS[method])) for a in _to_uint8(images)]
        return _from_uint8(arrays, images)
    mode = method.split()[1].rstrip(",")
    kwargs = {} if mode.startswith("nearest") else {"align_corners": False, "antialias": method.endswith("antialias")}
    return F.interpolate(images, size=(size, size), mode=mode, **kwargs).clamp(-1, 1)


def jpeg_roundtrip(images: torch.Tensor, quality: int = 75) -> torch.Tensor:
    """Save each image (b c h w) in [-1, 1] as a JPEG of this ``quality`` (PIL) and read it back."""
    _check(images)
    if not isinstance(quality, int) or not 1 <= quality <= 100:
        raise ValueError(f"quality must be an int in 1..100, got {quality!r}")
    out = []
    for a in _to_uint8(images):
        buffer = io.BytesIO()
        _pil(a).save(buffer, format="JPEG", quality=quality)
        out.append(_array(Image.open(io.BytesIO(buffer.getvalue()))))
    return _from_uint8(out, images)


def png_roundtrip(images: torch.Tensor) -> torch.Tensor:
    """The lossless control: 8-bit quantisation only, as saving to PNG and reading back does."""
    _check(images)
    return _from_uint8(list(_to_uint8(images)), images)
