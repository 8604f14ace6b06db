import subprocess
import sys

import pytest

from genai_course.cli import main


def run(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def text_file(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("hello world, this is a small text for a tiny model. " * 60)
    return p


def test_train_then_sample(tmp_path, text_file, capsys):
    code, out, err = run(
        [
            "train-gpt",
            "--text",
            str(text_file),
            "--max-iters",
            "5",
            "--out",
            str(tmp_path / "o"),
            "--n-layers",
            "1",
            "--d-model",
            "32",
            "--block-size",
            "16",
            "--batch-size",
            "4",
            "--quiet",
            "--threads",
            "1",
        ],
        capsys,
    )
    assert code == 0, err
    assert "nats/char" in out and "tokens/s" in out and (tmp_path / "o" / "ckpt.pt").exists()
    code, out, err = run(
        ["sample", "--ckpt", str(tmp_path / "o"), "--prompt", "hello", "--max-new-tokens", "10", "--top-p", "0.9"],
        capsys,
    )
    assert code == 0 and out.startswith("hello")


@pytest.mark.parametrize(
    "setup,args,message",
    [
        (None, ["--text", "MISSING"], "does not exist"),
        (b"", ["--text", "FILE"], "empty"),
        (b"caf\xe9 latin-1", ["--text", "FILE"], "not UTF-8"),
        (b"short text", ["--text", "FILE"], "too short"),
        (b"x" * 5000, ["--text", "FILE", "--tokenizer", "words"], "--tokenizer must be one of"),
        (b"x" * 5000, ["--text", "FILE", "--d-model", "30", "--n-heads", "4"], "divisible"),
        (b"x" * 5000, ["--text", "FILE", "--max-iters", "0"], "must be positive"),
    ],
)
def test_bad_input_gives_one_line(tmp_path, capsys, setup, args, message):
    f = tmp_path / "f.txt"
    if setup is not None:
        f.write_bytes(setup)
    args = [str(f) if a == "FILE" else str(tmp_path / "missing.txt") if a == "MISSING" else a for a in args]
    code, out, err = run(["train-gpt", *args, "--quiet"], capsys)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_sample_bad_checkpoint(tmp_path, capsys):
    (tmp_path / "ckpt.pt").write_bytes(b"not a checkpoint")
    code, _, err = run(["sample", "--ckpt", str(tmp_path)], capsys)
    assert code == 2 and "truncated or corrupt" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(["sample", "--ckpt", str(tmp_path / "none")], capsys)
    assert code == 2 and "does not exist" in err


def test_subprocess_exit_status(tmp_path):
    (tmp_path / "e.txt").write_bytes(b"")
    r = subprocess.run(
        [sys.executable, "-m", "genai_course", "train-gpt", "--text", str(tmp_path / "e.txt")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "empty" in r.stderr and "Traceback" not in r.stderr


# ------------------------------------------------------------------ hostile or mistaken input

TINY = [
    "--n-layers",
    "1",
    "--d-model",
    "32",
    "--block-size",
    "16",
    "--batch-size",
    "4",
    "--quiet",
    "--threads",
    "1",
    "--tokenizer",
    "char",
]


def train_tiny(tmp_path, text_file, capsys, *extra, out="o"):
    return run(["train-gpt", "--text", str(text_file), "--out", str(tmp_path / out), *TINY, *extra], capsys)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--minutes", "nan"], "--minutes must be a finite number"),
        (["--minutes", "inf"], "--minutes must be a finite number"),
        (["--minutes", "-1"], "--minutes must be positive"),
        (["--lr", "nan"], "--lr must be a finite number"),
        (["--min-lr=-1e-4"], "--min-lr must lie in [0, --lr"),
        (["--min-lr", "1"], "--min-lr must lie in [0, --lr"),
        (["--eval-interval", "-1"], "--eval-interval must be ≥ 0"),
        (["--dropout", "1.5"], "--dropout must lie in [0, 1)"),
    ],
)
def test_unusable_settings_are_refused_before_anything_runs(tmp_path, text_file, capsys, args, message):
    code, out, err = train_tiny(tmp_path, text_file, capsys, *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert out == "" and not (tmp_path / "o").exists()


def test_a_tiny_time_budget_still_takes_one_step(tmp_path, text_file, capsys):
    code, out, err = train_tiny(tmp_path, text_file, capsys, "--minutes", "1e-9")
    assert code == 0, err
    assert "1 steps" in out and (tmp_path / "o" / "ckpt.pt").exists()


def test_help_prints_a_single_percent_sign(capsys):
    with pytest.raises(SystemExit):
        main(["train-gpt", "-h"])
    text = " ".join(capsys.readouterr().out.split())
    assert "The last 10% of the file" in text and "%%" not in text


def test_out_is_checked_before_training(tmp_path, text_file, capsys):
    (tmp_path / "afile").write_text("x")
    code, out, err = train_tiny(tmp_path, text_file, capsys, out="afile")
    assert code == 2 and "is a file" in err and out == ""  # nothing trained
    code, out, err = train_tiny(tmp_path, text_file, capsys, out="afile/sub")
    assert code == 2 and "cannot be written" in err and out == ""
    code, out, err = train_tiny(tmp_path, text_file, capsys, "--resume", out="none")
    assert code == 2 and "no run to continue" in err and out == ""


def test_nan_loss_stops_with_an_error_and_keeps_the_good_checkpoint(tmp_path, text_file, capsys):
    assert train_tiny(tmp_path, text_file, capsys, "--max-iters", "5")[0] == 0
    good = (tmp_path / "o" / "ckpt.pt").read_bytes()
    code, out, err = train_tiny(tmp_path, text_file, capsys, "--max-iters", "50", "--lr", "1e30")
    assert code == 2 and "diverged" in err and "lower --lr" in err and len(err.strip().splitlines()) == 1
    assert "saved" not in out
    assert (tmp_path / "o" / "ckpt.pt").read_bytes() == good


def test_a_failed_save_leaves_no_tmp_file_and_says_one_line(tmp_path, text_file, capsys, monkeypatch):
    import torch

    assert train_tiny(tmp_path, text_file, capsys, "--max-iters", "5")[0] == 0
    good = (tmp_path / "o" / "ckpt.pt").read_bytes()

    def failing_save(obj, f):
        f.write(b"half a checkpoint")
        raise RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed")

    monkeypatch.setattr(torch, "save", failing_save)
    code, _, err = train_tiny(tmp_path, text_file, capsys, "--max-iters", "5")
    assert code == 2 and "could not write" in err and "ckpt.pt" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["ckpt.pt"]
    assert (tmp_path / "o" / "ckpt.pt").read_bytes() == good


def test_checkpoints_are_saved_at_every_estimate(tmp_path, text_file, capsys, monkeypatch):
    import genai_course.gpt.train as gpt_train

    steps, save = [], gpt_train.save_checkpoint
    monkeypatch.setattr(
        gpt_train,
        "save_checkpoint",
        lambda *a, resume=None, **k: steps.append(resume["iter"]) or save(*a, resume=resume, **k),
    )
    code, _, err = train_tiny(tmp_path, text_file, capsys, "--max-iters", "9", "--eval-interval", "3")
    assert code == 0, err
    assert steps == [3, 6, 9]


def test_ctrl_c_saves_and_resume_continues_exactly(tmp_path, text_file, capsys, monkeypatch):
    """An interrupted run, resumed, ends with the very weights of an uninterrupted one (nanoGPT's --resume)."""
    import signal

    import genai_course.gpt.train as gpt_train
    from genai_course.gpt.train import load_checkpoint

    settings = ["--max-iters", "12", "--eval-interval", "4", "--dropout", "0.1"]
    assert train_tiny(tmp_path, text_file, capsys, *settings, out="whole")[0] == 0

    calls, get_batch = [], gpt_train.get_batch

    def ctrl_c_during_step_7(*a, **k):
        calls.append(1)
        if len(calls) == 7 + 20:  # 7 training batches + the 20 of the estimate at step 4
            signal.raise_signal(signal.SIGINT)
        return get_batch(*a, **k)

    monkeypatch.setattr(gpt_train, "get_batch", ctrl_c_during_step_7)
    code, _, err = train_tiny(tmp_path, text_file, capsys, *settings, out="cut")
    assert code == 130 and "interrupted at step 7" in err and "--resume" in err
    _, _, blob = load_checkpoint(tmp_path / "cut")
    assert blob["resume"]["iter"] == 7  # the step in progress was finished, then saved
    monkeypatch.setattr(gpt_train, "get_batch", get_batch)

    code, out, err = train_tiny(tmp_path, text_file, capsys, *settings, "--resume", out="cut")
    assert code == 0, err
    assert "resuming" in out and "12 steps" in out
    whole, _, whole_blob = load_checkpoint(tmp_path / "whole")
    cut, _, cut_blob = load_checkpoint(tmp_path / "cut")
    for (k, a), (_, b) in zip(whole.state_dict().items(), cut.state_dict().items(), strict=True):
        assert torch_equal(a, b), k
    assert cut_blob["metrics"]["val_loss_nats_per_char"] == whole_blob["metrics"]["val_loss_nats_per_char"]
    assert cut_blob["metrics"]["iters"] == 12

    # a finished run can be extended with a larger budget
    code, out, err = train_tiny(tmp_path, text_file, capsys, "--resume", "--max-iters", "14", out="cut")
    assert code == 0 and "14 steps" in out, err


def torch_equal(a, b):
    import torch

    return torch.equal(a, b)


def test_resume_refuses_a_different_text(tmp_path, text_file, capsys):
    assert train_tiny(tmp_path, text_file, capsys, "--max-iters", "3")[0] == 0
    other = tmp_path / "other.txt"
    other.write_text("another text entirely, long enough to train on. " * 60)
    code, _, err = run(["train-gpt", "--text", str(other), "--out", str(tmp_path / "o"), *TINY, "--resume"], capsys)
    assert code == 2 and "different text" in err


@pytest.fixture
def trained(tmp_path, text_file, capsys):
    assert train_tiny(tmp_path, text_file, capsys, "--max-iters", "5")[0] == 0
    return tmp_path / "o" / "ckpt.pt"


def _edit(path, change):
    import torch

    blob = torch.load(path, weights_only=True)
    change(blob)
    torch.save(blob, path)


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda b: b["model_config"].update(colour=3), "unknown model config keys: 'colour'"),
        (lambda b: b["model_config"].update(n_layers="1"), "'n_layers' must be a positive int"),
        (lambda b: b["model_config"].update(block_size=-16), "'block_size' must be a positive int"),
        (lambda b: b["model_config"].update(n_layers=1000), "n_layers=1000"),
        (lambda b: b["model_config"].pop("vocab_size"), "no 'vocab_size'"),
        (lambda b: b.update(model_config=[1, 2]), "must be a dict"),
        (lambda b: b.pop("tokenizer"), "malformed tokenizer"),
        (lambda b: b["tokenizer"].pop("chars"), "malformed tokenizer"),
        (lambda b: b["model"].pop("wte.weight"), "no wte.weight"),
        (lambda b: b["model"]["ln_f.weight"].fill_(float("nan")), "NaN or infinite weights (ln_f.weight)"),
        (lambda b: b["model"]["wte.weight"].fill_(float("inf")), "NaN or infinite weights (wte.weight)"),
    ],
)
def test_sample_refuses_a_malformed_checkpoint_in_one_line(trained, capsys, change, message):
    _edit(trained, change)
    code, out, err = run(["sample", "--ckpt", str(trained)], capsys)
    assert code == 2 and message in err, err
    assert str(trained) in err and "train-gpt" in err  # names the file and how to remake it
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and out == ""


