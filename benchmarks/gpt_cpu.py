"""GPT pretraining on the CPU: validation loss reached at a fixed wall-clock budget, tokens/s and
achieved FLOP/s as a fraction of this machine's measured float32 matmul peak (MFU).

    python benchmarks/gpt_cpu.py --seconds 102 --threads 2          # the nanoGPT anchor's budget
    python benchmarks/gpt_cpu.py --seconds 45 --threads 1 --rounds 2 --configs ablation \\
        --log benchmarks/results/ablation.jsonl                       # one change at a time
    python benchmarks/gpt_cpu.py --report benchmarks/results/ablation.jsonl \\
        --readme benchmarks/README.md --label ablation                # the table, from the log

Every configuration trains for the same wall time with its learning-rate schedule stretched
over that time, on the course corpus (last 10 % validation, scored in full, in nats per
character). ``anchor`` is nanoGPT's documented CPU recipe (char-level, 4 layers, 4 heads, 128
wide, context 64, batch 12, lr 1e-3 → 1e-4, no dropout), which reached 1.37 nats/char in 2000
steps (102 s) on this corpus on an idle 2-core machine. ``defaults`` is ``genai-course
train-gpt``'s default configuration before RoPE was adopted (byte-level BPE, 512 tokens, lr 3e-3,
learned positions), the baseline every
``+change`` modifies in one respect only. With ``--rounds`` the configurations are interleaved,
so they see the same machine load. The matmul peak is re-measured after every run and the best
value kept; on a busy machine the fraction of peak is unreliable (it can exceed 100 % when the
peak was measured at a worse moment).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

import torch

from genai_course.data.corpus import load_course_text
from genai_course.gpt.model import GPT, GPTConfig
from genai_course.gpt.tokenizers import build_tokenizer
from genai_course.gpt.train import TrainConfig, evaluate, prepare_data, train

ANCHOR = {
    "tokenizer": "char",
    "model": dict(n_layers=4, n_heads=4, d_model=128, block_size=64),
    "train": dict(batch_size=12, lr=1e-3, min_lr=1e-4),
}
DEFAULTS = {  # genai-course train-gpt's defaults (gpt/run.py) before RoPE was adopted (then pos="learned")
    "tokenizer": "bpe",
    "model": dict(n_layers=4, n_heads=4, d_model=128, block_size=64),
    "train": dict(batch_size=12, lr=3e-3, min_lr=3e-4),
}


def variant(base: dict, model: dict | None = None, train: dict | None = None, tokenizer: str | None = None) -> dict:
    return {
        "tokenizer": tokenizer or base["tokenizer"],
        "model": {**base["model"], **(model or {})},
        "train": {**base["train"], **(train or {})},
    }


# One change at a time on top of ``defaults``; each cites where it comes from.
CHANGES = {
    "+rope": dict(model=dict(pos="rope")),  # Su et al. 2021 (RoFormer)
    "+rmsnorm": dict(model=dict(norm="rmsnorm")),  # Zhang & Sennrich 2019
    "+swiglu": dict(model=dict(mlp="swiglu")),  # Shazeer 2020
    "+relu2": dict(model=dict(mlp="relu2")),  # So et al. 2021 (Primer)
    "+qknorm": dict(model=dict(qk_norm=True)),  # Henry et al. 2020; Dehghani et al. 2023
    "+nobias": dict(model=dict(bias=False)),  # PaLM (Chowdhery et al. 2022)
    "+untied": dict(model=dict(tie_weights=False)),
    "+adamw95": dict(train=dict(beta2=0.95)),  # the β2 of GPT-3 and LLaMA: faster-adapting second moment
    "+batch32": dict(train=dict(batch_size=32)),  # bigger matmuls: more of the peak per step
}
# The changes that helped in the ablation (benchmarks/README.md), all at once.
COMBINED = ["+rope", "+untied"]

CONFIGS = {
    "anchor": ANCHOR,
    "anchor-lr3e-3": variant(ANCHOR, train=dict(lr=3e-3, min_lr=3e-4)),
    "defaults": DEFAULTS,
    "char-ctx128-b16": variant(DEFAULTS, tokenizer="char", model=dict(block_size=128), train=dict(batch_size=16)),
    **{name: variant(DEFAULTS, **change) for name, change in CHANGES.items()},
}


def combine(names: list[str]) -> dict:
    cfg = DEFAULTS
    for name in names:
        cfg = variant(cfg, **CHANGES[name])
    return cfg


CONFIGS["combined"] = combine(COMBINED)
GROUPS = {
    "ablation": ["anchor", "defaults", *CHANGES],
    "final": ["anchor", "defaults", "+rope", "combined"],
}


def machine() -> str:
    """The CPU model (from /proc/cpuinfo where there is one) and the number of cores."""
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} cores"


def matmul_peak(n: int = 512, repeats: int = 20) -> float:
    """Best measured float32 matmul FLOP/s at a size like the model's (n × n @ n × n)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = max(best, 2 * n**3 * repeats / (time.perf_counter() - start))
    return best


_DATA: dict = {}


def data_for(kind: str, text: str):
    """Tokenizer and encoded splits, made once per tokenizer kind (outside every timed run)."""
    if kind not in _DATA:
        tok = build_tokenizer(kind, text, 512)
        _DATA[kind] = (tok, *prepare_data(text, tok))
    return _DATA[kind]


