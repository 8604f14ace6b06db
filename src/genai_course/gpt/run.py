"""One GPT training run, from a text to a saved checkpoint: what ``genai-course train-gpt`` and the
``gpt_char_small`` recipe both call.

:func:`train_gpt` takes the settings as keyword arguments (the command line checks its flags and
passes them on), trains with :func:`genai_course.gpt.train.train`, saves ``OUT/ckpt.pt`` at every
validation estimate, on Ctrl-C and at the end, and returns the final metrics. Under ``torchrun``
each process runs it; rank 0 alone writes.
"""

from __future__ import annotations

import math
from pathlib import Path


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


def train_gpt(
    *,
    text: Path | None = None,
    tokenizer: str = "bpe",
    vocab_size: int = 512,
    minutes: float | None = None,
    max_iters: int | None = None,
    out: Path = Path("out-gpt"),
    resume: bool = False,
    n_layers: int = 4,
    n_heads: int = 4,
    d_model: int = 128,
    block_size: int = 64,
    batch_size: int = 12,
    lr: float = 3e-3,
    min_lr: float = 3e-4,
    dropout: float = 0.0,
    pos: str = "rope",
    eval_interval: int = 250,
    seed: int = 0,
    device: str | None = None,
    threads: int | None = None,
    quiet: bool = False,
) -> dict:
    """Train a GPT on ``text`` (a UTF-8 file; default: the course corpus) and save ``out/ckpt.pt``.

    ``pos`` is ``"rope"`` (rotary positions, Su et al. 2021: in ``benchmarks/README.md`` they beat
    learned positions at equal wall time in every sweep) or ``"learned"`` (GPT-2's table, which the
    chapter-2 notebook and the shipped ``gpt_char_small`` use). The defaults are ``genai-course train-gpt``'s (without ``minutes`` or ``max_iters``: 1.7
    minutes). ``resume`` continues the run saved in ``out``. Returns the final metrics (losses in
    nats per character over the whole validation split). Bad settings raise
    :class:`~genai_course.errors.CommandError` with a one-line message.
    """
    import os

    import torch

    from ..data.corpus import load_course_text, load_text_file
    from ..errors import CommandError, TrainingDiverged
    from ..utils import pick_device, seed_everything
    from .model import GPT, GPTConfig
    from .tokenizers import build_tokenizer
    from .train import TrainConfig, evaluate, load_checkpoint, prepare_data, save_checkpoint, train

    out = Path(out)
    rank = int(os.environ.get("RANK", "0"))
    ckpt = _check_out(out, resume) if rank == 0 else out / "ckpt.pt"
    try:
        dev = pick_device(device)
        torch.empty(1, device=dev)
    except (RuntimeError, AssertionError) as err:
        raise CommandError(f"device {device} is not available: {str(err).splitlines()[0]}") from None
    torch.set_num_threads(threads or max(1, (os.cpu_count() or 1) // int(os.environ.get("WORLD_SIZE", "1"))))
    try:
        corpus = load_course_text() if text is None else load_text_file(text)
    except ValueError as err:
        raise CommandError(str(err)) from None
    resume_state = None
    if resume:
        model, tok, blob = load_checkpoint(ckpt)  # a damaged file: one clear CheckpointError
        resume_state = blob.get("resume")
        if not isinstance(resume_state, dict):
            raise CommandError(f"--resume: {ckpt} holds no training state to continue from")
        if resume_state.get("text_sha256") != _text_sha256(corpus):
            raise CommandError(f"--resume: {ckpt} was trained on a different text; give the same --text")
        saved = dict(blob["train_config"])
        if max_iters is not None:
            saved.update(max_iters=max_iters, max_seconds=None)
        elif minutes is not None:
            saved.update(max_iters=None, max_seconds=minutes * 60)
        try:
            tc = TrainConfig(**saved)
        except (TypeError, ValueError) as err:
            raise CommandError(f"--resume: the settings saved in {ckpt} are unusable ({err})") from None
        cfg_args = f"{model.config.n_layers} layers, {model.config.d_model} wide"
    else:
        tok = build_tokenizer(tokenizer, corpus, vocab_size)
    train_ids, val_ids, cpt = prepare_data(corpus, tok)
    block_size = model.config.block_size if resume else block_size
    for name, ids in (("training", train_ids), ("validation (last 10%)", val_ids)):
        if len(ids) <= block_size:
            raise CommandError(
                f"the text is too short: its {name} part has {len(ids)} tokens but one context "
                f"window needs {block_size + 1}; use a longer text or a smaller --block-size"
            )
    seed_everything(seed)
    if not resume:
        config = GPTConfig(
            vocab_size=tok.vocab_size,
            block_size=block_size,
            n_layers=n_layers,
            n_heads=n_heads,
            d_model=d_model,
            dropout=dropout,
            pos=pos,
        )
        model = GPT(config)
        minutes = minutes if minutes is not None or max_iters is not None else 1.7
        tc = TrainConfig(
            batch_size=batch_size,
            max_iters=max_iters,
            max_seconds=minutes * 60 if minutes is not None else None,
            lr=lr,
            min_lr=min_lr,
            eval_interval=eval_interval,
            seed=seed,
        )
    if rank == 0:
        print(
            f"{len(corpus):,} characters, {tok.vocab_size} tokens ({tok.to_dict()['kind']}), "
            f"{cpt[0]:.2f} characters/token; model: {model.num_params() / 1e6:.2f} M parameters"
        )
        if resume_state is not None:
            print(f"resuming {ckpt} at step {resume_state.get('iter')} ({cfg_args})")
    text_sha = _text_sha256(corpus)
    saved_step = []

    def save(state: dict, metrics: dict | None = None) -> None:
        if rank == 0:
            save_checkpoint(ckpt, model, tok, metrics, tc, resume={**state, "text_sha256": text_sha})
            saved_step.append(state["iter"])

    try:
        hist = train(
            model, train_ids, val_ids, tc, cpt, dev, show_progress=not quiet, resume=resume_state, on_checkpoint=save
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
    val_loss = evaluate(model, val_ids, device=dev) / cpt[1]
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
    return metrics
