"""A small style-based generator (Karras et al. 2019, 2020) for 32×32 images.

- **Mapping network**: z (b z) → w (b w), an 8-layer MLP in StyleGAN, 4 layers here. W need not
  be Gaussian, so it can "unwarp" the data's factors of variation.
- **Synthesis network**: starts from a learned constant (c 4 4); every layer gets its *own*
  style y = A(w) (an affine map), used to modulate the conv weights, then *demodulate* them so
  the output has unit variance (StyleGAN2's replacement for AdaIN).
- **Noise inputs**: per-pixel Gaussian noise with a learned per-channel scale adds stochastic
  detail.
- **Style mixing**: during training, layers after a random crossover get the w of a second z,
  which discourages layers from relying on each other's styles.

Resolutions 4 → 8 → 16 → 32; one w per synthesis layer: ``num_ws`` in total.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..shape_check import expect_shape


@dataclass
class StyleGANConfig:
    z_dim: int = 64
    w_dim: int = 64
    mapping_layers: int = 4
    channels: tuple = (128, 128, 64, 32)  # at 4, 8, 16, 32 pixels
    img_channels: int = 3


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


class MappingNetwork(nn.Module):
    """z (b z_dim) -> w (b w_dim)."""

    def __init__(self, cfg: StyleGANConfig):
        super().__init__()
        layers, d = [], cfg.z_dim
        for _ in range(cfg.mapping_layers):
            layers += [nn.Linear(d, cfg.w_dim), nn.LeakyReLU(0.2)]
            d = cfg.w_dim
        self.net = nn.Sequential(*layers)
        # variance-preserving init (He, for leaky ReLU): PyTorch's default shrinks the signal about
        # 6× in variance per layer, so after 4 layers every z would map to nearly the same w
        for m in self.net:
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, a=0.2)
                nn.init.zeros_(m.bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(pixel_norm(z))


def modulated_weight(
    weight: torch.Tensor, style: torch.Tensor, demodulate: bool = True, eps: float = 1e-8
) -> torch.Tensor:
    """Per-sample conv weights: weight (o c k k), style (b c) -> (b o c k k).

    Modulation scales input channel c by s_c; demodulation rescales every output filter to unit
    L2 norm over (c k k), which keeps the output at unit variance for unit-variance inputs.
    """
    c = expect_shape(weight, "o c k k", name="weight")["c"]
    expect_shape(style, "b c", c=c, name="style")
    w = weight[None] * style[:, None, :, None, None]  # (b o c k k)
    if demodulate:
        w = w * torch.rsqrt(w.pow(2).sum(dim=(2, 3, 4), keepdim=True) + eps)
    return w


class ModulatedConv(nn.Module):
    """3×3 (or 1×1) conv whose weights are scaled per input channel by the style, then demodulated.

    x (b c_in h w), w (b w_dim) -> (b c_out h w). Implemented as a grouped conv with one
    group per sample, the standard trick.
    """

    def __init__(self, c_in: int, c_out: int, w_dim: int, k: int = 3, demodulate: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, k, k) / math.sqrt(c_in * k * k))
        self.affine = nn.Linear(w_dim, c_in)
        # as in StyleGAN2: styles start around 1 but already depend on w (a zero weight here would
        # make every sample identical at first, and the generator then learns diversity very slowly)
        nn.init.normal_(self.affine.weight, std=1 / math.sqrt(w_dim))
        nn.init.ones_(self.affine.bias)
        self.demodulate, self.pad = demodulate, k // 2

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        b, c, h, wd = x.shape
        style = self.affine(w)  # (b c_in)
        weight = modulated_weight(self.weight, style, self.demodulate)  # (b o c k k)
        out = F.conv2d(x.reshape(1, b * c, h, wd), weight.reshape(-1, c, *weight.shape[3:]), padding=self.pad, groups=b)
        return out.reshape(b, -1, h, wd)


class StyleLayer(nn.Module):
    """(optional 2× upsample) → modulated conv → + scaled noise + bias → leaky ReLU."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, upsample: bool):
        super().__init__()
        self.conv = ModulatedConv(c_in, c_out, w_dim)
        self.noise_strength = nn.Parameter(torch.zeros(c_out))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.upsample = upsample

    def forward(self, x, w, noise=None):
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = self.conv(x, w)
        if noise is None:
            noise = torch.randn(x.shape[0], 1, *x.shape[2:], device=x.device, dtype=x.dtype)
        x = x + self.noise_strength[None, :, None, None] * noise + self.bias[None, :, None, None]
        return F.leaky_relu(x, 0.2) * math.sqrt(2)


