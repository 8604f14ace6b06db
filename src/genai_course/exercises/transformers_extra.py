"""More checkers for chapter 1 (Transformers): teacher forcing and power-law fits."""

from __future__ import annotations

from .checks import Feedback, _Stop, call_student, expect_tensor, run_check


def check_shift_right(shift_right) -> Feedback:
    """``shift_right(tgt_out, bos_id)`` must prepend BOS and drop the last column: (b t) → (b t)."""
    import torch

    def body() -> str:
        tgt_out = torch.tensor([[5, 6, 7, 2], [8, 2, 0, 0]])
        expected = torch.tensor([[1, 5, 6, 7], [1, 8, 2, 0]])
        got = call_student(shift_right, tgt_out.clone(), 1)
        if isinstance(got, torch.Tensor) and got.dtype != torch.long:
            raise _Stop(Feedback(False, f"shift_right: expected dtype torch.int64 (token ids), got {got.dtype}."))
        expect_tensor(
            got,
            expected,
            "shift_right(tgt_out, bos_id=1)",
            "b t",
            atol=0,
            rtol=0,
            hint="the decoder input at step i is the target at step i-1; step 0 gets BOS.",
        )
        g = torch.Generator("cpu").manual_seed(0)
        big = torch.randint(3, 14, (4, 9), generator=g)
        expected_big = torch.cat([torch.full((4, 1), 9), big[:, :-1]], dim=1)
        expect_tensor(
            call_student(shift_right, big.clone(), 9),
            expected_big,
            "shift_right(random (4 9), bos_id=9)",
            "b t",
            atol=0,
            rtol=0,
            hint="use the bos_id argument, not a constant, and keep the length t.",
        )
        return "Correct: the decoder sees BOS, then the true previous tokens (teacher forcing)."

    return run_check(body)


def check_power_law_fit(fit) -> Feedback:
    """``fit(n, loss)`` must return (a, alpha) of loss ≈ a · n^(-alpha), by least squares in log-log space."""
    import numpy as np

    def body() -> str:
        n = np.array([1e3, 3e3, 1e4, 3e4, 1e5])
        for a, alpha in ((5.0, 0.3), (2.0, 0.07)):
            got = call_student(fit, n, a * n ** (-alpha))
            if not (isinstance(got, tuple) and len(got) == 2):
                raise _Stop(Feedback(False, f"fit(n, loss) must return a tuple (a, alpha), got {got!r}."))
            ga, galpha = float(got[0]), float(got[1])
            if abs(galpha - alpha) > 1e-6 * max(1, alpha):
                hint = " (Check the sign: the loss falls, so alpha is positive.)" if abs(galpha + alpha) < 1e-6 else ""
                raise _Stop(
                    Feedback(
                        False,
                        f"On exact data loss = {a}·n^-{alpha}, your alpha is {galpha:.4g}, expected "
                        f"{alpha}. Fit a line to (log n, log loss): its slope is -alpha.{hint}",
                    )
                )
            if abs(ga - a) > 1e-6 * a:
                raise _Stop(
                    Feedback(
                        False,
                        f"alpha is right but a = {ga:.4g}, expected {a}: a is exp(intercept) of the log-log line.",
                    )
                )
        return "Correct: a straight line in log-log space recovers the power law."

    return run_check(body)
