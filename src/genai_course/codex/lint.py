"""A security lint for generated code: read it with :mod:`ast`, never run it.

A code model copies what it saw, and the internet's Python is full of ``eval(input())``,
``subprocess.run(cmd, shell=True)`` and passwords pasted into source. The Codex paper (Chen et
al. 2021, §7.5) lists insecure code among the model's hazards. Before a sample is
run or shown to a user, this lint flags the constructs that most often turn a bug into a
security hole, in the spirit of Bandit (https://bandit.readthedocs.io):

=======================  ==================================================================
rule                     flags
=======================  ==================================================================
``eval-exec``            ``eval`` and ``exec``: they run a string as Python code
``dynamic-import``       ``__import__(x)`` / ``importlib.import_module(x)`` with a computed name
``shell-command``        ``os.system``, ``os.popen``, ``subprocess.getoutput``/``getstatusoutput``:
                         a command line read by ``/bin/sh``, so ``;``, ``$()`` and quotes inject
``shell-true``           ``subprocess.*(..., shell=True)``: the same, through ``subprocess``
``unsafe-deserialization``  ``pickle``/``marshal`` loading: a pickle can run any code when loaded
``yaml-load``            ``yaml.load`` without a safe ``Loader``, ``yaml.unsafe_load``
``hardcoded-secret``     a string constant given to a name such as ``password`` or ``api_key``,
                         or any string shaped like an AWS (``AKIA…``) or OpenAI (``sk-…``) key
=======================  ==================================================================

Deliberately not flagged: ``compile`` (it only builds a code object; running it needs ``exec``,
which is flagged), and ``open(path, "w")`` (writing files is ordinary; confining them is the
sandbox's job, not a lint's).

**Names are resolved through imports**, so ``import subprocess as sp; sp.run(c, shell=True)``,
``from os import system as s; s(c)``, ``from os import *; system(c)`` and ``run = sp.run`` are
all seen as the ``subprocess``/``os`` functions they are: :func:`resolved_calls` yields every
call with its qualified name. A lint is not a sandbox: ``getattr(os, "sys" + "tem")`` defeats
it, which is why generated code still runs only in :mod:`genai_course.codex.sandbox`.

**A rule is one function** ``rule(tree: ast.AST) -> list[int]`` returning the line numbers it
flags (or ``(line, message)`` pairs for a more specific message), registered with
``@register("rule-name", "why it is dangerous")``. :func:`lint` runs every registered rule.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One flagged construct: which rule, on which line (1-based), and why it matters."""

    rule: str
    line: int
    message: str


RuleFunction = Callable[[ast.AST], Iterable["int | tuple[int, str]"]]


@dataclass(frozen=True)
class Rule:
    """A named check: ``check(tree)`` → lines (or ``(line, message)`` pairs); ``message`` says why."""

    name: str
    message: str
    check: RuleFunction


RULES: dict[str, Rule] = {}


def register(name: str, message: str) -> Callable[[RuleFunction], RuleFunction]:
    """Decorator adding ``rule(tree) -> list[int]`` to :data:`RULES` under ``name``; returns it unchanged."""

    def add(check: RuleFunction) -> RuleFunction:
        RULES[name] = Rule(name, message, check)
        return check

    return add