class StyleGenerator(nn.Module):
    """z (b z_dim) → image (b 3 32 32) in [-1, 1] (roughly; no final tanh, as in StyleGAN)."""

    def __init__(self, cfg: StyleGANConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or StyleGANConfig()
        self.mapping = MappingNetwork(cfg)
        ch = cfg.channels
        self.const = nn.Parameter(torch.randn(1, ch[0], 4, 4))
        layers = [StyleLayer(ch[0], ch[0], cfg.w_dim, upsample=False)]
        for c_prev, c in zip(ch[:-1], ch[1:], strict=False):
            layers += [StyleLayer(c_prev, c, cfg.w_dim, upsample=True), StyleLayer(c, c, cfg.w_dim, upsample=False)]
        self.layers = nn.ModuleList(layers)
        self.to_rgb = ModulatedConv(ch[-1], cfg.img_channels, cfg.w_dim, k=1, demodulate=False)
        self.num_ws = len(layers) + 1
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))  # running mean of w, for truncation

    def ws_from_z(
        self, z: torch.Tensor, z2: torch.Tensor | None = None, crossover: int | None = None, truncation: float = 1.0
    ) -> torch.Tensor:
        """Per-layer styles (b num_ws w_dim); layers ≥ ``crossover`` take z2's w (style mixing)."""
        b = expect_shape(z, "b z", z=self.cfg.z_dim, name="z")["b"]
        w = self.mapping(z)
        if truncation != 1.0:
            w = self.w_avg + truncation * (w - self.w_avg)
        ws = w[:, None].repeat(1, self.num_ws, 1)
        if z2 is not None:
            expect_shape(z2, "b z", b=b, z=self.cfg.z_dim, name="z2")
            w2 = self.mapping(z2)
            if truncation != 1.0:
                w2 = self.w_avg + truncation * (w2 - self.w_avg)
            k = self.num_ws // 2 if crossover is None else crossover
            ws[:, k:] = w2[:, None]
        return ws

    def synthesize(self, ws: torch.Tensor, noise: list | None = None) -> torch.Tensor:
        """ws (b num_ws w_dim) or (b w_dim) → images (b 3 32 32). ``noise``: one tensor per layer, or None."""
        if isinstance(ws, torch.Tensor) and ws.dim() == 2:  # one w for every layer
            expect_shape(ws, "b w", w=self.cfg.w_dim, name="ws")
            ws = ws[:, None].repeat(1, self.num_ws, 1)
        expect_shape(ws, "b n w", n=self.num_ws, w=self.cfg.w_dim, name="ws")
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        for i, layer in enumerate(self.layers):
            x = layer(x, ws[:, i], None if noise is None else noise[i])
        return self.to_rgb(x, ws[:, -1])

    mix_prob: float = 0.0  # set > 0 while training to use style mixing

    def forward(self, z: torch.Tensor, mix_prob: float | None = None) -> torch.Tensor:
        mix_prob = self.mix_prob if mix_prob is None else mix_prob
        z2 = crossover = None
        if self.training and mix_prob > 0 and torch.rand(()) < mix_prob:
            z2 = torch.randn_like(z)
            crossover = int(torch.randint(1, self.num_ws, ()))
        ws = self.ws_from_z(z, z2, crossover)
        if self.training:  # track the mean w for the truncation trick
            with torch.no_grad():
                self.w_avg.lerp_(ws[:, 0].mean(0), 0.01)
        return self.synthesize(ws)

    def fixed_noise(self, b: int, generator: torch.Generator | None = None) -> list:
        """One noise tensor per layer for ``b`` images (for reproducible or noise-free rendering)."""
        shapes, res = [], 4
        for layer in self.layers:
            res = res * 2 if layer.upsample else res
            shapes.append(torch.randn(b, 1, res, res, generator=generator))
        return [s.to(self.const.device) for s in shapes]


class FaceDiscriminator(nn.Module):
    """images (b 3 32 32) → scores (b,). Plain conv stack with a minibatch-std feature."""

    def __init__(self, channels: tuple = (32, 64, 128), img_channels: int = 3):
        super().__init__()
        self.img_channels = img_channels
        layers, c = [nn.Conv2d(img_channels, channels[0], 3, padding=1), nn.LeakyReLU(0.2)], channels[0]
        for c_next in channels:
            layers += [nn.Conv2d(c, c_next, 3, padding=1), nn.LeakyReLU(0.2), nn.AvgPool2d(2)]
            c = c_next
        self.body = nn.Sequential(*layers)  # 32 → 4
        self.head = nn.Sequential(
            nn.Conv2d(c + 1, c, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(c * 16, c),
            nn.LeakyReLU(0.2),
            nn.Linear(c, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expect_shape(x, "b c 32 32", c=self.img_channels, name="images")
        h = self.body(x)
        # minibatch standard deviation (Karras et al. 2018): lets D see a lack of variety
        std = h.std(dim=0, unbiased=False).mean().expand(h.shape[0], 1, *h.shape[2:])
        return self.head(torch.cat([h, std], 1))[:, 0]


def config_dict(cfg: StyleGANConfig) -> dict:
    d = asdict(cfg)
    d["channels"] = list(d["channels"])
    return d
