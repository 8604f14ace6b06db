"""benchmarks/gpt_cpu.py: every configuration builds, `+change`s differ from `defaults` in one
respect, and the README table is rebuilt from the JSON-lines logs (nothing is trained here)."""

import importlib.util
import json
from pathlib import Path

import pytest

from genai_course.gpt.model import GPT, GPTConfig

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("gpt_cpu", ROOT / "benchmarks" / "gpt_cpu.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_config_builds_and_changes_are_single(bench):
    for name, spec in bench.CONFIGS.items():
        GPT(GPTConfig(vocab_size=64, **spec["model"]))
        assert spec["tokenizer"] in ("char", "bpe"), name
    base = bench.DEFAULTS
    for name in bench.CHANGES:
        spec = bench.CONFIGS[name]
        diff = [k for k in spec["model"] if spec["model"][k] != base["model"].get(k)]
        diff += [k for k in spec["train"] if spec["train"][k] != base["train"].get(k)]
        assert len(diff) == 1, (name, diff)
    assert set(bench.COMBINED) <= set(bench.CHANGES)


def test_report_rebuilds_the_readme_tables(bench, tmp_path):
    rows = [
        {"name": "anchor", "val": 2.0, "tokens_per_second": 100.0, "flops": 5e9, "peak": 1e10},
        {"name": "anchor", "val": 2.2, "tokens_per_second": 120.0, "flops": 5e9, "peak": 2e10},
        {"name": "+rope", "val": 1.6, "tokens_per_second": 90.0, "flops": 4e9, "peak": 1e10},
    ]
    out = bench.table(rows)
    assert "| anchor | 2 | 2.100 ± 0.100 | 1.000 | 110 | 25.0 |" in out
    assert "| +rope | 1 | 1.600 | 0.762 | 90 | 20.0 |" in out
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- table:x -->\nold\n<!-- /table:x -->\nend\n")
    bench.write_readme(readme, "x", out)
    assert readme.read_text() == f"intro\n<!-- table:x -->\n{out}\n<!-- /table:x -->\nend\n"


def test_shipped_readme_tables_match_the_shipped_logs(bench):
    readme = (ROOT / "benchmarks" / "README.md").read_text()
    for label in ("ablation", "final"):
        lines = (ROOT / "benchmarks" / "results" / f"{label}.jsonl").read_text().splitlines()
        rows = [r for r in map(json.loads, lines) if "name" in r]
        assert f"<!-- table:{label} -->\n{bench.table(rows)}\n<!-- /table:{label} -->" in readme
