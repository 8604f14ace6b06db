"""RLHF pieces (chapter 2, part 2) against hand-computed values from the papers' formulas, on tiny random GPTs."""

import math
import random

import pytest
import torch
import torch.nn.functional as F

from genai_course.rlhf.dpo import dpo_loss
from genai_course.rlhf.encoding import (
    END,
    MAX_RESPONSE,
    PROMPT_WIDTH,
    decode_responses,
    encode_prompts,
    encode_responses,
    prompt_text,
    response_mask,
)
from genai_course.rlhf.evaluation import head_to_head, kl_to_reference, win_rate
from genai_course.rlhf.labeler import SimulatedLabeler, ranking_to_pairs
from genai_course.rlhf.policy import response_logprobs, sample_responses
from genai_course.rlhf.ppo import PPOConfig, clipped_surrogate, clipped_value_loss, gae, kl_estimates, train_ppo, whiten
from genai_course.rlhf.reward_model import Comparisons, RewardModel, bradley_terry_loss, collect_comparisons
from genai_course.rlhf.sft import SFTConfig, masked_mean, sft_loss, train_sft
from genai_course.rlhf.tasks import KINDS, Instruction, make_instruction, make_instructions, true_score
from rlhf_tiny import TOKENIZER, tiny_gpt

torch.set_num_threads(1)


def instructions(n: int = 4, seed: int = 0) -> list[Instruction]:
    return make_instructions(n, seed)


# --- Bradley–Terry ----------------------------------------------------------------------------------------------


def test_bradley_terry_hand_value():
    # −log σ(1 − 0) = log(1 + e^{-1}) = 0.313262
    loss = bradley_terry_loss(torch.tensor([1.0]), torch.tensor([0.0]))
    assert loss.item() == pytest.approx(0.313262, abs=1e-6)


def test_bradley_terry_equal_rewards_give_log2():
    # σ(0) = ½ whatever the common reward, so the loss is log 2
    r = torch.tensor([-3.0, 0.0, 5.0])
    assert bradley_terry_loss(r, r.clone()).item() == pytest.approx(math.log(2), abs=1e-6)


def test_bradley_terry_equals_bce_with_logits_of_the_margin():
    g = torch.Generator().manual_seed(0)
    r_w, r_l = torch.randn(32, generator=g) * 3, torch.randn(32, generator=g) * 3
    bce = F.binary_cross_entropy_with_logits(r_w - r_l, torch.ones(32))
    assert torch.allclose(bradley_terry_loss(r_w, r_l), bce, atol=1e-6)


def test_bradley_terry_saturated_inputs_stay_finite():
    # margins ±80: −log σ(80) ≈ 0 and −log σ(−80) ≈ 80, so the mean is ≈ 40
    r_w, r_l = torch.tensor([40.0, -40.0]), torch.tensor([-40.0, 40.0])
    r_w.requires_grad_(True)
    loss = bradley_terry_loss(r_w, r_l)
    loss.backward()
    assert torch.isfinite(loss) and loss.item() == pytest.approx(40.0, abs=1e-4)
    assert torch.isfinite(r_w.grad).all()


# --- PPO clipped surrogate ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ratio, adv, expected",
    [
        (1.5, 1.0, -1.2),  # ρ > 1+ε, A > 0: min(1.5, 1.2) = 1.2 → the gain is capped
        (0.5, -1.0, 0.8),  # ρ < 1−ε, A < 0: min(−0.5, −0.8) = −0.8 → the loss is capped
        (0.5, 1.0, -0.5),  # ρ < 1−ε, A > 0: min(0.5, 0.8) = 0.5 → unclipped, min picks ρA
        (1.5, -1.0, 1.5),  # ρ > 1+ε, A < 0: min(−1.5, −1.2) = −1.5 → unclipped, min picks ρA
    ],
)
def test_clipped_surrogate_four_branches(ratio, adv, expected):
    logp_old = torch.tensor([[-2.0]], dtype=torch.float64)
    loss = clipped_surrogate(logp_old + math.log(ratio), logp_old, torch.tensor([[adv]], dtype=torch.float64), 0.2)
    assert loss.shape == (1, 1)
    assert loss.item() == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    "ratio, adv, expected_grad",
    [
        (1.5, 1.0, 0.0),  # clipped: the loss is the constant −(1+ε)A
        (0.5, -1.0, 0.0),  # clipped: the loss is the constant −(1−ε)A
        (0.5, 1.0, -0.5),  # unclipped: d(−ρA)/d log π = −ρA
        (1.5, -1.0, 1.5),  # unclipped: −ρA = 1.5
    ],
)
def test_clipped_surrogate_gradient_vanishes_only_on_the_clipped_branch(ratio, adv, expected_grad):
    logp_old = torch.tensor([[-2.0]], dtype=torch.float64)
    logp = (logp_old + math.log(ratio)).requires_grad_(True)
    clipped_surrogate(logp, logp_old, torch.tensor([[adv]], dtype=torch.float64), 0.2).sum().backward()
    assert logp.grad.item() == pytest.approx(expected_grad, abs=1e-12)


