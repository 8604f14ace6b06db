"""Random generators are device-correct by construction, checked without a GPU.

On a CUDA model, ``torch.multinomial(probs, 1, generator=torch.Generator())`` raises
"Expected a 'cuda' device type for generator". No CPU can reproduce that error, so these
tests check the source instead: every draw that mixes a generator with a device goes through
``genai_course.rng``, which draws on the generator's own device, and every generator says
which device it lives on.
"""

import ast
import json
import re
from pathlib import Path

import pytest
import torch

from genai_course import rng
from genai_course.gpt.sampling import sample_next

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for p in (ROOT / "src" / "genai_course").rglob("*.py") if p.name != "rng.py")
NOTEBOOKS = sorted((ROOT / "notebooks").rglob("*.ipynb"))
RANDOM_DRAWS = {
    "multinomial",
    "randn",
    "rand",
    "randint",
    "randperm",
    "normal",
    "bernoulli",
    "randn_like",
    "rand_like",
    "randint_like",
}


def _code_of(path: Path) -> list[tuple[str, str]]:
    """(where, python source) for a module, or for each code cell of a notebook (magics dropped)."""
    if path.suffix == ".py":
        return [(path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"))]
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [
        (
            f"{path.relative_to(ROOT).as_posix()} cell {i}",
            re.sub(r"^(\s*)%.*$", r"\1pass", "".join(c["source"]), flags=re.M),
        )
        for i, c in enumerate(cells)
        if c["cell_type"] == "code"
    ]


def _findings(where: str, source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        name, kwargs = node.func.attr, {k.arg: k.value for k in node.keywords}
        if name == "Generator" and not node.args and "device" not in kwargs:
            found.append(f"{where}, line {node.lineno}: torch.Generator() without a device")
        if name == "multinomial" and ast.unparse(node.func.value) != "rng":
            found.append(
                f"{where}, line {node.lineno}: torch.multinomial: use rng.multinomial, "
                "which draws on the generator's device"
            )
        if name in RANDOM_DRAWS and "generator" in kwargs and "device" in kwargs:
            gen, dev = ast.unparse(kwargs["generator"]), ast.unparse(kwargs["device"])
            if dev != f"{gen}.device":
                found.append(
                    f"{where}, line {node.lineno}: {name}(generator={gen}, device={dev}): "
                    f"draw on {gen}.device (or use rng.randn) and move the result"
                )
    return found


@pytest.mark.parametrize("path", SOURCES + NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_generators_are_device_correct(path):
    findings = [f for where, src in _code_of(path) for f in _findings(where, src)]
    assert not findings, "\n".join(findings)


def test_the_check_finds_the_pattern_that_crashes_on_a_gpu():
    crashing = (
        "g = torch.Generator()\n"
        "x = torch.randn(4, generator=g, device=device)\n"
        "tok = torch.multinomial(probs, 1, generator=g)\n"
    )
    found = _findings("example", crashing)
    assert len(found) == 3 and "without a device" in found[0]
    fine = (
        "g = torch.Generator('cpu')\n"
        "x = torch.randn(4, generator=g, device=g.device)\n"
        "tok = rng.multinomial(probs, 1, generator=g)\n"
    )
    assert _findings("example", fine) == []


def test_draws_happen_on_the_generators_device_and_land_on_the_tensors():
    probs = torch.tensor([[0.1, 0.2, 0.7], [0.5, 0.5, 0.0]])
    a = rng.multinomial(probs, 1, generator=rng.generator(3))
    b = torch.multinomial(probs, 1, generator=torch.Generator("cpu").manual_seed(3))
    assert torch.equal(a, b) and a.device == probs.device
    x = rng.randn((2, 5), rng.generator(4), device="cpu")
    assert torch.equal(x, torch.randn(2, 5, generator=torch.Generator("cpu").manual_seed(4)))


def test_sampling_with_a_seeded_generator_is_reproducible_and_greedy_at_zero():
    logits = torch.randn(3, 11, generator=rng.generator(0))
    first = sample_next(logits, 1.0, generator=rng.generator(7))
    again = sample_next(logits, 1.0, generator=rng.generator(7))
    assert torch.equal(first, again)
    assert torch.equal(sample_next(logits, 0.0), logits.argmax(-1, keepdim=True))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_a_cpu_generator_samples_from_a_cuda_model():
    probs = torch.softmax(torch.randn(4, 9, device="cuda"), -1)
    out = rng.multinomial(probs, 1, generator=rng.generator(0))
    assert out.device.type == "cuda"
