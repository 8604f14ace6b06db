"""Generate → run the tests → read the error → repair: the loop of today's coding agents, in small.

An agent such as those of Chen et al. (2024, "self-debug") or Olausson et al. (2024) shows the
model its failed attempt and the error, and asks for a fix. Our model is too small to read a
traceback, but it *was* trained on docstrings with ``>>>`` examples. So the feedback it gets is
the one it can use: the failing test, turned into an example in the docstring. The traceback of a
failed ``assert candidate(args) == expected`` names the line; :func:`failing_assertion` finds
it and :func:`add_example` writes ``>>> name(args)`` / ``expected`` into the prompt. Failures
that are not a wrong answer (a ``NameError``, a timeout) give nothing to add, and the next round
is a plain resample.

The fair comparison is at an **equal budget of samples**: a loop that used three samples must beat
three independent samples (pass@3), not one — Olausson et al. found the gain of self-repair
shrinks, and can vanish, once it is counted this way.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

_ASSERT = re.compile(r"^\s*assert\s+candidate\((?P<args>.*)\)\s*==\s*(?P<expected>.+?)\s*$")


def failing_assertion(stderr: str) -> tuple[str, str] | None:
    """``(args, expected)`` of the ``assert candidate(args) == expected`` a traceback stopped at, or
    None when the program failed some other way (an exception raised *inside* the candidate also
    passes through that line, but it is not a wrong answer)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    if not lines or not lines[-1].startswith("AssertionError"):
        return None
    for i in range(len(lines) - 1, 0, -1):
        match = _ASSERT.match(lines[i])
        if match and lines[i - 1].strip().startswith("File ") and "in check" in lines[i - 1]:
            return match["args"], match["expected"]
    return None


def add_example(prompt: str, entry_point: str, args: str, expected: str) -> str:
    """``prompt`` with ``>>> entry_point(args)`` and ``expected`` added at the end of its docstring."""
    tree = ast.parse(prompt + "    pass\n")
    func = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == entry_point)
    doc = func.body[0]
    if not (isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant) and isinstance(doc.value.value, str)):
        raise ValueError(f"the prompt of {entry_point} has no docstring to add an example to")
    lines = prompt.splitlines(keepends=True)
    closing = doc.end_lineno - 1  # the line holding the closing quotes
    indent = " " * (func.col_offset + 4)
    example = f"{indent}>>> {entry_point}({args})\n{indent}{expected}\n"
    head, last = lines[closing], lines[closing].rstrip("\n")
    quote = '"""' if last.endswith('"""') else "'''"
    if last.strip() == quote:  # closing quotes on their own line: the example goes just before them
        return "".join(lines[:closing]) + example + head + "".join(lines[closing + 1 :])
    text = last[: -len(quote)]  # a one-line docstring: break it open
    return "".join(lines[:closing]) + text + "\n" + example + indent + quote + "\n" + "".join(lines[closing + 1 :])


@dataclass
class RepairTrace:
    """One problem's run of the loop: the prompt, completion and verdict of every round."""

    prompts: list[str] = field(default_factory=list)
    completions: list[str] = field(default_factory=list)
    passed: list[bool] = field(default_factory=list)
    feedback: list[str] = field(default_factory=list)  # what was added after each failed round

    def solved_within(self, rounds: int) -> bool:
        """Solved using at most ``rounds`` repairs (``rounds + 1`` samples)."""
        return any(self.passed[: rounds + 1])


def feedback_prompt(task, prompt: str, stderr: str) -> tuple[str, str]:
    """The next round's prompt after a failure, and a one-line note of what was added."""
    found = failing_assertion(stderr)
    if found is None:
        return prompt, "(not a wrong answer: resample)"
    try:
        return add_example(prompt, task.entry_point, *found), f">>> {task.entry_point}({found[0]}) → {found[1]}"
    except (SyntaxError, ValueError, StopIteration):
        return prompt, "(the example could not be added: resample)"


def repair_loop(
    model,
    tokenizer,
    problems,
    build_program,
    trials: int = 4,
    rounds: int = 2,
    temperature: float = 0.8,
    seed: int = 0,
    max_new_tokens: int = 128,
    timeout: float = 3.0,
) -> list[list[RepairTrace]]:
    """Run the loop ``trials`` times on every problem: sample, run, and after a wrong answer add the
    failing test to the docstring, for up to ``rounds`` repairs → ``traces[problem][trial]``.

    All runs advance one round at a time: runs that share a prompt are sampled together and all
    programs of a round go to the sandbox at once, so the loop costs about what the same number of
    plain samples costs.
    """
    from .completion import sample_completions
    from .sandbox import execute_many

    traces = [[RepairTrace() for _ in range(trials)] for _ in problems]
    prompts = [[p.prompt] * trials for p in problems]
    for r in range(rounds + 1):
        open_runs = [(i, j) for i in range(len(problems)) for j in range(trials) if not any(traces[i][j].passed)]
        if not open_runs:
            break
        groups: dict[tuple[int, str], list[int]] = {}
        for i, j in open_runs:
            groups.setdefault((i, prompts[i][j]), []).append(j)
        completions: dict[tuple[int, int], str] = {}
        for g, ((i, prompt), js) in enumerate(groups.items()):
            samples = sample_completions(
                model,
                tokenizer,
                prompt,
                n=len(js),
                temperature=temperature,
                seed=seed + 1000 * r + 7919 * g + 104729 * i,
                max_new_tokens=max_new_tokens,
            )
            completions.update({(i, j): s.text for j, s in zip(js, samples, strict=True)})
        results = execute_many([build_program(problems[i], completions[i, j]) for i, j in open_runs], timeout=timeout)
        for (i, j), result in zip(open_runs, results, strict=True):
            trace = traces[i][j]
            trace.prompts.append(prompts[i][j])
            trace.completions.append(completions[i, j])
            trace.passed.append(result.passed)
            if not result.passed and r < rounds:
                prompts[i][j], note = feedback_prompt(problems[i], prompts[i][j], result.stderr)
                trace.feedback.append(note)
    return traces
