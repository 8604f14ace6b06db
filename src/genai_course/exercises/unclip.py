"""Checkers for chapter 7's unCLIP notebook (the diffusion prior)."""

from __future__ import annotations

from .checks import Feedback, call_student, expect_tensor, fail, run_check


def reference_prior_loss(prior, schedule, image_emb, text_emb, t, noise, drop):
    """The prior's training loss for given steps, noise and dropped captions: ‖s z_i − f(z_t, t, z_y')‖², mean.

    z_i (b e) are unit image embeddings scaled by s = √e (``EMBEDDING_SCALE``), noised to step t (b,)
    with ``noise`` (b e); the text embedding (b e) is replaced by zeros where ``drop`` (b,) is True.
    """
    import torch

    from ..diffusion.process import q_sample
    from ..unclip.prior import EMBEDDING_SCALE

    z0 = image_emb * EMBEDDING_SCALE  # (b e), about unit variance per coordinate
    z_t = q_sample(z0, t, schedule, noise)
    text = torch.where(drop[:, None], torch.zeros_like(text_emb), text_emb)  # ∅ for the dropped captions
    return ((prior(z_t, t, text) - z0) ** 2).mean()


def check_prior_loss(prior_loss) -> Feedback:
    """``prior_loss(prior, schedule, image_emb, text_emb, t, noise, drop)`` must return the x₀-prediction
    loss of unCLIP's diffusion prior (see :func:`reference_prior_loss`), a 0-d tensor."""
    import torch
    import torch.nn.functional as F

    from ..diffusion.process import q_sample
    from ..diffusion.schedules import NoiseSchedule
    from ..unclip.prior import EMBEDDING_SCALE, DiffusionPrior, PriorConfig

    def body() -> str:
        torch.manual_seed(0)
        prior = DiffusionPrior(PriorConfig(embed_dim=8, width=16, n_layers=2))
        schedule = NoiseSchedule.make("cosine", 1000)
        g = torch.Generator("cpu").manual_seed(0)
        b = 6
        image = F.normalize(torch.randn(b, 8, generator=g), dim=-1)
        text = F.normalize(image + 0.5 * torch.randn(b, 8, generator=g), dim=-1)
        t = torch.tensor([0, 100, 400, 600, 900, 999])
        noise = torch.randn(b, 8, generator=g)
        drop = torch.tensor([False, True, False, False, True, False])
        got = call_student(prior_loss, prior, schedule, image, text, t, noise, drop)
        if not isinstance(got, torch.Tensor) or got.dim() != 0:
            fail(f"Return a 0-d tensor (the mean over the batch and coordinates), got {getattr(got, 'shape', got)!r}.")
        got = got.detach()
        with torch.no_grad():
            expected = reference_prior_loss(prior, schedule, image, text, t, noise, drop)
            z0 = image * EMBEDDING_SCALE
            z_t = q_sample(z0, t, schedule, noise)
            dropped = torch.where(drop[:, None], torch.zeros_like(text), text)
            wrong = {
                "the embeddings were not multiplied by EMBEDDING_SCALE (√64 = 8 in the shipped prior) before noising": (
                    (prior(q_sample(image, t, schedule, noise), t, dropped) - image) ** 2
                ).mean(),
                "the target is the noise ε: this prior predicts the clean embedding s·z_i (x₀-prediction)": (
                    (prior(z_t, t, dropped) - noise) ** 2
                ).mean(),
                "no caption was dropped: where drop is True the text embedding must be zeros (∅)": (
                    (prior(z_t, t, text) - z0) ** 2
                ).mean(),
            }
        for mistake, value in wrong.items():
            if abs(float(got) - float(value)) < 1e-5 and abs(float(value) - float(expected)) > 1e-4:
                fail(f"It looks as if {mistake}.")
        expect_tensor(
            got,
            expected,
            "the loss",
            atol=1e-5,
            hint="z_t = √ᾱ_t·(8 z_i) + √(1−ᾱ_t)·ε with ᾱ = schedule.alphas_cumprod[t]; text → zeros where drop; "
            "mean of (prior(z_t, t, text) − 8 z_i)².",
        )
        return "Correct: the prior learns to predict the clean, scaled image embedding from its noisy version and the caption."

    return run_check(body)
