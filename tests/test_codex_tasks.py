"""The docstring → function tasks: canonical solutions pass, wrong bodies fail, splits are fixed.

The programs here are ours (canonical solutions and deliberately wrong bodies built from them), so
they run with ``exec`` in a fresh namespace rather than in the sandbox.
"""

import ast

import pytest

from genai_course.codex.tasks import (
    AGGREGATES,
    FAMILIES,
    FILTERS,
    HELDOUT_COMBINATIONS,
    HELDOUT_IDEAS,
    HELDOUT_TEMPLATES,
    MAPS,
    PIPELINES,
    TEMPLATES,
    TRAIN_TEMPLATES,
    Task,
    heldout_tasks,
    make_task,
    make_tasks,
    program,
    train_tasks,
    training_text,
)

SEEDS = (0, 1, 2)
N = 3  # tasks per template and seed
ALL = {seed: make_tasks(TEMPLATES, N, seed) for seed in SEEDS}
EVERY_TASK = [t for tasks in ALL.values() for t in tasks]


def passes(source: str) -> bool:
    try:
        exec(compile(source, "<task program>", "exec"), {})
    except Exception:
        return False
    return True


def arg_names(task: Task) -> list[str]:
    fn = ast.parse(task.prompt + "    pass\n").body[0]
    return [a.arg for a in fn.args.args]


def delegating_body(task: Task, other: Task) -> str:
    """A completion for ``task`` whose body calls ``other``'s canonical function (defined after it)."""
    call = f"    return _other({', '.join(arg_names(task))})\n\n"
    return call + other.prompt.replace(f"def {other.entry_point}(", "def _other(", 1) + other.solution


def test_templates_split_into_training_and_two_kinds_of_held_out_and_grouped_by_family():
    assert len(TEMPLATES) == 38 + len(PIPELINES) and len(PIPELINES) == 56
    assert len(HELDOUT_COMBINATIONS) == 10 and len(HELDOUT_IDEAS) == 6
    assert HELDOUT_TEMPLATES == HELDOUT_COMBINATIONS + HELDOUT_IDEAS
    assert len(TRAIN_TEMPLATES) == len(TEMPLATES) - 16
    assert not set(TRAIN_TEMPLATES) & set(HELDOUT_TEMPLATES)
    assert set(TRAIN_TEMPLATES) | set(HELDOUT_TEMPLATES) == set(TEMPLATES)
    assert set(FAMILIES) == {"list", "number", "string", "dict", "pipeline"}
    assert set(HELDOUT_COMBINATIONS) <= set(FAMILIES["pipeline"]) and not set(HELDOUT_IDEAS) & set(FAMILIES["pipeline"])
    assert sorted(n for names in FAMILIES.values() for n in names) == sorted(TEMPLATES)
    for family, names in FAMILIES.items():  # every family is trained on and tested
        assert set(names) & set(HELDOUT_TEMPLATES), family
        assert len(set(names) & set(TRAIN_TEMPLATES)) >= 5, family


def pipeline_parts(name: str) -> tuple[str, str, str]:
    """("sum", "squares", "evens") for "sum_squares_evens": aggregate, map and filter, "" when absent."""
    aggregate, *rest = name.split("_")
    rest = "_".join(rest)
    map_part = next((m for m in MAPS if m and (rest == m or rest.startswith(m + "_"))), "")
    filter_part = rest[len(map_part) :].lstrip("_")
    assert aggregate in AGGREGATES and filter_part in FILTERS, name
    return aggregate, map_part, filter_part


def test_every_held_out_combination_is_new_only_as_a_whole():
    """Each pair of a held-out pipeline's parts occurs in a training pipeline (or in the basic
    training template it duplicates), so the model has seen every piece and every junction."""
    basic = {
        "sum_list": ("sum", "", ""),
        "product_list": ("product", "", ""),
        "sum_evens": ("sum", "", "evens"),
        "filter_evens": ("list", "", "evens"),
        "filter_odds": ("list", "", "odds"),
        "square_all": ("list", "squares", ""),
        "max_list": ("max", "", ""),
    }
    trained = [pipeline_parts(n) for n in TRAIN_TEMPLATES if n in FAMILIES["pipeline"]] + list(basic.values())
    assert all(n in TRAIN_TEMPLATES for n in basic)
    for name in HELDOUT_COMBINATIONS:
        g, m, f = pipeline_parts(name)
        assert (g, m, f) not in trained, name
        for i, j in ((0, 1), (0, 2), (1, 2)):
            assert any((p[i], p[j]) == ((g, m, f)[i], (g, m, f)[j]) for p in trained), (name, i, j)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_canonical_solution_passes_its_tests(seed):
    failing = [t.task_id for t in ALL[seed] if not passes(program(t, t.solution))]
    assert not failing