def test_clipped_surrogate_is_per_token():
    g = torch.Generator().manual_seed(0)
    logp_old = -torch.rand(3, 5, generator=g)
    loss = clipped_surrogate(logp_old + 0.1 * torch.randn(3, 5, generator=g), logp_old, torch.randn(3, 5, generator=g))
    assert loss.shape == (3, 5)


# --- GAE -----------------------------------------------------------------------------------------------------------


def test_gae_hand_example():
    # γ = 0.9, λ = 0.8 (γλ = 0.72), r = (1, 0, 2), V = (0.5, 1, 0.5), V after the last token = 0:
    # δ2 = 2 + 0.9·0 − 0.5 = 1.5                  A2 = 1.5
    # δ1 = 0 + 0.9·0.5 − 1 = −0.55                A1 = −0.55 + 0.72·1.5 = 0.53
    # δ0 = 1 + 0.9·1 − 0.5 = 1.4                  A0 = 1.4 + 0.72·0.53 = 1.7816
    # returns = A + V = (2.2816, 1.53, 2.0)
    rewards = torch.tensor([[1.0, 0.0, 2.0]], dtype=torch.float64)
    values = torch.tensor([[0.5, 1.0, 0.5]], dtype=torch.float64)
    adv, ret = gae(rewards, values, torch.ones(1, 3, dtype=torch.float64), gamma=0.9, lam=0.8)
    assert torch.allclose(adv, torch.tensor([[1.7816, 0.53, 1.5]], dtype=torch.float64), atol=1e-12)
    assert torch.allclose(ret, torch.tensor([[2.2816, 1.53, 2.0]], dtype=torch.float64), atol=1e-12)


def test_gae_masked_row_ignores_padding():
    # mask (1, 1, 0): position 2 is padding, so its reward 5 and value 3 must not leak in.
    # δ1 = 2 + 0.9·0 − 1 = 1 (V after the last real token is 0)   A1 = 1
    # δ0 = 1 + 0.9·1 − 0.5 = 1.4                                  A0 = 1.4 + 0.72·1 = 2.12
    # returns = (A + V)·mask = (2.62, 2.0, 0)
    rewards = torch.tensor([[1.0, 2.0, 5.0]], dtype=torch.float64)
    values = torch.tensor([[0.5, 1.0, 3.0]], dtype=torch.float64)
    mask = torch.tensor([[1.0, 1.0, 0.0]], dtype=torch.float64)
    adv, ret = gae(rewards, values, mask, gamma=0.9, lam=0.8)
    assert torch.allclose(adv, torch.tensor([[2.12, 1.0, 0.0]], dtype=torch.float64), atol=1e-12)
    assert torch.allclose(ret, torch.tensor([[2.62, 2.0, 0.0]], dtype=torch.float64), atol=1e-12)


def test_gae_gamma_lam_one_is_reward_to_go_minus_value():
    # with γ = λ = 1 the δ's telescope: A_t = Σ_{k≥t} r_k − V_t
    g = torch.Generator().manual_seed(0)
    rewards = torch.randn(2, 6, generator=g, dtype=torch.float64)
    values = torch.randn(2, 6, generator=g, dtype=torch.float64)
    adv, _ = gae(rewards, values, torch.ones(2, 6, dtype=torch.float64), gamma=1.0, lam=1.0)
    to_go = rewards.flip(1).cumsum(1).flip(1)
    assert torch.allclose(adv, to_go - values, atol=1e-12)


# --- clipped value loss --------------------------------------------------------------------------------------------


def test_clipped_value_loss_clipped_term_larger():
    # V_old = 1, V = 2, R = 3, ε = 0.2: unclipped (2−3)² = 1; clipped V = 1.2, (1.2−3)² = 3.24
    # → ½·max = 1.62
    loss = clipped_value_loss(torch.tensor([2.0]), torch.tensor([1.0]), torch.tensor([3.0]), clip=0.2)
    assert loss.item() == pytest.approx(1.62, abs=1e-6)


