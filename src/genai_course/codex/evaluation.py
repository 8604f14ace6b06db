"""Functional correctness, end to end: sample completions for each problem, run them with their
tests in the sandbox, and count what passed (Chen et al. 2021, section 2).

Works for any problem with a ``prompt`` and a way to build a program from a completion:
:mod:`genai_course.codex.tasks` (``tasks.program``) and HumanEval
(``humaneval.program``). Identical completions are run once (at low temperature many samples
coincide), and the programs of all problems go to the sandbox together, two at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .passk import mean_pass_at_k


@dataclass
class ProblemResult:
    """The ``n`` samples of one problem, each with its sandbox verdict."""

    task_id: str
    completions: list[str]
    passed: list[bool]
    statuses: list[str]
    errors: list[str] = field(default_factory=list, repr=False)  # last line of stderr, per sample

    @property
    def n(self) -> int:
        return len(self.completions)

    @property
    def c(self) -> int:
        return sum(self.passed)


def last_error_line(stderr: str) -> str:
    """The exception line of a traceback ("NameError: name 'x' is not defined"), or ''."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def run_completions(
    problems: Sequence,
    completions: Sequence[Sequence[str]],
    build_program: Callable[[object, str], str],
    timeout: float = 3.0,
    workers: int = 2,
) -> list[ProblemResult]:
    """Judge given completions (one list per problem) → one :class:`ProblemResult` per problem."""
    from .sandbox import execute_many

    if len(problems) != len(completions):
        raise ValueError(f"got {len(problems)} problems but {len(completions)} lists of completions")
    programs = [build_program(p, c) for p, cs in zip(problems, completions, strict=True) for c in cs]
    verdicts = iter(execute_many(programs, timeout=timeout, workers=workers))
    results = []
    for problem, cs in zip(problems, completions, strict=True):
        rs = [next(verdicts) for _ in cs]
        results.append(
            ProblemResult(
                task_id=getattr(problem, "task_id", str(len(results))),
                completions=list(cs),
                passed=[r.passed for r in rs],
                statuses=[r.status for r in rs],
                errors=[last_error_line(r.stderr) if not r.passed else "" for r in rs],
            )
        )
    return results


def sample_and_run(
    model,
    tokenizer,
    problems: Sequence,
    build_program: Callable[[object, str], str],
    n: int,
    temperature: float,
    top_p: float | None = 0.95,
    max_new_tokens: int = 128,
    seed: int = 0,
    stop_at_function_end: bool = True,
    timeout: float = 3.0,
) -> list[ProblemResult]:
    """``n`` samples per problem from ``model``, judged in the sandbox."""
    from .completion import sample_completions

    completions = [
        [
            s.text
            for s in sample_completions(
                model,
                tokenizer,
                p.prompt,
                n=n,
                temperature=temperature,
                top_p=top_p,
                max_new_tokens=max_new_tokens,
                seed=seed + i,
                stop_at_function_end=stop_at_function_end,
            )
        ]
        for i, p in enumerate(problems)
    ]
    return run_completions(problems, completions, build_program, timeout=timeout)


def pass_at(results: Sequence[ProblemResult], k: int) -> float:
    """Mean unbiased pass@k over problems."""
    return mean_pass_at_k([r.n for r in results], [r.c for r in results], k)
