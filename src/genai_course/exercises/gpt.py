"""Checkers for chapter 2 (GPT with RLHF), part 1: tokenization and decoding."""

from __future__ import annotations

from .checks import Feedback, call_student, expect_tensor, fail, run_check


def check_merge(merge) -> Feedback:
    """``merge(ids, pair, new_id)`` replaces each non-overlapping occurrence of ``pair``, left to right."""
    from ..gpt.tokenizers import merge_pair

    cases = [
        ([1, 2, 3, 1, 2], (1, 2), 9, None),
        ([5, 5, 5], (5, 5), 7, "in 5 5 5 only the first two merge: after a merge, continue *after* the pair."),
        ([1, 2], (2, 1), 9, "a pair that does not occur leaves the list unchanged."),
        ([], (1, 2), 9, "an empty list stays empty."),
        ([3, 4, 3, 4, 4, 3], (4, 3), 8, None),
    ]

    def body() -> str:
        for ids, pair, new_id, hint in cases:
            got = call_student(merge, list(ids), pair, new_id)
            expected = merge_pair(ids, pair, new_id)
            if not isinstance(got, list):
                fail(f"merge({ids}, {pair}, {new_id}) should return a list, got {type(got).__name__}.")
            if got != expected:
                fail(
                    f"merge({ids}, {pair}, {new_id}): expected {expected}, got {got}."
                    + (f" Hint: {hint}" if hint else "")
                )
        return "Correct: your merge replaces every non-overlapping occurrence, left to right."

    return run_check(body)


def check_top_p(top_p) -> Feedback:
    """``top_p(logits, p)`` keeps the smallest set of most likely tokens whose probability reaches p."""
    import torch

    from ..gpt.sampling import top_p_filter

    def body() -> str:
        g = torch.Generator("cpu").manual_seed(0)
        logits = torch.randn(4, 10, generator=g) * 2
        for p in (0.1, 0.5, 0.9, 1.0):
            got = call_student(top_p, logits.clone(), p)
            expected = top_p_filter(logits, p)
            if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
                expect_tensor(got, expected, f"top_p(logits, {p})", "b v")
            kept, want = torch.isfinite(got), torch.isfinite(expected)
            if not torch.equal(kept, want):
                row = int((kept != want).any(-1).nonzero()[0])
                fail(
                    f"top_p(logits, {p}), row {row}: you keep {int(kept[row].sum())} tokens, "
                    f"the nucleus has {int(want[row].sum())}. Hint: sort the probabilities in "
                    "descending order and keep a token while the probability of the tokens "
                    "*before* it is still below p (so the token that crosses p is kept)."
                )
            expect_tensor(
                torch.where(kept, got, 0),
                torch.where(want, expected, 0),
                f"top_p(logits, {p}) kept logits",
                "b v",
                hint="leave the kept logits unchanged; set the others to -inf.",
            )
        return "Correct: your filter keeps exactly the nucleus for every p."

    return run_check(body)
