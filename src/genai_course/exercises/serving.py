"""Checkers for chapter 8's serving notebook (an HTTP endpoint with batching, and guardrails)."""

from __future__ import annotations

import math

from .checks import Feedback, call_student, fail, run_check


def check_false_rates(false_rates) -> Feedback:
    """``false_rates(predicted_block, truly_bad) -> (fpr, fnr)``: FPR = benign blocked / all benign,
    FNR = bad passed / all bad; NaN for a class with no items."""
    from ..deploy.guardrails import false_rates as reference

    cases = [
        # 4 bad (3 blocked), 6 benign (2 blocked): FPR 2/6, FNR 1/4, and no wrong formula gives the same pair
        (
            [True, True, True, False, True, True, False, False, False, False],
            [True, True, True, True, False, False, False, False, False, False],
        ),
        ([True, False, False, False], [True, True, True, True]),  # no benign item: FPR is undefined
        ([False, False, True], [False, False, False]),  # no bad item: FNR is undefined
        ([True, True, True, True], [False, True, False, True]),  # block everything: FPR 1, FNR 0
    ]

    def same(a, b) -> bool:
        return (math.isnan(a) and math.isnan(b)) or (not math.isnan(a) and not math.isnan(b) and abs(a - b) < 1e-9)

    def body() -> str:
        for blocked, bad in cases:
            if all(bad) or not any(bad):  # a class is empty: dividing by its size must not crash
                try:
                    false_rates(list(blocked), list(bad))
                except ZeroDivisionError:
                    fail(
                        f"ZeroDivisionError for truly_bad={bad}, which has no {'benign' if all(bad) else 'bad'} item. "
                        "Hint: the rate of an empty class is undefined: return float('nan') for it."
                    )
                except Exception:
                    pass  # any other error is reported with its line by call_student below
            got = call_student(false_rates, list(blocked), list(bad))
            expected = reference(blocked, bad)
            if not (isinstance(got, tuple) and len(got) == 2):
                fail(f"Return a pair (fpr, fnr), got {got!r}.")
            try:
                fpr, fnr = float(got[0]), float(got[1])
            except (TypeError, ValueError):
                fail(f"fpr and fnr must be numbers, got {got!r}.")
            where = f" (for predicted_block={blocked}, truly_bad={bad})"
            if same(fpr, expected[1]) and same(fnr, expected[0]) and not same(fpr, expected[0]):
                fail(
                    "fpr and fnr are swapped." + where + " Hint: a false POSITIVE is a benign item the filter blocked."
                )
            n = len(blocked)
            fp = sum(b and not t for b, t in zip(blocked, bad, strict=True))
            fn = sum(t and not b for b, t in zip(blocked, bad, strict=True))
            if (not math.isnan(expected[0]) and same(fpr, fp / n) and not same(fpr, expected[0])) or (
                not math.isnan(expected[1]) and same(fnr, fn / n) and not same(fnr, expected[1])
            ):
                fail(
                    "a rate is divided by the number of ALL items." + where + " Hint: FPR = fp / (number of benign "
                    "items), FNR = fn / (number of bad items): each rate is a share of one class."
                )
            if math.isnan(expected[0]) != math.isnan(fpr) or math.isnan(expected[1]) != math.isnan(fnr):
                fail(
                    f"expected {expected}, got {(fpr, fnr)}{where}. Hint: when a class has no items its rate is "
                    "undefined: return float('nan') instead of dividing by zero or returning 0."
                )
            if not (same(fpr, expected[0]) and same(fnr, expected[1])):
                fail(
                    f"expected (fpr, fnr) = {expected}, got {(fpr, fnr)}{where}. Hint: count fp (blocked and benign) "
                    "and fn (passed and bad), then divide by the size of the matching class."
                )
        return "Correct: each rate is a share of one class, so a filter can have both low FPR and high FNR."

    return run_check(body)
