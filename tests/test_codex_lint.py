"""The security lint flags each dangerous construct, through import aliases, and leaves safe look-alikes alone."""

import ast

import pytest

from genai_course.codex.lint import RULES, Finding, Rule, is_secret_name, lint, register, resolved_calls

# (rule, source whose last statement must be flagged)
POSITIVE = [
    ("eval-exec", "eval(input())"),
    ("eval-exec", "exec(code, {})"),
    ("eval-exec", "import builtins\nbuiltins.eval(s)"),
    ("eval-exec", "__builtins__.exec(s)"),
    ("dynamic-import", "__import__(name)"),
    ("dynamic-import", "import importlib\nimportlib.import_module('x' + suffix)"),
    ("dynamic-import", "from importlib import import_module as im\nim(name)"),
    ("shell-command", "import os\nos.system('ls ' + path)"),
    ("shell-command", "import os\nos.popen(cmd).read()"),
    ("shell-command", "from os import system as s\ns('x')"),
    ("shell-command", "from os import *\nsystem(cmd)"),
    ("shell-command", "import os as o\nrun = o.system\nrun(cmd)"),
    ("shell-command", "import subprocess\nsubprocess.getoutput(cmd)"),
    ("shell-true", "import subprocess\nsubprocess.run(cmd, shell=True)"),
    ("shell-true", "import subprocess as sp\nsp.run(cmd, shell=True)"),
    ("shell-true", "from subprocess import Popen\nPopen(cmd, shell=True, stdout=-1)"),
    ("shell-true", "import subprocess\nsubprocess.check_output(\n    cmd, shell=True)"),
    ("unsafe-deserialization", "import pickle\npickle.loads(data)"),
    ("unsafe-deserialization", "import pickle\npickle.load(open(p, 'rb'))"),
    ("unsafe-deserialization", "from pickle import loads\nloads(blob)"),
    ("unsafe-deserialization", "import marshal\nmarshal.loads(b)"),
    ("yaml-load", "import yaml\nyaml.load(text)"),
    ("yaml-load", "import yaml\nyaml.load(text, Loader=yaml.Loader)"),
    ("yaml-load", "import yaml\nyaml.unsafe_load(text)"),
    ("hardcoded-secret", "password = 'hunter22'"),
    ("hardcoded-secret", "DB_PASSWORD: str = 'correct-horse'"),
    ("hardcoded-secret", "self.api_key = 'abcd1234efgh'"),
    ("hardcoded-secret", "connect(host, password='s3cr3t!')"),
    ("hardcoded-secret", "config = {'secretKey': 'xyz12345'}"),
    ("hardcoded-secret", "aws = 'AKIAIOSFODNN7EXAMPLE'"),
    ("hardcoded-secret", "client = Client('sk-proj-abcdefghijklmnopqrstuvwx')"),
]

# (rule, source that must not be flagged by that rule)
NEGATIVE = [
    ("eval-exec", "import ast\nast.literal_eval(s)"),
    ("eval-exec", "model.eval()"),
    ("eval-exec", "x = 'eval(input())'"),
    ("eval-exec", "compile(src, 'f', 'exec')"),
    ("dynamic-import", "__import__('os')"),
    ("dynamic-import", "import importlib\nimportlib.import_module('json')"),
    ("shell-command", "import os\nos.path.join(a, b)"),
    ("shell-command", "system('ls')"),  # not imported from anywhere: some other `system`
    ("shell-true", "import subprocess\nsubprocess.run(['ls', path])"),
    ("shell-true", "import subprocess\nsubprocess.run(cmd, shell=False)"),
    ("shell-true", "import subprocess as sp\nsp.run(cmd, shell=False, check=True)"),
    ("shell-true", "run(cmd, shell=True)"),  # not subprocess
    ("shell-true", "import subprocess\nx = 'subprocess.run(c, shell=True)'"),
    ("unsafe-deserialization", "import json\njson.loads(data)"),
    ("unsafe-deserialization", "import pickle\npickle.dumps(obj)"),
    ("yaml-load", "import yaml\nyaml.safe_load(text)"),
    ("yaml-load", "import yaml\nyaml.load(text, Loader=yaml.SafeLoader)"),
    ("yaml-load", "from yaml import load, CSafeLoader\nload(text, CSafeLoader)"),
    ("hardcoded-secret", "password = input('Password: ')"),
    ("hardcoded-secret", "import os\ntoken = os.environ['TOKEN']"),
    ("hardcoded-secret", "password = ''"),
    ("hardcoded-secret", "tokens = ['if', 'else']"),
    ("hardcoded-secret", "token = '('"),
    ("hardcoded-secret", "api_key = '<your API key here>'"),
    ("hardcoded-secret", "key = 'abcdefgh'"),
    ("hardcoded-secret", "monkey = 'banana12'"),
]


