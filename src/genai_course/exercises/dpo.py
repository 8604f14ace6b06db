"""Checker for chapter 2's DPO notebook: the DPO loss, with hints for the usual mistakes."""

from __future__ import annotations

from .checks import Feedback, call_student, expect_tensor, fail, run_check


def _close(got, value) -> bool:
    import torch

    return (
        isinstance(got, torch.Tensor)
        and got.shape == value.shape
        and bool(torch.isfinite(got).all())
        and torch.allclose(got.detach().double(), value.double(), atol=1e-5, rtol=1e-4)
    )


def check_dpo_loss(dpo_loss) -> Feedback:
    """``dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta)``: four (n,) sequence
    log-probs → the scalar −mean log σ(β[(log π_w − log ref_w) − (log π_l − log ref_l)])."""
    import torch
    import torch.nn.functional as F

    from ..rlhf.dpo import dpo_loss as reference

    def wrong_variants(pc, pr, rc, rr, beta) -> list[tuple[torch.Tensor, str]]:
        """What the usual mistakes return, each with the hint that names it."""
        margin = (pc - rc) - (pr - rr)
        return [
            (
                -reference(pc, pr, rc, rr, beta),
                "your loss has the wrong sign: DPO *maximises* log σ(β·margin), so the loss is −log σ(β·margin).",
            ),
            (
                -F.logsigmoid(beta * (pc - pr)).mean(),
                "your loss ignores the reference model: the margin is (log π_w − log ref_w) − (log π_l − log ref_l), "
                "the difference of two log-*ratios*, not log π_w − log π_l. Without the reference the loss does not "
                "start at log 2 and nothing ties the policy to SFT.",
            ),
            (
                -beta * F.logsigmoid(margin).mean(),
                "β is in the wrong place: it multiplies the margin *inside* log σ(β · margin), it does not scale "
                "the loss outside it.",
            ),
            (
                -F.logsigmoid(margin).mean(),
                "your loss does not use β: the implied reward is β·log(π/π_ref), so the margin is multiplied by β "
                "inside log σ.",
            ),
            (
                -F.logsigmoid(margin / beta).mean(),
                "you divided the margin by β; the implied reward is β·log(π/π_ref), so multiply by β.",
            ),
            (
                reference(pc, pr, rr, rc, beta),
                "the two reference log-probs are swapped: subtract ref_chosen from policy_chosen and ref_rejected "
                "from policy_rejected.",
            ),
        ]

    def body() -> str:
        g = torch.Generator("cpu").manual_seed(0)

        def logps(n: int) -> torch.Tensor:  # sequence log-probs are negative, a few to tens of nats
            return -torch.rand(n, generator=g) * 20

        cases = [
            (logps(32), logps(32), logps(32), logps(32), 0.1, "32 random pairs, β = 0.1"),
            (logps(8), logps(8), logps(8), logps(8), 0.5, "8 random pairs, β = 0.5"),
            # saturated: β·margin = −400 for the second pair; σ(−400) underflows to 0 in float32
            (
                torch.tensor([-1.0, -401.0]),
                torch.tensor([-401.0, -1.0]),
                torch.tensor([-1.0, -1.0]),
                torch.tensor([-1.0, -1.0]),
                1.0,
                "two saturated pairs, β = 1",
            ),
        ]
        for pc, pr, rc, rr, beta, what in cases:
            got = call_student(dpo_loss, pc.clone(), pr.clone(), rc.clone(), rr.clone(), beta)
            expected = reference(pc, pr, rc, rr, beta)
            if isinstance(got, torch.Tensor) and got.dim() == 1 and len(got) == len(pc) > 1:
                fail(
                    "dpo_loss should return one number, the mean over pairs, but returned one value per pair. "
                    "Hint: finish with .mean()."
                )
            if isinstance(got, torch.Tensor) and not torch.isfinite(got).all():
                fail(
                    f"dpo_loss on {what} is not finite. Hint: log(sigmoid(x)) underflows to log 0 = −inf for very "
                    "negative x; torch.nn.functional.logsigmoid computes it stably."
                )
            if not _close(got, expected):
                for value, hint in wrong_variants(pc, pr, rc, rr, beta):
                    if _close(got, value):
                        fail(f"dpo_loss on {what}: {hint}")
            expect_tensor(
                got,
                expected,
                f"dpo_loss on {what}",
                "scalar",
                hint="margin = (policy_chosen − ref_chosen) − (policy_rejected − ref_rejected); "
                "loss = −mean log σ(β · margin).",
            )
        pc = torch.tensor([-3.0, -7.0])
        if not _close(call_student(dpo_loss, pc, pc - 1, pc.clone(), pc - 1, 0.3), torch.tensor(0.6931471805599453)):
            fail("with the policy equal to the reference every margin is 0, so the loss must be log 2 ≈ 0.6931.")
        return "Correct: your DPO loss matches, starts at log 2, and stays finite for saturated pairs."

    return run_check(body)
