"""Docstring → function tasks with unit tests, generated from templates (the Codex-S data).

Codex-S (Chen et al. 2021, §4) fine-tuned the pretrained code model on *standalone functions*:
a signature and a docstring, followed by a correct body, each checked by unit tests. We cannot
scrape GitHub, so we *generate* such functions. A **template** is one small programming idea
("sum of the even numbers", "reverse the words of a sentence") with everything around the idea
left to chance: several phrasings of the docstring, several function and argument names and,
where the idea has one, a random constant ("multiply every element by {k}"). One generated
:class:`Task` looks like a HumanEval problem::

    def sum_evens(nums):
        \"\"\"Return the sum of the even numbers in nums.
        >>> sum_evens([3, 4, 10, -1])
        14
        \"\"\"
        return sum(x for x in nums if x % 2 == 0)          ← solution (the canonical body)

    def check(candidate):                                    ← tests
        assert candidate([]) == 0
        assert candidate([7, 2, -4]) == -2
        ...

The expected values in ``tests`` (and in the docstring's example) are *computed* by running the
canonical solution on edge cases (the empty list, the empty string, 0, …) and random inputs, so
a task can never state a wrong answer, and :func:`program` of a task with its own solution passes.

**Held-out templates, not held-out tasks.** Two tasks of one template differ only in surface
details, so a model that has seen "multiply every element by 3" has effectively seen "…by 5".
Testing on fresh tasks of *training* templates would measure recall. We therefore hold out whole
templates (:data:`HELDOUT_TEMPLATES`) and measure pass@k on those only. They come in two kinds,
which ask for two different degrees of generalisation.

*New combinations* (:data:`HELDOUT_COMBINATIONS`). The **pipeline** family is one grammar with
three slots: an aggregate (sum, product, largest, list) of a map (the element, its square, its
absolute value) over a filter (all, even, odd, positive, negative, greater than k)::

    def sum_squares_evens(nums):
        \"\"\"Return the sum of the squares of the even numbers in nums.\"\"\"
        return sum(x * x for x in nums if x % 2 == 0)

Ten of the triples are held out. Every *pair* of a held-out triple's parts (aggregate and map,
aggregate and filter, map and filter) occurs in training pipelines; only the whole is new, as in
the compositional splits of SCAN (Lake & Baroni 2018).

*New ideas* (:data:`HELDOUT_IDEAS`). Each combines two training ideas in a way no training
template does, with code of a shape the model has not seen (``a + b`` means the solution combines
the two patterns):

==================  ===========================================================================
held-out idea       reachable from the training templates
==================  ===========================================================================
running_max         running_total (a loop that appends a running value) + max_list
digit_product       digit_sum (``for d in str(abs(n))``) + product_list
count_long_words    count_above (``sum(1 for … if … > k)``) + word_lengths (``len(w) for w in s.split()``)
reverse_each_word   reverse_string (``[::-1]``) + capitalize_words (``" ".join(… for w in s.split())``)
char_frequencies    word_frequencies (a counting dict) applied to characters, as count_vowels iterates them
sum_values_above    sum_values (``sum(d.values())``) + keys_above (``for key, value in d.items() if value > k``)
==================  ===========================================================================

Besides the pipelines, 38 templates come in four families (:data:`FAMILIES`): list (of ints),
number, string and dict; the held-out ideas cover all four. Everything is plain, import-free
Python, and a prompt with its solution stays under about 600 characters (≈ 200 tokens of a code
BPE), so it fits the course's 256-token context with room to spare.

Generation is deterministic: each task draws from its own ``random.Random`` seeded by the string
``"{seed}/{template}/{index}"``, so a task does not change when other templates are added or when
more tasks per template are asked for.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

# ---------------------------------------------------------------------------------------------
# Tasks


@dataclass(frozen=True)
class Task:
    """One docstring → function problem, in HumanEval's format.

    ``prompt``: ``def name(args):`` and an indented docstring with an example, ending in a newline.
    ``solution``: the canonical body, indented, what follows the prompt.
    ``tests``: ``def check(candidate):`` with one ``assert`` per input, expected values computed by
    running the canonical solution. ``entry_point``: the function's name.
    """

    task_id: str
    template: str
    prompt: str
    solution: str
    tests: str
    entry_point: str


def program(task: Task, completion: str) -> str:
    """The program that grades ``completion`` (a function body) on ``task``: the prompt, the body,
    the tests and the call of ``check``, the same layout as a HumanEval program."""
    return task.prompt + completion + "\n" + task.tests + f"\ncheck({task.entry_point})\n"


# ---------------------------------------------------------------------------------------------
# Templates


@dataclass(frozen=True)
class Template:
    """One programming idea with its surface left to chance.

    ``docs`` and ``body`` are ``str.format`` strings over the argument names ``{a}``, ``{b}``,
    ``{c}`` and the template's constants (``{k}``; literal braces are doubled). ``args`` holds, per
    argument, the pool its name is drawn from. ``constants(rng)`` draws the constants and
    ``inputs(rng, constants)`` returns the test inputs as argument tuples, edge cases first.
    ``signature`` names the argument and result types: templates that share one can swap bodies,
    which is how the tests show that a task's asserts tell two ideas apart.
    """

    name: str
    family: str
    signature: str
    names: tuple[str, ...]
    args: tuple[tuple[str, ...], ...]
    docs: tuple[str, ...]
    body: str
    inputs: Callable[[random.Random, dict], list[tuple]]
    constants: Callable[[random.Random], dict] = field(default=lambda rng: {})


# Pools for argument names and for random data.
LIST_ARGS = ("nums", "numbers", "xs", "values", "lst", "items")
INT_ARGS = ("n", "x", "num", "number")
TEXT_ARGS = ("s", "text", "sentence", "line")
WORD_ARGS = ("s", "word", "text", "string")
DICT_ARGS = ("d", "counts", "scores", "table", "data")
WORDS = (
    "apple",
    "sky",
    "banana",
    "code",
    "river",
    "stone",
    "tree",
    "python",
    "cat",
    "moon",
    "a",
    "queue",
    "light",
    "owl",
    "sea",
    "garden",
)
PALINDROMES = ("level", "noon", "racecar", "kayak", "abba", "x", "refer")
KEYS = ("a", "b", "c", "x", "y", "z", "red", "blue", "tom", "ann", "bob")

# The random test inputs per task (edge cases come on top).
N_RANDOM = 5


def _ints(rng: random.Random, lo: int = -5, hi: int = 12, min_len: int = 2, max_len: int = 6) -> list[int]:
    return [rng.randint(lo, hi) for _ in range(rng.randint(min_len, max_len))]


def _sentence(rng: random.Random, min_words: int = 1, max_words: int = 4) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(min_words, max_words)))


def _dict(rng: random.Random, min_len: int = 2, max_len: int = 4, hi: int = 20, distinct: bool = False) -> dict:
    keys = rng.sample(KEYS, rng.randint(min_len, max_len))
    values = rng.sample(range(hi + 1), len(keys)) if distinct else [rng.randint(0, hi) for _ in keys]
    return dict(zip(keys, values, strict=True))


def _lists(*edges: list) -> Callable[[random.Random, dict], list[tuple]]:
    """Inputs for a one-list template: the given edge cases, then random lists."""
    return lambda rng, c: [(list(e),) for e in edges] + [(_ints(rng),) for _ in range(N_RANDOM)]


def _sentences(*edges: str, min_words: int = 1) -> Callable[[random.Random, dict], list[tuple]]:
    return lambda rng, c: [(e,) for e in edges] + [(_sentence(rng, min_words),) for _ in range(N_RANDOM)]


def _dicts(*edges: dict, distinct: bool = False) -> Callable[[random.Random, dict], list[tuple]]:
    return lambda rng, c: [(dict(e),) for e in edges] + [(_dict(rng, distinct=distinct),) for _ in range(N_RANDOM)]


def _k(lo: int, hi: int) -> Callable[[random.Random], dict]:
    return lambda rng: {"k": rng.randint(lo, hi)}


_PRODUCT = "result = 1\nfor x in {a}:\n    result *= x\nreturn result"

TEMPLATES_LIST: tuple[Template, ...] = (
    # ---- lists of ints ----------------------------------------------------------------------
    Template(
        "sum_list", "list", "list->int",
        ("sum_list", "total", "list_sum", "add_all"), (LIST_ARGS,),
        ("Return the sum of the numbers in {a}.", "Add up all the elements of {a}.", "Sum of {a}; 0 if it is empty."),
        "return sum({a})",
        _lists([], [5]),
    ),
    Template(
        "product_list", "list", "list->int",
        ("product", "multiply_all", "list_product"), (LIST_ARGS,),
        ("Return the product of the numbers in {a} (1 for an empty list).", "Multiply all elements of {a} together."),
        _PRODUCT,
        lambda rng, c: [([],), ([4],)] + [(_ints(rng, -3, 6),) for _ in range(N_RANDOM)],
    ),
    Template(
        "sum_evens", "list", "list->int",
        ("sum_evens", "sum_even", "even_total"), (LIST_ARGS,),
        ("Return the sum of the even numbers in {a}.", "Add up the elements of {a} that are even."),
        "return sum(x for x in {a} if x % 2 == 0)",
        _lists([], [3, 4]),
    ),
    Template(
        "count_above", "list", "list->int",
        ("count_above", "count_greater", "num_above"), (LIST_ARGS,),
        ("Count the numbers in {a} that are greater than {k}.", "How many elements of {a} exceed {k}?"),
        "return sum(1 for x in {a} if x > {k})",
        lambda rng, c: [([],), ([c["k"], c["k"] + 1],)] + [(_ints(rng),) for _ in range(N_RANDOM)],
        _k(0, 6),
    ),
    Template(
        "filter_evens", "list", "list->list",
        ("filter_evens", "only_evens", "even_numbers", "keep_even"), (LIST_ARGS,),
        ("Return a list of the even numbers in {a}, in order.", "Keep only the even elements of {a}."),
        "return [x for x in {a} if x % 2 == 0]",
        _lists([], [1, 2, 3]),
    ),
    Template(
        "filter_odds", "list", "list->list",
        ("filter_odds", "only_odds", "odd_numbers", "keep_odd"), (LIST_ARGS,),
        ("Return a list of the odd numbers in {a}, in order.", "Keep only the odd elements of {a}."),
        "return [x for x in {a} if x % 2 == 1]",
        _lists([], [1, 2, 3]),
    ),
    Template(
        "scale", "list", "list->list",
        ("scale", "multiply_each", "times_k", "scale_list"), (LIST_ARGS,),
        ("Multiply every element of {a} by {k}.", "Return a new list with each number in {a} times {k}."),
        "return [x * {k} for x in {a}]",
        _lists([], [1]),
        _k(2, 9),
    ),
    Template(
        "add_k", "list", "list->list",
        ("add_to_all", "shift", "increment_all", "add_each"), (LIST_ARGS,),
        ("Add {k} to every element of {a}.", "Return a new list with {k} added to each number in {a}."),
        "return [x + {k} for x in {a}]",
        _lists([], [0]),
        _k(1, 9),
    ),
    Template(
        "square_all", "list", "list->list",
        ("square_all", "squares", "square_each"), (LIST_ARGS,),
        ("Return the squares of the numbers in {a}.", "Square every element of {a}."),
        "return [x * x for x in {a}]",
        _lists([], [3]),
    ),
    Template(
        "running_total", "list", "list->list",
        ("running_total", "cumulative_sum", "prefix_sums"), (LIST_ARGS,),
        (
            "Return the running totals of {a}: element i is the sum of {a}[0..i].",
            "Cumulative sums of {a}, one per element.",
        ),
        "result = []\ntotal = 0\nfor x in {a}:\n    total += x\n    result.append(total)\nreturn result",
        _lists([], [4]),
    ),
    Template(
        "max_list", "list", "list->int",
        ("max_list", "largest", "biggest", "find_max"), (LIST_ARGS,),
        ("Return the largest number in {a}, or 0 if it is empty.", "Maximum of {a} (0 for an empty list)."),
        "if not {a}:\n    return 0\nreturn max({a})",
        _lists([], [-3], [4, 1]),
    ),
    # ---- numbers ----------------------------------------------------------------------------
    Template(
        "clamp", "number", "int,int,int->int",
        ("clamp", "clip", "bound"), (("x", "n", "value"), ("lo", "low", "lower"), ("hi", "high", "upper")),
        ("Clamp {a} to the range [{b}, {c}].", "Return {a} limited to lie between {b} and {c}."),
        "return max({b}, min({a}, {c}))",
        lambda rng, c: [(-5, 0, 10), (15, 0, 10), (3, 0, 10)]
        + [(rng.randint(-20, 20), *sorted(rng.sample(range(-10, 11), 2))) for _ in range(N_RANDOM)],
    ),
    Template(
        "is_even", "number", "int->bool",
        ("is_even", "even", "check_even"), (INT_ARGS,),
        ("Return True if {a} is even.", "Is {a} divisible by 2?"),
        "return {a} % 2 == 0",
        lambda rng, c: [(0,), (2,), (7,)] + [(rng.randint(-50, 50),) for _ in range(N_RANDOM)],
    ),
    Template(
        "is_multiple", "number", "int->bool",
        ("is_multiple", "divisible", "is_divisible"), (INT_ARGS,),
        ("Return True if {a} is a multiple of {k}.", "Is {a} divisible by {k}?"),
        "return {a} % {k} == 0",
        lambda rng, c: [(0,), (c["k"],), (c["k"] + 2,), (5 * c["k"] + 1,)]
        + [(rng.randint(-50, 50),) for _ in range(N_RANDOM)],
        _k(3, 9),
    ),
    Template(
        "digit_sum", "number", "int->int",
        ("digit_sum", "sum_digits", "add_digits"), (INT_ARGS,),
        ("Return the sum of the decimal digits of {a} (ignore the sign).", "Add up the digits of {a}."),
        "return sum(int(d) for d in str(abs({a})))",
        lambda rng, c: [(0,), (7,), (-45,)] + [(rng.randint(10, 99999),) for _ in range(N_RANDOM)],
    ),
    Template(
        "factorial", "number", "int->int",
        ("factorial", "fact", "factorial_of"), (INT_ARGS,),
        ("Return {a}! for {a} >= 0.", "Compute the factorial of {a} (1 for 0)."),
        "result = 1\nfor i in range(2, {a} + 1):\n    result *= i\nreturn result",
        lambda rng, c: [(0,), (1,)] + [(n,) for n in rng.sample(range(2, 13), N_RANDOM)],
    ),
    Template(
        "abs_difference", "number", "int,int->int",
        ("abs_difference", "distance", "diff"), (("a", "x", "m"), ("b", "y", "n")),
        ("Return the absolute difference between {a} and {b}.", "How far apart are {a} and {b}?"),
        "return abs({a} - {b})",
        lambda rng, c: [(0, 0), (3, 8), (8, 3)] + [(rng.randint(-20, 20), rng.randint(-20, 20)) for _ in range(N_RANDOM)],
    ),
    # ---- strings ----------------------------------------------------------------------------
    Template(
        "count_vowels", "string", "str->int",
        ("count_vowels", "vowel_count", "num_vowels"), (TEXT_ARGS,),
        ("Count the vowels (a, e, i, o, u) in {a}.", "Return how many characters of {a} are in 'aeiou'."),
        'return sum(1 for ch in {a} if ch in "aeiou")',
        _sentences("", "sky"),
    ),
    Template(
        "reverse_string", "string", "str->str",
        ("reverse", "reverse_string", "backwards"), (WORD_ARGS,),
        ("Return {a} reversed.", "Return the characters of {a} in reverse order."),
        "return {a}[::-1]",
        _sentences("", "ab"),
    ),
    Template(
        "reverse_words", "string", "str->str",
        ("reverse_words", "flip_words", "words_backwards"), (TEXT_ARGS,),
        ("Return the words of {a} in reverse order, joined by spaces.", "Reverse the order of the words in {a}."),
        'return " ".join({a}.split()[::-1])',
        _sentences("", "one two", min_words=2),
    ),
    Template(
        "is_palindrome", "string", "str->bool",
        ("is_palindrome", "palindrome", "reads_same_backwards"), (WORD_ARGS,),
        ("Return True if {a} reads the same backwards.", "Is {a} a palindrome?"),
        "return {a} == {a}[::-1]",
        lambda rng, c: [("",), ("ab",), ("aba",)]
        + [(w,) for w in rng.sample(PALINDROMES, 2) + rng.sample(WORDS[:10], N_RANDOM - 2)],
    ),
    Template(
        "remove_vowels", "string", "str->str",
        ("remove_vowels", "strip_vowels", "drop_vowels"), (TEXT_ARGS,),
        ("Return {a} without its vowels (a, e, i, o, u).", "Delete every character of 'aeiou' from {a}."),
        'return "".join(ch for ch in {a} if ch not in "aeiou")',
        _sentences("", "sky"),
    ),
    Template(
        "word_count", "string", "str->int",
        ("word_count", "count_words", "num_words"), (TEXT_ARGS,),
        ("Return the number of words in {a}.", "Count the space-separated words of {a}."),
        "return len({a}.split())",
        _sentences("", "hi"),
    ),
    Template(
        "capitalize_words", "string", "str->str",
        ("capitalize_words", "title_case", "capitalize_all"), (TEXT_ARGS,),
        ("Capitalize the first letter of every word in {a}.", "Return {a} with each word capitalized."),
        'return " ".join(w.capitalize() for w in {a}.split())',
        _sentences("", "hello world"),
    ),
    Template(
        "word_lengths", "string", "str->list",
        ("word_lengths", "lengths_of_words", "word_sizes"), (TEXT_ARGS,),
        ("Return the length of each word in {a}, as a list.", "List the number of letters of every word of {a}."),
        "return [len(w) for w in {a}.split()]",
        _sentences("", "a bb"),
    ),
    Template(
        "acronym", "string", "str->str",
        ("acronym", "initials", "first_letters"), (TEXT_ARGS,),
        ("Return the upper-cased first letters of the words in {a}.", "Make an acronym from the words of {a}."),
        'return "".join(w[0].upper() for w in {a}.split())',
        _sentences("", "portable network graphics", min_words=2),
    ),
    # ---- dicts ------------------------------------------------------------------------------
    Template(
        "max_value", "dict", "dict->int",
        ("max_value", "largest_value", "top_score"), (DICT_ARGS,),
        ("Return the largest value in {a}, or 0 if it is empty.", "Maximum of the values of {a} (0 if empty)."),
        "if not {a}:\n    return 0\nreturn max({a}.values())",
        _dicts({}, {"a": 3}),
    ),
    Template(
        "sum_values", "dict", "dict->int",
        ("sum_values", "total_value", "values_total"), (DICT_ARGS,),
        ("Return the sum of the values in {a}.", "Add up all the values of {a}."),
        "return sum({a}.values())",
        _dicts({}, {"a": 3}),
    ),
    Template(
        "keys_above", "dict", "dict->list",
        ("keys_above", "keys_over", "high_keys"), (DICT_ARGS,),
        ("Return the keys of {a} whose value is greater than {k}.", "List the keys of {a} with a value above {k}."),
        "return [key for key, value in {a}.items() if value > {k}]",
        lambda rng, c: [({},), ({"a": c["k"], "b": c["k"] + 1},)] + [(_dict(rng),) for _ in range(N_RANDOM)],
        _k(3, 15),
    ),
    Template(
        "key_of_max", "dict", "dict->str",
        ("key_of_max", "argmax", "best_key"), (DICT_ARGS,),
        ("Return the key of {a} with the largest value (None if empty).", "Which key of {a} has the biggest value?"),
        "if not {a}:\n    return None\nreturn max({a}, key={a}.get)",
        _dicts({}, {"a": 3}, distinct=True),
    ),
    Template(
        "word_frequencies", "dict", "str->dict",
        ("word_frequencies", "count_each_word", "word_counts"), (TEXT_ARGS,),
        ("Return a dict mapping each word of {a} to how often it occurs.", "Count how many times each word of {a} appears."),
        "counts = {{}}\nfor w in {a}.split():\n    counts[w] = counts.get(w, 0) + 1\nreturn counts",
        lambda rng, c: [("",), ("a b a",)]
        + [(" ".join(rng.choices(WORDS[:5], k=rng.randint(2, 5))),) for _ in range(N_RANDOM)],
    ),
    Template(
        "scale_values", "dict", "dict->dict",
        ("scale_values", "multiply_values", "scale_dict"), (DICT_ARGS,),
        ("Return a new dict with every value of {a} multiplied by {k}.", "Multiply each value in {a} by {k}."),
        "return {{key: value * {k} for key, value in {a}.items()}}",
        _dicts({}, {"a": 3}),
        _k(2, 9),
    ),
    # ---- held out: each combines two ideas taught above (see the module docstring) ---------
    Template(
        "running_max", "list", "list->list",
        ("running_max", "prefix_max", "max_so_far"), (LIST_ARGS,),
        ("Return the running maximum of {a}: element i is max({a}[0..i]).", "For each position, the largest element of {a} so far."),
        "result = []\nfor x in {a}:\n    if result:\n        x = max(x, result[-1])\n    result.append(x)\nreturn result",
        _lists([], [4], [5, 2, 7]),
    ),
    Template(
        "digit_product", "number", "int->int",
        ("digit_product", "product_of_digits", "multiply_digits"), (INT_ARGS,),
        ("Return the product of the decimal digits of {a} (ignore the sign).", "Multiply the digits of {a} together."),
        "result = 1\nfor d in str(abs({a})):\n    result *= int(d)\nreturn result",
        lambda rng, c: [(0,), (7,), (-45,)] + [(rng.randint(11, 99999),) for _ in range(N_RANDOM)],
    ),
    Template(
        "count_long_words", "string", "str->int",
        ("count_long_words", "num_long_words", "long_word_count"), (TEXT_ARGS,),
        ("Count the words in {a} longer than {k} letters.", "How many words of {a} have more than {k} characters?"),
        "return sum(1 for w in {a}.split() if len(w) > {k})",
        lambda rng, c: [("",), ("a" * c["k"] + " " + "b" * (c["k"] + 1),)]
        + [(_sentence(rng, 2, 5),) for _ in range(N_RANDOM)],
        _k(2, 5),
    ),
    Template(
        "reverse_each_word", "string", "str->str",
        ("reverse_each_word", "mirror_words", "flip_each_word"), (TEXT_ARGS,),
        ("Reverse every word of {a} but keep the words in order.", "Return {a} with the letters of each word reversed."),
        'return " ".join(w[::-1] for w in {a}.split())',
        _sentences("", "ab cd", min_words=2),
    ),
    Template(
        "char_frequencies", "dict", "str->dict",
        ("char_frequencies", "count_chars", "letter_counts"), (WORD_ARGS,),
        ("Return a dict mapping each character of {a} to how often it occurs.", "Count how many times each character of {a} appears."),
        "counts = {{}}\nfor ch in {a}:\n    counts[ch] = counts.get(ch, 0) + 1\nreturn counts",
        lambda rng, c: [("",), ("aba",)] + [(w,) for w in rng.sample(WORDS, N_RANDOM)],
    ),
    Template(
        "sum_values_above", "dict", "dict->int",
        ("sum_values_above", "total_above", "sum_big_values"), (DICT_ARGS,),
        ("Return the sum of the values of {a} that are greater than {k}.", "Add up the values in {a} above {k}."),
        "return sum(value for value in {a}.values() if value > {k})",
        lambda rng, c: [({},), ({"a": c["k"], "b": c["k"] + 1, "c": c["k"] + 2},)]
        + [(_dict(rng),) for _ in range(N_RANDOM)],
        _k(3, 15),
    ),
)  # fmt: skip

# ---- pipelines: "aggregate the mapped values of the filtered elements" --------------------
# One grammar, three slots: what to do with the values (sum, product, largest, list), what to
# compute from each element (itself, its square, its absolute value) and which elements to use
# (all, even, odd, positive, negative, greater than k). Every part is taught in many
# combinations; the held-out *combinations* below are never trained on as a whole.

AGGREGATES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # names, docstring phrasings
    "sum": (("sum", "total"), ("Return the sum of {what}.", "Add up {what}.")),
    "product": (
        ("product", "multiply"),
        ("Return the product of {what} (1 if there are none).", "Multiply together {what}; 1 if there are none."),
    ),
    "max": (
        ("max", "largest"),
        ("Return the largest of {what}, or 0 if there are none.", "Find the maximum of {what} (0 if there are none)."),
    ),
    "list": (
        ("list", "collect"),
        ("Return a list of {what}, in order.", "Collect {what} into a new list, keeping their order."),
    ),
}
MAPS: dict[str, tuple[str, str]] = {  # name part -> (expression of x, phrase)
    "": ("x", ""),
    "squares": ("x * x", "the squares of "),
    "abs": ("abs(x)", "the absolute values of "),
}
FILTERS: dict[str, tuple[str | None, str]] = {  # name part -> (condition on x, phrase)
    "": (None, "the numbers in {a}"),
    "evens": ("x % 2 == 0", "the even numbers in {a}"),
    "odds": ("x % 2 == 1", "the odd numbers in {a}"),
    "positives": ("x > 0", "the positive numbers in {a}"),
    "negatives": ("x < 0", "the negative numbers in {a}"),
    "above_k": ("x > {k}", "the numbers in {a} greater than {k}"),
}


def _pipeline_body(aggregate: str, expression: str, condition: str | None) -> str:
    if aggregate == "product":  # no product() builtin without an import: a loop, as in product_list
        update = f"result *= {expression}"
        loop = f"    if {condition}:\n        {update}" if condition else f"    {update}"
        return "result = 1\nfor x in {a}:\n" + loop + "\nreturn result"
    generator = f"{expression} for x in {{a}}" + (f" if {condition}" if condition else "")
    return {
        "sum": f"return sum({generator})",
        "max": f"return max(({generator}), default=0)",
        "list": f"return [{generator}]",
    }[aggregate]


def _pipeline_inputs(rng: random.Random, c: dict) -> list[tuple]:
    """Edge cases that tell neighbouring pipelines apart (nothing selected, only negatives, values
    just around k), then small random lists, small so that products stay short."""
    k = c.get("k", 2)
    edges = [[], [-3, -1], [2, -4, 3], [k, k + 1, -2], [1, 2]]
    return [(e,) for e in edges] + [(_ints(rng, -4, 7),) for _ in range(N_RANDOM)]


def _pipeline(aggregate: str, map_part: str, filter_part: str) -> Template:
    expression, map_phrase = MAPS[map_part]
    condition, filter_phrase = FILTERS[filter_part]
    parts = [p for p in (map_part, filter_part) if p]
    names, docs = AGGREGATES[aggregate]
    return Template(
        "_".join([aggregate, *parts]),
        "pipeline",
        "list->list" if aggregate == "list" else "list->int",
        tuple("_".join([n, *parts]) for n in names),
        (LIST_ARGS,),
        tuple(d.format(what=map_phrase + filter_phrase, a="{a}", k="{k}") for d in docs),
        _pipeline_body(aggregate, expression, condition),
        _pipeline_inputs,
        _k(2, 6) if filter_part == "above_k" else (lambda rng: {}),  # k < 2: the same products as "positives"
    )


# Pipelines that are another template already (sum_list is "sum", filter_evens is "list_evens"),
# "list" (a copy of the argument), and abs() of elements already known to be positive, which
# would be the identity in disguise.
_PIPELINE_DUPLICATES = {"sum", "product", "sum_evens", "list_evens", "list_odds", "list_squares", "max", "list"}
PIPELINES: tuple[Template, ...] = tuple(
    _pipeline(g, m, f)
    for g in AGGREGATES
    for m in MAPS
    for f in FILTERS
    if "_".join(p for p in (g, m, f) if p) not in _PIPELINE_DUPLICATES
    and not (m == "abs" and f in ("positives", "above_k"))
)

TEMPLATES: dict[str, Template] = {t.name: t for t in TEMPLATES_LIST + PIPELINES}

# Held-out combinations: each pair of their parts (aggregate + map, aggregate + filter, map + filter)
# occurs in some training pipeline, only the triple is new. The tests check this.
HELDOUT_COMBINATIONS: tuple[str, ...] = (
    "sum_squares",
    "product_odds",
    "sum_squares_evens",
    "max_abs",
    "list_squares_positives",
    "product_abs_negatives",
    "max_squares_above_k",
    "sum_abs_odds",
    "max_evens",
    "list_abs_negatives",
)
# Held-out ideas: each combines two ideas of the training templates in a way no training
# template does (see the module docstring).
HELDOUT_IDEAS: tuple[str, ...] = (
    "running_max",
    "digit_product",
    "count_long_words",
    "reverse_each_word",
    "char_frequencies",
    "sum_values_above",
)
HELDOUT_TEMPLATES: tuple[str, ...] = HELDOUT_COMBINATIONS + HELDOUT_IDEAS
TRAIN_TEMPLATES: tuple[str, ...] = tuple(name for name in TEMPLATES if name not in HELDOUT_TEMPLATES)

FAMILIES: dict[str, tuple[str, ...]] = {
    family: tuple(name for name, t in TEMPLATES.items() if t.family == family)
    for family in ("list", "number", "string", "dict", "pipeline")
}


# ---------------------------------------------------------------------------------------------
# Generation


def _indent(code: str, spaces: int = 4) -> str:
    return "".join(" " * spaces + line + "\n" for line in code.splitlines())


def _call(args: tuple) -> str:
    return ", ".join(repr(a) for a in args)


def _run(source: str, entry_point: str, inputs: Sequence[tuple]) -> list:
    """Run trusted code we wrote (a canonical solution) on each input; inputs are copied first so
    a solution that mutated its argument could not change the next assert."""
    namespace: dict = {}
    exec(compile(source, f"<task {entry_point}>", "exec"), namespace)
    fn = namespace[entry_point]
    return [fn(*copy.deepcopy(args)) for args in inputs]


def make_task(template: Template | str, index: int, seed: int = 0) -> Task:
    """Task ``index`` of ``template`` for ``seed``: names, phrasing, constants and inputs drawn
    from ``random.Random(f"{seed}/{template}/{index}")``, expected values computed by running
    the canonical solution."""
    template = TEMPLATES[template] if isinstance(template, str) else template
    rng = random.Random(f"{seed}/{template.name}/{index}")
    name = rng.choice(template.names)
    arg_names: list[str] = []
    for pool in template.args:  # distinct names, one per argument
        arg_names.append(rng.choice([a for a in pool if a not in arg_names]))
    fields = {"abc"[i]: arg for i, arg in enumerate(arg_names)} | template.constants(rng)
    doc = rng.choice(template.docs).format(**fields)
    body = _indent(template.body.format(**fields))
    inputs = list({repr(args): args for args in template.inputs(rng, fields)}.values())  # no repeated assert
    examples = [args for args in inputs[-N_RANDOM:]][:2]  # random inputs read better than edge cases

    header = f"def {name}({', '.join(arg_names)}):\n"
    results = _run(header + body, name, inputs + examples)
    expected, shown = results[: len(inputs)], results[len(inputs) :]
    example_lines = "".join(
        f"    >>> {name}({_call(args)})\n    {out!r}\n" for args, out in zip(examples, shown, strict=True)
    )
    prompt = f'{header}    """{doc}\n{example_lines}    """\n'
    tests = "def check(candidate):\n" + "".join(
        f"    assert candidate({_call(args)}) == {out!r}\n" for args, out in zip(inputs, expected, strict=True)
    )
    return Task(
        task_id=f"{template.name}/{seed}/{index}",
        template=template.name,
        prompt=prompt,
        solution=body,
        tests=tests,
        entry_point=name,
    )


def make_tasks(templates: Iterable[Template | str], n_per_template: int, seed: int = 0) -> list[Task]:
    """``n_per_template`` tasks of each template, grouped by template in the order given.
    Deterministic in ``seed``; ids are ``"{template}/{seed}/{index}"``."""
    return [make_task(t, i, seed) for t in templates for i in range(n_per_template)]


def train_tasks(n_per_template: int = 50, seed: int = 0) -> list[Task]:
    """Tasks of the :data:`TRAIN_TEMPLATES` (the fine-tuning set)."""
    return make_tasks(TRAIN_TEMPLATES, n_per_template, seed)


def heldout_tasks(n_per_template: int = 5, seed: int = 1) -> list[Task]:
    """Tasks of the :data:`HELDOUT_TEMPLATES`, for pass@k after fine-tuning. The default seed
    differs from :func:`train_tasks`' only for tidiness: the templates themselves are disjoint."""
    return make_tasks(HELDOUT_TEMPLATES, n_per_template, seed)


def training_text(tasks: Iterable[Task]) -> str:
    """The fine-tuning corpus: each task's prompt followed by its canonical solution, complete
    functions separated by two blank lines as in the standard library the model was pretrained
    on (so "a blank line, then ``def``" keeps meaning "this function is over")."""
    return "\n\n".join(t.prompt + t.solution for t in tasks)


__all__ = [
    "FAMILIES",
    "HELDOUT_COMBINATIONS",
    "HELDOUT_IDEAS",
    "HELDOUT_TEMPLATES",
    "PIPELINES",
    "TEMPLATES",
    "TRAIN_TEMPLATES",
    "Task",
    "Template",
    "heldout_tasks",
    "make_task",
    "make_tasks",
    "program",
    "train_tasks",
    "training_text",
]
