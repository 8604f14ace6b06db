"""Pretraining a GPT: batches, AdamW with weight-decay groups, warm-up + cosine learning rate,
gradient clipping, periodic validation, checkpoints, and DistributedDataParallel.

Losses are reported in **nats per character**: a model's mean loss per token times tokens per
character of the text it is scored on. A character model and a BPE model then compare, and
the numbers compare with nanoGPT's char-level runs.

Run under ``torchrun --nproc_per_node=N -m genai_course train-gpt --text FILE ...`` for data
parallelism: every rank draws the same global batch from the same seeded generator, takes its
own slice, and DDP averages the gradients, so N processes take exactly the step one process
would take on the whole batch.
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .. import rng
from ..checkpoint_io import check_state_dict, read_torch, remake_hint, save_torch
from ..errors import CheckpointError, TrainingDiverged
from ..optim import warmup_cosine
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
        if self.max_iters is not None and self.max_iters <= 0:
            raise ValueError(f"max_iters must be positive, got {self.max_iters}")
        if self.max_seconds is not None and not (math.isfinite(self.max_seconds) and self.max_seconds > 0):
            raise ValueError(f"max_seconds must be finite and positive, got {self.max_seconds}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be finite and positive, got {self.lr}")
        if not (math.isfinite(self.min_lr) and 0 <= self.min_lr <= self.lr):
            raise ValueError(f"min_lr must lie in [0, lr={self.lr}], got {self.min_lr}")
        if self.eval_interval < 0:
            raise ValueError(f"eval_interval must be ≥ 0 (0: never), got {self.eval_interval}")


def get_batch(ids: torch.Tensor, batch_size: int, block_size: int, generator: torch.Generator):
    """Random windows of ``block_size + 1`` tokens → inputs x (b t) and next-token targets y (b t)."""
    if len(ids) <= block_size:
        raise ValueError(f"need more than block_size={block_size} tokens, got {len(ids)}")
    starts = torch.randint(len(ids) - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size + 1)
    windows = ids[starts[:, None] + offsets]  # (b t+1)
    return windows[:, :-1], windows[:, 1:]


def lr_at(fraction: float, cfg: TrainConfig, warmup: float) -> float:
    """The learning rate at ``fraction`` of the run: the course's one schedule (:func:`~genai_course.optim.warmup_cosine`),
    warming up over the first ``warmup`` of training and decaying from ``cfg.lr`` to ``cfg.min_lr``."""
    return cfg.lr * warmup_cosine(fraction, warmup, cfg.min_lr / cfg.lr)


def configure_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW; weight decay only on matrices (embeddings and linear weights), never on biases or norms."""
    params = [p for p in model.parameters() if p.requires_grad]  # the tied head appears once
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))


@torch.no_grad()
def estimate_loss(
    model: GPT, ids: torch.Tensor, iters: int, batch_size: int, generator: torch.Generator, device
) -> float:
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
def token_losses(model: GPT, ids: torch.Tensor, batch_size: int = 32, device="cpu"):
    """Per-token loss over the *whole* of ``ids`` (t,), cut into consecutive windows of block_size →
    (targets (n·t,), nats (n·t,)): the loss of predicting each target from the tokens before it in its window."""
    was = model.training
    model.eval()
    t = model.config.block_size
    n = (len(ids) - 1) // t
    if n == 0:
        raise ValueError(f"need more than block_size={t} tokens to evaluate, got {len(ids)}")
    x = ids[: n * t].view(n, t)  # (n t) inputs
    y = ids[1 : n * t + 1].view(n, t)  # (n t) next tokens
    nats = []
    for i in range(0, n, batch_size):
        logits, _ = model(x[i : i + batch_size].to(device))  # (b t v)
        target = y[i : i + batch_size].to(device)
        nats.append(torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, reduction="none").cpu())
    model.train(was)
    return y.flatten(), torch.cat(nats).flatten()


def evaluate(model: GPT, ids: torch.Tensor, batch_size: int = 32, device="cpu") -> float:
    """Mean loss (nats/token) over the *whole* of ``ids``, in consecutive windows of block_size."""
    return token_losses(model, ids, batch_size, device)[1].mean().item()