def test_clipped_value_loss_unclipped_term_larger():
    # V_old = 1, V = 2, R = 0, ε = 0.2: unclipped (2−0)² = 4; clipped (1.2−0)² = 1.44 → ½·4 = 2
    loss = clipped_value_loss(torch.tensor([2.0]), torch.tensor([1.0]), torch.tensor([0.0]), clip=0.2)
    assert loss.item() == pytest.approx(2.0, abs=1e-6)


# --- KL estimators ------------------------------------------------------------------------------------------------

P = torch.tensor([0.4, 0.25, 0.15, 0.12, 0.08], dtype=torch.float64)
Q = torch.tensor([0.2, 0.2, 0.2, 0.2, 0.2], dtype=torch.float64)
EXACT_KL = (P * (P / Q).log()).sum()  # Σ p log(p/q) ≈ 0.1508


def test_kl_estimators_are_unbiased_by_enumeration():
    # E_p[k1] = Σ p (log p − log q) = KL;  E_p[k3] = Σ p ((q/p − 1) − log(q/p)) = (Σ q − 1) + KL = KL
    k1, k3 = kl_estimates(P.log(), Q.log())
    assert (P * k1).sum().item() == pytest.approx(EXACT_KL.item(), abs=1e-12)
    assert (P * k3).sum().item() == pytest.approx(EXACT_KL.item(), abs=1e-12)


def test_k3_is_never_negative_but_k1_can_be():
    k1, k3 = kl_estimates(P.log(), Q.log())
    assert (k3 >= 0).all()
    assert (k1 < 0).any()  # outcomes with p < q give negative k1


def test_k3_monte_carlo_average_matches_exact_kl():
    g = torch.Generator().manual_seed(0)
    samples = torch.multinomial(P, 200_000, replacement=True, generator=g)
    _, k3 = kl_estimates(P.log()[samples], Q.log()[samples])
    assert abs(k3.mean().item() - EXACT_KL.item()) < 0.01


# --- DPO -----------------------------------------------------------------------------------------------------------


def test_dpo_policy_equal_to_reference_gives_log2():
    lp = torch.tensor([-3.0, -7.5]), torch.tensor([-4.0, -1.0])
    assert dpo_loss(lp[0], lp[1], lp[0].clone(), lp[1].clone(), beta=0.1).item() == pytest.approx(math.log(2), abs=1e-7)


def test_dpo_hand_example():
    # β = 0.1; log π/π_ref: chosen −1 − (−2) = 1, rejected −3 − (−1) = −2 → margin 3
    # loss = −log σ(0.1·3) = log(1 + e^{−0.3}) = 0.554355
    loss = dpo_loss(torch.tensor([-1.0]), torch.tensor([-3.0]), torch.tensor([-2.0]), torch.tensor([-1.0]), beta=0.1)
    assert loss.item() == pytest.approx(0.554355, abs=1e-6)


def test_dpo_gradient_raises_chosen_and_lowers_rejected():
    chosen = torch.tensor([-2.0, -5.0], requires_grad=True)
    rejected = torch.tensor([-2.5, -4.0], requires_grad=True)
    dpo_loss(chosen, rejected, torch.tensor([-2.0, -5.0]), torch.tensor([-2.5, -4.0]), beta=0.1).backward()
    # gradient descent moves against .grad: chosen up (grad < 0), rejected down (grad > 0);
    # at π = π_ref, ∂L/∂log π(y_w) = −β σ(0) / n = −0.1 · ½ / 2 = −0.025
    assert (chosen.grad < 0).all() and (rejected.grad > 0).all()
    assert torch.allclose(chosen.grad, torch.full((2,), -0.025))


# --- masked_mean and whiten ----------------------------------------------------------------------------------------


