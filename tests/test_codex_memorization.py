"""Copy detection: the lexer agrees with tokenize, the suffix array and the longest match agree with brute force."""

import inspect
import io
import json.decoder
import random
import re
import sys
import sysconfig
import textwrap
import tokenize
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genai_course.codex.memorization import (
    SEPARATOR,
    build_index,
    code_tokens,
    is_copy,
    longest_common_ngram,
    longest_match,
    suffix_array,
)

LAYOUT = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
LAYOUT |= {tokenize.ENCODING, tokenize.ENDMARKER}


def tokenize_tokens(text):
    """tokenize's tokens without layout, multi-line strings stripped of indentation as code_tokens does."""
    tokens = [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type not in LAYOUT]
    return [re.sub(r"\n[ \t]+", "\n", t) for t in tokens]


def test_tokens_drop_comments_and_layout():
    source = (
        'def f(x):  # add one\n    return x + 1.5e-3  \\\n        ** 2  # done\ns = rb"a\\"b" + """doc\nstring"""\n'
    )
    assert code_tokens(source) == [
        "def", "f", "(", "x", ")", ":", "return", "x", "+", "1.5e-3", "**", "2",
        "s", "=", 'rb"a\\"b"', "+", '"""doc\nstring"""',
    ]  # fmt: skip
    assert code_tokens("a  =  1") == code_tokens("a=1  # same tokens")


@pytest.mark.parametrize("module", [json.decoder, textwrap, inspect])
def test_tokens_agree_with_the_tokenize_module_on_real_code(module):
    source = inspect.getsource(module)
    if sys.version_info >= (3, 12) and ('f"' in source or "f'" in source):
        pytest.skip("Python 3.12's tokenize splits f-strings into pieces")
    assert code_tokens(source) == tokenize_tokens(source)


def test_truncated_samples_still_tokenize():
    for broken in ["x = (1, 2", 's = """never closed\n', "\tif x:\n  y"]:  # cut mid-bracket, mid-string
        with pytest.raises((tokenize.TokenError, IndentationError)):
            tokenize_tokens(broken)
        assert code_tokens(broken)  # tokens, no exception
    assert code_tokens('return "unterminated\nx = 1') == ["return", '"unterminated', "x", "=", "1"]


def brute_force_suffix_array(ids):
    return sorted(range(len(ids)), key=lambda i: list(ids[i:]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 3), max_size=40))
def test_suffix_array_matches_sorting_all_suffixes(ids):
    assert list(suffix_array(np.array(ids, dtype=np.int64))) == brute_force_suffix_array(ids)


def test_suffix_array_of_long_repeats():
    ids = np.array([1, 2] * 300 + [1] * 200, dtype=np.int64)
    assert list(suffix_array(ids)) == brute_force_suffix_array(list(ids))


def brute_force_longest(sample, documents):
    best = 0
    for doc in documents:
        for i in range(len(sample)):
            for j in range(len(doc)):
                length = 0
                while i + length < len(sample) and j + length < len(doc) and sample[i + length] == doc[j + length]:
                    length += 1
                best = max(best, length)
    return best


def test_longest_match_equals_brute_force_on_random_token_streams():
    rng = random.Random(0)
    alphabet = ["a", "b", "c", "(", ")"]
    for _ in range(150):
        documents = [[rng.choice(alphabet) for _ in range(rng.randint(0, 25))] for _ in range(rng.randint(1, 3))]
        index = build_index(" ".join(doc) for doc in documents)
        sample = [rng.choice(alphabet + ["zz"]) for _ in range(rng.randint(0, 15))]
        assert longest_common_ngram(sample, index) == brute_force_longest(sample, documents), (documents, sample)


def test_matches_never_span_two_files():
    index = build_index([("one.py", "a b c"), ("two.py", "d e f")])
    assert longest_common_ngram(code_tokens("b c d e"), index) == 2
    assert index.ids.tolist().count(SEPARATOR) == 2


@pytest.fixture(scope="module")
def stdlib_index():
    wanted = {"json/decoder.py", "json/encoder.py", "textwrap.py", "string.py", "glob.py", "fnmatch.py"}
    root = Path(sysconfig.get_paths()["stdlib"])
    return build_index([(name, (root / name).read_text(encoding="utf-8")) for name in sorted(wanted)])


def test_a_copied_function_matches_in_full_and_is_located(stdlib_index):
    copied = inspect.getsource(textwrap.TextWrapper._split)
    tokens = code_tokens(copied)
    match = longest_match(tokens, stdlib_index)
    assert match.length == len(tokens) and match.sample_start == 0 and match.file == "textwrap.py"
    assert is_copy(copied, stdlib_index)
    # re-indented (a method made a function) and re-commented, it is still the same copy
    disguised = "# my own work\n" + re.sub(r"\):$", "):  # mine\n", textwrap.dedent(copied), flags=re.M)
    assert longest_common_ngram(code_tokens(disguised), stdlib_index) == len(tokens)


def test_a_copy_inside_new_code_is_found(stdlib_index):
    copied = inspect.getsource(json.decoder.JSONDecoder.decode)
    sample = "x = compute_something(42)\n" + textwrap.dedent(copied) + "\nprint(my_new_variable)\n"
    match = longest_match(code_tokens(sample), stdlib_index)
    assert match.length >= len(code_tokens(copied)) and match.file == "json/decoder.py"


def test_fresh_code_has_a_short_overlap(stdlib_index):
    fresh = "def add_prices(basket, tax_rate=0.19):\n    subtotal = sum(item.price for item in basket)\n"
    fresh += "    return round(subtotal * (1 + tax_rate), 2)\n"
    overlap = longest_common_ngram(code_tokens(fresh), stdlib_index)
    assert 0 < overlap < 8
    assert not is_copy(fresh, stdlib_index)
    assert longest_common_ngram([], stdlib_index) == 0


def test_the_index_covers_exactly_the_training_modules():
    from genai_course.codex.memorization import stdlib_documents
    from genai_course.data.python_source import stdlib_dir, stdlib_files

    names = {name for name, _ in stdlib_documents()}
    train = {p.relative_to(stdlib_dir()).as_posix() for p in stdlib_files("train")}
    assert len(names) > 300 and names <= train and len(train - names) <= 5  # a few files are not UTF-8
    assert not names & {p.relative_to(stdlib_dir()).as_posix() for p in stdlib_files("heldout")}
