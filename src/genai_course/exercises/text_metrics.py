"""Checkers for chapter 8's text metrics (BLEU, ROUGE)."""

from __future__ import annotations

from collections import Counter
from numbers import Integral

from .checks import Feedback, call_student, fail, run_check

# (what the case shows, hypothesis tokens, reference token lists, n)
_CASES = (
    (
        "Papineni et al.'s example: 'the' ×7 against two references",
        "the the the the the the the".split(),
        ["the cat is on the mat".split(), "there is a cat on the mat".split()],
        1,
    ),
    (
        "bigrams of a 6-token hypothesis",
        "the cat sat on the mat".split(),
        ["the cat is on the mat".split()],
        2,
    ),
    (
        "a repeated word and two references that each hold it once",
        "cat cat cat dog".split(),
        ["a cat and a dog".split(), "one cat".split()],
        1,
    ),
    (
        "a repeated word, one reference holding it twice",
        "on the mat on the mat on the mat".split(),
        ["the cat on the mat".split(), "the mat on the mat".split()],
        2,
    ),
    ("trigrams of a hypothesis shorter than 3 tokens", "the cat".split(), ["the cat sat".split()], 3),
    ("4-grams with no match", "a b c d e".split(), ["a b c x e".split(), "b c d".split()], 4),
)


def _ngrams(tokens, n) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _answer(hyp, refs, n, *, clip="max", window=0):
    """The reference (clip='max', window=0) and the typical wrong answers, for the hints."""
    grams = Counter(tuple(hyp[i : i + n]) for i in range(max(len(hyp) - n + 1 + window, 0)))
    ref_counts = [_ngrams(r, n) for r in refs]
    if clip == "max":
        limit = Counter()
        for c in ref_counts:
            limit |= c
    elif clip == "sum":
        limit = sum(ref_counts, Counter())
    elif clip == "first":
        limit = ref_counts[0]
    else:  # no clipping: every hypothesis n-gram found in some reference counts
        return sum(c for g, c in grams.items() if any(g in rc for rc in ref_counts)), sum(grams.values())
    return sum(min(c, limit[g]) for g, c in grams.items()), sum(grams.values())


_MISTAKES = (
    (
        dict(clip="none"),
        "you count every hypothesis n-gram that occurs in a reference, without clipping. Clip each n-gram's "
        "count to the most times it occurs in any single reference: min(count, max_ref count_ref).",
    ),
    (
        dict(clip="sum"),
        "you clip against the sum of the references' counts. The limit is the maximum over references: "
        "an n-gram occurring once in each of two references may be credited once, not twice.",
    ),
    (
        dict(clip="first"),
        "you clip against the first reference only. Take, for every n-gram, the maximum of its count over all references.",
    ),
    (
        dict(window=-1),
        "one n-gram too few: a list of L tokens has L − n + 1 n-grams (range(len(tokens) - n + 1)).",
    ),
    (
        dict(window=1),
        "one n-gram too many: a list of L tokens has L − n + 1 n-grams; your extra one is a truncated tail "
        "(slices past the end are shorter than n).",
    ),
)


def check_modified_precision(modified_precision) -> Feedback:
    """``modified_precision(hypothesis_tokens, references_tokens, n) -> (clipped_matches, total)``:
    BLEU's clipped n-gram counts for one sentence (Papineni et al. 2002, section 2.1)."""

    def body() -> str:
        for what, hyp, refs, n in _CASES:
            got = call_student(modified_precision, list(hyp), [list(r) for r in refs], n)
            if not (isinstance(got, (tuple, list)) and len(got) == 2):
                fail(f"{what}: return a pair (clipped_matches, total) of ints, got {got!r}.")
            if not all(isinstance(x, Integral) and not isinstance(x, bool) for x in got):
                fail(f"{what}: both numbers are counts: return ints, not a ratio or floats; got {got!r}.")
            got = (int(got[0]), int(got[1]))
            expected = _answer(hyp, refs, n)
            if got == expected:
                continue
            for mistake, hint in _MISTAKES:
                if got == _answer(hyp, refs, n, **mistake) and _answer(hyp, refs, n, **mistake) != expected:
                    fail(f"{what} (n={n}): expected {expected}, got {got}. Hint: {hint}")
            fail(
                f"{what} (n={n}): expected {expected}, got {got}. Hint: count the hypothesis n-grams "
                "(a Counter of tuples), clip each count by its maximum count over the references, and sum both."
            )
        return (
            "Correct: clipped matches and the number of hypothesis n-grams. BLEU sums both over the corpus "
            "before dividing, so long sentences weigh more than short ones."
        )

    return run_check(body)