def test_masked_mean_ignores_masked_positions():
    x = torch.tensor([[1.0, 2.0, 100.0], [3.0, -50.0, -50.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    assert masked_mean(x, mask).item() == pytest.approx(2.0)  # (1 + 2 + 3) / 3


def test_whiten_masked_positions_have_zero_mean_unit_std_and_padding_is_zero():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 7, generator=g, dtype=torch.float64) * 5 + 3
    mask = torch.ones(4, 7, dtype=torch.float64)
    mask[0, 4:], mask[2, 2:] = 0, 0
    w = whiten(x, mask)
    real = w[mask.bool()]
    assert real.mean().item() == pytest.approx(0.0, abs=1e-10)
    assert real.std(unbiased=False).item() == pytest.approx(1.0, abs=1e-6)
    assert (w[~mask.bool()] == 0).all()


# --- simulated labeler ---------------------------------------------------------------------------------------------


def first_place_frequencies(labeler: SimulatedLabeler, scores, draws: int = 4000) -> torch.Tensor:
    counts = torch.zeros(len(scores))
    for _ in range(draws):
        counts[labeler.rank(scores)[0]] += 1
    return counts / draws


def test_labeler_beta_zero_is_a_coin_flip():
    freq = first_place_frequencies(SimulatedLabeler(beta=0.0, seed=0), [0.9, 0.1])
    assert abs(freq[0].item() - 0.5) < 0.03


def test_labeler_pair_follows_bradley_terry():
    # P(a ≻ b) = σ(β (s_a − s_b)) = σ(20·0.1) = σ(2) ≈ 0.8808
    labeler = SimulatedLabeler(beta=20.0, seed=1)
    freq = first_place_frequencies(labeler, [0.6, 0.5])[0].item()
    expected = 1 / (1 + math.exp(-2.0))
    assert labeler.agreement(0.6, 0.5) == pytest.approx(expected)
    assert abs(freq - expected) < 0.03 and abs(freq - labeler.agreement(0.6, 0.5)) < 0.03


def test_labeler_plackett_luce_first_place_is_softmax():
    # k = 3, β = 20, s = (0.1, 0.05, 0): P(i first) = softmax(2, 1, 0) ≈ (0.665, 0.245, 0.090)
    scores = [0.1, 0.05, 0.0]
    freq = first_place_frequencies(SimulatedLabeler(beta=20.0, seed=2), scores)
    expected = torch.softmax(20 * torch.tensor(scores), 0)
    assert (freq - expected).abs().max().item() < 0.03


def test_ranking_to_pairs():
    assert ranking_to_pairs([2, 0, 1]) == [(2, 0), (2, 1), (0, 1)]
    assert len(ranking_to_pairs([4, 1, 3, 0, 2])) == 5 * 4 // 2


# --- tasks ---------------------------------------------------------------------------------------------------------


def test_true_score_exact_answer_is_one_and_empty_is_zero():
    ins = Instruction("reverse", "reverse star", "rats")
    assert true_score(ins, "rats") == 1.0
    assert true_score(ins, "") == 0.0
    assert 0.0 < true_score(ins, "sure, rats") < 1.0


def test_make_instructions_is_deterministic_for_a_seed():
    assert make_instructions(20, seed=3) == make_instructions(20, seed=3)
    assert make_instructions(20, seed=3) != make_instructions(20, seed=4)


def test_each_kind_gives_the_documented_answer():
    rng = random.Random(0)
    for kind in KINDS:
        for _ in range(10):
            ins = make_instruction(rng, kind)
            words = ins.text.split()
            assert ins.kind == kind and words[0] == kind
            if kind == "repeat":  # repeat dog 3 times → dog dog dog
                assert ins.answer == " ".join([words[1]] * int(words[2]))
            elif kind == "reverse":  # reverse star → rats
                assert ins.answer == words[1][::-1]
            elif kind == "add":  # add 12 and 7 → 19
                assert ins.answer == str(int(words[1]) + int(words[3]))
            else:  # shout moon → MOON
                assert ins.answer == words[1].upper()


def test_reverse_star_is_rats():
    star = [i for i in make_instructions(400, seed=0) if i.text == "reverse star"]
    assert star and all(i.answer == "rats" for i in star)


# --- encoding ------------------------------------------------------------------------------------------------------


def test_prompt_text_is_fixed_width_and_ends_with_answer_cue():
    for ins in instructions(20):
        text = prompt_text(ins)
        assert len(text) == PROMPT_WIDTH and text.endswith("A: ") and f"Q: {ins.text}{END}" in text
    assert encode_prompts(TOKENIZER, instructions(3)).shape == (3, PROMPT_WIDTH)


def test_encode_decode_responses_round_trip():
    texts = ["rats", "sure, dog dog", "19", "MOON, i think"]
    ids, mask = encode_responses(TOKENIZER, texts)
    assert ids.shape == mask.shape == (4, MAX_RESPONSE)
    assert decode_responses(TOKENIZER, ids) == texts
    assert mask.sum(1).tolist() == [len(t) + 1 for t in texts]  # the characters plus END


def test_response_mask_covers_up_to_and_including_first_end():
    end = TOKENIZER.encode(END)[0]
    ids = torch.tensor([TOKENIZER.encode("ab\ncd\nef"), TOKENIZER.encode("abcdefgh")])
    assert response_mask(TOKENIZER, ids).tolist() == [[1, 1, 1, 0, 0, 0, 0, 0], [1] * 8]
    assert ids[0, 2] == end


def test_long_response_is_cut_without_end():
    long = "x" * 30
    ids, mask = encode_responses(TOKENIZER, [long, "y" * (MAX_RESPONSE - 1)])
    assert decode_responses(TOKENIZER, ids)[0] == "x" * MAX_RESPONSE  # cut, and no END to stop at
    assert mask[0].sum() == MAX_RESPONSE
    assert ids[1, -1] == TOKENIZER.encode(END)[0]  # MAX_RESPONSE − 1 characters still fit with their END


# --- policy --------------------------------------------------------------------------------------------------------


def test_response_logprobs_match_a_manual_gather():
    model = tiny_gpt()
    prompts = encode_prompts(TOKENIZER, instructions(3))
    responses, _ = encode_responses(TOKENIZER, ["rats", "dog dog", "19"])
    got = response_logprobs(model, prompts, responses)
    with torch.no_grad():
        full = torch.cat([prompts, responses], 1)
        logp = model(full)[0].log_softmax(-1)  # (b p+r v); position i predicts token i+1
    p, r = prompts.shape[1], responses.shape[1]
    manual = torch.stack([torch.stack([logp[b, p + j - 1, full[b, p + j]] for j in range(r)]) for b in range(3)])
    assert got.shape == (3, r)
    assert torch.allclose(got, manual, atol=1e-5)


def test_sample_responses_shapes():
    model = tiny_gpt()
    gen = torch.Generator().manual_seed(0)
    prompts, ids, mask, texts = sample_responses(model, TOKENIZER, instructions(3), generator=gen)
    assert prompts.shape == (3, PROMPT_WIDTH)
    assert ids.shape == mask.shape == (3, MAX_RESPONSE)
    assert len(texts) == 3 and all(isinstance(t, str) for t in texts)


# --- reward model --------------------------------------------------------------------------------------------------


def test_reward_model_reads_the_last_response_token_only():
    rm = RewardModel(tiny_gpt())
    torch.nn.init.normal_(rm.head.weight)  # the head starts at zero, which would make every reward 0
    prompts = encode_prompts(TOKENIZER, instructions(2))
    responses, mask = encode_responses(TOKENIZER, ["rats", "dog"])
    with torch.no_grad():
        reward = rm(prompts, responses, mask)
        padded = responses.clone()
        padded[:, 10] = TOKENIZER.encode("z")[0]  # after the END of both responses
        changed = responses.clone()
        changed[:, 0] = TOKENIZER.encode("z")[0]  # inside both responses
        assert reward.shape == (2,)
        assert torch.equal(rm(prompts, padded, mask), reward)
        assert not torch.allclose(rm(prompts, changed, mask), reward)


# --- evaluation ----------------------------------------------------------------------------------------------------


def test_win_rate_ties_count_half():
    # win, tie, loss, win → (1 + ½ + 0 + 1) / 4 = 0.625
    assert win_rate([1.0, 0.5, 0.2, 0.7], [0.5, 0.5, 0.9, 0.1]) == pytest.approx(0.625)
    assert win_rate([0.3, 0.3], [0.3, 0.3]) == pytest.approx(0.5)


# --- bad input -----------------------------------------------------------------------------------------------------


def test_mismatched_shapes_are_rejected():
    a, b = torch.zeros(3), torch.zeros(4)
    with pytest.raises(ValueError, match="shape"):
        bradley_terry_loss(a, b)
    with pytest.raises(ValueError, match="one shape"):
        clipped_surrogate(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"\(b r\)"):
        gae(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="shape"):
        dpo_loss(a, a, a, b)
    with pytest.raises(ValueError, match="same shape"):
        kl_estimates(a, b)
    with pytest.raises(ValueError, match="same shape"):
        masked_mean(a, b)


def test_empty_batches_are_rejected():
    empty = torch.zeros(0)
    with pytest.raises(ValueError, match="empty"):
        bradley_terry_loss(empty, empty)
    with pytest.raises(ValueError, match="empty"):
        dpo_loss(empty, empty, empty, empty)
    with pytest.raises(ValueError, match="non-empty"):
        win_rate([], [])
    with pytest.raises(ValueError, match="empty"):
        encode_prompts(TOKENIZER, [])
    with pytest.raises(ValueError, match="empty"):
        encode_responses(TOKENIZER, [])


def test_other_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="all-zero mask"):
        masked_mean(torch.ones(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="k ≥ 2"):
        SimulatedLabeler().rank([0.5])
    with pytest.raises(ValueError, match="beta"):
        SimulatedLabeler(beta=-1)
    with pytest.raises(ValueError, match="k ≥ 2"):
        collect_comparisons(tiny_gpt(), TOKENIZER, instructions(2), k=1, labeler=SimulatedLabeler())
    with pytest.raises(ValueError, match="as many demonstrations"):
        train_sft(tiny_gpt(), TOKENIZER, instructions(3), ["rats"], SFTConfig(steps=1))
    with pytest.raises(ValueError, match="ptx_batches"):
        train_ppo(tiny_gpt(), RewardModel(tiny_gpt()), TOKENIZER, instructions(2), PPOConfig(ptx_coef=0.1))
    with pytest.raises(ValueError, match="inconsistent"):
        Comparisons(torch.zeros(2, 5), torch.zeros(2, 3, 4), torch.zeros(2, 3, 5), torch.zeros(2, 3))


# --- smoke tests: tiny training runs ---------------------------------------------------------------------------


def test_short_sft_lowers_the_loss_on_its_training_batch(monkeypatch):
    monkeypatch.setenv("GENAI_COURSE_PROGRESS", "0")
    model = tiny_gpt()
    train = instructions(8, seed=1)
    demos = [i.answer for i in train]
    prompts = encode_prompts(TOKENIZER, train)
    responses, mask = encode_responses(TOKENIZER, demos)
    with torch.no_grad():
        before = sft_loss(model, prompts, responses, mask).item()
    losses = train_sft(model, TOKENIZER, train, demos, SFTConfig(steps=15, batch_size=8, lr=1e-2))
    with torch.no_grad():
        after = sft_loss(model, prompts, responses, mask).item()
    assert len(losses) == 15
    assert after < before - 0.5


def test_tiny_ppo_runs_and_records_history(monkeypatch):
    monkeypatch.setenv("GENAI_COURSE_PROGRESS", "0")
    sft = tiny_gpt()
    rm = RewardModel(tiny_gpt(seed=1))
    cfg = PPOConfig(iterations=2, batch_size=8, minibatch_size=4)
    agent, history = train_ppo(sft, rm, TOKENIZER, instructions(8), cfg)
    for series in (history.reward, history.true_score, history.kl, history.length, history.samples):
        assert len(series) == 2
    assert all(math.isfinite(x) for x in history.kl + history.reward)


def test_head_to_head_separates_identical_responses_from_ties():
    # A: "ab" beats "a"; "x" = "x" is identical; "p" vs "q" tie at 0.5; "z" loses to "y"
    match = head_to_head(["ab", "x", "p", "z"], [1.0, 0.5, 0.5, 0.0], ["a", "x", "q", "y"], [0.6, 0.5, 0.5, 1.0])
    assert (match.wins, match.losses, match.ties, match.identical) == (1, 1, 1, 1)
    assert match.win_rate == pytest.approx((1 + 0.5) / 3)  # identical responses are skipped
    assert match.win_rate_ties_half == pytest.approx((1 + 0.5 * 2) / 4)
    with pytest.raises(ValueError, match="equally many"):
        head_to_head(["a"], [1.0], [], [])


def test_kl_to_reference_of_a_model_with_itself_is_zero_and_positive_otherwise():
    model, other = tiny_gpt(0), tiny_gpt(1)
    with torch.no_grad():
        other.lm_head.weight.mul_(30)  # a much peakier reference: KL(model ‖ other) is large, not noise
    ins = instructions(8)
    assert kl_to_reference(model, model, TOKENIZER, ins) == pytest.approx(0.0, abs=1e-5)
    assert kl_to_reference(model, other, TOKENIZER, ins) > 0
    with pytest.raises(ValueError, match="at least one instruction"):
        kl_to_reference(model, model, TOKENIZER, [])
