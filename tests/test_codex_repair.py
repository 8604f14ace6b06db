"""The repair loop's feedback: the failing test found in a real traceback, written into the docstring."""

import ast

import pytest

from genai_course.codex import tasks
from genai_course.codex.repair import add_example, failing_assertion
from genai_course.codex.sandbox import execute


def test_the_failing_assertion_is_read_from_the_sandbox_traceback():
    task = tasks.make_task("product_odds", 0)
    result = execute(tasks.program(task, "    return 0\n"))
    assert not result.passed
    args, expected = failing_assertion(result.stderr)
    # the first assert that fails for "return 0" is the first one in the tests
    first = next(line for line in task.tests.splitlines() if line.strip().startswith("assert"))
    assert first.strip() == f"assert candidate({args}) == {expected}"


def test_errors_that_are_not_a_wrong_answer_give_no_example():
    task = tasks.make_task("product_odds", 0)
    result = execute(tasks.program(task, "    return undefined_name\n"))
    assert not result.passed and failing_assertion(result.stderr) is None
    assert failing_assertion("") is None


def test_the_example_goes_into_the_docstring_and_the_prompt_stays_valid():
    task = tasks.make_task("sum_squares", 3)
    prompt = add_example(task.prompt, task.entry_point, "[1, 2]", "5")
    assert prompt.startswith(task.prompt.rsplit('    """', 1)[0])
    tree = ast.parse(prompt + "    pass\n")
    doc = ast.get_docstring(tree.body[0])
    assert doc.endswith(f">>> {task.entry_point}([1, 2])\n5")
    assert execute(tasks.program(tasks.Task(**{**task.__dict__, "prompt": prompt}), task.solution)).passed


def test_a_one_line_docstring_is_opened_up():
    prompt = 'def f(x):\n    """Return x."""\n'
    assert add_example(prompt, "f", "1", "1") == 'def f(x):\n    """Return x.\n    >>> f(1)\n    1\n    """\n'
    with pytest.raises(ValueError, match="no docstring"):
        add_example("def f(x):\n    x = 1\n", "f", "1", "1")


def test_the_loop_feeds_the_failing_test_back_and_stops_when_solved(monkeypatch):
    """A stand-in model that answers correctly only once the docstring holds the edge case."""
    from genai_course.codex import completion
    from genai_course.codex.completion import Sample
    from genai_course.codex.repair import repair_loop

    task = tasks.make_task("product_odds", 0)
    calls = []

    def fake_sample(model, tokenizer, prompt, n, **kwargs):
        calls.append((prompt, n))
        body = task.solution if f"{task.entry_point}([])" in prompt else "    return 0\n"
        return [Sample(text=body, raw=body, n_tokens=1)] * n

    monkeypatch.setattr(completion, "sample_completions", fake_sample)
    (traces,) = repair_loop(None, None, [task], tasks.program, trials=3, rounds=2)
    assert len(calls) == 2 and calls[0][1] == 3 and calls[1][1] == 3  # runs sharing a prompt are sampled together
    for trace in traces:
        assert trace.passed == [False, True]
        assert trace.feedback == [f">>> {task.entry_point}([]) → 1"]
        assert not trace.solved_within(0) and trace.solved_within(1)
