"""RLHF checkers accept the reference losses and reject wrong ones with a message naming the fault."""

import pytest
import torch
import torch.nn.functional as F

from genai_course.exercises.rlhf import check_bradley_terry, check_clipped_surrogate, check_response_only_loss
from genai_course.rlhf.ppo import clipped_surrogate
from genai_course.rlhf.reward_model import bradley_terry_loss
from genai_course.rlhf.sft import response_only_loss

torch.set_num_threads(1)


def test_reference_solutions_pass():
    fb_bt, fb_cs = check_bradley_terry(bradley_terry_loss), check_clipped_surrogate(clipped_surrogate)
    assert fb_bt and fb_bt.message.startswith("Correct")
    assert fb_cs and fb_cs.message.startswith("Correct")
    assert repr(fb_bt).startswith("✅")


def test_not_attempted():
    def bradley_terry(r_chosen, r_rejected):
        raise NotImplementedError()

    def surrogate(logp, logp_old, advantages, clip):
        raise NotImplementedError()

    for fb in (check_bradley_terry(bradley_terry), check_clipped_surrogate(surrogate)):
        assert not fb and "Not attempted" in fb.message
        assert repr(fb).startswith("❌")


# --- Bradley–Terry -------------------------------------------------------------------------------------------------


def test_bradley_terry_wrong_sign_is_named():
    fb = check_bradley_terry(lambda w, lose: F.logsigmoid(w - lose).mean())
    assert not fb and "wrong sign" in fb.message


def test_bradley_terry_without_mean_is_rejected():
    fb = check_bradley_terry(lambda w, lose: -F.logsigmoid(w - lose))
    assert not fb and "one value per pair" in fb.message and ".mean()" in fb.message


def test_bradley_terry_probability_form_is_rejected():
    # the mean of σ instead of log σ: right sign, right shape, wrong values
    fb = check_bradley_terry(lambda w, lose: -torch.sigmoid(w - lose).mean())
    assert not fb and "wrong values" in fb.message and "σ(r_chosen − r_rejected)" in fb.message


def test_bradley_terry_naive_log_sigmoid_is_rejected_on_saturated_pairs():
    fb = check_bradley_terry(lambda w, lose: -torch.log(torch.sigmoid(w - lose)).mean())
    assert not fb and ("logsigmoid" in fb.message or "not finite" in fb.message)


def test_bradley_terry_non_finite_answer_mentions_logsigmoid():
    # ½ log(σ²) = log σ mathematically, but σ(−200)² underflows to 0 in float32, so the loss is inf
    fb = check_bradley_terry(lambda w, lose: -(0.5 * torch.log(torch.sigmoid(w - lose) ** 2)).mean())
    assert not fb and "not finite" in fb.message and "logsigmoid" in fb.message


# --- PPO clipped surrogate -----------------------------------------------------------------------------------------


def test_clipped_surrogate_wrong_sign_is_named():
    def surrogate(logp, logp_old, advantages, clip):
        ratio = torch.exp(logp - logp_old)
        return torch.minimum(ratio * advantages, ratio.clamp(1 - clip, 1 + clip) * advantages)

    fb = check_clipped_surrogate(surrogate)
    assert not fb and "wrong sign" in fb.message


def test_clipping_the_advantage_instead_of_the_ratio_is_rejected():
    def surrogate(logp, logp_old, advantages, clip):
        ratio = torch.exp(logp - logp_old)
        return -torch.minimum(ratio * advantages, ratio * advantages.clamp(1 - clip, 1 + clip))

    fb = check_clipped_surrogate(surrogate)
    # the first branch: ρ = e^0.4 ≈ 1.49 with A = 1 should be capped at 1.2
    assert not fb and "wrong values" in fb.message and "capped at (1+ε)·A" in fb.message


def test_forgetting_the_min_is_rejected():
    def surrogate(logp, logp_old, advantages, clip):
        return -torch.exp(logp - logp_old).clamp(1 - clip, 1 + clip) * advantages

    fb = check_clipped_surrogate(surrogate)
    # the two capped branches agree; the first unclipped one (ρ < 1−ε, A > 0) shows the missing min
    assert not fb and "wrong values" in fb.message and "min picks it" in fb.message


def test_clipped_surrogate_mean_instead_of_per_token_is_rejected():
    def surrogate(logp, logp_old, advantages, clip):
        return clipped_surrogate(logp, logp_old, advantages, clip).mean()

    fb = check_clipped_surrogate(surrogate)
    assert not fb and "wrong shape" in fb.message and "(b t)" in fb.message


# --- SFT response-only loss ----------------------------------------------------------------------------------------


def _nll(logits, targets):
    return -torch.log_softmax(logits, -1).gather(-1, targets[..., None])[..., 0]


def _windowed(start_shift=0, pad=False, prompt=False, divide="mask"):
    """A student's loss with one of the usual mistakes: a shifted window, padding or prompt counted, or another
    denominator."""

    def loss(logits, targets, prompt_len, response_lens):
        j = torch.arange(targets.shape[1])
        first = prompt_len - 1 + start_shift
        lo = torch.zeros_like(response_lens)[:, None] if prompt else first
        hi = torch.full_like(response_lens, targets.shape[1])[:, None] if pad else first + response_lens[:, None]
        mask = ((j >= lo) & (j < hi)).float()
        nll = _nll(logits, targets) * mask
        if divide == "all":
            return nll.sum() / mask.numel()
        if divide == "rows":
            return (nll.sum(1) / mask.sum(1)).mean()
        return nll.sum() / mask.sum()

    return loss


def test_response_only_loss_reference_and_a_loop_pass():
    assert check_response_only_loss(response_only_loss)

    def loop(logits, targets, prompt_len, response_lens):  # a plain loop over rows and tokens
        total, count = 0.0, 0
        for i, n in enumerate(response_lens.tolist()):
            for j in range(prompt_len - 1, prompt_len - 1 + n):
                total = total - torch.log_softmax(logits[i, j], -1)[targets[i, j]]
                count += 1
        return total / count

    fb = check_response_only_loss(loop)
    assert fb and fb.message.startswith("Correct")


def test_response_only_loss_not_attempted():
    def response_only(logits, targets, prompt_len, response_lens):
        raise NotImplementedError()

    fb = check_response_only_loss(response_only)
    assert not fb and "Not attempted" in fb.message


@pytest.mark.parametrize(
    "student,words",
    [
        (_windowed(start_shift=1), ["off by one", "response's first token"]),
        (_windowed(start_shift=-1), ["off by one", "prompt's last token"]),
        (_windowed(pad=True), ["padding"]),
        (_windowed(prompt=True), ["prompt tokens"]),
        (_windowed(divide="all"), ["number of response tokens"]),
        (_windowed(divide="rows"), ["average each row first"]),
        (lambda lg, t, p, n: _nll(lg, t).mean(), ["every position"]),
        (lambda lg, t, p, n: -response_only_loss(lg, t, p, n), ["wrong sign"]),
        (lambda lg, t, p, n: _windowed()(lg, t, p, n) * 0 + _nll(lg, t), ["not a (b n) loss"]),
    ],
)
def test_response_only_loss_usual_mistakes_get_their_hint(student, words):
    fb = check_response_only_loss(student)
    assert not fb
    for word in words:
        assert word in fb.message, fb.message
