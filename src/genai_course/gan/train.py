"""One generic GAN training loop: n_critic discriminator steps per generator step, any loss.

The loop only needs three callables, so the same code trains the 2-D MLPs, the digit DCGAN
and the conditional GAN:

- ``sample_real(batch_size) -> (x, cond)``: real data (``cond`` is ``None`` if unconditional);
- ``sample_latent(batch_size) -> (z, cond)``: generator input (and labels to generate);
- ``generator(z, *cond)`` and ``discriminator(x, *cond)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ..utils import progress
from .losses import LOSSES, d_loss, g_loss, gradient_penalty, r1_penalty


@dataclass
class GANTrainConfig:
    loss: str = "nonsaturating"  # minimax | nonsaturating | hinge | wasserstein
    steps: int = 2000  # generator steps
    n_critic: int = 1  # discriminator steps per generator step
    batch_size: int = 256
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    betas: tuple = (0.5, 0.999)
    gp_weight: float = 0.0  # λ of the WGAN-GP gradient penalty (0: off)
    r1_weight: float = 0.0  # γ of the R1 penalty, applied as γ/2·R1 (0: off)
    # lazy regularization (Karras et al. 2020, StyleGAN2 appendix B): the penalty on every
    # r1_every-th discriminator step only, scaled by r1_every so its average pull is unchanged
    r1_every: int = 1
    lr_decay: bool = False  # decay both learning rates linearly to 0 over the run
    log_every: int = 100
    desc: str = "GAN"

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.steps < 1 or self.n_critic < 1 or self.batch_size < 1 or self.r1_every < 1:
            raise ValueError(
                f"steps, n_critic, batch_size and r1_every must be >= 1, got {self.steps}, {self.n_critic}, "
                f"{self.batch_size}, {self.r1_every}"
            )


@dataclass
class GANHistory:
    step: list = field(default_factory=list)
    d_loss: list = field(default_factory=list)
    g_loss: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # whatever the callback returned, by key


def _cond(c):
    return () if c is None else (c,)


def train_gan(
    generator: torch.nn.Module,
    discriminator: torch.nn.Module,
    sample_real: Callable,
    sample_latent: Callable,
    config: GANTrainConfig,
    callback: Callable | None = None,
    opt_g=None,
    opt_d=None,
) -> GANHistory:
    """Train in place and return the logged history.

    ``callback(step)`` is called every ``log_every`` generator steps (and at the end); a dict it
    returns is appended to ``history.extra``. Optimizers default to Adam with ``config``'s rates.
    """
    cfg = config
    opt_g = opt_g or torch.optim.Adam(generator.parameters(), lr=cfg.lr_g, betas=cfg.betas)
    opt_d = opt_d or torch.optim.Adam(discriminator.parameters(), lr=cfg.lr_d, betas=cfg.betas)
    hist = GANHistory()
    base_lrs = [[g["lr"] for g in opt.param_groups] for opt in (opt_g, opt_d)]
    for step in progress(range(1, cfg.steps + 1), desc=cfg.desc):
        if cfg.lr_decay:  # smaller steps late in training sharpen the samples instead of chasing modes
            for opt, lrs in zip((opt_g, opt_d), base_lrs, strict=True):
                for group, lr in zip(opt.param_groups, lrs, strict=True):
                    group["lr"] = lr * (1 - (step - 1) / cfg.steps)
        for critic_step in range(cfg.n_critic):
            x, c_real = sample_real(cfg.batch_size)
            z, c_fake = sample_latent(cfg.batch_size)
            with torch.no_grad():
                fake = generator(z, *_cond(c_fake))
            loss_d = d_loss(cfg.loss, discriminator(x, *_cond(c_real)), discriminator(fake, *_cond(c_fake)))
            if cfg.gp_weight > 0:
                if c_real is not None and c_fake is not None and not torch.equal(c_real, c_fake):
                    raise ValueError(
                        "the gradient penalty interpolates real and fake pairs: use the same labels for both"
                    )
                loss_d = loss_d + cfg.gp_weight * gradient_penalty(discriminator, x, fake, None, *_cond(c_real))
            d_step = (step - 1) * cfg.n_critic + critic_step
            if cfg.r1_weight > 0 and d_step % cfg.r1_every == 0:
                r1 = r1_penalty(discriminator, x, *_cond(c_real))
                loss_d = loss_d + 0.5 * cfg.r1_weight * cfg.r1_every * r1
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        z, c_fake = sample_latent(cfg.batch_size)
        loss_g = g_loss(cfg.loss, discriminator(generator(z, *_cond(c_fake)), *_cond(c_fake)))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        if step % cfg.log_every == 0 or step == cfg.steps:
            hist.step.append(step)
            hist.d_loss.append(loss_d.item())
            hist.g_loss.append(loss_g.item())
            if callback is not None:
                out = callback(step)
                for k, v in (out or {}).items():
                    hist.extra.setdefault(k, []).append(v)
    return hist
