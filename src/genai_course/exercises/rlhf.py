"""Checkers for chapter 2, part 2 (RLHF): the Bradley–Terry loss and PPO's clipped objective."""

from __future__ import annotations

from .checks import Feedback, call_student, expect_tensor, fail, run_check


def check_bradley_terry(bradley_terry) -> Feedback:
    """``bradley_terry(r_chosen, r_rejected)``: (n,), (n,) → scalar −mean log σ(r_w − r_l)."""
    import torch

    from ..rlhf.reward_model import bradley_terry_loss

    def body() -> str:
        g = torch.Generator("cpu").manual_seed(0)
        cases = [
            (torch.tensor([1.0, 0.0]), torch.tensor([0.0, 0.0])),
            (torch.randn(64, generator=g) * 3, torch.randn(64, generator=g) * 3),
            # saturated: σ(−200) underflows to 0 in float32, so a naive log(sigmoid) gives −inf
            (torch.tensor([100.0, -100.0]), torch.tensor([-100.0, 100.0])),
        ]
        for chosen, rejected in cases:
            got = call_student(bradley_terry, chosen.clone(), rejected.clone())
            expected = bradley_terry_loss(chosen, rejected)
            if isinstance(got, torch.Tensor) and got.dim() == 1 and len(got) == len(chosen) > 1:
                fail(
                    "bradley_terry should return one number, the mean over pairs, but returned one value per "
                    "pair. Hint: finish with .mean()."
                )
            if (
                isinstance(got, torch.Tensor)
                and got.shape == expected.shape
                and abs(got.item() + expected.item()) < 1e-5
                and expected.item() != 0
            ):
                fail("your loss has the wrong sign: it is the *negative* log-likelihood, which training minimises.")
            if isinstance(got, torch.Tensor) and not torch.isfinite(got).all():
                fail(
                    f"bradley_terry({chosen.tolist()}, {rejected.tolist()}) is not finite. Hint: log(sigmoid(x)) "
                    "underflows for very negative x; torch.nn.functional.logsigmoid computes it stably."
                )
            expect_tensor(
                got,
                expected,
                f"bradley_terry on {len(chosen)} pairs",
                "scalar",
                hint="the probability that the chosen response wins is σ(r_chosen − r_rejected).",
            )
        return "Correct: your Bradley–Terry loss matches, including saturated pairs."

    return run_check(body)


def check_clipped_surrogate(clipped_surrogate) -> Feedback:
    """``clipped_surrogate(logp, logp_old, advantages, clip)`` → per-token loss −min(ρA, clip(ρ)A)."""
    import torch

    from ..rlhf.ppo import clipped_surrogate as reference

    def body() -> str:
        branches = [  # (log ratio, advantage, what the branch teaches)
            (0.4, 1.0, "ratio above 1+ε with a positive advantage: the gain is capped at (1+ε)·A"),
            (-0.7, -1.0, "ratio below 1−ε with a negative advantage: the loss is capped at (1−ε)·A"),
            (-0.7, 1.0, "ratio below 1−ε with a positive advantage: no clipping, the loss stays ρ·A (min picks it)"),
            (0.4, -1.0, "ratio above 1+ε with a negative advantage: no clipping, the loss stays ρ·A (min picks it)"),
        ]
        for log_ratio, adv, lesson in branches:
            logp_old = torch.tensor([[-1.0]])
            args = (logp_old + log_ratio, logp_old, torch.tensor([[adv]]), 0.2)
            got = call_student(clipped_surrogate, *[a.clone() if torch.is_tensor(a) else a for a in args])
            expected = reference(*args)
            if isinstance(got, torch.Tensor) and got.shape == expected.shape and torch.allclose(got, -expected):
                fail("your loss has the wrong sign: PPO *maximises* min(ρA, clip(ρ)A), so the loss is its negative.")
            expect_tensor(got, expected, f"clipped_surrogate when {lesson}", "b t")
        g = torch.Generator("cpu").manual_seed(1)
        logp_old = -torch.rand(4, 6, generator=g) * 3
        args = (logp_old + torch.randn(4, 6, generator=g) * 0.3, logp_old, torch.randn(4, 6, generator=g), 0.1)
        expect_tensor(
            call_student(clipped_surrogate, *args),
            reference(*args),
            "clipped_surrogate on a (4 6) batch, ε=0.1",
            "b t",
            hint="ρ = exp(logp − logp_old); keep one loss per token (no mean).",
        )
        return "Correct: all four clipping branches and a random batch match."

    return run_check(body)
