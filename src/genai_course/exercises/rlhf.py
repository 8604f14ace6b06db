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


def check_response_only_loss(response_only_loss) -> Feedback:
    """``response_only_loss(logits, targets, prompt_len, response_lens)``: (b n v), (b n), int, (b,) → scalar
    mean NLL over the response tokens (targets ``prompt_len − 1`` … ``prompt_len + L − 2`` of each row)."""
    import torch

    from ..rlhf.sft import masked_mean
    from ..rlhf.sft import response_only_loss as reference

    def nll_per_token(logits, targets):
        return -torch.log_softmax(logits, -1).gather(-1, targets[..., None])[..., 0]  # (b n)

    def window(lens, n, start, stop_extra=0, start_all=False, stop_all=False):
        j = torch.arange(n)
        lo = torch.zeros_like(lens)[:, None] if start_all else start
        hi = torch.full_like(lens, n)[:, None] if stop_all else start + lens[:, None] + stop_extra
        return ((j >= lo) & (j < hi)).float()

    def body() -> str:
        g = torch.Generator("cpu").manual_seed(0)
        b, p, r, v = 5, 6, 7, 11
        n = p + r - 1  # the model reads full[:, :-1] and predicts full[:, 1:]
        lens = torch.tensor([3, 7, 1, 5, 2])  # one response fills its row, the others are padded
        logits = torch.randn(b, n, v, generator=g) * 2
        targets = torch.randint(v, (b, n), generator=g)
        expected = reference(logits, targets, p, lens)
        got = call_student(response_only_loss, logits.clone(), targets.clone(), p, lens.clone())
        if isinstance(got, torch.Tensor) and got.dim() == 2 and tuple(got.shape) == (b, n):
            fail("response_only_loss should return one number, the mean over the response tokens, not a (b n) loss.")
        if not isinstance(got, torch.Tensor) or got.numel() != 1:
            expect_tensor(got, expected, "response_only_loss", "scalar")
        nll = nll_per_token(logits, targets)
        right = window(lens, n, p - 1)

        def close(value):
            return abs(float(got) - float(value)) < 1e-4 * max(1.0, abs(float(value)))

        mistakes = [
            (-expected, "wrong sign: the loss is the *negative* log-likelihood of the response tokens."),
            (
                masked_mean(nll, window(lens, n, p)),
                "off by one: target j is token j + 1 of the sequence, so the "
                "response's first token is target prompt_len − 1. Your mask starts at prompt_len: it leaves out "
                "the response's first token and counts one token after its END.",
            ),
            (
                masked_mean(nll, window(lens, n, p - 2)),
                "off by one: your mask starts at prompt_len − 2, so it "
                "counts the prompt's last token and leaves out the END that closes the response. Target j is "
                "token j + 1 of the sequence.",
            ),
            (
                masked_mean(nll, window(lens, n, p - 1, stop_all=True)),
                "you count the padding after each "
                "response's END: use response_lens to stop the mask at the end of each response.",
            ),
            (
                masked_mean(nll, window(lens, n, p - 1, start_all=True)),
                "you count the prompt tokens too: the model should learn to answer, not to write prompts.",
            ),
            (nll.mean(), "that is the loss on every position: mask it to the response tokens."),
            (
                (nll * right).sum() / right.numel(),
                "you divide by the number of all positions: divide the "
                "masked sum by the number of response tokens (the mask's sum).",
            ),
            (
                ((nll * right).sum(1) / right.sum(1)).mean(),
                "you average each row first, then the rows: a "
                "one-token response then weighs as much as a seven-token one. Divide the batch's masked sum by "
                "the batch's number of response tokens.",
            ),
        ]
        if not close(expected):
            for value, hint in mistakes:
                if close(value):
                    fail(hint)
        expect_tensor(
            got.reshape(()),
            expected,
            "response_only_loss on a (5 12) batch with prompt_len 6",
            "scalar",
            hint="mask m[i, j] = 1 for prompt_len − 1 ≤ j < prompt_len − 1 + response_lens[i]; "
            "loss = Σ m·(−log p(target)) / Σ m.",
        )
        lens1 = torch.tensor([1, 1, 1, 1, 1])  # only the END: the loss is that one token's NLL per row
        expect_tensor(
            call_student(response_only_loss, logits.clone(), targets.clone(), p, lens1).reshape(()),
            reference(logits, targets, p, lens1),
            "response_only_loss when every response is just its END token",
            "scalar",
        )
        return "Correct: only the response tokens (END included, padding excluded) count, each with the same weight."

    return run_check(body)