def lint(source: str, rules: Iterable[Rule] | Mapping[str, Rule] | None = None) -> list[Finding]:
    """Every finding of ``rules`` (default: all of :data:`RULES`) in ``source``, sorted by line.

    Source that does not parse gives one ``syntax-error`` finding; this never raises on any text.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as err:  # ValueError: null bytes
        line = getattr(err, "lineno", None) or 0
        return [Finding("syntax-error", line, f"does not parse: {getattr(err, 'msg', None) or err}")]
    chosen = RULES.values() if rules is None else rules.values() if isinstance(rules, Mapping) else rules
    findings = set()
    for rule in chosen:
        for hit in rule.check(tree):
            line, message = hit if isinstance(hit, tuple) else (hit, rule.message)
            findings.add(Finding(rule.name, int(line), message))
    return sorted(findings, key=lambda f: (f.line, f.rule, f.message))


# --- name resolution -----------------------------------------------------------------------------


def _dotted(node: ast.AST) -> list[str] | None:
    """``a.b.c`` → ["a", "b", "c"]; None for anything else (a call's result, a subscript, ...)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def import_aliases(tree: ast.AST) -> tuple[dict[str, str], list[str]]:
    """Local names bound by imports → what they name, and the modules star-imported.

    ``import os.path`` binds ``os``; ``import os.path as p`` binds ``p`` → ``os.path``;
    ``from os import system as s`` binds ``s`` → ``os.system``. Scopes are ignored: an import
    inside a function counts everywhere, which errs on the side of flagging.
    """
    aliases: dict[str, str] = {}
    star_modules: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    aliases[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if alias.name == "*":
                    star_modules.append(node.module)
                else:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases, star_modules


_BUILTIN_NAMES = frozenset(dir(builtins))


def qualified_name(node: ast.AST, aliases: Mapping[str, str], star_modules: Iterable[str] = ()) -> str | None:
    """What an expression names, after imports: ``sp.run`` → ``"subprocess.run"``; None if unknown."""
    parts = _dotted(node)
    if parts is None:
        return None
    head, rest = parts[0], parts[1:]
    if head in aliases:
        head = aliases[head]
    elif head in ("__builtins__", "builtins"):
        head = "builtins"
    elif head not in _BUILTIN_NAMES:
        for module in star_modules:  # `from os import *` then `system(...)`: os.system, as Python would
            head = f"{module}.{head}"
            break
    return ".".join([head, *rest])


def resolved_calls(tree: ast.AST) -> Iterator[tuple[ast.Call, str]]:
    """Every call in ``tree`` whose callee resolves to a name: ``(call node, "subprocess.run")``.

    Builtins come out bare (``"eval"``), also when written ``builtins.eval``. One level of
    assignment is followed, so after ``run = subprocess.run`` a call ``run(...)`` is
    ``subprocess.run`` too.
    """
    aliases, star_modules = import_aliases(tree)
    for node in ast.walk(tree):  # `name = module.func`: the name is now an alias of the function
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target = qualified_name(node.value, aliases, star_modules)
            if target and "." in target and node.targets[0].id not in aliases:
                aliases[node.targets[0].id] = target
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = qualified_name(node.func, aliases, star_modules)
            if name is not None:
                yield node, name.removeprefix("builtins.")


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    """The value passed as ``name=...`` in ``call``, or None when it is not passed by keyword."""
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def is_truthy_constant(node: ast.expr | None) -> bool:
    """``True``, ``1``, ``"yes"``: a literal that is true. Variables are not judged (they may be False)."""
    return isinstance(node, ast.Constant) and bool(node.value)


# --- the rules -----------------------------------------------------------------------------------


@register("eval-exec", "runs a string as Python code: whoever controls the string controls the program")
def eval_exec(tree: ast.AST) -> list[tuple[int, str]]:
    return [
        (call.lineno, f"`{name}` runs a string as Python code: whoever controls the string controls the program")
        for call, name in resolved_calls(tree)
        if name in ("eval", "exec")
    ]


@register("dynamic-import", "imports a module whose name is computed at run time")
def dynamic_import(tree: ast.AST) -> list[int]:
    return [
        call.lineno
        for call, name in resolved_calls(tree)
        if name in ("__import__", "importlib.import_module")
        and call.args
        and not (isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str))
    ]


SHELL_FUNCTIONS = ("os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput")


@register("shell-command", "hands a command line to /bin/sh, where `;`, `$(...)` and quotes in data inject commands")
def shell_command(tree: ast.AST) -> list[tuple[int, str]]:
    return [
        (call.lineno, f"`{name}` hands a command line to /bin/sh: `;`, `$(...)` or quotes in its data run commands")
        for call, name in resolved_calls(tree)
        if name in SHELL_FUNCTIONS
    ]


@register(
    "shell-true", "subprocess with shell=True: the command line is parsed by /bin/sh, so data can inject commands"
)
def shell_true(tree: ast.AST) -> list[int]:
    """Lines of ``subprocess.*`` calls passing ``shell=True`` (a true literal); ``shell=False`` is the safe default."""
    return [
        call.lineno
        for call, name in resolved_calls(tree)
        if name.startswith("subprocess.") and is_truthy_constant(keyword(call, "shell"))
    ]


UNSAFE_LOADERS = ("pickle.load", "pickle.loads", "pickle.Unpickler", "marshal.load", "marshal.loads")
UNSAFE_LOADERS += tuple(name.replace("pickle", "cPickle") for name in UNSAFE_LOADERS[:3])
UNSAFE_LOADERS += tuple(name.replace("pickle", "dill") for name in UNSAFE_LOADERS[:2])


@register("unsafe-deserialization", "loading a pickle runs code chosen by whoever wrote the bytes")
def unsafe_deserialization(tree: ast.AST) -> list[tuple[int, str]]:
    return [
        (call.lineno, f"`{name}` on untrusted bytes runs code chosen by whoever wrote them; use json")
        for call, name in resolved_calls(tree)
        if name in UNSAFE_LOADERS
    ]


_SAFE_YAML_LOADERS = ("SafeLoader", "CSafeLoader", "BaseLoader")


@register("yaml-load", "yaml.load without a safe Loader builds arbitrary Python objects; use yaml.safe_load")
def yaml_load(tree: ast.AST) -> list[int]:
    lines = []
    for call, name in resolved_calls(tree):
        if name in ("yaml.unsafe_load", "yaml.unsafe_load_all"):
            lines.append(call.lineno)
        elif name in ("yaml.load", "yaml.load_all"):
            loader = keyword(call, "Loader") or (call.args[1] if len(call.args) > 1 else None)
            loader_name = _dotted(loader) if loader is not None else None
            if not (loader_name and loader_name[-1] in _SAFE_YAML_LOADERS):
                lines.append(call.lineno)
    return lines


# A name is secret-shaped when one of its words (split at `_` and camelCase) is one of these,
# or two neighbouring words make "api key", "secret key", "access key", "private key".
_SECRET_WORDS = {"password", "passwd", "pwd", "secret", "token", "apikey", "credentials"}
_SECRET_PAIRS = {("api", "key"), ("secret", "key"), ("access", "key"), ("private", "key"), ("auth", "key")}
_KEY_SHAPES = re.compile(
    r"AKIA[0-9A-Z]{16}"  # AWS access key id
    r"|sk-[A-Za-z0-9_-]{20,}"  # OpenAI-style secret key
    r"|gh[pousr]_[A-Za-z0-9]{36}"  # GitHub token
    r"|-----BEGIN (?:RSA |EC |DSA |OPENSSH )?PRIVATE KEY-----"
)


def is_secret_name(name: str) -> bool:
    """``password``, ``DB_PASSWORD``, ``apiKey``, ``aws_secret_access_key`` yes; ``tokens``, ``key`` no."""
    words = [w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)]
    return any(w in _SECRET_WORDS for w in words) or any(
        pair in _SECRET_PAIRS for pair in zip(words, words[1:], strict=False)
    )


