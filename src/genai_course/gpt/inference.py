"""Making a trained GPT cheaper to run: int8 dynamic quantization and knowledge distillation.

- :func:`quantize_int8`: every ``nn.Linear`` stores int8 weights and quantizes its input on
  the fly (``torch.ao.quantization.quantize_dynamic``); embeddings and LayerNorms stay float.
- :func:`distill`: train a smaller *student* to match a *teacher*'s next-token distributions
  (Hinton et al., 2015) instead of the one-hot next token: the loss is the cross-entropy
  between the teacher's softened probabilities and the student's, mixed with the usual loss.
"""

from __future__ import annotations

import io
import warnings

import torch
import torch.nn.functional as F
from einops import rearrange

from ..utils import progress
from .model import GPT
from .train import TrainConfig, configure_optimizer, get_batch, lr_at


def quantize_int8(model: GPT) -> torch.nn.Module:
    """A copy of ``model`` whose linear layers use int8 weights (CPU inference only)."""
    import copy

    with warnings.catch_warnings():  # torch marks its eager quantization API as deprecated
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(
            copy.deepcopy(model).cpu().eval(), {torch.nn.Linear}, dtype=torch.qint8
        )


def serialized_bytes(model: torch.nn.Module) -> int:
    """Size of the saved state dict in bytes (shared tensors counted once)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
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
