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
    code, out, err = run(["train-gpt", "--text", str(text_file), "--max-iters", "5", "--out", str(tmp_path / "o"),
                          "--n-layer", "1", "--n-embd", "32", "--block-size", "16", "--batch-size", "4",
                          "--quiet", "--threads", "1"], capsys)
    assert code == 0, err
    assert "nats/char" in out and "tokens/s" in out and (tmp_path / "o" / "ckpt.pt").exists()
    code, out, err = run(["sample", "--ckpt", str(tmp_path / "o"), "--prompt", "hello", "--max-new-tokens", "10",
                          "--top-p", "0.9"], capsys)
    assert code == 0 and out.startswith("hello")


@pytest.mark.parametrize("setup,args,message", [
    (None, ["--text", "MISSING"], "does not exist"),
    (b"", ["--text", "FILE"], "empty"),
    (b"caf\xe9 latin-1", ["--text", "FILE"], "not UTF-8"),
    (b"short text", ["--text", "FILE"], "too short"),
    (b"x" * 5000, ["--text", "FILE", "--tokenizer", "words"], "--tokenizer must be one of"),
    (b"x" * 5000, ["--text", "FILE", "--n-embd", "30", "--n-head", "4"], "divisible"),
    (b"x" * 5000, ["--text", "FILE", "--max-iters", "0"], "must be positive"),
])
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
    r = subprocess.run([sys.executable, "-m", "genai_course", "train-gpt", "--text", str(tmp_path / "e.txt")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "empty" in r.stderr and "Traceback" not in r.stderr
