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
ARGS = ["--tokenizer", "char", "--n-layer", "4", "--n-head", "4", "--n-embd", "128", "--block-size", "256",
        "--batch-size", "16", "--max-iters", "1200", "--lr", "2e-3", "--min-lr", "2e-4", "--eval-interval", "300",
        "--seed", "0", "--threads", "1"]


def load_pretrained(device="cpu"):
    """→ (model, tokenizer, recorded metrics) of the shipped checkpoint."""
    from .train import load_checkpoint

    if not CHECKPOINT.exists():
        raise ValueError(f"{CHECKPOINT} is missing: make it with `python -m genai_course.gpt.pretrained`")
    model, tokenizer, blob = load_checkpoint(CHECKPOINT, device)
    return model, tokenizer, blob["metrics"]


def main() -> int:
    import argparse
    import shutil
    import tempfile

    from .commands import add_train_arguments, run_train
    from .train import load_checkpoint

    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    with tempfile.TemporaryDirectory() as tmp:
        args = parser.parse_args(ARGS + ["--out", tmp] + sys.argv[1:])
        run_train(args)
        shutil.copy(Path(tmp) / "ckpt.pt", CHECKPOINT)
    _, _, blob = load_checkpoint(CHECKPOINT)
    record = {"command": "python -m genai_course.gpt.pretrained", "args": ARGS,
              "model_config": blob["model_config"], **blob["metrics"]}
    CHECKPOINT.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {CHECKPOINT} and its .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
