"""Checkers for chapter 4 (GANs)."""

from __future__ import annotations

from .checks import Feedback, call_student, expect_tensor, fail, run_check


def check_nonsaturating_loss(g_loss) -> Feedback:
    """``g_loss(fake_scores)`` must be the non-saturating generator loss −mean log σ(D(G(z)))."""
    import torch

    from ..gan.losses import g_loss_nonsaturating

    def body() -> str:
        g = torch.Generator("cpu").manual_seed(0)
        for scores in (torch.randn(16, generator=g), torch.tensor([-30.0, -5.0, 0.0, 5.0, 30.0])):
            expect_tensor(
                call_student(g_loss, scores),
                g_loss_nonsaturating(scores),
                "g_loss(fake_scores)",
                "scalar",
                hint="the loss is -log(sigmoid(s)) averaged over the batch; F.softplus(-s) computes it "
                "without overflow for large |s|.",
            )
        s = torch.tensor([-8.0, -6.0], requires_grad=True)
        call_student(g_loss, s).backward()
        if s.grad is None or s.grad.abs().min() < 0.4:
            fail(
                "Values match, but the gradient for confidently rejected fakes (scores -8, -6) should be "
                "about -1/2 each (−1 per sample, averaged over 2): use the non-saturating form."
            )
        return "Correct: your generator loss is non-saturating and stable for large scores."

    return run_check(body)


def check_gradient_penalty(gradient_penalty) -> Feedback:
    """``gradient_penalty(critic, real, fake, eps)`` must be mean((‖∇D(x̂)‖ − 1)²) at x̂ = ε·real + (1−ε)·fake."""
    import torch
    from torch import nn

    from ..gan.losses import gradient_penalty as reference

    def body() -> str:
        torch.manual_seed(0)
        critic = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
        g = torch.Generator("cpu").manual_seed(1)
        real, fake, eps = torch.randn(8, 2, generator=g), torch.randn(8, 2, generator=g), torch.rand(8, generator=g)
        got = call_student(gradient_penalty, lambda x: critic(x)[:, 0], real, fake, eps)
        expect_tensor(
            got,
            reference(lambda x: critic(x)[:, 0], real, fake, eps),
            "gradient_penalty(...)",
            "scalar",
            hint="interpolate x̂ = eps[:, None]·real + (1 − eps[:, None])·fake, take "
            "torch.autograd.grad(critic(x̂).sum(), x̂, create_graph=True), then the per-sample L2 norm.",
        )
        if not got.requires_grad:
            fail(
                "The value is right, but it carries no gradient to the critic's weights: "
                "pass create_graph=True to torch.autograd.grad."
            )
        images = torch.randn(4, 1, 3, 3, generator=g), torch.randn(4, 1, 3, 3, generator=g)
        conv = nn.Conv2d(1, 1, 3)
        eps4 = torch.rand(4, generator=g)
        expect_tensor(
            call_student(gradient_penalty, lambda x: conv(x).flatten(), *images, eps4),
            reference(lambda x: conv(x).flatten(), *images, eps4),
            "gradient_penalty on images (b 1 3 3)",
            "scalar",
            hint="reshape eps to (b 1 1 1) for images, and flatten each gradient before its norm.",
        )
        return "Correct: your penalty matches WGAN-GP on points and on images, and it can be back-propagated."

    return run_check(body)


