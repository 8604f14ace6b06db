"""Sub-commands ``train-gpt`` and ``sample``: train a GPT on any UTF-8 text file, then sample from it."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

TOKENIZERS = ("char", "bpe")


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--text",
        type=Path,
        default=None,
        help="UTF-8 text file to train on (default: the course corpus, pydoc_data.topics)",
    )
    p.add_argument("--tokenizer", default="bpe", help="bpe (byte-level, default) or char")
    p.add_argument("--vocab-size", type=int, default=512, help="BPE vocabulary size (default 512)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, default=None, help="train for this wall time (default 1.7)")
    budget.add_argument("--max-iters", type=int, default=None, help="train for this many steps instead")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("out-gpt"),
        help="folder for ckpt.pt (default out-gpt); saved at every validation estimate and on Ctrl-C",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run saved in --out (its model, tokenizer and settings; --max-iters or "
        "--minutes set a new total budget)",
    )
    p.add_argument("--n-layers", "--n-layer", type=int, default=4)  # the second: nanoGPT's spelling
    p.add_argument("--n-heads", "--n-head", type=int, default=4)
    p.add_argument("--d-model", "--n-embd", type=int, default=128)
    p.add_argument("--block-size", type=int, default=64, help="context length in tokens")
    p.add_argument("--batch-size", type=int, default=12, help="global batch (sequences per step)")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--min-lr", type=float, default=3e-4, help="final learning rate, in [0, --lr]")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument(
        "--pos",
        choices=("rope", "learned"),
        default="rope",
        help="positions: rope (rotary, default: measured better in benchmarks/) or learned (GPT-2's, as in chapter 2)",
    )
    p.add_argument(
        "--eval-interval",
        type=int,
        default=250,
        help="steps between validation estimates and checkpoints (0: none until the end)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def register(sub) -> None:
    # description and epilog are printed as they are; only help= strings are %-formatted by argparse
    p = sub.add_parser(
        "train-gpt",
        help="train a GPT on a UTF-8 text file",
        description="Train a GPT on a UTF-8 text file. The last 10% of the file is the validation "
        "split (as in nanoGPT); losses are reported in nats per character so character and "
        "BPE tokenizers compare. Runs under torchrun for data parallelism.",
    )
    add_train_arguments(p)
    p.set_defaults(run=run_train)

    p = sub.add_parser("sample", help="generate text from a trained GPT checkpoint")
    p.add_argument("--ckpt", type=Path, required=True, help="checkpoint file or the folder holding ckpt.pt")
    p.add_argument("--prompt", default="\n")
    p.add_argument("--max-new-tokens", type=int, default=200)
    p.add_argument("--temperature", type=float, default=0.8, help="0 means greedy")
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--num-samples", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=run_sample)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _positive(args, *names) -> None:
    """Each named setting, when given, must be a finite number > 0 (NaN and infinity are refused)."""
    from ..errors import CommandError

    for name in names:
        value = getattr(args, name)
        if value is None:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise CommandError(f"{_flag(name)} must be a finite number, got {value}")
        if value <= 0:
            raise CommandError(f"{_flag(name)} must be positive, got {value}")


def _check_train_settings(args) -> None:
    from ..errors import CommandError

    if args.tokenizer not in TOKENIZERS:
        raise CommandError(f"--tokenizer must be one of {', '.join(TOKENIZERS)}, got {args.tokenizer!r}")
    _positive(
        args,
        "minutes",
        "max_iters",
        "n_layers",
        "n_heads",
        "d_model",
        "block_size",
        "batch_size",
        "lr",
        "vocab_size",
        "threads",
    )
    if not (math.isfinite(args.min_lr) and 0 <= args.min_lr <= args.lr):
        raise CommandError(f"--min-lr must lie in [0, --lr={args.lr:g}], got {args.min_lr}")
    if not (math.isfinite(args.dropout) and 0 <= args.dropout < 1):
        raise CommandError(f"--dropout must lie in [0, 1), got {args.dropout}")
    if args.eval_interval < 0:
        raise CommandError(f"--eval-interval must be ≥ 0 (0: no estimates until the end), got {args.eval_interval}")
    if args.tokenizer == "bpe" and args.vocab_size < 256:
        raise CommandError(f"--vocab-size must be at least 256 for byte-level BPE, got {args.vocab_size}")
    if args.d_model % args.n_heads:
        raise CommandError(f"--d-model {args.d_model} must be divisible by --n-heads {args.n_heads}")
    if args.device not in (None, "cpu", "cuda", "mps"):
        raise CommandError(f"--device must be cpu, cuda or mps, got {args.device!r}")


# The settings train_gpt takes, named as the flags' destinations.
TRAIN_SETTINGS = (
    "text",
    "tokenizer",
    "vocab_size",
    "minutes",
    "max_iters",
    "out",
    "resume",
    "n_layers",
    "n_heads",
    "d_model",
    "block_size",
    "batch_size",
    "lr",
    "min_lr",
    "dropout",
    "pos",
    "eval_interval",
    "seed",
    "device",
    "threads",
    "quiet",
)


def run_train(args) -> int:
    """``genai-course train-gpt``: check the flags, then train (:func:`genai_course.gpt.run.train_gpt`)."""
    from .run import train_gpt

    _check_train_settings(args)
    train_gpt(**{name: getattr(args, name) for name in TRAIN_SETTINGS})
    return 0


def run_sample(args) -> int:
    from .. import rng
    from ..errors import CommandError
    from .sampling import generate
    from .train import load_checkpoint

    _positive(args, "max_new_tokens", "top_k", "num_samples")
    if not (math.isfinite(args.temperature) and args.temperature >= 0):
        raise CommandError(f"--temperature must be a finite number ≥ 0 (0: greedy), got {args.temperature}")
    if args.top_p is not None and not 0 < args.top_p <= 1:
        raise CommandError(f"--top-p must lie in (0, 1], got {args.top_p}")
    model, tokenizer, _ = load_checkpoint(args.ckpt)  # a bad file: one CheckpointError (a ValueError)
    try:
        ids = tokenizer.encode(args.prompt) or [0]
    except ValueError as err:
        raise CommandError(str(err)) from None
    import torch

    gen = rng.generator(args.seed)
    idx = torch.tensor([ids] * args.num_samples, dtype=torch.long)
    out = generate(
        model, idx, args.max_new_tokens, temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, generator=gen
    )
    for i, row in enumerate(out.tolist()):
        if i:
            print("-" * 40)
        print(tokenizer.decode(row))
    return 0
