"""Checkers for chapter 6 (Stable Diffusion)."""

from __future__ import annotations

from .checks import Feedback, call_student, expect_tensor, fail, run_check


def check_kl(kl) -> Feedback:
    """``kl(mean, logvar)`` must return KL(N(mean, σ²) ‖ N(0, 1)) per latent value, averaged: ½ mean(μ² + σ² − 1 − log σ²)."""
    import torch

    from ..latent.autoencoder import kl_to_standard_normal

    def body() -> str:
        g = torch.Generator("cpu").manual_seed(0)
        for what, mean, logvar in (
            ("the prior itself (mean 0, log σ² 0)", torch.zeros(2, 4, 3, 3), torch.zeros(2, 4, 3, 3)),
            ("mean 1, σ 1", torch.ones(2, 4, 3, 3), torch.zeros(2, 4, 3, 3)),
            ("random means and variances", torch.randn(2, 4, 3, 3, generator=g), torch.randn(2, 4, 3, 3, generator=g)),
        ):
            got = call_student(kl, mean, logvar)
            if not isinstance(got, torch.Tensor) or got.dim() != 0:
                fail(f"{what}: expected a 0-d tensor (the mean over every value), got {getattr(got, 'shape', got)!r}.")
            expect_tensor(
                got,
                kl_to_standard_normal(mean, logvar),
                f"KL for {what}",
                atol=1e-5,
                hint="σ² = logvar.exp(); average ½(μ² + σ² − 1 − log σ²) over all values with .mean().",
            )
        return "Correct: zero exactly at the prior, and it grows as the posterior moves away from N(0, 1)."

    return run_check(body)


def check_cross_attention(cross_attention) -> Feedback:
    """``cross_attention(h, context, w_q, w_k, w_v)``: one head, queries from the image tokens h (b n d),
    keys and values from the text context (b s c) → (output (b n d), weights (b n s))."""
    import torch
    import torch.nn.functional as F

    def body() -> str:
        g = torch.Generator("cpu").manual_seed(0)
        b, n, s, d, c = 2, 16, 5, 8, 6
        h, context = torch.randn(b, n, d, generator=g), torch.randn(b, s, c, generator=g)
        w_q, w_k, w_v = torch.randn(d, d, generator=g), torch.randn(c, d, generator=g), torch.randn(c, d, generator=g)
        got = call_student(cross_attention, h, context, w_q, w_k, w_v)
        if not (isinstance(got, tuple) and len(got) == 2):
            fail("Return a pair: (output (b n d), attention weights (b n s)).")
        out, weights = got
        q, k, v = h @ w_q, context @ w_k, context @ w_v  # (b n d), (b s d), (b s d)
        expect_weights = torch.softmax(q @ k.transpose(1, 2) / d**0.5, dim=-1)  # (b n s)
        expect_tensor(
            weights,
            expect_weights,
            "attention weights",
            "b n s",
            atol=1e-5,
            hint="queries come from h, keys from context: softmax(q kᵀ / √d) over the s text tokens (the last axis).",
        )
        expect_tensor(
            out,
            F.scaled_dot_product_attention(q, k, v),
            "output (checked against torch's scaled_dot_product_attention)",
            "b n d",
            atol=1e-4,
            hint="the output is weights @ v, with v computed from the context.",
        )
        return "Correct: every image position mixes the text tokens' values by how well its query matches their keys."

    return run_check(body)


def check_guided_denoiser(guided) -> Feedback:
    """``guided(net, z, t, tokens, null, w)`` must return ε(z, ∅) + w (ε(z, c) − ε(z, ∅)), with one batched call."""
    import torch

    from ..diffusion.sampling import classifier_free_guidance

    class CountingNet(torch.nn.Module):
        """A stand-in denoiser whose output depends on the prompt tokens; counts its calls."""

        def __init__(self):
            super().__init__()
            self.calls = 0

        def forward(self, z, t, tokens):
            self.calls += 1
            return z * 0.5 + tokens.float().mean(1).view(-1, 1, 1, 1) + t.float().view(-1, 1, 1, 1) / 1000

    def body() -> str:
        g = torch.Generator("cpu").manual_seed(0)
        z, t = torch.randn(3, 4, 8, 8, generator=g), torch.tensor([10, 500, 900])
        tokens = torch.randint(2, 26, (3, 7), generator=g)
        null = torch.tensor([1, 0, 0, 0, 0, 0, 0])
        for w in (0.0, 1.0, 4.0):
            net = CountingNet()
            got = call_student(guided, net, z, t, tokens, null, w)
            expect = classifier_free_guidance(CountingNet(), {"tokens": tokens}, w, {"tokens": null})(z, t)
            expect_tensor(
                got,
                expect,
                f"guided prediction at w = {w}",
                "b c h w",
                atol=1e-5,
                hint="ε(∅) + w·(ε(c) − ε(∅)); the null tokens need expanding to (b s) to batch with the prompts.",
            )
            if w != 1.0 and net.calls != 1:
                fail(f"at w = {w} your function called the network {net.calls} times: batch c and ∅ into one call.")
        return "Correct: one network call gives both predictions, and w = 0 / 1 recover the unconditional / conditional model."

    return run_check(body)