def test_a_corrupt_checkpoint_never_suggests_turning_weights_only_off(tmp_path, capsys):
    import argparse

    import torch

    torch.save({"format": "genai_course.gpt/1", "model": argparse.Namespace(x=1)}, tmp_path / "ckpt.pt")
    code, _, err = run(["sample", "--ckpt", str(tmp_path)], capsys)
    assert code == 2 and "truncated or corrupt" in err and "train-gpt" in err
    assert "weights_only" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("temperature,message", [("nan", "finite"), ("inf", "finite"), ("-1", "≥ 0")])
def test_sample_refuses_unusable_temperatures(trained, capsys, temperature, message):
    code, _, err = run(["sample", "--ckpt", str(trained), "--temperature", temperature], capsys)
    assert code == 2 and "--temperature must be a finite number ≥ 0" in err and message in err


def test_temperature_zero_and_tiny_temperatures_are_greedy(trained, capsys):
    outputs = {}
    for seed, t in enumerate(("0", "1e-40", "1e-300")):
        code, out, err = run(
            [
                "sample",
                "--ckpt",
                str(trained),
                "--prompt",
                "hello",
                "--max-new-tokens",
                "20",
                "--temperature",
                t,
                "--num-samples",
                "2",
                "--seed",
                str(seed),
            ],
            capsys,
        )
        assert code == 0, err
        outputs[t] = out
    assert outputs["0"] == outputs["1e-40"] == outputs["1e-300"]


def test_rope_is_the_default_and_learned_positions_are_one_flag_away(tmp_path, text_file, capsys):
    from genai_course.gpt.train import load_checkpoint

    for extra, pos in (((), "rope"), (("--pos", "learned"), "learned")):
        code, _, _ = train_tiny(tmp_path, text_file, capsys, "--max-iters", "2", *extra, out=pos)
        assert code == 0
        model, _, _ = load_checkpoint(tmp_path / pos)
        assert model.config.pos == pos


def test_nanogpt_size_flags_still_work(tmp_path, text_file, capsys):
    """--n-layer/--n-head/--n-embd (nanoGPT's spellings) are aliases of --n-layers/--n-heads/--d-model."""
    import torch

    code, _, err = run(
        ["train-gpt", "--text", str(text_file), "--out", str(tmp_path / "o"), "--max-iters", "1"]
        + ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "8", "--batch-size", "2"],
        capsys,
    )
    assert code == 0, err
    config = torch.load(tmp_path / "o" / "ckpt.pt", weights_only=True)["model_config"]
    assert (config["n_layers"], config["n_heads"], config["d_model"]) == (1, 2, 16)
