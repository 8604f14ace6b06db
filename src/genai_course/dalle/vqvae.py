r"""A VQ-VAE: images as a grid of discrete tokens, the alphabet DALL·E writes pictures in.

van den Oord et al. (2017) replace the autoencoder's continuous latent by the nearest entry of a
learned codebook e_1 … e_K (each a vector of ``code_dim`` numbers)::

    image (b 3 32 32) ──► encoder ──► z_e (b d 8 8) ──► nearest code k = argmin_j ‖z_e − e_j‖ ──► e_k (b d 8 8) ──► decoder ──► x̂
                                                            └──► codes (b 8 8), integers in [0, K)

The 8×8 grid of integers *is* the image, as far as a transformer is concerned: 64 tokens instead
of 3,072 pixel values. The argmin has no gradient, so training needs three pieces (their eq. 3):

.. math::  L = \underbrace{\lVert x - D(e_k)\rVert^2}_{\text{reconstruction}}
           + \underbrace{\lVert \mathrm{sg}[z_e] - e_k \rVert^2}_{\text{codebook}}
           + \beta\,\underbrace{\lVert z_e - \mathrm{sg}[e_k] \rVert^2}_{\text{commitment}}

- the **straight-through estimator** copies the decoder's gradient at e_k onto z_e, as if the
  quantiser were the identity: ``z_q = z_e + (e_k − z_e).detach()``;
- the **codebook loss** moves each used code towards the encoder outputs assigned to it;
- the **commitment loss** (β = 0.25 in the paper) keeps the encoder near its codes.

Two fixes for the classic failure, **codebook collapse** (most codes never chosen, so never
trained, so never chosen):

- **EMA updates** (the paper's appendix A.1) replace the codebook loss: each code becomes the
  exponential moving average of the encoder outputs assigned to it, N_k ← γN_k + (1−γ)n_k,
  m_k ← γm_k + (1−γ)Σ z_e, e_k = m_k / N_k;
- **dead-code restarts** (Dhariwal et al. 2020, Jukebox §2.3): a code whose moving usage falls
  below a threshold is moved onto a random encoder output of the current batch, where it will
  be used.

Usage is measured by the **perplexity** of the code histogram, exp(−Σ p_k log p_k): K when every
code is used equally, 1 when one code takes everything; and by the share of **dead codes**, never
chosen on a set of evaluation images.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..latent.autoencoder import AutoencoderConfig, Decoder, Encoder
from ..shape_check import expect_shape


@dataclass
class VQVAEConfig:
    codebook_size: int = 256  # K
    code_dim: int = 16  # d, the length of each code vector
    channels: tuple = (16, 32, 64)  # as chapter 6's autoencoder: f = 4, 32×32 → 8×8
    beta: float = 0.25  # commitment weight (van den Oord et al. 2017)
    ema: bool = True  # EMA codebook updates instead of the codebook loss
    ema_decay: float = 0.99  # γ
    restart_dead: bool = True  # move codes whose moving usage falls below restart_below
    restart_below: float = 0.03  # in moving assignments per batch
    usage_decay: float = 0.9  # the moving usage forgets in about ten batches, so dead codes are found fast
    groups: int = 8

    def __post_init__(self):
        for name in ("codebook_size", "code_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                raise ValueError(f"VQVAEConfig.{name} must be an int ≥ 2, got {value!r}")
        self.channels = tuple(self.channels)

    @property
    def factor(self) -> int:
        return 2 ** (len(self.channels) - 1)

    def to_dict(self) -> dict:
        return {**asdict(self), "channels": list(self.channels)}

    @classmethod
    def from_dict(cls, d: dict) -> VQVAEConfig:
        return cls(**d)


class VectorQuantizer(nn.Module):
    """z_e (b d h w) → (z_q (b d h w) with straight-through gradients, codes (b h w), losses).

    The codebook is a buffer when it is learned by EMA (no optimiser touches it) and a parameter
    otherwise (the codebook loss trains it).
    """

    def __init__(self, cfg: VQVAEConfig):
        super().__init__()
        self.cfg = cfg
        k, d = cfg.codebook_size, cfg.code_dim
        init = torch.empty(k, d).uniform_(-1.0 / k, 1.0 / k)  # the reference implementation's start
        if cfg.ema:
            self.register_buffer("codebook", init)
            self.register_buffer("ema_count", torch.ones(k))  # N_k
            self.register_buffer("ema_sum", init.clone())  # m_k = N_k · e_k
        else:
            self.codebook = nn.Parameter(init)
        self.register_buffer("usage", torch.ones(k))  # moving assignments per batch, for restarts

    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        """Vectors (n d) → index of the nearest code (n,): argmin_j ‖z − e_j‖²."""
        # ‖z‖² − 2 z·e + ‖e‖², without the (n k d) tensor of differences
        distances = z.pow(2).sum(1, keepdim=True) - 2 * z @ self.codebook.T + self.codebook.pow(2).sum(1)  # (n k)
        return distances.argmin(dim=1)

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (b h w) → code vectors (b d h w)."""
        return self.codebook[codes].permute(0, 3, 1, 2)

    def forward(self, z_e: torch.Tensor):
        b, d, h, w = z_e.shape
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, d)  # (b·h·w d)
        codes = self.nearest(flat.detach())  # (b·h·w,)
        e_k = self.codebook[codes]  # (b·h·w d)
        commitment = F.mse_loss(flat, e_k.detach())  # ‖z_e − sg[e_k]‖²
        codebook_loss = z_e.new_zeros(()) if self.cfg.ema else F.mse_loss(e_k, flat.detach())  # ‖sg[z_e] − e_k‖²
        if self.training:
            self._update(flat.detach(), codes)
        z_q = flat + (e_k - flat).detach()  # straight-through: forward e_k, backward the identity
        z_q = z_q.reshape(b, h, w, d).permute(0, 3, 1, 2)  # (b d h w)
        return z_q, codes.reshape(b, h, w), {"commitment": commitment, "codebook": codebook_loss}

    @torch.no_grad()
    def _update(self, flat: torch.Tensor, codes: torch.Tensor) -> None:
        """The EMA codebook step and dead-code restarts, after one batch's assignments."""
        gamma, k = self.cfg.ema_decay, self.cfg.codebook_size
        one_hot = F.one_hot(codes, k).type_as(flat)  # (n k)
        counts = one_hot.sum(0)  # n_k
        self.usage.mul_(self.cfg.usage_decay).add_(counts, alpha=1 - self.cfg.usage_decay)
        if self.cfg.ema:
            self.ema_count.mul_(gamma).add_(counts, alpha=1 - gamma)  # N_k ← γN_k + (1−γ)n_k
            self.ema_sum.mul_(gamma).add_(one_hot.T @ flat, alpha=1 - gamma)  # m_k ← γm_k + (1−γ)Σ z_e
            n = self.ema_count.sum()
            smoothed = (self.ema_count + 1e-5) / (n + k * 1e-5) * n  # Laplace smoothing: no division by 0
            self.codebook.copy_(self.ema_sum / smoothed[:, None])  # e_k = m_k / N_k
        if self.cfg.restart_dead:
            dead = (self.usage < self.cfg.restart_below).nonzero().squeeze(1)
            if len(dead):
                pick = torch.randint(0, len(flat), (len(dead),), device=flat.device)
                fresh = flat[pick] + 0.01 * flat.std() * torch.randn_like(flat[pick])
                self.codebook.data[dead] = fresh
                self.usage[dead] = 1.0  # a grace period before it can be declared dead again
                if self.cfg.ema:
                    self.ema_count[dead], self.ema_sum[dead] = 1.0, fresh