def check_lora_layer(lora_class) -> Feedback:
    """``lora_class(base, rank, alpha)``: a module that freezes ``base`` (an nn.Linear), owns trainable
    ``A`` (r d_in) and ``B`` (d_out r) with B = 0 at the start, and returns W x + b + (α/r)·B A x."""
    import torch
    from torch import nn

    from ..latent.lora import LoRALinear

    def body() -> str:
        torch.manual_seed(0)
        base = nn.Linear(6, 5)
        layer = call_student(lora_class, base, 2, 8.0)
        if not isinstance(layer, nn.Module):
            fail(f"lora_class(base, rank, alpha) must build an nn.Module, got {type(layer).__name__}.")
        for name, shape in (("A", (2, 6)), ("B", (5, 2))):
            p = getattr(layer, name, None)
            if not isinstance(p, nn.Parameter) or tuple(p.shape) != shape:
                fail(
                    f"expected a parameter {name} of shape {shape} (r = 2, d_in = 6, d_out = 5), got {getattr(p, 'shape', p)!r}."
                )
        trainable = sorted(n for n, p in layer.named_parameters() if p.requires_grad)
        if trainable != ["A", "B"]:
            fail(f"only A and B may train (the base layer is frozen), but these require grad: {trainable}.")
        x = torch.randn(3, 4, 6)
        expect_tensor(
            call_student(layer, x),
            base(x),
            "the output before training",
            "b t d",
            atol=1e-6,
            hint="B starts at zero, so the layer must start as exactly the pretrained one.",
        )
        ours = LoRALinear(base, 2, 8.0)
        with torch.no_grad():
            layer.B.normal_()
            ours.A.copy_(layer.A)
            ours.B.copy_(layer.B)
        expect_tensor(
            call_student(layer, x),
            ours(x),
            "the output with a non-zero B",
            "b t d",
            atol=1e-5,
            hint="W x + b + (α / r) · B (A x): the scale is α / r = 8 / 2 = 4 here.",
        )
        return (
            "Correct: the frozen layer plus a rank-2 update scaled by α/r, exactly the pretrained layer at the start."
        )

    return run_check(body)


def check_flop_counts(conv_flops, attention_flops) -> Feedback:
    """``conv_flops(c_in, c_out, side, kernel)``: FLOPs of a stride-1, same-padding convolution on one
    side×side image; ``attention_flops(positions, width)``: FLOPs of one attention's scores and mix
    (q·kᵀ and weights·v) over ``positions`` tokens of ``width`` channels. A multiply-add is 2 FLOPs."""
    import torch
    from torch import nn

    from ..latent.cost import forward_flops
    from ..nn.attention import MultiHeadAttention

    def body() -> str:
        for c_in, c_out, side, kernel in ((3, 48, 32, 3), (96, 96, 4, 3), (48, 4, 8, 1)):
            conv = nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False)
            truth = forward_flops(conv, torch.zeros(1, c_in, side, side))["total"]
            got = call_student(conv_flops, c_in, c_out, side, kernel)
            if got != truth:
                fail(
                    f"conv_flops({c_in}, {c_out}, {side}, {kernel}) = {got!r}, the counter says {truth:.0f}. "
                    "Every output value (c_out·side²) needs c_in·kernel² multiply-adds, and each is 2 FLOPs."
                )
        for positions, width in ((64, 48), (1024, 48), (7, 96)):
            attn = MultiHeadAttention(width, 4, bias=False)
            total = forward_flops(attn, torch.zeros(1, positions, width))["total"]
            truth = total - 4 * 2 * positions * width * width  # minus the four projections
            got = call_student(attention_flops, positions, width)
            if got != truth:
                fail(
                    f"attention_flops({positions}, {width}) = {got!r}, the counter says {truth:.0f}. q·kᵀ is "
                    "positions² dot products of length width, and so is weights·v; heads split the width, not the work."
                )
        return "Correct: convolutions grow with the positions (side²), attention's scores with their square."

    return run_check(body)


def check_img2img_start(start) -> Feedback:
    """``start(z0 (b c h w), strength, alphas_cumprod (T,), eps (b c h w)) -> (t0, z_t0)``: SDEdit's
    entry point, t0 = strength·T rounded (at most T − 1) and z0 noised to level t0."""
    import torch

    from ..diffusion.schedules import NoiseSchedule
    from ..latent.editing import img2img_start

    def body() -> str:
        schedule = NoiseSchedule.make("linear", 1000)
        g = torch.Generator("cpu").manual_seed(0)
        z0, eps = torch.randn(2, 4, 8, 8, generator=g), torch.randn(2, 4, 8, 8, generator=g)
        for strength in (0.3, 0.6, 1.0, 0.0106):
            want_t, want_z = img2img_start(z0, strength, schedule, eps)
            got = call_student(start, z0.clone(), strength, schedule.alphas_cumprod.clone(), eps.clone())
            if not (isinstance(got, tuple) and len(got) == 2):
                fail("Return a pair: (t0, z_t0).")
            t0, z_t0 = got
            if isinstance(t0, torch.Tensor):
                if t0.numel() != 1:
                    fail(f"t0 must be one timestep for the whole batch, got a tensor of shape {tuple(t0.shape)}.")
                t0 = t0.item()
            if t0 != want_t:
                hint = (
                    "At strength 1, strength·T = T is one past the last timestep: use T − 1."
                    if strength == 1.0
                    else ("Round strength·T to the nearest step (round, not int).")
                )
                fail(f"strength {strength}: t0 = {t0!r}, expected {want_t} (T = 1000). Hint: {hint}")
            expect_tensor(
                z_t0,
                want_z,
                f"z_t0 at strength {strength}",
                "b c h w",
                atol=1e-5,
                hint="√ᾱ_t0 · z0 + √(1 − ᾱ_t0) · ε, with ᾱ = alphas_cumprod[t0].",
            )
        return "Correct: the input is noised to level t0 = strength·T, and sampling continues from there."

    return run_check(body)
