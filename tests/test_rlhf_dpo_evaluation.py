"""The DPO notebook's measurements: the DPO trace, scoring greedy and sampled decodings, best-of-n."""

import math

import pytest
import torch

from genai_course.rlhf.dpo import DPOConfig, DPOTrace, all_sequence_logprobs, train_dpo
from genai_course.rlhf.evaluation import (
    Samples,
    best_of_n_kl_bound,
    evaluate_policy,
    kl_to_reference,
    mean_se,
    sample_n,
    score_decoding,
)
from genai_course.rlhf.labeler import SimulatedLabeler
from genai_course.rlhf.reward_model import RewardModel, collect_comparisons
from genai_course.rlhf.tasks import make_instructions
from rlhf_tiny import TOKENIZER, tiny_gpt

torch.set_num_threads(1)


def test_mean_se_by_hand():
    m, se = mean_se([1.0, 2.0, 3.0, 4.0])
    assert m == 2.5 and se == pytest.approx(math.sqrt(5 / 3) / 2)
    with pytest.raises(ValueError, match="at least 2"):
        mean_se([1.0])


def test_best_of_n_kl_bound_closed_form():
    assert best_of_n_kl_bound(1) == 0.0
    assert best_of_n_kl_bound(4) == pytest.approx(math.log(4) - 0.75)
    with pytest.raises(ValueError):
        best_of_n_kl_bound(0)


def test_score_decoding_sampled_matches_evaluate_policy_and_kl_to_reference():
    model, other, rm = tiny_gpt(0), tiny_gpt(1), RewardModel(tiny_gpt(2))
    ins = make_instructions(6, seed=3)
    scored = score_decoding(model, other, rm, TOKENIZER, ins, 1.0, seed=5, batch_size=4)
    texts, scores = evaluate_policy(model, TOKENIZER, ins, 1.0, seed=5, batch_size=4)
    assert scored.texts == texts and torch.allclose(scored.true, torch.tensor(scores, dtype=torch.float64))
    kl = kl_to_reference(model, other, TOKENIZER, ins, seed=5, batch_size=4)
    assert float(scored.kl.mean()) == pytest.approx(kl, rel=1e-4, abs=1e-4)
    same = score_decoding(model, model, rm, TOKENIZER, ins, 1.0, seed=5)
    assert torch.allclose(same.kl, torch.zeros(6, dtype=torch.float64), atol=1e-5)  # KL(π ‖ π) = 0


def test_greedy_kl_is_minus_log_prob_under_the_reference():
    from genai_course.rlhf.policy import response_logprobs, sample_responses

    model, ref, rm = tiny_gpt(0), tiny_gpt(1), RewardModel(tiny_gpt(2))
    ins = make_instructions(3, seed=4)
    scored = score_decoding(model, ref, rm, TOKENIZER, ins, 0.0)
    assert scored.texts == score_decoding(model, ref, rm, TOKENIZER, ins, 0.0, seed=9).texts  # greedy ignores the seed
    with torch.no_grad():
        prompts, ids, mask, _ = sample_responses(model, TOKENIZER, ins, 0.0)
        expected = -(response_logprobs(ref, prompts, ids) * mask).sum(1)  # KL(δ_y ‖ π_ref) = −log π_ref(y)
    assert torch.allclose(scored.kl, expected.double(), atol=1e-4)
    assert (scored.kl > 0).all()


def test_best_of_picks_the_highest_scored_of_the_first_m():
    s = Samples(
        [["a", "b", "c"], ["d", "e", "f"]],
        torch.tensor([[0.1, 0.9, 0.5], [1.0, 0.0, 0.2]]),
        torch.tensor([[0.0, 2.0, 3.0], [1.0, 1.0, 0.0]]),
    )
    assert s.best_of(1).texts == ["a", "d"]
    assert s.best_of(2).texts == ["b", "d"]  # equal rewards: the first
    assert s.best_of(3).texts == ["c", "d"] and s.best_of(3).true.tolist() == [0.5, 1.0]
    assert s.best_of(3, by="true").texts == ["b", "d"]
    with pytest.raises(ValueError):
        s.best_of(4)
    with pytest.raises(ValueError):
        s.best_of(2, by="labeler")


def test_sample_n_groups_each_prompts_samples():
    model, rm = tiny_gpt(0), RewardModel(tiny_gpt(2))
    ins = make_instructions(3, seed=1)
    s = sample_n(model, rm, TOKENIZER, ins, 4, seed=0, batch_size=5)
    assert len(s.texts) == 3 and all(len(t) == 4 for t in s.texts)
    assert s.true.shape == s.reward.shape == (3, 4)
    assert s.best_of(4).reward.tolist() == s.reward.max(1).values.tolist()


def test_dpo_trace_records_the_log_probs_each_step_saw(monkeypatch):
    monkeypatch.setenv("GENAI_COURSE_PROGRESS", "0")
    sft = tiny_gpt()
    data = collect_comparisons(sft, TOKENIZER, make_instructions(8, seed=0), 3, SimulatedLabeler(seed=0), seed=0)
    trace = DPOTrace()
    _, losses = train_dpo(sft, data, DPOConfig(batch_size=4, lr=1e-2), trace)
    assert len(trace.chosen) == len(trace.rejected) == len(losses) == 2
    chosen, rejected = trace.log_ratios()
    assert chosen[0] == pytest.approx(0.0, abs=1e-5) and rejected[0] == pytest.approx(0.0, abs=1e-5)  # π = π_ref
    with torch.no_grad():
        ref = all_sequence_logprobs(sft, data)
    assert min(trace.ref_chosen + trace.ref_rejected) >= float(ref.min()) - 1e-5
