"""GAN objectives, written on the discriminator's raw scores (logits), plus gradient penalties.

Notation: ``real_scores`` and ``fake_scores`` are ``(b,)`` or ``(b 1)`` outputs of the
discriminator (critic) before any sigmoid. Every loss is a scalar to *minimize*.

- minimax (Goodfellow et al. 2014): D maximizes log D(x) + log(1 - D(G(z))); G minimizes
  log(1 - D(G(z))) -- the *saturating* generator loss, whose gradient vanishes when D wins.
- non-saturating: G maximizes log D(G(z)) instead; same fixed point, strong early gradients.
- hinge (used with spectral norm): D minimizes relu(1 - D(x)) + relu(1 + D(G(z))); G minimizes -D(G(z)).
- Wasserstein (WGAN-GP): critic minimizes D(G(z)) - D(x) + λ·(‖∇D(x̂)‖ - 1)².
- R1: γ/2 · ‖∇D(x)‖² on real data only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("minimax", "nonsaturating", "hinge", "wasserstein")


def _scores(x: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a float tensor, got dtype {x.dtype}")
    if x.dim() == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.dim() != 1:
        raise ValueError(f"{name} must have shape (b,) or (b 1), got {tuple(x.shape)}")
    return x


def d_loss_minimax(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """-[log σ(D(x)) + log(1 - σ(D(G(z))))], averaged; softplus keeps it stable for large logits."""
    r, f = _scores(real_scores, "real_scores"), _scores(fake_scores, "fake_scores")
    return F.softplus(-r).mean() + F.softplus(f).mean()  # -log σ(r) = softplus(-r); -log(1-σ(f)) = softplus(f)


def g_loss_saturating(fake_scores: torch.Tensor) -> torch.Tensor:
    """The original minimax generator loss: minimize log(1 - σ(D(G(z)))) = -softplus(D(G(z)))."""
    return -F.softplus(_scores(fake_scores, "fake_scores")).mean()


def g_loss_nonsaturating(fake_scores: torch.Tensor) -> torch.Tensor:
    """Minimize -log σ(D(G(z))) = softplus(-D(G(z)))."""
    return F.softplus(-_scores(fake_scores, "fake_scores")).mean()


def d_loss_hinge(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    r, f = _scores(real_scores, "real_scores"), _scores(fake_scores, "fake_scores")
    return F.relu(1 - r).mean() + F.relu(1 + f).mean()


def g_loss_hinge(fake_scores: torch.Tensor) -> torch.Tensor:
    return -_scores(fake_scores, "fake_scores").mean()


def d_loss_wasserstein(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Critic loss E[D(G(z))] - E[D(x)] (add :func:`gradient_penalty` to keep D 1-Lipschitz)."""
    return _scores(fake_scores, "fake_scores").mean() - _scores(real_scores, "real_scores").mean()


def g_loss_wasserstein(fake_scores: torch.Tensor) -> torch.Tensor:
    return -_scores(fake_scores, "fake_scores").mean()


def _check_pair(real: torch.Tensor, fake: torch.Tensor) -> None:
    if not isinstance(real, torch.Tensor) or not isinstance(fake, torch.Tensor):
        raise ValueError("real and fake must be torch tensors")
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}")


def gradient_penalty(
    critic, real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor | None = None, *rest, **kwargs
) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(‖∇ₓ D(x̂)‖₂ - 1)²] at x̂ = ε x + (1 - ε) x̃, ε ~ U(0, 1).

    ``real`` and ``fake`` are ``(b ...)``; ``eps`` (``(b,)``) may be given for reproducible
    checks. Extra positional/keyword arguments (e.g. class labels) are passed to ``critic``.
    ``create_graph=True`` because the penalty itself is differentiated when D is updated.
    """
    _check_pair(real, fake)
    b = real.shape[0]
    if eps is None:
        eps = torch.rand(b, device=real.device, dtype=real.dtype)
    eps = eps.reshape(b, *([1] * (real.dim() - 1)))
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat, *rest, **kwargs)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def r1_penalty(critic, real: torch.Tensor, *rest, **kwargs) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): E[‖∇ₓ D(x)‖²] on real samples; multiply by γ/2 yourself."""
    if not isinstance(real, torch.Tensor):
        raise ValueError(f"real must be a torch.Tensor, got {type(real).__name__}")
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x, *rest, **kwargs).sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(dim=1).mean()


def d_loss(kind: str, real_scores, fake_scores) -> torch.Tensor:
    """Discriminator loss by name (``minimax``/``nonsaturating`` share one, as do the others)."""
    if kind in ("minimax", "nonsaturating"):
        return d_loss_minimax(real_scores, fake_scores)
    if kind == "hinge":
        return d_loss_hinge(real_scores, fake_scores)
    if kind == "wasserstein":
        return d_loss_wasserstein(real_scores, fake_scores)
    raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")


def g_loss(kind: str, fake_scores) -> torch.Tensor:
    """Generator loss by name."""
    table = {
        "minimax": g_loss_saturating,
        "nonsaturating": g_loss_nonsaturating,
        "hinge": g_loss_hinge,
        "wasserstein": g_loss_wasserstein,
    }
    if kind not in table:
        raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")
    return table[kind](fake_scores)