def test_an_empty_body_fails_every_task():
    passing = [t.task_id for t in EVERY_TASK if passes(program(t, "    pass\n"))]
    assert not passing


def test_returning_the_argument_unchanged_fails_every_task():
    passing = [t.task_id for t in EVERY_TASK if passes(program(t, f"    return {arg_names(t)[0]}\n"))]
    assert not passing


def test_the_tests_tell_templates_with_one_signature_apart():
    """For every template, the canonical function of every *other* template with the same
    argument and result types fails its tests: the asserts pin down the idea, not just the type."""
    checked = 0
    for seed in SEEDS:
        by_template = {t.template: t for t in ALL[seed] if t.task_id.endswith("/0")}
        for name, task in by_template.items():
            for other_name, other in by_template.items():
                if other_name != name and TEMPLATES[other_name].signature == TEMPLATES[name].signature:
                    wrong = program(task, delegating_body(task, other))
                    assert not passes(wrong), f"{other_name}'s solution passes {task.task_id}"
                    checked += 1
    assert checked >= 3 * 60


def test_the_delegating_body_is_a_fair_test():
    """Delegating to the task's *own* canonical function passes, so the failures above come from
    the other template's behaviour, not from the delegation itself."""
    for task in ALL[0]:
        assert passes(program(task, delegating_body(task, task))), task.task_id


def test_program_layout():
    task = ALL[0][0]
    expected = task.prompt + "    pass\n" + "\n" + task.tests + f"\ncheck({task.entry_point})\n"
    assert program(task, "    pass\n") == expected


def test_generation_is_deterministic_and_ids_are_stable():
    again = make_tasks(TEMPLATES, N, 0)
    assert again == ALL[0]
    assert [t.task_id for t in ALL[0]] == [f"{name}/0/{i}" for name in TEMPLATES for i in range(N)]
    assert len({t.task_id for t in EVERY_TASK}) == len(EVERY_TASK)
    # a task depends on (template, index, seed) only: not on how many were asked for, nor on order
    assert make_tasks(["clamp"], 5, 0)[1] == make_task("clamp", 1, 0) == make_tasks(["scale", "clamp"], 2, 0)[3]
    assert [t.prompt for t in ALL[0]] != [t.prompt for t in ALL[1]]


def test_surface_varies_within_a_template():
    tasks = make_tasks(["scale"], 30, 0)
    assert len({t.entry_point for t in tasks}) >= 3
    assert len({arg_names(t)[0] for t in tasks}) >= 3
    assert len({t.prompt.splitlines()[1] for t in tasks}) >= 8  # phrasing × argument name × constant
    assert len({t.solution for t in tasks}) >= 5  # the constant k and the argument name vary


def test_prompts_and_solutions_are_short_plain_humaneval_functions():
    for t in EVERY_TASK:
        source = t.prompt + t.solution
        assert t.prompt.startswith(f"def {t.entry_point}(") and t.prompt.endswith('    """\n'), t.task_id
        assert ">>> " + t.entry_point + "(" in t.prompt, t.task_id  # an example in the docstring
        fn = ast.parse(source).body[0]
        assert isinstance(fn, ast.FunctionDef) and ast.get_docstring(fn), t.task_id
        assert 1 <= len(t.solution.splitlines()) <= 6, t.task_id
        assert all(line.startswith("    ") for line in t.solution.splitlines()), t.task_id
        assert t.solution.endswith("\n") and "import" not in t.solution, t.task_id
        assert len(source) <= 600, (t.task_id, len(source))
        assert t.tests.startswith("def check(candidate):\n"), t.task_id
        assert t.tests.count("    assert candidate(") >= 5, t.task_id
        assert len(set(t.tests.splitlines())) == len(t.tests.splitlines()), t.task_id  # no repeated assert


def test_split_helpers_and_training_text():
    held = heldout_tasks(n_per_template=2)
    assert {t.template for t in held} == set(HELDOUT_TEMPLATES) and len(held) == 2 * 16
    train = train_tasks(n_per_template=2)
    assert {t.template for t in train} == set(TRAIN_TEMPLATES)
    text = training_text(train)
    functions = ast.parse(text).body
    assert len(functions) == len(train) and all(isinstance(f, ast.FunctionDef) for f in functions)
    assert "def check" not in text  # the corpus is prompt + solution only
    assert all(t.prompt + t.solution in text for t in train)
    assert "\n\n\ndef " in text and not text.startswith("\n")
