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
    p.add_argument("--n-layer", type=int, default=4)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--n-embd", type=int, default=128)
    p.add_argument("--block-size", type=int, default=64, help="context length in tokens")
    p.add_argument("--batch-size", type=int, default=12, help="global batch (sequences per step)")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--min-lr", type=float, default=3e-4, help="final learning rate, in [0, --lr]")
    p.add_argument("--dropout", type=float, default=0.0)
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
        "n_layer",
        "n_head",
        "n_embd",
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
    if args.n_embd % args.n_head:
        raise CommandError(f"--n-embd {args.n_embd} must be divisible by --n-head {args.n_head}")
    if args.device not in (None, "cpu", "cuda", "mps"):
        raise CommandError(f"--device must be cpu, cuda or mps, got {args.device!r}")


def _check_out(out: Path, resume: bool) -> Path:
    """Make sure ckpt.pt can be written in ``out`` *before* training (a run is not lost at the end)."""
    import tempfile

    from ..errors import CommandError

    ckpt = out / "ckpt.pt"
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file; --out names the folder that will hold ckpt.pt")
    if resume and not ckpt.exists():
        raise CommandError(f"--resume: there is no run to continue, {ckpt} does not exist")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as err:
        raise CommandError(f"--out {out} cannot be written ({err.strerror or type(err).__name__})") from None
    if ckpt.is_dir():
        raise CommandError(f"--out {out}: {ckpt} is a folder; the checkpoint cannot be written there")
    return ckpt


def _text_sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_train(args) -> int:
    import os

    import torch

    from ..data.corpus import load_course_text, load_text_file
    from ..errors import CommandError, TrainingDiverged
    from ..utils import pick_device, seed_everything
    from .model import GPT, GPTConfig
    from .tokenizers import build_tokenizer
    from .train import TrainConfig, evaluate, load_checkpoint, prepare_data, save_checkpoint, train

    _check_train_settings(args)
    rank = int(os.environ.get("RANK", "0"))
    ckpt = _check_out(args.out, args.resume) if rank == 0 else args.out / "ckpt.pt"
    try:
        device = pick_device(args.device)
        torch.empty(1, device=device)
    except (RuntimeError, AssertionError) as err:
        raise CommandError(f"device {args.device} is not available: {str(err).splitlines()[0]}") from None
    torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 1) // int(os.environ.get("WORLD_SIZE", "1"))))
    try:
        text = load_course_text() if args.text is None else load_text_file(args.text)
    except ValueError as err:
        raise CommandError(str(err)) from None
    resume = None
    if args.resume:
        model, tokenizer, blob = load_checkpoint(ckpt)  # a damaged file: one clear CheckpointError
        resume = blob.get("resume")
        if not isinstance(resume, dict):
            raise CommandError(f"--resume: {ckpt} holds no training state to continue from")
        if resume.get("text_sha256") != _text_sha256(text):
            raise CommandError(f"--resume: {ckpt} was trained on a different text; give the same --text")
        saved = dict(blob["train_config"])
        if args.max_iters is not None:
            saved.update(max_iters=args.max_iters, max_seconds=None)
        elif args.minutes is not None:
            saved.update(max_iters=None, max_seconds=args.minutes * 60)
        try:
            tc = TrainConfig(**saved)
        except (TypeError, ValueError) as err:
            raise CommandError(f"--resume: the settings saved in {ckpt} are unusable ({err})") from None
        cfg_args = f"{model.config.n_layer} layers, {model.config.n_embd} wide"
    else:
        tokenizer = build_tokenizer(args.tokenizer, text, args.vocab_size)
    train_ids, val_ids, cpt = prepare_data(text, tokenizer)
    block_size = model.config.block_size if args.resume else args.block_size
    for name, ids in (("training", train_ids), ("validation (last 10%)", val_ids)):
        if len(ids) <= block_size:
            raise CommandError(
                f"the text is too short: its {name} part has {len(ids)} tokens but one context "
                f"window needs {block_size + 1}; use a longer text or a smaller --block-size"
            )
    seed_everything(args.seed)
    if not args.resume:
        config = GPTConfig(
            vocab_size=tokenizer.vocab_size,
            block_size=args.block_size,
            n_layer=args.n_layer,
            n_head=args.n_head,
            n_embd=args.n_embd,
            dropout=args.dropout,
        )
        model = GPT(config)
        minutes = args.minutes if args.minutes is not None or args.max_iters is not None else 1.7
        tc = TrainConfig(
            batch_size=args.batch_size,
            max_iters=args.max_iters,
            max_seconds=minutes * 60 if minutes is not None else None,
            lr=args.lr,
            min_lr=args.min_lr,
            eval_interval=args.eval_interval,
            seed=args.seed,
        )
    if rank == 0:
        print(
            f"{len(text):,} characters, {tokenizer.vocab_size} tokens ({tokenizer.to_dict()['kind']}), "
            f"{cpt[0]:.2f} characters/token; model: {model.num_params() / 1e6:.2f} M parameters"
        )
        if resume is not None:
            print(f"resuming {ckpt} at step {resume.get('iter')} ({cfg_args})")
    text_sha = _text_sha256(text)
    saved_step = []

    def save(state: dict, metrics: dict | None = None) -> None:
        if rank == 0:
            save_checkpoint(ckpt, model, tokenizer, metrics, tc, resume={**state, "text_sha256": text_sha})
            saved_step.append(state["iter"])

    try:
        hist = train(
            model, train_ids, val_ids, tc, cpt, device, show_progress=not args.quiet, resume=resume, on_checkpoint=save
        )
    except TrainingDiverged as err:
        kept = (
            f"{ckpt} keeps step {saved_step[-1]}"
            if saved_step
            else f"{ckpt} was left as it was"
            if ckpt.exists()
            else "nothing was saved"
        )
        raise CommandError(f"training stopped: {err}; {kept}") from None
    except KeyboardInterrupt:
        if rank == 0 and saved_step:
            import sys

            print(
                f"interrupted at step {saved_step[-1]}: saved {ckpt}; continue with the same command and --resume",
                file=sys.stderr,
            )
        raise
    finally:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
    for it, val in zip(hist["eval_iter"], hist["val_loss"], strict=True):
        if rank == 0:
            print(f"step {it:5d}: val {val:.3f} nats/char (estimate)")
    val_loss = evaluate(model, val_ids, device=device) / cpt[1]
    train_tail = sum(hist["train_loss"][-20:]) / len(hist["train_loss"][-20:])
    if not (math.isfinite(val_loss) and math.isfinite(train_tail)):
        kept = f"{ckpt} keeps step {saved_step[-1]}" if saved_step else "nothing was saved"
        raise CommandError(
            f"training stopped: the validation loss is {val_loss}: the model diverged; lower --lr; {kept}"
        )
    metrics = {
        "val_loss_nats_per_char": val_loss,
        "train_loss_nats_per_char": train_tail,
        "iters": len(hist["iter"]),
        "seconds": hist["train_seconds"],
        "tokens_per_second": hist["tokens_per_second"],
    }
    if rank == 0:
        save(hist["state"], metrics)
        print(f"{metrics['iters']} steps in {metrics['seconds']:.1f} s, {metrics['tokens_per_second']:,.0f} tokens/s")
        print(
            f"train loss {train_tail:.3f} nats/char (last 20 steps), "
            f"val loss {val_loss:.3f} nats/char (whole validation split)"
        )
        print(f"saved {ckpt}")
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
