"""Checkers for chapter 1 (Transformers)."""

from __future__ import annotations

from .checks import Feedback, call_student, expect_tensor, run_check


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
