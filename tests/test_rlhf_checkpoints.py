"""The shipped RLHF checkpoints load, reproduce their recorded metrics, and a damaged file gives a clear error."""

import pytest
import torch

from genai_course.rlhf import pretrained as shipped
from genai_course.rlhf.evaluation import evaluate_policy, head_to_head
from genai_course.rlhf.reward_model import pairwise_accuracy

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def sft():
    model, tok, record = shipped.load_sft()
    return model, tok, record


def mean(xs):
    return sum(xs) / len(xs)


def test_sft_reproduces_its_true_score(sft):
    model, tok, record = sft
    _, scores = evaluate_policy(model, tok, shipped.eval_instructions())
    # recorded in float32 right after training; shipped in float16, so a few samples may differ
    assert mean(scores) == pytest.approx(record["eval_true_score"], abs=0.03)
    assert record["eval_true_score"] > 0.5


def test_reward_model_reproduces_its_held_out_accuracy(sft):
    model, tok, _ = sft
    rm, record = shipped.load_reward_model()
    held_out = shipped.held_out_comparisons(model, tok)
    assert pairwise_accuracy(rm, held_out, "truth") == pytest.approx(record["held_out_accuracy_vs_truth"], abs=0.02)
    assert record["held_out_accuracy_vs_truth"] >= 0.75


@pytest.mark.parametrize("name", ["ppo", "dpo"])
def test_policies_reproduce_their_win_rate_against_sft(sft, name):
    model, tok, _ = sft
    policy, record = {"ppo": shipped.load_ppo, "dpo": shipped.load_dpo}[name]()
    evals = shipped.eval_instructions()
    sft_texts, sft_scores = evaluate_policy(model, tok, evals)
    texts, scores = evaluate_policy(policy, tok, evals)
    assert mean(scores) == pytest.approx(record["eval_true_score"], abs=0.03)
    assert head_to_head(texts, scores, sft_texts, sft_scores).win_rate == pytest.approx(
        record["win_rate_vs_sft"], abs=0.04
    )
    assert record["eval_true_score"] > record["sft_eval_true_score"]


def test_a_damaged_checkpoint_names_the_file_and_the_fix(tmp_path, monkeypatch):
    import genai_course.checkpoint_io as cio

    monkeypatch.setattr(cio, "SHIPPED_DIR", tmp_path)  # an empty manifest: the damage itself is found
    (tmp_path / "MANIFEST.json").write_text('{"files": {}}')
    with pytest.raises(ValueError, match="rlhf_sft.pt does not exist.*`genai-course recipe rlhf_sft`"):
        shipped.load_sft()
    (tmp_path / "rlhf_sft.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="truncated or corrupt.*`genai-course recipe rlhf_sft`"):
        shipped.load_sft()
    torch.save({"format": "something else"}, tmp_path / "rlhf_sft.pt")
    with pytest.raises(ValueError, match="not a genai-course RLHF 'sft' checkpoint.*recipe rlhf_sft"):
        shipped.load_sft()


def test_each_rlhf_checkpoint_builds_its_own_model(tmp_path, monkeypatch):
    """The files carry their GPT config and tokenizer: a policy loads without the base checkpoint."""
    import genai_course.checkpoint_io as cio

    blob = torch.load(cio.checkpoint_path("rlhf_sft.pt"), weights_only=True)
    assert blob["model_config"]["n_layers"] >= 1 and blob["tokenizer"]
    monkeypatch.setattr(cio, "SHIPPED_DIR", tmp_path)  # the base GPT checkpoint is absent here
    (tmp_path / "MANIFEST.json").write_text('{"files": {}}')
    torch.save(blob, tmp_path / "rlhf_sft.pt")
    model, tokenizer, _ = shipped.load_sft()
    assert model.config.to_dict() == blob["model_config"] and tokenizer.vocab_size == model.config.vocab_size
    assert not (tmp_path / "gpt_char_small.pt").exists()
    torch.save({**blob, "model_config": {"n_layers": "four"}}, tmp_path / "rlhf_sft.pt")
    with pytest.raises(ValueError, match="rlhf_sft.pt has a malformed model config"):
        shipped.load_sft()
    torch.save({**blob, "tokenizer": {**blob["tokenizer"], "kind": "nonsense"}}, tmp_path / "rlhf_sft.pt")
    with pytest.raises(ValueError, match="rlhf_sft.pt has a malformed tokenizer|rlhf_sft.pt is inconsistent"):
        shipped.load_sft()
