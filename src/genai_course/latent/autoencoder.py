r"""A small KL-regularised autoencoder: the image ⇄ latent map of latent diffusion.

Latent diffusion (Rombach et al., 2022, §3.1) first trains an autoencoder, then runs diffusion on
its latents instead of on pixels. The encoder shrinks each side of the image by a factor
f = 2^(levels − 1) and keeps ``latent_channels`` numbers per position::

    image (b 3 H W) ──► encoder ──► mean, log σ² (b 4 H/f W/f) ──► z = mean + σ·ε ──► decoder ──► (b 3 H W)

A plain autoencoder may put its latents anywhere, at any scale, with holes between them; the KL
term pulls the posterior q(z | x) = N(mean, σ²) towards N(0, I), which keeps the latent space
smooth and bounded. Stable Diffusion's weight on it is tiny (≈ 1e-6 of the summed KL), just
enough to regularise: too much and the latent stops carrying the image (the notebook shows it).

.. math::  L = \underbrace{\lVert x - D(z) \rVert^2}_{\text{reconstruction}}
           + \beta\ \underbrace{\tfrac12 \textstyle\sum (\mu^2 + \sigma^2 - 1 - \log\sigma^2)}_{\mathrm{KL}(q(z|x)\,\Vert\,N(0, I))}

Both terms are means per number here (per pixel value, per latent value), so β reads the same at
any image size. The latents the diffusion model sees are divided by their standard deviation
(:attr:`Autoencoder.scale`, measured on training images): Stable Diffusion's 0.18215 is the same
number for its VAE. Stable Diffusion's VAE also trains with a perceptual (LPIPS) and a
patch-GAN loss for sharper textures; shapes on a plain background do not need them.

Images are in [−1, 1] (``x = 2·image − 1``), as the diffusion models of chapter 5 use.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .. import rng
from ..shape_check import expect_shape


@dataclass
class AutoencoderConfig:
    image_channels: int = 3
    latent_channels: int = 4
    channels: tuple = (32, 64, 64)  # width per level; each level after the first halves the side
    groups: int = 8

    @property
    def factor(self) -> int:
        """f: how much smaller each side of the latent is than the image."""
        return 2 ** (len(self.channels) - 1)

    def to_dict(self) -> dict:
        return {**asdict(self), "channels": list(self.channels)}


class ResBlock(nn.Module):
    """GroupNorm → SiLU → conv, twice, plus the input (through a 1×1 conv if the width changes)."""

    def __init__(self, c_in: int, c_out: int, groups: int):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm2, self.conv2 = nn.GroupNorm(groups, c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(b c_in h w) → (b c_out h w)."""
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class Encoder(nn.Module):
    """(b 3 H W) → mean and log-variance, each (b latent_channels H/f W/f).

    ``out_channels`` (default 2 · latent_channels: a mean and a log-variance) lets chapter 7's
    VQ-VAE reuse the same network for one vector per position (:meth:`features`).
    """

    def __init__(self, cfg: AutoencoderConfig, out_channels: int | None = None):
        super().__init__()
        c = cfg.channels
        self.stem = nn.Conv2d(cfg.image_channels, c[0], 3, padding=1)
        self.blocks = nn.ModuleList(ResBlock(a, b, cfg.groups) for a, b in zip(c[:-1], c[1:], strict=True))
        # one stride-2 conv after each block: the image side halves len(channels) − 1 times
        self.downs = nn.ModuleList(nn.Conv2d(b, b, 3, stride=2, padding=1) for b in c[1:])
        self.mid = ResBlock(c[-1], c[-1], cfg.groups)
        self.out_norm = nn.GroupNorm(cfg.groups, c[-1])
        self.out = nn.Conv2d(c[-1], out_channels or 2 * cfg.latent_channels, 3, padding=1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(b 3 H W) → the output convolution's values (b out_channels H/f W/f)."""
        h = self.stem(x)  # (b c0 H W)
        for block, down in zip(self.blocks, self.downs, strict=True):
            h = down(block(h))  # (b c_i H/2^i W/2^i)
        return self.out(F.silu(self.out_norm(self.mid(h))))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self.features(x).chunk(2, dim=1)  # each (b latent H/f W/f)
        return mean, logvar.clamp(-30.0, 20.0)  # as LDM does: exp() stays finite


class Decoder(nn.Module):
    """z (b latent_channels H/f W/f) → image (b 3 H W) in about [−1, 1] (not clipped)."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        c = cfg.channels[::-1]  # widest first
        self.stem = nn.Conv2d(cfg.latent_channels, c[0], 3, padding=1)
        self.mid = ResBlock(c[0], c[0], cfg.groups)
        self.blocks = nn.ModuleList(ResBlock(a, b, cfg.groups) for a, b in zip(c[:-1], c[1:], strict=True))
        self.ups = nn.ModuleList(nn.Conv2d(a, a, 3, padding=1) for a in c[:-1])  # after nearest ×2
        self.out_norm = nn.GroupNorm(cfg.groups, c[-1])
        self.out = nn.Conv2d(c[-1], cfg.image_channels, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.mid(self.stem(z))  # (b c_last H/f W/f)
        for up, block in zip(self.ups, self.blocks, strict=True):
            h = block(up(F.interpolate(h, scale_factor=2.0, mode="nearest")))  # side doubles
        return self.out(F.silu(self.out_norm(h)))  # (b 3 H W)


class Autoencoder(nn.Module):
    """The KL autoencoder. ``encode`` gives the posterior's mean and log-variance; ``decode`` the image.

    ``scale`` (a buffer, 1 until :meth:`fit_scale` measures it) turns raw latents into the
    unit-variance latents diffusion runs on: :meth:`to_latent` and :meth:`from_latent`.
    """

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder, self.decoder = Encoder(cfg), Decoder(cfg)
        self.register_buffer("scale", torch.tensor(1.0))

    def _check(self, x: torch.Tensor) -> None:
        dims = expect_shape(x, "b c h w", c=self.cfg.image_channels, name="images")
        f = self.cfg.factor
        if dims["h"] % f or dims["w"] % f:
            raise ValueError(f"images: height and width must be multiples of f={f}, got {dims['h']}×{dims['w']}")

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (b 3 H W) in [−1, 1] → mean, logvar (b latent H/f W/f)."""
        self._check(x)
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (b latent h w), raw (unscaled) → x̂ (b 3 h·f w·f), about [−1, 1]."""
        expect_shape(z, "b c h w", c=self.cfg.latent_channels, name="latents")
        return self.decoder(z)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """One training pass → (reconstruction (b 3 H W), mean, logvar): z is *sampled* from q(z | x)."""
        mean, logvar = self.encode(x)
        eps = rng.randn(mean.shape, generator, device=mean.device)
        z = mean + torch.exp(0.5 * logvar) * eps  # the reparameterisation trick (Kingma & Welling, 2014)
        return self.decoder(z), mean, logvar

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Encode to the posterior mean and decode (no sampling) → (b 3 H W) clipped to [−1, 1]."""
        return self.decode(self.encode(x)[0]).clamp(-1, 1)

    @torch.no_grad()
    def fit_scale(self, x: torch.Tensor) -> float:
        """Set ``scale`` to 1 / std of the posterior means of images ``x``; returns it."""
        mean = torch.cat([self.encode(x[i : i + 256])[0] for i in range(0, len(x), 256)])
        self.scale.fill_(1.0 / mean.std().item())
        return float(self.scale)

    @torch.no_grad()
    def to_latent(self, x: torch.Tensor) -> torch.Tensor:
        """Images (b 3 H W) in [−1, 1] → the unit-variance latents diffusion works on (b latent H/f W/f)."""
        return self.encode(x)[0] * self.scale

    @torch.no_grad()
    def from_latent(self, z: torch.Tensor) -> torch.Tensor:
        """Unit-variance latents → images (b 3 H W) in [−1, 1]."""
        return self.decode(z / self.scale).clamp(-1, 1)


def kl_to_standard_normal(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, σ²) ‖ N(0, 1)) per latent value, averaged: ½ mean(μ² + σ² − 1 − log σ²)."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).mean()