def check_modulated_weight(modulated_weight) -> Feedback:
    """``modulated_weight(weight, style)``: (o c k k), (b c) -> modulated and demodulated (b o c k k)."""
    import torch

    from ..gan.stylegan import modulated_weight as reference

    def body() -> str:
        g = torch.Generator("cpu").manual_seed(0)
        weight, style = torch.randn(5, 3, 3, 3, generator=g), 1 + torch.rand(2, 3, generator=g)  # o ≠ c on purpose
        got = call_student(modulated_weight, weight, style)
        if isinstance(got, torch.Tensor) and got.shape == (2, 5, 3, 3, 3):
            modulated = weight[None] * style[:, None, :, None, None]
            if torch.allclose(got, modulated, atol=1e-5):
                fail(
                    "You modulated the weights but did not demodulate them: divide every output filter "
                    "w'[b, o] by its L2 norm over the (c, k, k) axes."
                )
            norms = got.pow(2).sum(dim=(2, 3, 4))
            if not torch.allclose(norms, torch.ones_like(norms), atol=1e-3):
                sq = modulated / modulated.pow(2).sum(dim=(2, 3, 4), keepdim=True)
                if torch.allclose(got, sq, atol=1e-5):
                    fail("You divided by the sum of squares: divide by its square root (torch.rsqrt of the sum).")
                fail(
                    "After demodulation every output filter got[b, o] must have unit L2 norm over the "
                    f"(c, k, k) axes, but the squared norms range from {norms.min():.3g} to {norms.max():.3g}: "
                    "sum the squares over dims (2, 3, 4) of the (b o c k k) tensor, not over the output channels."
                )
        expect_tensor(
            got,
            reference(weight, style),
            "modulated_weight(weight, style)",
            "b o c k k",
            hint="scale input channel c by style[:, c] (weight[None] * style[:, None, :, None, None]), "
            "then multiply by rsqrt of the sum of squares over dims (2, 3, 4) plus 1e-8.",
        )
        return "Correct: each sample gets its own weights, and every output filter has unit norm."

    return run_check(body)


def check_read_bits(read_bits) -> Feedback:
    """``read_bits(images, patterns)``: the watermark's correlation detector, (b c h w), (n c h w) -> (b n) 0/1."""
    import torch

    from ..data.faces import make_faces
    from ..gan.watermark import Watermark
    from ..gan.watermark import read_bits as reference

    def body() -> str:
        wm = Watermark(n_bits=16, key=3)
        images = make_faces(24, seed=11).images
        bits = torch.randint(0, 2, (24, 16), generator=torch.Generator("cpu").manual_seed(0))
        marked = wm.embed(images, bits)
        got = call_student(read_bits, marked, wm.patterns)
        if not isinstance(got, torch.Tensor) or got.shape != (24, 16):
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            fail(
                f"read_bits must return a (b n) = (24, 16) tensor, got {shape}: correlate over all of "
                "(c h w), e.g. torch.einsum('bchw,nchw->bn', residual, patterns)."
            )
        if got.is_floating_point() or not set(got.unique().tolist()) <= {0, 1}:
            fail("Return bits of 0 and 1 as integers, e.g. (scores > 0).long(), not the raw correlations.")
        expected = reference(marked, wm.patterns)
        if torch.equal(got, 1 - expected):
            fail("Every bit is flipped: a positive correlation with pattern i means bit 1.")
        raw = (torch.einsum("bchw,nchw->bn", marked, wm.patterns) > 0).long()
        if not torch.equal(got, expected) and torch.equal(got, raw):
            fail(
                "You correlated the raw image: subtract its 3×3 median first, so that the face itself "
                "does not drown the faint mark."
            )
        expect_tensor(
            got,
            expected,
            "read_bits(images, patterns)",
            "b n",
            hint="residual = x − median of its 3×3 neighbourhood (per channel), then the sign of "
            "the correlation with each pattern.",
        )
        acc = float((got == bits).float().mean())
        return f"Correct: your detector reads {acc:.0%} of the embedded bits, the same as the course's."

    return run_check(body)


