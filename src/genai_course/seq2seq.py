"""Chapter 1's encoder–decoder on the digit-reversal task: its training loop as a function, and a shipped copy.

Notebook 1.3 trains this model live, in its own cells, so the reader sees every line. The recipe
``seq2seq_reverse`` runs the same loop with the same settings and ships the result (float16), so
that later chapters can use a trained chapter-1 model without training it again: chapter 8's
comparison table reads its record and times its greedy decoding.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from .checkpoint_io import checkpoint_path, load_metrics, load_shipped_model, save_state
from .data import sequences as seq
from .nn.transformer import Seq2SeqConfig, Seq2SeqTransformer

NAME = "seq2seq_reverse"
FORMAT = "genai_course.seq2seq_reverse/1"
# notebook 1.3's settings: 20,000 training pairs of 1–8 digits, a 2-layer, 64-wide model, 500 AdamW steps
DATA = dict(task="reverse", n_train=20_000, n_test=1_000, min_len=1, max_len=8, seed=0)
MODEL = dict(vocab_size=seq.VOCAB_SIZE, d_model=64, n_heads=4, n_layers=2, max_len=16)
TRAIN = dict(steps=500, batch_size=64, lr=2e-3, seed=0)


def train_reversal(steps: int, batch_size: int, lr: float, seed: int, device=None) -> tuple[Seq2SeqTransformer, dict]:
    """Train the encoder–decoder to reverse digit strings → ``(model, metrics)``; nothing is saved.

    The loop of notebook 1.3: teacher forcing (``tgt_in`` is the target shifted right), cross-entropy
    that ignores padding, AdamW with a one-cycle learning rate. The model's initial weights come from
    torch's global generator, so seed it first for a repeatable run (the recipe does).
    """
    train_pairs, test_pairs = seq.train_test_split(**DATA)
    model = Seq2SeqTransformer(Seq2SeqConfig(**MODEL)).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=steps, pct_start=0.1)
    g = torch.Generator("cpu").manual_seed(seed)
    start, losses = time.perf_counter(), []
    model.train()
    for _ in range(steps):
        batch = [train_pairs[i] for i in torch.randint(len(train_pairs), (batch_size,), generator=g)]
        src, tgt_in, tgt_out = seq.to_tensors(batch, device)
        logits = model(src, tgt_in)  # (b t v)
        loss = F.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=seq.PAD)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - start
    metrics = {
        "train_seconds": round(seconds, 1),
        "final_loss": round(sum(losses[-50:]) / 50, 5),
        "heldout_exact_match": seq.exact_match(model, test_pairs, device=device),
        "train_exact_match": seq.exact_match(model, train_pairs[:1_000], device=device),
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    return model.eval(), metrics


def make_seq2seq_reverse(device=None) -> dict:
    """The recipe ``seq2seq_reverse``: train with notebook 1.3's settings, write the shipped file and its record."""
    model, metrics = train_reversal(**TRAIN, device=device)
    half = {
        k: v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu() for k, v in model.state_dict().items()
    }
    record = {"command": f"genai-course recipe {NAME}", "data": DATA, "model": MODEL, "training": TRAIN, **metrics}
    save_state(checkpoint_path(f"{NAME}.pt"), FORMAT, MODEL, half, record)
    return record


def load_seq2seq_reverse(device=None) -> Seq2SeqTransformer:
    """The shipped encoder–decoder (eval mode, frozen); a missing or damaged file raises a clear error."""
    return load_shipped_model(NAME, FORMAT, lambda c: Seq2SeqTransformer(Seq2SeqConfig(**c)), device)


def seq2seq_metrics() -> dict:
    """What the recipe measured when it made the shipped encoder–decoder."""
    return load_metrics(checkpoint_path(f"{NAME}.pt"))
