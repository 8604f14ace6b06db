"""The two code models shipped with the course, and the recipes that make them.

    genai-course recipe codex_stdlib    # a GPT pretrained on the standard library's source (~25 min)
    genai-course recipe codex_sft       # that model fine-tuned on docstring → function tasks (~14 min)

``codex_stdlib`` is chapter 3's "Codex": the course GPT (rotary positions, 4 layers, 192 wide,
a 256-token context) with a 2,048-token byte-level BPE whose pre-tokenizer keeps a newline and
its indentation together (:data:`~genai_course.gpt.tokenizers.CODE_SPLIT`), trained on the
training modules of :mod:`genai_course.data.python_source`. Its validation set is the *held-out
modules*, never seen in any part, so the recorded loss measures generalisation to new files.

``codex_sft`` is "Codex-S" (Chen et al. 2021, section 4): the same network fine-tuned on
functions with docstrings from :mod:`genai_course.codex.tasks`, training templates only; its
record holds the loss on both kinds of held-out template (new combinations, new ideas).

Weights are stored in float16, half the size; they are computed in float32 after loading.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache

from ..checkpoint_io import checkpoint_path, missing, recipe_command

NAMES = ("codex_stdlib", "codex_sft")
VOCAB_SIZE = 2048
MODEL = dict(block_size=256, n_layers=4, n_heads=6, d_model=192, pos="rope", dropout=0.0)
# keyword arguments of genai_course.gpt.train.TrainConfig for each stage
PRETRAIN = dict(batch_size=16, max_iters=1200, lr=2e-3, min_lr=2e-4, warmup_iters=50, eval_interval=250, seed=0)
FINETUNE = dict(batch_size=16, max_iters=300, lr=5e-4, min_lr=5e-5, warmup_iters=20, eval_interval=100, seed=0)
FINETUNE_TASKS = dict(n_per_template=40, seed=0)  # tasks per training template, and their seed
THREADS = 1  # one thread: steady when other jobs share the CPU (two spin-wait against them)


def load_code_model(name: str = "codex_sft", device="cpu"):
    """→ (model, tokenizer, recorded metrics) of a shipped code model, verified against its SHA-256."""
    from ..gpt.train import load_checkpoint

    if name not in NAMES:
        raise ValueError(f"the shipped code models are {', '.join(NAMES)}; got {name!r}")
    path = checkpoint_path(f"{name}.pt")
    if not path.is_file():
        raise missing(path, remake=recipe_command(name))
    model, tokenizer, blob = load_checkpoint(path, device)
    return model, tokenizer, blob["metrics"]


@lru_cache(maxsize=2)
def cached_code_model(name: str = "codex_sft", device: str = "cpu"):
    """:func:`load_code_model`, loaded once per process (``complete`` is called many times)."""
    return load_code_model(name, device)


def _save(name: str, model, tokenizer, metrics: dict, train_config) -> None:
    from ..checkpoint_io import record_shipped, write_text
    from ..gpt.train import save_checkpoint

    path = checkpoint_path(f"{name}.pt")
    half = copy.deepcopy(model).cpu().half()  # float16 on disk; load_state_dict casts back to float32
    save_checkpoint(path, half, tokenizer, metrics, train_config)
    record = {"command": recipe_command(name), "model_config": model.config.to_dict(), **metrics}
    write_text(path.with_suffix(".json"), json.dumps(record, indent=2) + "\n")
    record_shipped(path, recipe_command(name))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) and its .json")


def _heldout_loss(model, ids, chars: int, device) -> dict:
    from ..gpt.train import evaluate

    nats_per_token = evaluate(model, ids, device=device)
    return {"heldout_nats_per_token": nats_per_token, "heldout_nats_per_char": nats_per_token * len(ids) / chars}


def make_codex_stdlib(device=None) -> dict:
    """The recipe ``codex_stdlib``: train the code tokenizer and the GPT on the standard library."""
    import time

    import torch

    from ..data.python_source import load_stdlib_code
    from ..gpt.model import GPT, GPTConfig
    from ..gpt.tokenizers import ByteBPETokenizer
    from ..gpt.train import TrainConfig, train
    from ..utils import pick_device, seed_everything

    dev = pick_device(device)
    torch.set_num_threads(THREADS)
    train_text, heldout_text = load_stdlib_code("train"), load_stdlib_code("heldout")
    start = time.perf_counter()
    tokenizer = ByteBPETokenizer.train(train_text, VOCAB_SIZE, split="code")
    tokenizer_seconds = time.perf_counter() - start
    train_ids = torch.tensor(tokenizer.encode(train_text), dtype=torch.long)
    heldout_ids = torch.tensor(tokenizer.encode(heldout_text), dtype=torch.long)
    cpt = (len(train_text) / len(train_ids), len(heldout_text) / len(heldout_ids))
    print(f"{len(train_text):,} characters → {len(train_ids):,} tokens ({cpt[0]:.2f} characters/token)")
    seed_everything(PRETRAIN["seed"])
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, **MODEL))
    tc = TrainConfig(**PRETRAIN)
    hist = train(model, train_ids, heldout_ids, tc, cpt, dev)
    metrics = {
        "train_chars": len(train_text),
        "train_tokens": len(train_ids),
        "heldout_chars": len(heldout_text),
        "chars_per_token": cpt[0],
        "tokenizer_seconds": tokenizer_seconds,
        "iters": len(hist["iter"]),
        "train_seconds": hist["train_seconds"],
        "tokens_per_second": hist["tokens_per_second"],
        "train_loss_nats_per_char": sum(hist["train_loss"][-20:]) / 20,
        "python": __import__("sys").version.split()[0],
        **_heldout_loss(model, heldout_ids, len(heldout_text), dev),
    }
    _save("codex_stdlib", model, tokenizer, metrics, tc)
    return metrics


def make_codex_sft(device=None) -> dict:
    """The recipe ``codex_sft``: fine-tune ``codex_stdlib`` on the training templates' tasks."""
    import torch

    from ..gpt.train import TrainConfig, train
    from ..utils import pick_device, seed_everything
    from .tasks import HELDOUT_COMBINATIONS, HELDOUT_IDEAS, TRAIN_TEMPLATES, make_tasks, training_text

    dev = pick_device(device)
    torch.set_num_threads(THREADS)
    model, tokenizer, base_metrics = load_code_model("codex_stdlib", dev)
    tasks_text = training_text(make_tasks(TRAIN_TEMPLATES, **FINETUNE_TASKS))
    # validation: tasks of the training templates drawn with another seed (new names and constants)
    val_text = training_text(make_tasks(TRAIN_TEMPLATES, n_per_template=4, seed=FINETUNE_TASKS["seed"] + 1))
    held = {
        kind: training_text(make_tasks(names, n_per_template=8, seed=FINETUNE_TASKS["seed"] + 2))
        for kind, names in (("combinations", HELDOUT_COMBINATIONS), ("ideas", HELDOUT_IDEAS))
    }
    ids = {
        k: torch.tensor(tokenizer.encode(t), dtype=torch.long)
        for k, t in (("train", tasks_text), ("val", val_text), *held.items())
    }
    cpt = (len(tasks_text) / len(ids["train"]), len(val_text) / len(ids["val"]))
    seed_everything(FINETUNE["seed"])
    model.train()
    tc = TrainConfig(**FINETUNE)
    hist = train(model, ids["train"], ids["val"], tc, cpt, dev)
    from ..gpt.train import evaluate

    metrics = {
        "base": "codex_stdlib",
        "finetune_chars": len(tasks_text),
        "finetune_tokens": len(ids["train"]),
        "iters": len(hist["iter"]),
        "train_seconds": hist["train_seconds"],
        "train_loss_nats_per_char": sum(hist["train_loss"][-20:]) / 20,
        "val_nats_per_token": evaluate(model, ids["val"], device=dev),
        "heldout_combinations_nats_per_token": evaluate(model, ids["combinations"], device=dev),
        "heldout_ideas_nats_per_token": evaluate(model, ids["ideas"], device=dev),
    }
    _save("codex_sft", model, tokenizer, metrics, tc)
    return metrics
