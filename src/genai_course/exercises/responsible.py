"""Checkers for notebook 8.9 (bias, memorisation and responsible use)."""

from __future__ import annotations

from .checks import Feedback, call_student, fail, run_check


def check_bias_amplification(bias_amplification) -> Feedback:
    """``bias_amplification(train_labels, sample_labels, group) -> float``: the share of ``group``
    among the samples minus its share among the training labels (both (n,) int64 tensors)."""
    import torch

    def number(got, what: str) -> float:
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            fail(f"{what}: expected one number (a float), got {type(got).__name__}.")
        if got != got:  # NaN: an empty selection averaged, usually
            fail(f"{what}: got NaN. Hint: a share is (labels == group).float().mean() over a non-empty tensor.")
        return float(got)

    def body() -> str:
        # 100 training labels with 20 of group 1; 50 samples with 5 of group 1: sizes differ on purpose
        train = torch.tensor([1] * 20 + [0] * 80)
        samples = torch.tensor([0] * 45 + [1] * 5)
        got = number(call_student(bias_amplification, train, samples, 1), "train 20 % group 1, samples 10 %")
        expect = 0.10 - 0.20
        if abs(got - expect) > 1e-6:
            if abs(got + expect) < 1e-6:
                fail(
                    f"you returned {got:+.2f}; the sign is reversed (or you measured the other group, not `group`). "
                    "Amplification is sample share − training share of `group`, so a generator that makes the "
                    "minority rarer gets a negative number."
                )
            if abs(got - 0.10 / 0.20) < 1e-6 or abs(got - 0.20 / 0.10) < 1e-6:
                fail(f"you returned {got:.2f}, a ratio of the shares; the measure is their difference.")
            if abs(got - (5 - 20)) < 1e-6 or abs(got - (45 - 80)) < 1e-6:
                fail(
                    f"you returned {got:g}: a difference of counts. The sets differ in size (100 and 50): "
                    "compare shares, (labels == group).float().mean()."
                )
            fail(f"train 20 % group 1, samples 10 %: expected {expect:+.2f}, got {got:+.4f}.")
        same = number(call_student(bias_amplification, train, train.flip(0), 1), "samples = training labels")
        if abs(same) > 1e-6:
            fail(f"when the samples have exactly the training shares the amplification must be 0, got {same:g}.")
        three = torch.tensor([0, 1, 2, 2])
        got = number(call_student(bias_amplification, three, torch.tensor([2, 2, 2, 1]), 2), "three groups, group 2")
        if abs(got - 0.25) > 1e-6:
            fail(
                f"with three groups, group 2 goes from 2 of 4 to 3 of 4 (+0.25); got {got:+.4f}. "
                "Hint: compare labels with `group`, do not assume the labels are 0/1."
            )
        return "Correct: sample share − training share; negative when the generator makes a group rarer than the data."

    return run_check(body)


__all__ = ["check_bias_amplification"]
