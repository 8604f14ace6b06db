"""The small character-level GPT shipped with the package, and the recipe that makes it.

    genai-course recipe gpt_char_small          # ~36 minutes on one CPU thread

trains a 4-layer, 128-wide GPT with a 256-character context on the course corpus and writes
``checkpoints/gpt_char_small.pt`` and ``gpt_char_small.json`` (its validation loss over the
whole validation split, in nats per character). Notebooks 3 and 4 of chapter 2 load it so they
can study decoding and inference without spending their time budget on training.
"""

from __future__ import annotations

from ..checkpoint_io import checkpoint_path, missing, recipe_command

CHECKPOINT = checkpoint_path("gpt_char_small.pt")
COMMAND = recipe_command("gpt_char_small")
# The settings of the shipped run: keyword arguments of genai_course.gpt.run.train_gpt.
SETTINGS = dict(
    tokenizer="char",
    n_layers=4,
    n_heads=4,
    d_model=128,
    block_size=256,
    batch_size=16,
    max_iters=1200,
    lr=2e-3,
    min_lr=2e-4,
    eval_interval=300,
    pos="learned",  # GPT-2's learned positions, as the chapter-2 notebook builds it
    seed=0,
    threads=1,
)


def load_pretrained(device="cpu"):
    """→ (model, tokenizer, recorded metrics) of the shipped checkpoint (verified against its SHA-256)."""
    from .train import load_checkpoint

    path = checkpoint_path(CHECKPOINT.name)
    if not path.is_file():  # before load_checkpoint, whose hint is for a run of your own
        raise missing(path, remake=COMMAND)
    model, tokenizer, blob = load_checkpoint(path, device)
    return model, tokenizer, blob["metrics"]


def make_gpt_char_small(device=None) -> dict:
    """The recipe ``gpt_char_small``: train with :data:`SETTINGS`, write the shipped file and its ``.json``."""
    import json
    import tempfile
    from pathlib import Path

    from ..checkpoint_io import record_shipped, write_text
    from .run import train_gpt
    from .train import TrainConfig, load_checkpoint, save_checkpoint

    path = checkpoint_path(CHECKPOINT.name)
    with tempfile.TemporaryDirectory() as tmp:
        train_gpt(**SETTINGS, device=device, out=Path(tmp))
        model, tokenizer, blob = load_checkpoint(Path(tmp) / "ckpt.pt")
    record = {"command": COMMAND, "settings": SETTINGS, "model_config": blob["model_config"], **blob["metrics"]}
    # shipped without the optimizer state (a third of the size): it is not meant to be resumed
    save_checkpoint(path, model, tokenizer, blob["metrics"], TrainConfig(**blob["train_config"]))
    write_text(path.with_suffix(".json"), json.dumps(record, indent=2) + "\n")
    record_shipped(path, COMMAND)  # last: the manifest records the new .json too
    print(f"wrote {path} and its .json")
    return blob["metrics"]


if __name__ == "__main__":  # the old entry point: point to the recipe instead of silently doing nothing
    raise SystemExit(f"make this checkpoint with `{COMMAND}` (see `genai-course recipe --list`)")
