"""The recipe command: one registry of the makers of shipped files, reachable as `genai-course recipe NAME`
and `python -m genai_course.recipes NAME`. The slow recipes are never run here: their make functions
are replaced, so only the plumbing is tested."""

import json
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

import genai_course.checkpoint_io as cio
from genai_course import recipes
from genai_course.cli import main

SHIPPED = Path(__file__).resolve().parents[1] / "src" / "genai_course" / "checkpoints"


def test_every_recipe_names_an_existing_plain_function():
    """Each make function exists, takes keyword arguments only, and its module holds no argparse."""
    import importlib
    import inspect

    for recipe in recipes.RECIPES.values():
        module, function = recipe.make.split(":")
        mod = importlib.import_module(module)
        make = getattr(mod, function)
        assert all(p.default is not p.empty for p in inspect.signature(make).parameters.values()), recipe.name
        assert "argparse" not in Path(mod.__file__).read_text(), module
        assert set(recipe.needs) <= set(recipes.RECIPES), recipe.name


def test_list_shows_each_recipe_its_files_and_time(capsys):
    assert main(["recipe", "--list"]) == 0
    out = capsys.readouterr().out
    for recipe in recipes.RECIPES.values():
        line = next(line for line in out.splitlines() if line.startswith(recipe.name + " "))
        assert recipe.files[0] in line and f"~{recipe.minutes}" in line
    assert "2-core CPU" in out


@pytest.mark.parametrize("argv", [["recipe", "no_such_recipe"], ["recipe", "--manifest", "gpt_char_small"], ["recipe"]])
def test_bad_invocations_are_one_line_errors(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("genai-course recipe: error: ") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_unknown_recipe_lists_the_known_ones(capsys):
    assert main(["recipe", "rlhf"]) == 2
    err = capsys.readouterr().err
    assert "unknown recipe 'rlhf'" in err and "did you mean rlhf_sft" in err and "digit_classifier" in err


def test_python_dash_m_is_the_same_command():
    done = subprocess.run(
        [sys.executable, "-m", "genai_course.recipes", "nope"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "unknown recipe 'nope'" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "genai_course.recipes", "--list"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "diffusion_digits" in done.stdout


def test_old_entry_points_point_to_the_recipe():
    done = subprocess.run(
        [sys.executable, "-m", "genai_course.diffusion.train_checkpoints"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0 and "genai-course recipe diffusion_digits" in done.stderr


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A copy of the shipped folder that the store takes for the shipped one."""
    for p in SHIPPED.iterdir():
        shutil.copy(p, tmp_path / p.name)
    monkeypatch.setattr(cio, "SHIPPED_DIR", tmp_path)
    return tmp_path


def test_a_recipe_runs_its_function_and_rewrites_the_manifest(store, monkeypatch, capsys):
    """A fake maker writes a new digit classifier file; the manifest then records its hash and metrics."""
    import torch

    from genai_course.metrics import digit_classifier as dc

    def fake_make():
        config, state = cio.load_state(cio.checkpoint_path(dc.CHECKPOINT), dc.FORMAT)
        state = {k: v + 1 if v.is_floating_point() else v for k, v in state.items()}
        torch.save({"format": dc.FORMAT, "config": config, "state_dict": state}, store / dc.CHECKPOINT)  # raw write
        (store / "digit_classifier.json").write_text(json.dumps({"test_accuracy": 0.5}))
        return {"test_accuracy": 0.5}

    monkeypatch.setattr(dc, "make_digit_classifier", fake_make)
    assert main(["recipe", "digit_classifier"]) == 0
    assert "recipe digit_classifier: done" in capsys.readouterr().out
    entry = json.loads((store / "MANIFEST.json").read_text())["files"]["digit_classifier.pt"]
    assert entry["sha256"] == cio.sha256_of((store / "digit_classifier.pt").read_bytes())
    assert entry["metrics"] == {"test_accuracy": 0.5} and entry["command"] == "genai-course recipe digit_classifier"
    dc.load_digit_classifier()  # the remade file loads at once
    assert cio.check_manifest(out=lambda line: None) == 0


def test_device_is_passed_only_to_recipes_that_take_it(store, monkeypatch, capsys):
    calls = []
    fake = types.SimpleNamespace(make=lambda device=None: calls.append(device))
    monkeypatch.setitem(sys.modules, "fake_recipe_module", fake)
    monkeypatch.setitem(
        recipes.RECIPES, "fake", recipes.Recipe("fake", ("fake.pt",), "1", "a test", "fake_recipe_module:make")
    )
    assert main(["recipe", "fake", "--device", "cpu"]) == 0 and calls == ["cpu"]
    assert main(["recipe", "digit_classifier", "--device", "cuda"]) == 2
    assert "runs on the CPU only" in capsys.readouterr().err


def test_the_digit_diffusion_recipe_keeps_the_shipped_settings(monkeypatch):
    """train_digit_diffusion's defaults are those recorded in diffusion_digits.json; the recipe passes none."""
    from genai_course.diffusion import train_checkpoints as tc

    recorded = json.loads((SHIPPED / "diffusion_digits.json").read_text())
    assert (tc.STEPS, tc.BATCH_SIZE) == (recorded["steps"], recorded["batch_size"])
    seen = {}

    def fake_train_diffusion(net, x, schedule, steps, batch_size, **kw):
        seen.update(steps=steps, batch_size=batch_size, **kw)
        raise KeyboardInterrupt  # stop before any training

    import genai_course.diffusion.training as training

    monkeypatch.setattr(training, "train_diffusion", fake_train_diffusion)
    with pytest.raises(KeyboardInterrupt):
        tc.train_digit_diffusion()
    assert seen["steps"] == 3000 and seen["batch_size"] == 128
    assert seen["lr"] == 2e-3 and seen["p_uncond"] == 0.25 and seen["ema_decay"] == 0.995
    assert seen["null_label"] == tc.NULL_LABEL


def test_the_gpt_recipe_trains_through_the_library_function(store, monkeypatch):
    """make_gpt_char_small calls train_gpt with its SETTINGS as keyword arguments (no argv)."""
    import genai_course.gpt.run as run
    from genai_course.gpt import pretrained

    seen = {}

    def fake_train_gpt(**kwargs):
        seen.update(kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "train_gpt", fake_train_gpt)
    with pytest.raises(KeyboardInterrupt):
        pretrained.make_gpt_char_small()
    assert {k: seen[k] for k in pretrained.SETTINGS} == pretrained.SETTINGS
    assert seen["max_iters"] == 1200 and seen["tokenizer"] == "char" and seen["block_size"] == 256
