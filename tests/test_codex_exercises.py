"""The chapter-3 checkers accept correct solutions and reject typical mistakes with the right hint."""

import ast
import math
import resource

import numpy as np
import pytest

from genai_course.codex.lint import keyword, resolved_calls
from genai_course.exercises.codex import check_lint_rule, check_memory_limit, check_pass_at_k


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
