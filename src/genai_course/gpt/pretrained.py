"""The small character-level GPT shipped with the package, and the command that makes it.

    python -m genai_course.gpt.pretrained          # ~15 minutes on one CPU thread

trains a 4-layer, 128-wide GPT with a 256-character context on the course corpus and writes
``checkpoints/gpt_char_small.pt`` and ``gpt_char_small.json`` (its validation loss over the
whole validation split, in nats per character). Notebooks 3 and 4 of chapter 2 load it so they
can study decoding and inference without spending their time budget on training.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "gpt_char_small.pt"
ARGS = [
    "--tokenizer",
    "char",
    "--n-layer",
    "4",
    "--n-head",
    "4",
    "--n-embd",
    "128",
    "--block-size",
    "256",
    "--batch-size",
    "16",
    "--max-iters",
    "1200",
    "--lr",
    "2e-3",
    "--min-lr",
    "2e-4",
    "--eval-interval",
    "300",
    "--seed",
    "0",
    "--threads",
    "1",
]


COMMAND = "python -m genai_course.gpt.pretrained"


def load_pretrained(device="cpu"):
    """→ (model, tokenizer, recorded metrics) of the shipped checkpoint (verified against its SHA-256)."""
    from ..errors import CheckpointMissing
    from .train import load_checkpoint

    if not CHECKPOINT.exists():
        raise CheckpointMissing(f"{CHECKPOINT} is missing: make it with `{COMMAND}`")
    model, tokenizer, blob = load_checkpoint(CHECKPOINT, device)
    return model, tokenizer, blob["metrics"]


def main() -> int:
    import argparse
    import tempfile

    from ..checkpoint_io import record_shipped, write_text
    from .commands import add_train_arguments, run_train
    from .train import TrainConfig, load_checkpoint, save_checkpoint

    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    with tempfile.TemporaryDirectory() as tmp:
        args = parser.parse_args(ARGS + ["--out", tmp] + sys.argv[1:])
        run_train(args)
        model, tokenizer, blob = load_checkpoint(Path(tmp) / "ckpt.pt")
    # shipped without the optimizer state (a third of the size): it is not meant to be resumed
    save_checkpoint(CHECKPOINT, model, tokenizer, blob["metrics"], TrainConfig(**blob["train_config"]))
    record_shipped(CHECKPOINT, COMMAND)
    _, _, blob = load_checkpoint(CHECKPOINT)
    record = {"command": COMMAND, "args": ARGS, "model_config": blob["model_config"], **blob["metrics"]}
    write_text(CHECKPOINT.with_suffix(".json"), json.dumps(record, indent=2) + "\n")
    print(f"wrote {CHECKPOINT} and its .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