def _looks_like_a_value(node: ast.expr | None) -> bool:
    """A string literal that could be a credential: 4+ characters, no spaces (not "", "(", "<your key>")."""
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and len(node.value) >= 4
        and not any(ch.isspace() for ch in node.value)
    )


@register("hardcoded-secret", "a credential written into the source: anyone who reads the code (or the model) has it")
def hardcoded_secret(tree: ast.AST) -> list[int]:
    lines = set()
    for node in ast.walk(tree):
        named_values: list[tuple[str | None, ast.expr | None]] = []
        if isinstance(node, ast.Assign):
            for target in node.targets:
                parts = _dotted(target)
                named_values.append((parts[-1] if parts else None, node.value))
        elif isinstance(node, ast.AnnAssign):
            parts = _dotted(node.target)
            named_values.append((parts[-1] if parts else None, node.value))
        elif isinstance(node, ast.Call):
            named_values += [(kw.arg, kw.value) for kw in node.keywords]
        elif isinstance(node, ast.Dict):
            named_values += [
                (key.value, value)
                for key, value in zip(node.keys, node.values, strict=True)
                if isinstance(key, ast.Constant) and isinstance(key.value, str)
            ]
        if any(name and is_secret_name(name) and _looks_like_a_value(value) for name, value in named_values):
            lines.add(node.lineno)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _KEY_SHAPES.search(node.value):
            lines.add(node.lineno)
    return sorted(lines)


__all__ = [
    "RULES",
    "Finding",
    "Rule",
    "import_aliases",
    "is_secret_name",
    "keyword",
    "lint",
    "qualified_name",
    "register",
    "resolved_calls",
]
