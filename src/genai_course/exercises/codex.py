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


__all__ = ["check_lint_rule", "check_memory_limit", "check_pass_at_k"]