def run(name: str, seconds: float, text: str, seed: int = 0) -> dict:
    spec = CONFIGS[name]
    tok, train_ids, val_ids, cpt = data_for(spec["tokenizer"], text)
    torch.manual_seed(seed)
    model = GPT(GPTConfig(tok.vocab_size, **spec["model"]))
    cfg = TrainConfig(max_iters=None, max_seconds=seconds, eval_interval=0, seed=seed, **spec["train"])
    hist = train(model, train_ids, val_ids, cfg, cpt, show_progress=False)
    val = evaluate(model, val_ids) / cpt[1]
    return {
        "name": name,
        "budget": seconds,
        "seed": seed,
        "steps": len(hist["iter"]),
        "seconds": hist["train_seconds"],
        "val": val,
        "tokens_per_second": hist["tokens_per_second"],
        "chars_per_second": hist["tokens_per_second"] * cpt[0],
        "flops": model.flops_per_token() * hist["tokens_per_second"],
    }


def table(rows: list[dict]) -> str:
    """Markdown: per configuration, the mean over rounds (and the spread when there are several)."""
    names = list(dict.fromkeys(r["name"] for r in rows))
    by = {n: [r for r in rows if r["name"] == n] for n in names}
    anchor = statistics.mean(r["val"] for r in by["anchor"]) if "anchor" in by else None
    peak = max(r["peak"] for r in rows)  # the best matmul rate measured in the whole sweep
    lines = [
        "| config | rounds | val loss (nats/char) | ratio to anchor | tokens/s | MFU % |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for n in names:
        rs = by[n]
        vals = [r["val"] for r in rs]
        spread = f" ± {(max(vals) - min(vals)) / 2:.3f}" if len(vals) > 1 else ""
        ratio = f"{statistics.mean(vals) / anchor:.3f}" if anchor else "–"
        mfu = statistics.mean(r["flops"] for r in rs) / peak * 100
        lines.append(
            f"| {n} | {len(rs)} | {statistics.mean(vals):.3f}{spread} | {ratio} | "
            f"{statistics.mean(r['tokens_per_second'] for r in rs):,.0f} | {mfu:.1f} |"
        )
    return "\n".join(lines)


def write_readme(path: Path, label: str, text: str) -> None:
    """Replace what lies between ``<!-- table:LABEL -->`` and ``<!-- /table:LABEL -->`` in ``path``."""
    doc = path.read_text()
    start, end = f"<!-- table:{label} -->", f"<!-- /table:{label} -->"
    if start not in doc or end not in doc:
        raise SystemExit(f"{path} has no {start} … {end} markers")
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    path.write_text(pattern.sub(lambda _: f"{start}\n{text}\n{end}", doc))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, nargs="+", default=[102.0], help="wall-clock budgets")
    parser.add_argument(
        "--configs", nargs="+", default=["anchor", "defaults"], help=f"names, or groups {sorted(GROUPS)}"
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--log", type=Path, help="append every run as a JSON line to this file")
    parser.add_argument("--report", type=Path, nargs="+", help="print the table of these logs and train nothing")
    parser.add_argument("--readme", type=Path, help="with --report: write the table into this file")
    parser.add_argument("--label", default="ablation", help="the README's table marker")
    args = parser.parse_args()
    if args.report:
        rows = [json.loads(line) for path in args.report for line in path.read_text().splitlines() if line.strip()]
        out = table([r for r in rows if "name" in r])
        print(out)
        if args.readme:
            write_readme(args.readme, args.label, out)
        return
    names = [n for c in args.configs for n in GROUPS.get(c, [c])]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        parser.error(f"unknown configs {unknown}; choose from {sorted(CONFIGS)} or groups {sorted(GROUPS)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    text = load_course_text()
    peak = matmul_peak()
    header = {
        "date": datetime.datetime.now().isoformat(timespec="minutes"),
        "machine": machine(),
        "command": "python " + " ".join(sys.argv),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    print(
        f"threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}, "
        f"measured fp32 matmul peak {peak / 1e9:.1f} GFLOP/s"
    )
    log = args.log.open("a") if args.log else None
    if log:
        log.write(json.dumps(header) + "\n")
    print(
        f"{'config':16s} {'budget s':>8s} {'steps':>6s} {'val nats/char':>13s} {'tokens/s':>9s} "
        f"{'chars/s':>8s} {'GFLOP/s':>8s} {'of peak':>7s}"
    )
    for r in range(args.rounds):
        for seconds in args.seconds:
            for name in names:
                m = run(name, seconds, text, seed=r)
                peak = max(peak, matmul_peak())  # on a shared machine the best measurement is the truest
                m.update(peak=peak, load=os.getloadavg()[0], round=r)
                print(
                    f"{name:16s} {seconds:8.0f} {m['steps']:6d} {m['val']:13.3f} {m['tokens_per_second']:9.0f} "
                    f"{m['chars_per_second']:8.0f} {m['flops'] / 1e9:8.2f} {m['flops'] / peak:7.1%}  "
                    f"(load {m['load']:.1f})",
                    flush=True,
                )
                if log:
                    log.write(json.dumps(m) + "\n")
                    log.flush()


if __name__ == "__main__":
    main()
