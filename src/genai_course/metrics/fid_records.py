"""Re-score the FID fields of the shipped digit generators' records with :class:`~genai_course.metrics.fid.FIDProtocol`.

    python -m genai_course.metrics.fid_records [gan_dcgan_digits gan_cgan_digits diffusion_digits]

Loads the shipped weights (nothing is retrained, the ``.pt`` files are untouched), recomputes the
metrics with the recipes' own evaluation functions on the CPU and rewrites only the ``.json``
records: old FID fields are replaced, other fields (training settings) are kept. Afterwards the
manifest's copy of the metrics is stale: run ``genai-course recipe --manifest``.
"""

from __future__ import annotations

import json
import sys

import torch

from genai_course.checkpoint_io import checkpoint_path, write_text

RECORDS = ("gan_dcgan_digits", "gan_cgan_digits", "diffusion_digits")


def _fresh_metrics(name: str, old: dict) -> dict:
    if name == "diffusion_digits":
        from genai_course.diffusion.train_checkpoints import evaluate, load_digit_diffusion

        return evaluate(load_digit_diffusion(), n=old.get("n_samples", 500), seed=old.get("seed", 1))
    from genai_course.gan.checkpoint import load_model
    from genai_course.gan.pretrain import evaluate_digit_generator

    return evaluate_digit_generator(load_model(name.removeprefix("gan_")))


def rescore_fid_record(name: str) -> dict:
    """Recompute the metrics of shipped record ``name`` (one of :data:`RECORDS`), rewrite its ``.json``, return it."""
    if name not in RECORDS:
        raise ValueError(f"name must be one of {RECORDS}, got {name!r}")
    path = checkpoint_path(f"{name}.json")
    old = json.loads(path.read_text())
    fresh = _fresh_metrics(name, old)
    kept = {k: v for k, v in old.items() if not k.startswith("course_fid") and k not in fresh}
    metrics = {**kept, **fresh}
    write_text(path, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return metrics


if __name__ == "__main__":
    torch.set_num_threads(1)
    for record in sys.argv[1:] or RECORDS:
        print(record, rescore_fid_record(record), flush=True)