class VQVAE(nn.Module):
    """Encoder → vector quantiser → decoder. Images are in [−1, 1]; :meth:`encode` gives codes, :meth:`decode` images."""

    def __init__(self, cfg: VQVAEConfig):
        super().__init__()
        self.cfg = cfg
        net = AutoencoderConfig(latent_channels=cfg.code_dim, channels=cfg.channels, groups=cfg.groups)
        self.encoder = Encoder(net, out_channels=cfg.code_dim)  # chapter 6's encoder, one vector per position
        self.quantizer = VectorQuantizer(cfg)
        self.decoder = Decoder(net)

    def _check(self, x: torch.Tensor) -> None:
        dims = expect_shape(x, "b c h w", c=3, name="images")
        f = self.cfg.factor
        if dims["h"] % f or dims["w"] % f:
            raise ValueError(f"images: height and width must be multiples of f={f}, got {dims['h']}×{dims['w']}")

    def forward(self, x: torch.Tensor) -> dict:
        """x (b 3 H W) in [−1, 1] → {"reconstruction", "codes", "loss" and its parts}."""
        self._check(x)
        z_q, codes, parts = self.quantizer(self.encoder.features(x))
        recon = self.decoder(z_q)
        reconstruction = F.mse_loss(recon, x)
        loss = reconstruction + parts["codebook"] + self.cfg.beta * parts["commitment"]
        return {"loss": loss, "reconstruction_loss": reconstruction, **parts, "reconstruction": recon, "codes": codes}

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images (b 3 H W) in [−1, 1] → codes (b H/f W/f), long."""
        self._check(x)
        z_e = self.encoder.features(x)  # (b d h w)
        b, d, h, w = z_e.shape
        return self.quantizer.nearest(z_e.permute(0, 2, 3, 1).reshape(-1, d)).reshape(b, h, w)

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (b h w) → images (b 3 h·f w·f) in [−1, 1]."""
        expect_shape(codes, "b h w", name="codes")
        if codes.dtype != torch.long or codes.min() < 0 or codes.max() >= self.cfg.codebook_size:
            raise ValueError(f"codes must be int64 in [0, {self.cfg.codebook_size}), got {codes.dtype}")
        return self.decoder(self.quantizer.lookup(codes)).clamp(-1, 1)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def codebook_usage(codes: torch.Tensor, codebook_size: int) -> dict:
    """Perplexity exp(−Σ p log p) of the code histogram, and the share of codes never used."""
    counts = torch.bincount(codes.flatten().cpu(), minlength=codebook_size).double()
    p = counts / counts.sum()
    entropy = -(p[p > 0] * p[p > 0].log()).sum().item()
    return {"perplexity": math.exp(entropy), "dead_share": (counts == 0).double().mean().item()}


def train_vqvae(
    model: VQVAE,
    images: torch.Tensor,
    steps: int,
    batch_size: int = 32,
    lr: float = 2e-3,
    seed: int = 0,
    device="cpu",
    progress=None,
) -> dict[str, list[float]]:
    """Adam on random batches of ``images`` (n 3 H W) in [−1, 1], warm-up then cosine decay → per-step history."""
    from ..optim import clipped_step, warmup_cosine

    expect_shape(images, "n c h w", c=3, name="images")
    gen = torch.Generator("cpu").manual_seed(seed)
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine((s + 1) / steps, 0.05))
    history: dict[str, list[float]] = {"reconstruction_loss": [], "commitment": [], "perplexity": []}
    it = range(steps)
    for _ in progress(it) if progress else it:
        idx = torch.randint(0, len(images), (batch_size,), generator=gen)
        out = model(images[idx].to(device))
        clipped_step(opt, out["loss"], max_norm=1.0)
        sched.step()
        history["reconstruction_loss"].append(out["reconstruction_loss"].item())
        history["commitment"].append(out["commitment"].item())
        history["perplexity"].append(codebook_usage(out["codes"], model.cfg.codebook_size)["perplexity"])
    model.eval()
    return history
