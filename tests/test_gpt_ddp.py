"""Data parallelism: two processes (gloo, CPU) take exactly the steps one process takes on the same global batch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch


def _setup():
    from genai_course.gpt.model import GPT, GPTConfig
    from genai_course.gpt.train import TrainConfig

    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=7, block_size=8, n_layers=1, n_heads=2, d_model=16))
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 7, (500,), generator=g)
    cfg = TrainConfig(batch_size=4, max_iters=4, warmup_iters=1, eval_interval=0)
    return model, ids, cfg


def _worker(out: Path) -> None:
    from genai_course.gpt.train import train

    torch.set_num_threads(1)
    model, ids, cfg = _setup()
    hist = train(model, ids, ids, cfg, show_progress=False)
    rank = int(os.environ["RANK"])
    torch.save(model.state_dict(), out / f"rank{rank}.pt")
    (out / f"rank{rank}.json").write_text(json.dumps(hist["train_loss"]))
    torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_two_processes_match_one(tmp_path):
    from genai_course.gpt.train import train

    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", __file__, str(tmp_path)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    s0, s1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    for k in s0:
        assert torch.equal(s0[k], s1[k]), f"ranks differ in {k}"
    model, ids, cfg = _setup()
    hist = train(model, ids, ids, cfg, show_progress=False)
    ddp_loss = json.loads((tmp_path / "rank0.json").read_text())
    assert ddp_loss == pytest.approx(hist["train_loss"], abs=1e-5)
    for k, v in model.state_dict().items():
        assert torch.allclose(v, s0[k], atol=1e-5), k
    assert not torch.allclose(model.wte.weight, _setup()[0].wte.weight)  # it did train


if __name__ == "__main__":
    _worker(Path(sys.argv[1]))