def check_power_iteration(power_iteration) -> Feedback:
    """``power_iteration(weight, u, n_iter)`` must return ``(sigma, u)``: the spectral-norm estimate
    of ``weight`` flattened to (out, rest) after ``n_iter`` rounds v = Wᵀu/‖Wᵀu‖, u = Wv/‖Wv‖, σ = uᵀWv."""
    import torch

    from ..gan.spectral import power_iteration as reference

    def body() -> str:
        g = torch.Generator("cpu").manual_seed(0)
        W = torch.randn(12, 7, generator=g)
        u0 = torch.randn(12, generator=g)
        u0 = u0 / u0.norm()
        out = call_student(power_iteration, W, u0.clone(), 1)
        if not isinstance(out, tuple) or len(out) != 2:
            fail(f"Return a pair (sigma, u), got {type(out).__name__}.")
        sigma, u = out
        ref_sigma, ref_u = reference(W, n_iter=1, u=u0.clone())
        if isinstance(sigma, torch.Tensor) and abs(float(sigma) - W.norm().item()) < 1e-3:
            fail(
                "sigma equals the Frobenius norm ‖W‖_F, which is larger than the spectral norm: "
                "estimate the largest singular value as uᵀ W v."
            )
        expect_tensor(
            sigma,
            ref_sigma,
            "sigma after 1 iteration",
            "scalar",
            hint="one iteration is v = Wᵀu/‖Wᵀu‖, then u = Wv/‖Wv‖, then σ = uᵀ W v.",
        )
        expect_tensor(u, ref_u, "u after 1 iteration", "out", hint="return the normalized u = Wv/‖Wv‖.")
        exact = torch.linalg.matrix_norm(W, ord=2)
        expect_tensor(
            call_student(power_iteration, W, u0.clone(), 200)[0],
            exact,
            "sigma after 200 iterations",
            "scalar",
            atol=1e-4,
            hint="normalize v and u in every iteration so the estimate converges.",
        )
        kernel = torch.randn(6, 3, 3, 3, generator=g)  # a conv kernel (o c kh kw)
        u6 = torch.nn.functional.normalize(torch.randn(6, generator=g), dim=0)
        try:
            got = power_iteration(kernel, u6.clone(), 3)
        except Exception as err:
            fail(
                f"On a convolution kernel of shape (6 3 3 3) your code raised {type(err).__name__}: {err}. "
                "Flatten it to (o, c·kh·kw) first, e.g. weight.flatten(1)."
            )
        expect_tensor(
            got[0],
            reference(kernel, n_iter=3, u=u6.clone())[0],
            "sigma of a (6 3 3 3) conv kernel",
            "scalar",
            hint="flatten the kernel to (o, c·kh·kw) with weight.flatten(1).",
        )
        return "Correct: your power iteration converges to the largest singular value, for matrices and conv kernels."

    return run_check(body)


def check_frechet_distance(frechet_distance) -> Feedback:
    """``frechet_distance(mu_a, sigma_a, mu_b, sigma_b)`` must be ‖μa − μb‖² + tr(Σa + Σb − 2 (Σa Σb)^½)."""
    import torch

    from ..metrics.fid import frechet_distance as reference

    def body() -> str:
        g = torch.Generator("cpu").manual_seed(0)
        d = 5
        a, b = torch.randn(d, d, generator=g, dtype=torch.float64), torch.randn(d, d, generator=g, dtype=torch.float64)
        sigma_a, sigma_b = (
            a @ a.T + 0.1 * torch.eye(d, dtype=torch.float64),
            b @ b.T + 0.1 * torch.eye(d, dtype=torch.float64),
        )
        mu_a, mu_b = torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64)
        got = call_student(frechet_distance, mu_a, sigma_a, mu_b, sigma_b)
        try:
            value = float(got)
        except (TypeError, ValueError):
            fail(f"Return one number (a float or a 0-d tensor), got {type(got).__name__}.")
        expected = reference(mu_a.numpy(), sigma_a.numpy(), mu_b.numpy(), sigma_b.numpy())
        mean_term = float(((mu_a - mu_b) ** 2).sum())
        cross = expected - mean_term - float(sigma_a.trace() + sigma_b.trace())  # = -2 tr((Σa Σb)^½)
        faults = {
            "you subtract tr((Σa Σb)^½) once; the formula subtracts it twice": expected - cross / 2,
            "you used tr(Σa Σb) where the formula has the trace of its matrix square root": expected
            - cross
            - 2 * float((sigma_a @ sigma_b).trace()),
            "the mean term must be the squared distance ‖μa − μb‖², not the distance": expected
            - mean_term
            + mean_term**0.5,
            "the mean term ‖μa − μb‖² is missing": expected - mean_term,
        }
        if abs(value - expected) > 1e-6 * max(1.0, abs(expected)):
            for fault, wrong in faults.items():
                if abs(value - wrong) < 1e-6 * max(1.0, abs(wrong)):
                    fail(f"Wrong value {value:.4f} (expected {expected:.4f}): {fault}.")
            fail(
                f"Wrong value {value:.4f}, expected {expected:.4f}. Hint: tr((Σa Σb)^½) is the sum of the square "
                "roots of the eigenvalues of Σa Σb (they are real and non-negative)."
            )
        same = float(call_student(frechet_distance, mu_a, sigma_a, mu_a.clone(), sigma_a.clone()))
        if abs(same) > 1e-6:
            fail(f"The distance from a Gaussian to itself must be 0, got {same:.3g}.")
        return "Correct: your Fréchet distance matches the course FID's, and is 0 between identical Gaussians."

    return run_check(body)
