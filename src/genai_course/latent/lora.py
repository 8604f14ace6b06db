r"""LoRA: fine-tune a frozen layer through a low-rank update (Hu et al., 2021, eq. 3).

A frozen linear layer W (d_out × d_in) gets a trainable update of rank r::

    h = W x + (α / r) · B A x        A: (r × d_in), Gaussian;  B: (d_out × r), zeros

B starts at zero, so training starts exactly from the pretrained model; α / r keeps the update's
scale roughly independent of r, so one learning rate serves every rank. After training the update
folds into the weight, W' = W + (α / r) B A, and the model runs at its original speed
(:func:`merge_lora`). Only A and B are saved: a LoRA file holds r (d_in + d_out) numbers per
layer instead of d_in · d_out.

Stable Diffusion LoRAs usually adapt the attention projections (``to_q``, ``to_k``, ``to_v``,
``to_out``); :data:`CROSS_ATTENTION` picks the same four projections of every cross-attention
layer of the course U-Net, where the text enters the image.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

CROSS_ATTENTION = ("cross.q_proj", "cross.k_proj", "cross.v_proj", "cross.out_proj")


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus the trainable low-rank update (α/r)·B A."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float | None = None):
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise ValueError(f"LoRA wraps an nn.Linear, got {type(base).__name__}")
        if (
            isinstance(rank, bool)
            or not isinstance(rank, int)
            or not 1 <= rank <= min(base.in_features, base.out_features)
        ):
            raise ValueError(f"rank must be an int in [1, {min(base.in_features, base.out_features)}], got {rank!r}")
        self.base = base.requires_grad_(False)
        self.rank = rank
        self.alpha = float(rank if alpha is None else alpha)
        self.scaling = self.alpha / rank  # α / r
        self.A = nn.Parameter(torch.empty(rank, base.in_features))  # (r d_in)
        self.B = nn.Parameter(torch.zeros(base.out_features, rank))  # (d_out r): ΔW = 0 at the start
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))  # nn.Linear's own initialisation, as in the paper's code

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (… d_in) → (… d_out): W x + b + (α/r) B (A x)."""
        return self.base(x) + self.scaling * F.linear(F.linear(x, self.A), self.B)

    def merged_weight(self) -> torch.Tensor:
        """W' = W + (α/r) B A (d_out d_in)."""
        return self.base.weight + self.scaling * self.B @ self.A


def add_lora(model: nn.Module, rank: int, alpha: float | None = None, targets=CROSS_ATTENTION) -> list[str]:
    """Freeze ``model`` and wrap every ``nn.Linear`` whose name ends with one of ``targets`` in a
    :class:`LoRALinear`. Returns the wrapped layers' names; none found raises ``ValueError``."""
    model.requires_grad_(False)
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear) and n.endswith(tuple(targets))]
    if not names:
        raise ValueError(f"no nn.Linear in the model has a name ending with one of {tuple(targets)}")
    for name in names:
        parent, _, child = name.rpartition(".")
        owner = model.get_submodule(parent) if parent else model
        setattr(owner, child, LoRALinear(getattr(owner, child), rank, alpha))
    return names


def lora_layers(model: nn.Module) -> dict[str, LoRALinear]:
    return {n: m for n, m in model.named_modules() if isinstance(m, LoRALinear)}


def lora_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Only the A and B matrices (what a LoRA file ships), by layer name."""
    return {f"{n}.{k}": getattr(m, k).detach().cpu() for n, m in lora_layers(model).items() for k in ("A", "B")}


def load_lora_state_dict(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Copy A and B matrices saved by :func:`lora_state_dict` into a model with the same LoRA layers."""
    layers = lora_layers(model)
    expected = {f"{n}.{k}" for n in layers for k in ("A", "B")}
    if set(state) != expected:
        missing, extra = sorted(expected - set(state)), sorted(set(state) - expected)
        raise ValueError(f"LoRA state does not fit the model: missing {missing[:3]}, unexpected {extra[:3]}")
    with torch.no_grad():
        for key, value in state.items():
            name, _, which = key.rpartition(".")
            target = getattr(layers[name], which)
            if target.shape != value.shape:
                raise ValueError(f"{key}: expected shape {tuple(target.shape)}, got {tuple(value.shape)}")
            target.copy_(value)


@torch.no_grad()
def merge_lora(model: nn.Module) -> nn.Module:
    """Fold every LoRA update into its layer: each :class:`LoRALinear` becomes a plain ``nn.Linear``
    with weight W + (α/r) B A. The model is changed in place and returned."""
    for name, layer in lora_layers(model).items():
        merged = nn.Linear(layer.base.in_features, layer.base.out_features, bias=layer.base.bias is not None)
        merged = merged.to(layer.base.weight.device, layer.base.weight.dtype)
        merged.weight.copy_(layer.merged_weight())
        if layer.base.bias is not None:
            merged.bias.copy_(layer.base.bias)
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, child, merged.requires_grad_(False))
    return model
