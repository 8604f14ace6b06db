"""Spectral normalization (Miyato et al. 2018): divide each weight by its largest singular value.

A layer x ↦ W x is σ(W)-Lipschitz, where σ(W) is W's largest singular value (its spectral
norm). Dividing W by σ(W) makes every layer, and so the whole discriminator (with 1-Lipschitz
activations), at most 1-Lipschitz. σ(W) is estimated cheaply by power iteration, one step per
training step, carrying the vector ``u`` over from the previous step.
"""

from __future__ import annotations

import torch
from torch import nn


def power_iteration(
    weight: torch.Tensor, n_iter: int = 20, u: torch.Tensor | None = None, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Estimate the largest singular value of ``weight`` (out, in...) -> (sigma, u).

    Convolution kernels (o c kh kw) are flattened to (o, c·kh·kw) as torch does.
    Each iteration: v = Wᵀu/‖Wᵀu‖, u = Wv/‖Wv‖; then σ ≈ uᵀ W v.
    """
    if not isinstance(weight, torch.Tensor) or weight.dim() < 2:
        got = tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__
        raise ValueError(f"weight must be a tensor with at least 2 dims (out, in...), got {got}")
    w = weight.detach().flatten(1)
    if u is None:
        u = torch.randn(w.shape[0], generator=generator, dtype=w.dtype).to(w.device)
    u = u / u.norm()
    v = None
    for _ in range(max(1, n_iter)):
        v = w.T @ u
        v = v / (v.norm() + 1e-12)
        u = w @ v
        u = u / (u.norm() + 1e-12)
    return u @ w @ v, u


def spectral_norm(module: nn.Module) -> nn.Module:
    """Apply torch's spectral-norm parametrization to a Linear/Conv layer (returns it)."""
    if not isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.Embedding)):
        raise ValueError(f"spectral_norm expects a Linear/Conv/Embedding layer, got {type(module).__name__}")
    return nn.utils.parametrizations.spectral_norm(module)


def apply_spectral_norm(model: nn.Module) -> nn.Module:
    """Spectral-normalize every Linear and Conv2d inside ``model`` (in place; returns it)."""
    for name, child in list(model.named_children()):
        if isinstance(child, (nn.Linear, nn.Conv2d)):
            setattr(model, name, spectral_norm(child))
        else:
            apply_spectral_norm(child)
    return model
