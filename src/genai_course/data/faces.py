"""Procedural colour faces (32×32) with known attributes, so that attribute control can be measured.

Every image is drawn from six numbers, all returned as labels:

==============  ==========================================================
``smile``       mouth curvature in [-1, 1]: -1 frown, 0 flat, 1 broad smile
``pose``        head yaw in [-1, 1]: features slide left/right, face narrows
``hair_length`` in [0, 1]: 0 a short cap, 1 hair down to the chin
``hair_color``  class 0..3: black, brown, blond, red
``skin``        skin tone in [0, 1]: light to dark
``bg``          background hue in [0, 1] (a nuisance factor, not an "attribute")
==============  ==========================================================

Drawing is vectorized in torch over the batch with 2× supersampling (then average pooling)
for smooth edges; the same ``seed`` always gives the same faces.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

ATTRIBUTES = ("smile", "pose", "hair_length", "hair_color", "skin")
CONTINUOUS = ("smile", "pose", "hair_length", "skin")
HAIR_COLORS = ("black", "brown", "blond", "red")
_HAIR_RGB = torch.tensor([[0.10, 0.08, 0.08], [0.40, 0.24, 0.12], [0.92, 0.80, 0.42], [0.80, 0.30, 0.10]])
_SKIN_LIGHT, _SKIN_DARK = torch.tensor([0.98, 0.84, 0.72]), torch.tensor([0.42, 0.26, 0.16])


@dataclass
class FaceBatch:
    images: torch.Tensor  # (b 3 32 32) in [-1, 1]
    attrs: dict  # name -> (b,) tensor; hair_color is int64, the rest float32

    def __len__(self) -> int:
        return len(self.images)


def sample_attributes(n: int, generator: torch.Generator | None = None) -> dict:
    """Independent uniform attributes for ``n`` faces."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(n, generator=generator)  # noqa: E731
    return {
        "smile": u(-1, 1),
        "pose": u(-1, 1),
        "hair_length": u(0, 1),
        "hair_color": torch.randint(0, len(HAIR_COLORS), (n,), generator=generator),
        "skin": u(0, 1),
        "bg": u(0, 1),
    }


def _check_attrs(attrs: dict) -> int:
    missing = [k for k in ATTRIBUTES + ("bg",) if k not in attrs]
    if missing:
        raise ValueError(f"attrs is missing {missing}; expected keys {ATTRIBUTES + ('bg',)}")
    sizes = {k: tuple(torch.as_tensor(attrs[k]).shape) for k in ATTRIBUTES + ("bg",)}
    if len(set(sizes.values())) != 1 or len(next(iter(sizes.values()))) != 1:
        raise ValueError(f"every attribute must be a (b,) tensor of the same length, got shapes {sizes}")
    return next(iter(sizes.values()))[0]


def render_faces(attrs: dict, size: int = 32) -> torch.Tensor:
    """Draw faces for a dict of (b,) attribute tensors -> images (b 3 size size) in [-1, 1]."""
    b = _check_attrs(attrs)
    a = {k: torch.as_tensor(v).float() for k, v in attrs.items()}
    s = 2 * size  # supersample
    coords = (torch.arange(s, dtype=torch.float32) + 0.5) / s * 2 - 1  # [-1, 1]
    y, x = torch.meshgrid(coords, coords, indexing="ij")
    x, y = x[None], y[None]  # (1 s s)
    col = lambda v: v[:, None, None]  # noqa: E731  (b,) -> (b 1 1) for broadcasting
    pose, smile, hl = col(a["pose"]), col(a["smile"]), col(a["hair_length"])

    # background: a soft pastel whose hue varies
    hue = a["bg"] * 6.283
    bg = 0.75 + 0.15 * torch.stack([hue.cos(), (hue + 2.1).cos(), (hue + 4.2).cos()], 1)  # (b 3)
    img = bg[:, :, None, None].expand(b, 3, s, s).clone()

    def paint(mask: torch.Tensor, rgb: torch.Tensor) -> None:  # mask (b s s), rgb (b 3) or (3,)
        rgb = rgb if rgb.dim() == 2 else rgb[None].expand(b, 3)
        m = mask[:, None].float()
        img.mul_(1 - m).add_(m * rgb[:, :, None, None])

    cx = 0.18 * pose  # the face centre moves a little with yaw
    rx = 0.52 - 0.08 * pose.abs()  # and narrows when turned
    ry = 0.66
    hair_rgb = _HAIR_RGB[a["hair_color"].long()]
    # long hair behind the head: a rounded slab from the crown down to the chin line
    back = ((x - cx).abs() <= rx + 0.14) & (y >= -0.62) & (y <= -0.2 + 1.05 * hl)
    paint(back & (hl > 0.15), hair_rgb)
    # head
    head = ((x - cx) / rx) ** 2 + ((y - 0.05) / ry) ** 2 <= 1
    skin_rgb = _SKIN_LIGHT[None] * (1 - a["skin"][:, None]) + _SKIN_DARK[None] * a["skin"][:, None]
    paint(head, skin_rgb)
    # hair cap on top of the head
    cap = (((x - cx) / (rx + 0.06)) ** 2 + ((y + 0.12) / (ry + 0.04)) ** 2 <= 1) & (y <= -0.3 + 0.04 * (x - cx) ** 2)
    paint(cap, hair_rgb)
    # eyes and nose shift more than the head outline: a cheap 3-D look
    fx = cx + 0.16 * pose
    for ex in (-0.2, 0.2):
        eye = ((x - fx - ex * (1 - 0.25 * pose.abs())) / 0.075) ** 2 + ((y + 0.05) / 0.06) ** 2 <= 1
        paint(eye, torch.tensor([0.08, 0.08, 0.12]))
    nose = ((x - fx - 0.06 * pose) / 0.05) ** 2 + ((y - 0.18) / 0.08) ** 2 <= 1
    paint(nose, skin_rgb * 0.8)
    # mouth: a parabola y = m0 - curvature·(x - fx)², drawn as a thick band
    u = x - fx
    curve = 0.42 - 1.6 * smile * (u**2 - 0.03)
    mouth = ((y - curve).abs() <= 0.045) & (u.abs() <= 0.24)
    paint(mouth, torch.tensor([0.62, 0.12, 0.15]))
    img = F.avg_pool2d(img, 2)
    return (img.clamp(0, 1) * 2 - 1).contiguous()


def make_faces(n: int, seed: int = 0) -> FaceBatch:
    """``n`` faces with random attributes, deterministic given ``seed``."""
    gen = torch.Generator("cpu").manual_seed(seed)
    attrs = sample_attributes(n, gen)
    chunk = 2048  # bounded memory: the supersampled masks are (chunk 64 64)
    images = torch.cat([render_faces({k: v[i : i + chunk] for k, v in attrs.items()}) for i in range(0, n, chunk)])
    return FaceBatch(images, attrs)


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] → [0, 1] (for plotting)."""
    return ((images + 1) / 2).clamp(0, 1)
