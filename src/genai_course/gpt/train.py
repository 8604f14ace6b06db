"""Pretraining a GPT: batches, AdamW with weight-decay groups, warm-up + cosine learning rate,
gradient clipping, periodic validation, checkpoints, and DistributedDataParallel.

Losses are reported in **nats per character**: a model's mean loss per token times tokens per
character of the text it is scored on. A character model and a BPE model then compare, and
the numbers compare with nanoGPT's char-level runs.

Run under ``torchrun --nproc_per_node=N -m genai_course.gpt.train --text FILE ...`` for data
parallelism: every rank draws the same global batch from the same seeded generator, takes its
own slice, and DDP averages the gradients, so N processes take exactly the step one process
would take on the whole batch.
"""
from __future__ import annotations

import io
import math
import os
import pickle
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from ..utils import progress
from .model import GPT, GPTConfig
from .tokenizers import tokenizer_from_dict


@dataclass
class TrainConfig:
    batch_size: int = 32  # sequences per optimizer step (the global batch, over all ranks)
    max_iters: int | None = 2000  # stop after this many steps …
    max_seconds: float | None = None  # … or after this much wall time (the schedule follows time)
    lr: float = 2e-3
    min_lr: float = 2e-4
    warmup_iters: int = 50
    warmup_fraction: float = 0.03  # warm-up length when training for a time budget
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0
    eval_interval: int = 250
    eval_iters: int = 20
    seed: int = 0
    history: list = field(default_factory=list, repr=False)

    def __post_init__(self):
        if self.max_iters is None and self.max_seconds is None:
            raise ValueError("give max_iters or max_seconds")
        if self.batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}")


def get_batch(ids: torch.Tensor, batch_size: int, block_size: int, generator: torch.Generator):
    """Random windows of ``block_size + 1`` tokens → inputs x (b t) and next-token targets y (b t)."""
    if len(ids) <= block_size:
        raise ValueError(f"need more than block_size={block_size} tokens, got {len(ids)}")
    starts = torch.randint(len(ids) - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size + 1)
    windows = ids[starts[:, None] + offsets]  # (b t+1)
    return windows[:, :-1], windows[:, 1:]


def lr_at(fraction: float, cfg: TrainConfig, warmup: float) -> float:
    """Linear warm-up over the first ``warmup`` of training, then cosine decay to ``min_lr``."""
    if fraction < warmup:
        return cfg.lr * (fraction + 1e-9) / warmup
    decay = min(1.0, (fraction - warmup) / max(1e-9, 1.0 - warmup))
    return cfg.min_lr + 0.5 * (1.0 + math.cos(math.pi * decay)) * (cfg.lr - cfg.min_lr)