def _dist():
    """(rank, world_size), initialising torch.distributed when launched by torchrun."""
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    rank = dist.get_rank() if world > 1 else 0
    return rank, world


class _DeferredInterrupt:
    """While active, Ctrl-C (SIGINT) only sets ``requested``: the step in progress finishes, so the
    model and the optimizer are consistent when they are saved. A second Ctrl-C raises at once."""

    def __init__(self, active: bool):
        self.active, self.requested, self._old = active, False, None

    def _handler(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if self.active:
            try:
                self._old = signal.signal(signal.SIGINT, self._handler)
            except ValueError:  # not the main thread: Ctrl-C cannot be caught here
                self._old = None
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False


_HISTORY_LISTS = ("iter", "seconds", "train_loss", "eval_iter", "eval_seconds", "val_loss")


def train(
    model: GPT,
    train_ids: torch.Tensor,
    val_ids: torch.Tensor,
    cfg: TrainConfig,
    chars_per_token: tuple[float, float] = (1.0, 1.0),
    device="cpu",
    show_progress: bool = True,
    resume: dict | None = None,
    on_checkpoint: Callable[[dict], None] | None = None,
) -> dict:
    """Train ``model`` in place; returns the history in nats per character.

    ``chars_per_token`` = (train, val) characters per token, to convert nats/token to nats/char.

    ``on_checkpoint(state)``, when given, receives the training state (step, optimizer, random
    generators, history: what ``resume=`` takes to continue exactly where it stopped) after every
    validation estimate and when Ctrl-C stops the run; Ctrl-C then finishes the step in progress,
    hands over the state and raises ``KeyboardInterrupt``. The final state is ``hist["state"]``.

    A NaN or infinite training loss raises :class:`~genai_course.errors.TrainingDiverged` at once.
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
    gen = rng.generator(cfg.seed)  # identical on every rank: same global batches
    eval_gen = rng.generator(cfg.seed + 1)
    tpc_train, tpc_val = 1.0 / chars_per_token[0], 1.0 / chars_per_token[1]
    hist = {
        "iter": [],
        "seconds": [],
        "train_loss": [],
        "eval_iter": [],
        "eval_seconds": [],
        "val_loss": [],
        "tokens": 0,
    }
    it, elapsed_before, evaluated_at = 0, 0.0, None
    if resume is not None:
        try:
            opt.load_state_dict(resume["optimizer"])
            gen.set_state(resume["rng"]["train"])
            eval_gen.set_state(resume["rng"]["eval"])
            torch.set_rng_state(resume["rng"]["torch"])
            it, elapsed_before = int(resume["iter"]), float(resume["elapsed"])
            for key in _HISTORY_LISTS:
                hist[key] = resume["history"][key].tolist()
            hist["tokens"] = int(resume["history"]["tokens"])
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as err:
            raise ValueError(
                f"the saved training state cannot be resumed ({type(err).__name__}: "
                f"{str(err).splitlines()[0] if str(err) else ''})"
            ) from None
        evaluated_at = it if resume.get("evaluated") else None
    warmup = (cfg.warmup_iters / cfg.max_iters) if cfg.max_iters else cfg.warmup_fraction
    bar = progress(
        total=cfg.max_iters, initial=it if cfg.max_iters else 0, disable=not show_progress or rank != 0, desc="train"
    )
    start = time.perf_counter() - elapsed_before

    def state(evaluated: bool) -> dict:
        return {
            "iter": it,
            "elapsed": time.perf_counter() - start,
            "evaluated": evaluated,
            "optimizer": opt.state_dict(),
            "rng": {"train": gen.get_state(), "eval": eval_gen.get_state(), "torch": torch.get_rng_state()},
            "history": {
                **{
                    k: torch.tensor(hist[k], dtype=torch.int64 if k.endswith("iter") else torch.float64)
                    for k in _HISTORY_LISTS
                },
                "tokens": hist["tokens"],
            },
        }

    stop_everywhere = False
    with _DeferredInterrupt(on_checkpoint is not None) as interrupt:
        try:
            while True:
                if stop_everywhere or (world == 1 and interrupt.requested):
                    on_checkpoint(state(evaluated=False))
                    raise KeyboardInterrupt
                elapsed = time.perf_counter() - start
                fraction = max(
                    it / cfg.max_iters if cfg.max_iters else 0.0, elapsed / cfg.max_seconds if cfg.max_seconds else 0.0
                )
                if fraction >= 1.0 and (it > 0 or resume is not None):  # a budget always buys one step
                    break
                if cfg.eval_interval and it % cfg.eval_interval == 0 and it > 0 and it != evaluated_at:
                    val = estimate_loss(model, val_ids, cfg.eval_iters, local, eval_gen, device) * tpc_val
                    hist["eval_iter"].append(it)
                    hist["eval_seconds"].append(elapsed)
                    hist["val_loss"].append(val)
                    if on_checkpoint is not None:
                        on_checkpoint(state(evaluated=True))
                for group in opt.param_groups:
                    group["lr"] = lr_at(min(fraction, 1.0), cfg, warmup)
                x, y = get_batch(train_ids, cfg.batch_size, model.config.block_size, gen)
                x, y = x[rank * local : (rank + 1) * local].to(device), y[rank * local : (rank + 1) * local].to(device)
                _, loss = net(x, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                opt.step()
                loss_value = loss.detach()
                if world > 1:  # one collective: the mean loss, and whether any rank was asked to stop
                    stats = torch.stack([loss_value.float(), torch.tensor(float(interrupt.requested), device=device)])
                    dist.all_reduce(stats)
                    loss_value, stop_everywhere = stats[0] / world, bool(stats[1] > 0)
                value = loss_value.item()
                if not math.isfinite(value):
                    raise TrainingDiverged(
                        f"the training loss became {value} at step {it} (learning rate "
                        f"{opt.param_groups[0]['lr']:.3g}): the model diverged; lower --lr"
                    )
                hist["iter"].append(it)
                hist["seconds"].append(time.perf_counter() - start)
                hist["train_loss"].append(value * tpc_train)
                hist["tokens"] += cfg.batch_size * model.config.block_size
                it += 1
                bar.update(1)
                if it % 50 == 0:
                    bar.set_postfix(loss=f"{hist['train_loss'][-1]:.3f}")
        finally:
            bar.close()
    hist["train_seconds"] = time.perf_counter() - start
    hist["tokens_per_second"] = hist["tokens"] / hist["train_seconds"]
    if on_checkpoint is not None:
        hist["state"] = state(evaluated=False)
    return hist


# ---------------------------------------------------------------------------- checkpoints

FORMAT = "genai_course.gpt/1"
REMAKE = "genai-course train-gpt --text FILE --out FOLDER"


def save_checkpoint(
    path, model: GPT, tokenizer, metrics: dict | None = None, train_config=None, resume: dict | None = None
) -> Path:
    """One file: weights, model config, tokenizer and recorded metrics (and, with ``resume``, the
    training state that ``genai-course train-gpt --resume`` continues from).

    Written atomically: a failure leaves an earlier file under the same name as it was. A model
    with NaN or infinite weights is never saved (:class:`~genai_course.errors.TrainingDiverged`).
    """
    path = Path(path)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    if model.config.tie_weights:
        state.pop("lm_head.weight", None)  # tied to wte.weight: stored once
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise TrainingDiverged(
            f"not saving {path}: the model has NaN or infinite weights ({bad[0]}); "
            f"an earlier file there is left as it was"
        )
    blob = {
        "format": FORMAT,
        "model": state,
        "model_config": model.config.to_dict(),
        "tokenizer": tokenizer.to_dict(),
        "metrics": metrics or {},
        "train_config": {k: v for k, v in asdict(train_config).items() if k != "history"} if train_config else {},
    }
    if resume is not None:
        blob["resume"] = resume
    save_torch(path, blob)  # never leaves a half-written checkpoint under the real name
    return path


def _check_layout(config: GPTConfig, state: dict, path, hint: str) -> None:
    """The stored tensors must have the shapes the config implies (checked before building the model,
    so a damaged config cannot ask for an enormous one)."""
    expect = {"wte.weight": (config.vocab_size, config.d_model)}
    if config.pos == "learned":  # with RoPE there is no position table
        expect["wpe.weight"] = (config.block_size, config.d_model)
    for name, shape in expect.items():
        if name not in state:
            raise CheckpointError(f"checkpoint {path} is malformed: it has no {name}{hint}")
        if tuple(state[name].shape) != shape:
            raise CheckpointError(
                f"checkpoint {path} does not match its config: {name} has shape "
                f"{tuple(state[name].shape)}, the config implies {shape}{hint}"
            )
    layers = {int(k.split(".")[1]) for k in state if k.startswith("blocks.") and k.split(".")[1].isdigit()}
    if layers != set(range(config.n_layers)):
        raise CheckpointError(
            f"checkpoint {path} does not match its config: it stores {len(layers)} blocks, "
            f"the config says n_layers={config.n_layers}{hint}"
        )


def config_and_tokenizer(blob: dict, path, hint: str = ""):
    """The model config and tokenizer stored in a checkpoint ``blob`` (under ``"model_config"`` and
    ``"tokenizer"``) → (GPTConfig, tokenizer); a malformed or inconsistent pair raises
    :class:`~genai_course.errors.CheckpointError` naming ``path``. Every checkpoint that holds a
    GPT (pretrained, fine-tuned, RLHF) stores the two, so each file builds its own model."""
    try:
        config = GPTConfig.from_dict(blob.get("model_config"))
    except ValueError as err:
        raise CheckpointError(f"checkpoint {path} has a malformed model config: {err}{hint}") from None
    try:
        tokenizer = tokenizer_from_dict(blob.get("tokenizer"))
        vocab = tokenizer.vocab_size
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as err:
        raise CheckpointError(
            f"checkpoint {path} has a malformed tokenizer ({type(err).__name__}: "
            f"{str(err).splitlines()[0][:100] if str(err) else ''}){hint}"
        ) from None
    if vocab != config.vocab_size:
        raise CheckpointError(
            f"checkpoint {path} is inconsistent: its tokenizer has {vocab} tokens, its model {config.vocab_size}{hint}"
        )
    return config, tokenizer


def load_checkpoint(path, device="cpu"):
    """→ (model, tokenizer, blob). A missing, truncated, corrupt or malformed file, or one with NaN
    weights, raises :class:`~genai_course.errors.CheckpointError` (a ``ValueError``) naming the file.
    A shipped checkpoint is first checked against its SHA-256 in ``checkpoints/MANIFEST.json``."""
    path = Path(path)
    if path.is_dir():
        path = path / "ckpt.pt"
    hint = remake_hint(path, REMAKE)
    blob = read_torch(path, remake=REMAKE)
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a genai-course GPT checkpoint{hint}")
    config, tokenizer = config_and_tokenizer(blob, path, hint)
    state = dict(check_state_dict(blob.get("model"), path, hint))
    _check_layout(config, state, path, hint)
    model = GPT(config)
    if config.tie_weights:
        state["lm_head.weight"] = state["wte.weight"]
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(
            f"checkpoint {path} does not match its config: {str(err).splitlines()[0]}{hint}"
        ) from None
    for key in ("metrics", "train_config"):
        if not isinstance(blob.get(key), dict):
            blob[key] = {}
    return model.to(device).eval(), tokenizer, blob


# ---------------------------------------------------------------------------- from text to a model


def prepare_data(text: str, tokenizer, val_fraction: float = 0.1):
    """Split the text (last 10 % validation), encode both parts → ids and characters per token."""
    from ..data.corpus import train_val_split

    train_text, val_text = train_val_split(text, val_fraction)
    train_ids = torch.tensor(tokenizer.encode(train_text), dtype=torch.long)
    val_ids = torch.tensor(tokenizer.encode(val_text), dtype=torch.long)
    return train_ids, val_ids, (len(train_text) / len(train_ids), len(val_text) / len(val_ids))
