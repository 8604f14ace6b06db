"""Checkers for chapter 1 (Transformers): attention, positions, teacher forcing, power laws, patches."""

from __future__ import annotations

from .checks import Feedback, call_student, expect_tensor, fail, run_check


def check_attention(attention) -> Feedback:
    """``attention(q, k, v, mask=None)`` must equal softmax(q kᵀ / √d + mask) v."""
    import torch

    from ..nn.attention import causal_mask, scaled_dot_product_attention

    def body() -> str:
        g = torch.Generator("cpu").manual_seed(0)
        q, k, v = (torch.randn(2, 3, 5, 8, generator=g) for _ in range(3))
        expect_tensor(
            call_student(attention, q, k, v),
            scaled_dot_product_attention(q, k, v),
            "attention(q, k, v)",
            "b h t d",
            hint="divide the scores q·kᵀ by √d (d = q.shape[-1]) and softmax over the keys (the last axis).",
        )
        v_wide = torch.randn(2, 3, 5, 6, generator=g)
        expect_tensor(
            call_student(attention, q, k, v_wide),
            scaled_dot_product_attention(q, k, v_wide),
            "attention(q, k, v) with value width 6 ≠ key width 8",
            "b h t e",
            hint="the output takes its last axis from v, the scale from q's last axis.",
        )
        mask = causal_mask(5)
        expect_tensor(
            call_student(attention, q, k, v, mask=mask),
            scaled_dot_product_attention(q, k, v, mask),
            "attention with a causal mask",
            "b h t d",
            hint="set the scores to -inf where mask is False *before* the softmax.",
        )
        return "Correct: your attention matches the reference, with and without a mask."

    return run_check(body)


def check_sinusoidal_encoding(encoding) -> Feedback:
    """``encoding(t, d)`` must return the (t d) sinusoidal table of Vaswani et al."""
    from ..nn.positional import sinusoidal_encoding

    def body() -> str:
        for t, d in ((6, 8), (50, 16)):
            expect_tensor(
                call_student(encoding, t, d),
                sinusoidal_encoding(t, d),
                f"encoding({t}, {d})",
                "t d",
                atol=1e-4,
                hint="even columns 2i hold sin(p / 10000^(2i/d)), odd columns 2i+1 the cos of the same angle.",
            )
        return "Correct: your table matches sin/cos at every position and frequency."

    return run_check(body)


def check_shift_right(shift_right) -> Feedback:
    """``shift_right(tgt_out, bos_id)`` must prepend BOS and drop the last column: (b t) → (b t)."""
    import torch

    def body() -> str:
        tgt_out = torch.tensor([[5, 6, 7, 2], [8, 2, 0, 0]])
        expected = torch.tensor([[1, 5, 6, 7], [1, 8, 2, 0]])
        got = call_student(shift_right, tgt_out.clone(), 1)
        if isinstance(got, torch.Tensor) and got.dtype != torch.long:
            fail(f"shift_right: expected dtype torch.int64 (token ids), got {got.dtype}.")
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
                fail(f"fit(n, loss) must return a tuple (a, alpha), got {got!r}.")
            ga, galpha = float(got[0]), float(got[1])
            if abs(galpha - alpha) > 1e-6 * max(1, alpha):
                hint = " (Check the sign: the loss falls, so alpha is positive.)" if abs(galpha + alpha) < 1e-6 else ""
                fail(
                    f"On exact data loss = {a}·n^-{alpha}, your alpha is {galpha:.4g}, expected "
                    f"{alpha}. Fit a line to (log n, log loss): its slope is -alpha.{hint}"
                )
            if abs(ga - a) > 1e-6 * a:
                fail(f"alpha is right but a = {ga:.4g}, expected {a}: a is exp(intercept) of the log-log line.")
        return "Correct: a straight line in log-log space recovers the power law."

    return run_check(body)


def check_patchify(patchify) -> Feedback:
    """``patchify(images, p)`` turns (b c h w) images into (b n c·p·p) patch vectors, row-major."""
    import torch
    from einops import rearrange

    def body() -> str:
        images = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
        for p in (2, 4):
            expected = rearrange(images, "b c (nh p1) (nw p2) -> b (nh nw) (c p1 p2)", p1=p, p2=p)
            expect_tensor(
                call_student(patchify, images, p),
                expected,
                f"patchify(images, {p})",
                "b n (c p p)",
                atol=0,
                rtol=0,
                hint="patches go left to right, then top to bottom; inside a patch: channel, row, column.",
            )
        return "Correct: patches come out in the order a ViT expects."

    return run_check(body)