def configure_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW; weight decay only on matrices (embeddings and linear weights), never on biases or norms."""
    params = [p for p in model.parameters() if p.requires_grad]  # the tied head appears once
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))


@torch.no_grad()
def estimate_loss(model: GPT, ids: torch.Tensor, iters: int, batch_size: int, generator: torch.Generator,
                  device) -> float:
    """Mean loss (nats/token) over ``iters`` random batches: cheap, for progress during training."""
    was = model.training
    model.eval()
    losses = []
    for _ in range(iters):
        x, y = get_batch(ids, batch_size, model.config.block_size, generator)
        losses.append(model(x.to(device), y.to(device))[1].item())
    model.train(was)
    return sum(losses) / len(losses)


@torch.no_grad()
def evaluate(model: GPT, ids: torch.Tensor, batch_size: int = 32, device="cpu") -> float:
    """Mean loss (nats/token) over the *whole* of ``ids``, in consecutive windows of block_size."""
    was = model.training
    model.eval()
    t = model.config.block_size
    n = (len(ids) - 1) // t
    if n == 0:
        raise ValueError(f"need more than block_size={t} tokens to evaluate, got {len(ids)}")
    x = ids[: n * t].view(n, t)
    y = ids[1: n * t + 1].view(n, t)
    total = 0.0
    for i in range(0, n, batch_size):
        _, loss = model(x[i:i + batch_size].to(device), y[i:i + batch_size].to(device))
        total += loss.item() * len(x[i:i + batch_size])
    model.train(was)
    return total / n


def _dist():
    """(rank, world_size), initialising torch.distributed when launched by torchrun."""
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    rank = dist.get_rank() if world > 1 else 0
    return rank, world


def train(model: GPT, train_ids: torch.Tensor, val_ids: torch.Tensor, cfg: TrainConfig,
          chars_per_token: tuple[float, float] = (1.0, 1.0), device="cpu", show_progress: bool = True) -> dict:
    """Train ``model`` in place; returns the history in nats per character.

    ``chars_per_token`` = (train, val) characters per token, to convert nats/token to nats/char.
    """
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    rank, world = _dist()
    if cfg.batch_size % world:
        raise ValueError(f"batch_size={cfg.batch_size} must be divisible by the {world} processes")
    local = cfg.batch_size // world
    model.to(device).train()
    net = DDP(model) if world > 1 else model
    opt = configure_optimizer(model, cfg)
    gen = torch.Generator().manual_seed(cfg.seed)  # identical on every rank: same global batches
    eval_gen = torch.Generator().manual_seed(cfg.seed + 1)
    tpc_train, tpc_val = 1.0 / chars_per_token[0], 1.0 / chars_per_token[1]
    hist = {"iter": [], "seconds": [], "train_loss": [], "eval_iter": [], "eval_seconds": [],
            "val_loss": [], "tokens": 0}
    warmup = (cfg.warmup_iters / cfg.max_iters) if cfg.max_iters else cfg.warmup_fraction
    bar = progress(total=cfg.max_iters, disable=not show_progress or rank != 0, desc="train")
    start = time.perf_counter()
    it = 0
    while True:
        elapsed = time.perf_counter() - start
        fraction = max(it / cfg.max_iters if cfg.max_iters else 0.0,
                       elapsed / cfg.max_seconds if cfg.max_seconds else 0.0)
        if fraction >= 1.0:
            break
        if cfg.eval_interval and it % cfg.eval_interval == 0 and it > 0:
            val = estimate_loss(model, val_ids, cfg.eval_iters, local, eval_gen, device) * tpc_val
            hist["eval_iter"].append(it)
            hist["eval_seconds"].append(elapsed)
            hist["val_loss"].append(val)
        for group in opt.param_groups:
            group["lr"] = lr_at(fraction, cfg, warmup)
        x, y = get_batch(train_ids, cfg.batch_size, model.config.block_size, gen)
        x, y = x[rank * local:(rank + 1) * local].to(device), y[rank * local:(rank + 1) * local].to(device)
        _, loss = net(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        loss_value = loss.detach()
        if world > 1:
            dist.all_reduce(loss_value)
            loss_value /= world
        hist["iter"].append(it)
        hist["seconds"].append(time.perf_counter() - start)
        hist["train_loss"].append(loss_value.item() * tpc_train)
        hist["tokens"] += cfg.batch_size * model.config.block_size
        it += 1
        bar.update(1)
        if it % 50 == 0:
            bar.set_postfix(loss=f"{hist['train_loss'][-1]:.3f}")
    bar.close()
    hist["train_seconds"] = time.perf_counter() - start
    hist["tokens_per_second"] = hist["tokens"] / hist["train_seconds"]
    return hist


# ---------------------------------------------------------------------------- checkpoints

def save_checkpoint(path, model: GPT, tokenizer, metrics: dict | None = None, train_config=None) -> Path:
    """One file: weights, model config, tokenizer and recorded metrics."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    state.pop("lm_head.weight", None)  # tied to wte.weight: stored once
    blob = {
        "format": "genai_course.gpt/1",
        "model": state,
        "model_config": model.config.to_dict(),
        "tokenizer": tokenizer.to_dict(),
        "metrics": metrics or {},
        "train_config": {k: v for k, v in asdict(train_config).items() if k != "history"} if train_config else {},
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)  # never leave a half-written checkpoint under the real name
    return path


def load_checkpoint(path, device="cpu"):
    """→ (model, tokenizer, blob). A missing, truncated or corrupt file raises ``ValueError``."""
    path = Path(path)
    if path.is_dir():
        path = path / "ckpt.pt"
    if not path.exists():
        raise ValueError(f"checkpoint {path} does not exist")
    try:
        blob = torch.load(io.BytesIO(path.read_bytes()), map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, KeyError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"checkpoint {path} is truncated or corrupt ({first[:120]})") from None
    if not isinstance(blob, dict) or blob.get("format") != "genai_course.gpt/1":
        raise ValueError(f"{path} is not a genai-course GPT checkpoint")
    model = GPT(GPTConfig(**blob["model_config"]))
    state = dict(blob["model"])
    state["lm_head.weight"] = state["wte.weight"]
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"checkpoint {path} does not match its config: {str(err).splitlines()[0]}") from None
    return model.to(device).eval(), tokenizer_from_dict(blob["tokenizer"]), blob


# ---------------------------------------------------------------------------- from text to a model

def prepare_data(text: str, tokenizer, val_fraction: float = 0.1):
    """Split the text (last 10 % validation), encode both parts → ids and characters per token."""
    from ..data.corpus import train_val_split

    train_text, val_text = train_val_split(text, val_fraction)
    train_ids = torch.tensor(tokenizer.encode(train_text), dtype=torch.long)
    val_ids = torch.tensor(tokenizer.encode(val_text), dtype=torch.long)
    return train_ids, val_ids, (len(train_text) / len(train_ids), len(val_text) / len(val_ids))


def main(argv=None) -> int:
    """``python -m genai_course.gpt.train`` (or under torchrun): the same as ``genai-course train-gpt``."""
    import argparse

    from .commands import add_train_arguments, run_train

    parser = argparse.ArgumentParser(prog="python -m genai_course.gpt.train")
    add_train_arguments(parser)
    args = parser.parse_args(argv)
    return run_train(args)


if __name__ == "__main__":
    import sys

    from ..errors import CommandError

    try:
        sys.exit(main())
    except (CommandError, ValueError, OSError) as err:
        print(f"train: error: {err}", file=sys.stderr)
        sys.exit(2)