def autoencoder_loss(model: Autoencoder, x: torch.Tensor, kl_weight: float, generator=None) -> dict:
    """{"loss", "reconstruction", "kl"} on a batch x (b 3 H W) in [−1, 1]: MSE per pixel value + β·KL per latent value."""
    recon, mean, logvar = model(x, generator)
    rec = F.mse_loss(recon, x)
    kl = kl_to_standard_normal(mean, logvar)
    return {"loss": rec + kl_weight * kl, "reconstruction": rec, "kl": kl}


def train_autoencoder(
    model: Autoencoder,
    images: torch.Tensor,
    steps: int,
    kl_weight: float = 1e-4,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    device="cpu",
    progress=None,
) -> dict[str, list[float]]:
    """Adam on random batches of ``images`` (n 3 H W) in [−1, 1], warm-up then cosine decay.

    Returns the per-step history ``{"loss", "reconstruction", "kl"}``; the model ends in eval mode
    with :attr:`Autoencoder.scale` fitted on (up to 2,000 of) the training images.
    """
    from ..optim import clipped_step, warmup_cosine

    expect_shape(images, "n c h w", c=model.cfg.image_channels, name="images")
    gen = torch.Generator("cpu").manual_seed(seed)
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine((s + 1) / steps, 0.05))
    history: dict[str, list[float]] = {"loss": [], "reconstruction": [], "kl": []}
    it = range(steps)
    for _ in progress(it) if progress else it:
        idx = torch.randint(0, len(images), (batch_size,), generator=gen)
        parts = autoencoder_loss(model, images[idx].to(device), kl_weight, generator=None)
        clipped_step(opt, parts["loss"], max_norm=1.0)
        sched.step()
        for key, value in parts.items():
            history[key].append(value.item())
    model.eval()
    model.fit_scale(images[:2000].to(device))
    return history