@pytest.mark.parametrize("rule, source", POSITIVE, ids=[f"{r}:{s.splitlines()[-1]}" for r, s in POSITIVE])
def test_dangerous_construct_is_flagged_on_its_line(rule, source):
    findings = lint(source)
    call_line = ast.parse(source).body[-1].lineno  # the last statement holds the construct
    assert any(f.rule == rule and f.line == call_line for f in findings), findings
    assert all(f.message for f in findings)


@pytest.mark.parametrize("rule, source", NEGATIVE, ids=[f"{r}:{s.splitlines()[-1]}" for r, s in NEGATIVE])
def test_safe_look_alike_is_not_flagged(rule, source):
    assert not [f for f in lint(source) if f.rule == rule]


def test_clean_program_has_no_findings():
    source = (
        "import subprocess, json, os\n"
        "def add(a, b):\n    '''Return a + b.'''\n    return a + b\n"
        "out = subprocess.run(['git', 'status'], capture_output=True, text=True)\n"
        "data = json.loads(out.stdout or '{}')\n"
        "path = os.path.join('a', 'b')\n"
    )
    assert lint(source) == []


def test_findings_are_sorted_and_carry_specific_messages():
    source = "import os, pickle\npickle.loads(b)\nos.system(c)\neval(x)\n"
    findings = lint(source)
    assert [(f.rule, f.line) for f in findings] == [
        ("unsafe-deserialization", 2),
        ("shell-command", 3),
        ("eval-exec", 4),
    ]
    assert "os.system" in findings[1].message and "`eval`" in findings[2].message


@pytest.mark.parametrize("source", ["def f(:\n", "x = (", "\x00", "if True:\nreturn", "    indented = 1"])
def test_unparsable_source_is_one_syntax_error_finding(source):
    findings = lint(source)
    assert len(findings) == 1 and findings[0].rule == "syntax-error"
    assert isinstance(findings[0], Finding) and "does not parse" in findings[0].message


def test_aliases_resolve_to_qualified_names():
    tree = ast.parse(
        "import subprocess as sp\nfrom os import system as s\nimport os.path\nfrom os import *\n"
        "sp.run(x)\ns(y)\nos.path.join(a)\ngetcwd()\nlen(z)\nobj[0].method()\n"
    )
    names = sorted(name for _, name in resolved_calls(tree))
    assert names == ["len", "os.getcwd", "os.path.join", "os.system", "subprocess.run"]


def test_secret_names():
    for name in ("password", "DB_PASSWORD", "apiKey", "aws_secret_access_key", "auth_token", "PRIVATE_KEY"):
        assert is_secret_name(name), name
    for name in ("tokens", "key", "keyword", "monkey", "passage", "tokenizer"):
        assert not is_secret_name(name), name


def test_a_new_rule_is_one_function_and_plugs_into_lint():
    def flags_assert(tree: ast.AST) -> list[int]:
        return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert)]

    source = "x = 1\nassert x\n"
    rule = Rule("assert-used", "asserts vanish under python -O", flags_assert)
    assert lint(source, rules=[rule]) == [Finding("assert-used", 2, "asserts vanish under python -O")]
    assert lint(source, rules={"assert-used": rule}) == lint(source, rules=[rule])

    before = dict(RULES)
    try:
        register("assert-used", "asserts vanish under python -O")(flags_assert)
        assert [f.rule for f in lint(source)] == ["assert-used"]
    finally:
        RULES.clear()
        RULES.update(before)
    assert lint(source) == []


def test_every_registered_rule_has_a_positive_and_a_negative_example():
    assert {rule for rule, _ in POSITIVE} == set(RULES) == {rule for rule, _ in NEGATIVE}
