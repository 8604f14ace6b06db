"""Making a trained GPT cheaper to run: int8 weight-only quantization and knowledge distillation.

- :func:`quantize_int8`: every ``nn.Linear`` becomes an :class:`Int8Linear`, which stores its
  weight as int8 with one float scale per output channel (symmetric, absmax); embeddings and
  LayerNorms stay float. Written here rather than taken from ``torch.ao.quantization``, whose
  eager API (``quantize_dynamic``) is deprecated in recent torch in favour of the separate
  ``torchao`` package, which the course does not depend on. Plain torch ops: any device.
- :func:`distill`: train a smaller *student* to match a *teacher*'s next-token distributions
  (Hinton et al., 2015) instead of the one-hot next token: the loss is the cross-entropy
  between the teacher's softened probabilities and the student's, mixed with the usual loss.
"""

from __future__ import annotations

import io
import math

import torch
import torch.nn.functional as F
from einops import rearrange

from ..utils import progress
from .model import GPT
from .train import TrainConfig, configure_optimizer, get_batch, lr_at


class Int8Linear(torch.nn.Module):
    """A linear layer whose weight is stored as int8, one scale per output channel.

    Symmetric per-channel absmax quantization (Jacob et al. 2018, eq. 1 with zero point 0):
    ``scale_o = max_i |W_oi| / 127`` and ``W_q = round(W / scale)`` in [-127, 127]. Because the
    scale belongs to an output row, ``x W^T = (x W_q^T) · scale``: the product runs on the int8
    weight cast to the input's dtype and the scale is applied to the (b t o) output, so no float
    copy of the weight is ever kept. Weight-only: activations stay float, which saves memory
    (4x on the weight) but not arithmetic; fused int8 kernels are what make it faster.
    """

    def __init__(self, weight_q: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        if weight_q.dtype != torch.int8 or weight_q.dim() != 2 or scale.shape != weight_q.shape[:1]:
            raise ValueError(
                f"expected an int8 weight (o i) and a scale (o,), got {weight_q.dtype} {tuple(weight_q.shape)} "
                f"and {tuple(scale.shape)}"
            )
        self.register_buffer("weight_q", weight_q)  # (o i) int8
        self.register_buffer("scale", scale)  # (o,) float
        self.register_buffer("bias", bias)  # (o,) or None
        self.in_features, self.out_features = weight_q.shape[1], weight_q.shape[0]

    @classmethod
    @torch.no_grad()
    def from_linear(cls, linear: torch.nn.Linear) -> Int8Linear:
        w = linear.weight.detach().float()  # (o i)
        scale = w.abs().amax(dim=1).clamp(min=1e-12) / 127  # one scale per output channel
        weight_q = torch.round(w / scale[:, None]).clamp(-127, 127).to(torch.int8)
        bias = None if linear.bias is None else linear.bias.detach().clone()
        return cls(weight_q, scale, bias)

    def dequantized_weight(self) -> torch.Tensor:
        """The float weight the int8 one stands for (o i): W_q · scale."""
        return self.weight_q.float() * self.scale[:, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (... i) → (... o)
        y = F.linear(x, self.weight_q.to(x.dtype)) * self.scale.to(x.dtype)
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 per-channel"


def quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` (in eval mode, on the same device) whose ``nn.Linear`` layers are
    :class:`Int8Linear`. A head tied to the embedding gets its own int8 copy; the float embedding
    stays, as with ``torch.ao``'s dynamic quantization."""
    import copy

    q = copy.deepcopy(model).eval()

    def swap(module: torch.nn.Module) -> None:
        for name, child in module.named_children():
            if isinstance(child, torch.nn.Linear):
                setattr(module, name, Int8Linear.from_linear(child))
            else:
                swap(child)

    swap(q)
    return q


def serialized_bytes(model: torch.nn.Module) -> int:
    """Size of the saved state dict in bytes (shared tensors counted once)."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell()


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    targets: torch.Tensor,
    alpha: float = 0.5,
    temperature: float = 1.0,
) -> torch.Tensor:
    """alpha · CE(teacher soft targets, student) · T² + (1 − alpha) · CE(next token, student).

    Logits (b t v), targets (b t). The T² keeps the soft term's gradient scale independent of T.
    """
    s = rearrange(student_logits, "b t v -> (b t) v")
    t = rearrange(teacher_logits, "b t v -> (b t) v")
    soft_targets = (t / temperature).softmax(-1)
    soft = -(soft_targets * (s / temperature).log_softmax(-1)).sum(-1).mean() * temperature**2
    hard = F.cross_entropy(s, rearrange(targets, "b t -> (b t)"))
    return alpha * soft + (1 - alpha) * hard


def distill(
    student: GPT,
    teacher: GPT,
    train_ids: torch.Tensor,
    cfg: TrainConfig,
    alpha: float = 0.5,
    temperature: float = 1.0,
    device="cpu",
    show_progress: bool = True,
) -> list[float]:
    """Train ``student`` on ``distillation_loss`` against a frozen ``teacher``; returns the losses.

    ``alpha=0`` is ordinary pretraining on the same batches, the fair baseline. The student's
    context must not exceed the teacher's.
    """
    if student.config.block_size > teacher.config.block_size:
        raise ValueError(
            f"student block_size {student.config.block_size} exceeds the teacher's {teacher.config.block_size}"
        )
    if student.config.vocab_size != teacher.config.vocab_size:
        raise ValueError(f"student vocab {student.config.vocab_size} ≠ teacher vocab {teacher.config.vocab_size}")
    teacher.eval()
    student.to(device).train()
    opt = configure_optimizer(student, cfg)
    gen = torch.Generator("cpu").manual_seed(cfg.seed)
    warmup = cfg.warmup_iters / cfg.max_iters
    losses = []
    for it in progress(range(cfg.max_iters), desc="distill"):
        for group in opt.param_groups:
            group["lr"] = lr_at(it / cfg.max_iters, cfg, warmup)
        x, y = get_batch(train_ids, cfg.batch_size, student.config.block_size, gen)
        x, y = x.to(device), y.to(device)
        logits, _ = student(x)
        if alpha > 0:
            with torch.no_grad():
                teacher_logits, _ = teacher(x)
        else:
            teacher_logits = logits.detach()
        loss = distillation_loss(logits, teacher_logits, y, alpha, temperature)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), cfg.grad_clip)
        opt.step()
        losses.append(loss.item())
    student.eval()
    return losses


def attend_with_cache(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cache_k: torch.Tensor, cache_v: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One generation step of attention with a KV cache, written out (the exercise's reference).

    ``q, k, v`` (b h 1 d) belong to the newest token; ``cache_k, cache_v`` (b h t d) to the t
    tokens before it (t may be 0). The new key and value are appended along the time axis, then
    the new query attends over all t + 1 keys, itself included, with no mask: it is the last
    token, so every cached key lies in its past. → (out (b h 1 d), keys, values (b h t+1 d)).
    """
    if q.dim() != 4 or q.shape[2] != 1 or k.shape != q.shape or v.shape != q.shape:
        raise ValueError(f"q, k, v must each be (b h 1 d), got {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    keys = torch.cat([cache_k, k], dim=2)  # (b h t+1 d)
    values = torch.cat([cache_v, v], dim=2)
    scores = q @ keys.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (b h 1 t+1)
    return scores.softmax(-1) @ values, keys, values
