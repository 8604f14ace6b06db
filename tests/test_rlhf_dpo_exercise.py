"""The DPO-loss checker accepts the course's loss and names the usual mistakes."""

import torch
import torch.nn.functional as F

from genai_course.exercises.dpo import check_dpo_loss
from genai_course.rlhf.dpo import dpo_loss

torch.set_num_threads(1)


def _margin(pc, pr, rc, rr):
    return (pc - rc) - (pr - rr)


def test_reference_solution_passes():
    fb = check_dpo_loss(dpo_loss)
    assert fb and fb.message.startswith("Correct")
    assert repr(fb).startswith("✅")


def test_written_out_solution_passes():
    def mine(pc, pr, rc, rr, beta):
        return -F.logsigmoid(beta * ((pc - rc) - (pr - rr))).mean()

    assert check_dpo_loss(mine)


def test_not_attempted():
    def mine(pc, pr, rc, rr, beta):
        raise NotImplementedError()

    fb = check_dpo_loss(mine)
    assert not fb and "Not attempted" in fb.message


def test_wrong_sign_is_named():
    fb = check_dpo_loss(lambda pc, pr, rc, rr, beta: F.logsigmoid(beta * _margin(pc, pr, rc, rr)).mean())
    assert not fb and "wrong sign" in fb.message


def test_forgetting_the_reference_is_named():
    fb = check_dpo_loss(lambda pc, pr, rc, rr, beta: -F.logsigmoid(beta * (pc - pr)).mean())
    assert not fb and "reference" in fb.message and "log-*ratios*" in fb.message


def test_beta_outside_the_sigmoid_is_named():
    fb = check_dpo_loss(lambda pc, pr, rc, rr, beta: -beta * F.logsigmoid(_margin(pc, pr, rc, rr)).mean())
    assert not fb and "wrong place" in fb.message


def test_missing_or_dividing_beta_is_named():
    fb = check_dpo_loss(lambda pc, pr, rc, rr, beta: -F.logsigmoid(_margin(pc, pr, rc, rr)).mean())
    assert not fb and "does not use β" in fb.message
    fb = check_dpo_loss(lambda pc, pr, rc, rr, beta: -F.logsigmoid(_margin(pc, pr, rc, rr) / beta).mean())
    assert not fb and "divided" in fb.message


def test_swapped_references_are_named():
    fb = check_dpo_loss(lambda pc, pr, rc, rr, beta: -F.logsigmoid(beta * ((pc - rr) - (pr - rc))).mean())
    assert not fb and "swapped" in fb.message


def test_naive_log_sigmoid_is_unstable():
    fb = check_dpo_loss(lambda pc, pr, rc, rr, beta: -torch.log(torch.sigmoid(beta * _margin(pc, pr, rc, rr))).mean())
    assert not fb and "not finite" in fb.message and "logsigmoid" in fb.message


def test_per_pair_loss_is_rejected():
    fb = check_dpo_loss(lambda pc, pr, rc, rr, beta: -F.logsigmoid(beta * _margin(pc, pr, rc, rr)))
    assert not fb and ".mean()" in fb.message


def test_other_wrong_values_get_the_formula():
    fb = check_dpo_loss(lambda pc, pr, rc, rr, beta: -torch.sigmoid(beta * _margin(pc, pr, rc, rr)).mean())
    assert not fb and "wrong values" in fb.message and "log σ(β · margin)" in fb.message
