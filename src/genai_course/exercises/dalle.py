"""Checkers for chapter 7 (DALL·E, CLIP, unCLIP)."""

from __future__ import annotations

from .checks import Feedback, call_student, expect_tensor, fail, run_check


def _unit(g, *shape):
    import torch
    import torch.nn.functional as F

    return F.normalize(torch.randn(*shape, generator=g), dim=-1)


def check_vq_straight_through(quantize) -> Feedback:
    """``quantize(z_e (b d h w), codebook (k d)) -> (z_q (b d h w), codes (b h w))``: the nearest code per
    position, with the straight-through estimator: z_q's values are the codes, its gradient flows to z_e as if z_q = z_e."""
    import torch

    def body() -> str:
        g = torch.Generator("cpu").manual_seed(0)
        codebook = torch.randn(6, 3, generator=g)
        z_e = torch.randn(2, 3, 4, 4, generator=g, requires_grad=True)
        got = call_student(quantize, z_e, codebook)
        if not (isinstance(got, tuple) and len(got) == 2):
            fail("Return a pair: (z_q (b d h w), codes (b h w)).")
        z_q, codes = got
        flat = z_e.detach().permute(0, 2, 3, 1).reshape(-1, 3)  # (b·h·w d)
        expected_codes = torch.cdist(flat, codebook).argmin(1).reshape(2, 4, 4)
        if not isinstance(codes, torch.Tensor) or codes.shape != (2, 4, 4):
            fail(f"codes: expected a (b h w) = (2, 4, 4) tensor of indices, got {getattr(codes, 'shape', codes)!r}.")
        if not torch.equal(codes.long(), expected_codes):
            fail(
                "codes are not the nearest code of each position."
                + " Hint: move d last (permute(0, 2, 3, 1)), then argmin over ‖z − e_j‖² (torch.cdist) along the codebook axis."
            )
        expect_tensor(
            z_q.detach() if isinstance(z_q, torch.Tensor) else z_q,
            codebook[expected_codes].permute(0, 3, 1, 2),
            "z_q (forward values)",
            "b d h w",
            atol=1e-6,
            hint="the forward value of z_q is the chosen code vector e_k, laid out back as (b d h w).",
        )
        if not z_q.requires_grad:
            fail(
                "z_q carries no gradient: the decoder's loss could never train the encoder."
                + " Hint: straight-through, z_q = z_e + (e_k − z_e).detach()."
            )
        upstream = torch.randn(z_q.shape, generator=g)
        (grad,) = torch.autograd.grad((z_q * upstream).sum(), z_e, allow_unused=True)
        if grad is None or not torch.allclose(grad, upstream, atol=1e-6):
            fail(
                "the gradient reaching z_e is not the decoder's gradient at z_q."
                + " Hint: straight-through copies it unchanged, z_q = z_e + (e_k − z_e).detach(); do not detach z_e itself."
            )
        return "Correct: nearest codes forward, the identity backward. The codebook itself learns from its own loss (or by EMA)."

    return run_check(body)


def check_contrastive_loss(contrastive_loss) -> Feedback:
    """``contrastive_loss(image_emb, text_emb, logit_scale)``: CLIP's symmetric cross-entropy
    (Figure 3) of unit vectors image_emb, text_emb (b e), with logits = logit_scale · I Tᵀ (b b)."""
    import math

    import torch
    import torch.nn.functional as F

    from ..clip.loss import contrastive_loss as reference

    def one_way(i, t, s, transpose=False):
        logits = s * i @ t.T
        return F.cross_entropy(logits.T if transpose else logits, torch.arange(len(i)))

    def body() -> str:
        g = torch.Generator("cpu").manual_seed(0)
        b, e = 6, 10  # b ≠ e, so a transposed product fails loudly
        images, texts = _unit(g, b, e), _unit(g, b, e)
        for what, i, t, s in (
            ("random unit embeddings, logit_scale 10", images, texts, 10.0),
            ("random unit embeddings, logit_scale a 0-d tensor 14.3", images, texts, torch.tensor(14.3)),
        ):
            got = call_student(contrastive_loss, i, t, s)
            if not isinstance(got, torch.Tensor) or got.dim() != 0:
                fail(f"{what}: expected a 0-d tensor (one number for the batch), got {getattr(got, 'shape', got)!r}.")
            expect = reference(i, t, s)

            def close(x, got=got) -> bool:
                return abs(float(got) - float(x)) < 1e-4 * max(1.0, abs(float(x)))

            if not close(expect):
                s_ = float(s)
                if close(one_way(i, t, s_)) or close(one_way(i, t, s_, transpose=True)):
                    fail(
                        f"{what}: your loss equals the cross-entropy of one direction only. CLIP's loss is "
                        "symmetric: (CE(logits, labels) + CE(logitsᵀ, labels)) / 2, images picking captions "
                        "and captions picking images."
                    )
                if close(one_way(i, t, s_) + one_way(i, t, s_, transpose=True)):
                    fail(f"{what}: you add the two directions; CLIP averages them: divide the sum by 2.")
                if close(reference(i, t, 1.0)):
                    fail(f"{what}: the logits must be multiplied by logit_scale (here {s_:g}) before the softmax.")
                if close(reference(i, t, math.exp(s_))):
                    fail(
                        f"{what}: logit_scale is already the multiplier exp(t), as in CLIP's code: "
                        "do not exponentiate it again."
                    )
                expect_tensor(
                    got,
                    expect,
                    f"loss for {what}",
                    atol=1e-4,
                    hint="logits = logit_scale · image_emb @ text_emb.T; labels = arange(b); "
                    "the right caption of image i is caption i, on the diagonal.",
                )
        aligned = torch.linalg.qr(torch.randn(e, e, generator=g))[0][:4]  # 4 orthonormal rows
        got = call_student(contrastive_loss, aligned, aligned.clone(), 100.0)
        expect_tensor(
            got, reference(aligned, aligned, 100.0), "loss of perfectly matched pairs (should be ≈ 0)", atol=1e-4
        )
        same = _unit(g, 1, e).expand(5, e)
        got = call_student(contrastive_loss, same, same, 10.0)
        expect_tensor(
            got,
            torch.tensor(math.log(5)),
            "loss when every embedding is the same (a uniform guess: log b = log 5)",
            atol=1e-4,
            hint="with all logits equal, each softmax is uniform over the b = 5 candidates.",
        )
        return "Correct: ≈ 0 for perfectly matched pairs, log b for a uniform guess, and symmetric in images and texts."

    return run_check(body)


def check_clip_rerank(rerank) -> Feedback:
    """``rerank(image_emb, text_emb)``: the CLIP embeddings of k candidate images per prompt,
    image_emb (n k e), and of the n prompts, text_emb (n e), not normalised → the index of each
    prompt's best candidate (n,) int64: the highest cosine similarity, the first one on a tie."""
    import torch
    import torch.nn.functional as F

    def best(image_emb, text_emb):
        cos = torch.einsum("nke,ne->nk", F.normalize(image_emb, dim=-1), F.normalize(text_emb, dim=-1))
        return cos.argmax(dim=1)  # torch.argmax returns the first maximum on a tie

    def check_indices(got, expect, what: str, hint: str) -> None:
        if not isinstance(got, torch.Tensor):
            fail(f"{what}: expected a torch.Tensor of indices (n,), got {type(got).__name__}.")
        if tuple(got.shape) != tuple(expect.shape):
            fail(
                f"{what}: expected shape {tuple(expect.shape)} (one index per prompt, n), got {tuple(got.shape)}. "
                "Hint: score the k candidates of each prompt (n k), then take the best along k (dim=1)."
            )
        if got.dtype.is_floating_point or got.dtype == torch.bool:
            fail(f"{what}: expected integer indices (int64), got {got.dtype}: return an argmax, not the scores.")
        expect_tensor(got.long(), expect, what, "n", atol=0, rtol=0, hint=hint)

    def body() -> str:
        g = torch.Generator("cpu").manual_seed(0)
        n, k, e = 5, 4, 6
        # one candidate points at the prompt but is short; another is long but points elsewhere
        image_emb, text_emb = torch.zeros(n, k, e), torch.zeros(n, e)
        for row in range(n):
            q = torch.linalg.qr(torch.randn(e, e, generator=g))[0]  # a random rotation per prompt
            text_emb[row] = 2.0 * q[0]
            options = [0.3 * q[0], 5.0 * (0.6 * q[0] + 0.8 * q[1]), -q[0], q[2]]  # cosines 1, 0.6, −1, 0
            order = torch.randperm(k, generator=g)
            image_emb[row] = torch.stack(options)[order]
        got = call_student(rerank, image_emb.clone(), text_emb.clone())
        expect = best(image_emb, text_emb)
        if isinstance(got, torch.Tensor) and got.shape == expect.shape and not got.dtype.is_floating_point:
            dot = torch.einsum("nke,ne->nk", image_emb, text_emb).argmax(1)
            if torch.equal(got.long(), dot):
                fail(
                    "you rank by the dot product, so the longest embedding wins. CLIP compares directions: "
                    "normalise both embeddings first (the cosine similarity)."
                )
            worst = torch.einsum("nke,ne->nk", F.normalize(image_emb, dim=-1), F.normalize(text_emb, dim=-1))
            if torch.equal(got.long(), worst.argmin(1)):
                fail("you picked the candidate with the lowest similarity: the best one has the highest (argmax).")
        check_indices(got, expect, "best candidates", "the highest cosine similarity along the k candidates.")
        scores = _unit(g, n, k, e)
        scores[:, 3] = scores[:, 1]  # candidates 1 and 3 are the same image
        prompts = scores[:, 1] * 3.0  # ... and exactly what the prompt says
        got = call_student(rerank, scores.clone(), prompts.clone())
        check_indices(
            got,
            torch.full((n,), 1),
            "best candidates with a tie (candidates 1 and 3 are identical and both perfect)",
            "on a tie keep the first candidate, as torch.argmax does.",
        )
        got = call_student(rerank, image_emb[:, :1].clone(), text_emb.clone())
        check_indices(
            got, torch.zeros(n, dtype=torch.long), "best of k = 1 candidate", "with one candidate it is index 0."
        )
        return (
            "Correct: each prompt keeps the candidate pointing most nearly its way, whatever the embeddings' lengths."
        )

    return run_check(body)


def check_image_only_hook(image_only) -> Feedback:
    """``image_only(logits (b v), idx (b t)) -> logits (b v)``: a ``logits_hook`` for DALL·E's sampling that
    leaves image-code logits (token ids ≥ TEXT_VOCAB) unchanged and makes every word impossible (−inf)."""
    import torch

    from ..dalle.transformer import TEXT_VOCAB

    def body() -> str:
        g = torch.Generator("cpu").manual_seed(0)
        logits = torch.randn(3, TEXT_VOCAB + 10, generator=g) * 3
        idx = torch.zeros(3, 9, dtype=torch.long)
        got = call_student(image_only, logits.clone(), idx)
        if not isinstance(got, torch.Tensor) or got.shape != logits.shape:
            fail(f"Return logits of the same shape (b v) = {tuple(logits.shape)}, got {getattr(got, 'shape', got)!r}.")
        words, images = got[:, :TEXT_VOCAB], got[:, TEXT_VOCAB:]
        if torch.isfinite(words).any():
            if (words == 0).all():
                fail("Words got logit 0, which is still a probability > 0 after softmax. Hint: use float('-inf').")
            fail(
                f"Some word tokens (ids below TEXT_VOCAB = {TEXT_VOCAB}) can still be drawn. Hint: mask ids < TEXT_VOCAB with -inf."
            )
        if not torch.isfinite(images).all():
            fail(f"Some image codes (ids ≥ {TEXT_VOCAB}) were masked too: the model could not draw them.")
        expect_tensor(
            images,
            logits[:, TEXT_VOCAB:],
            "image-code logits",
            "b k",
            atol=0,
            hint="leave the allowed logits exactly as they are: the softmax over them is the model's distribution.",
        )
        return "Correct: softmax over the result puts all probability on image codes, in the model's own proportions."

    return run_check(body)


def check_two_proportion_z(z_score) -> Feedback:
    """``z_score(correct_a, n_a, correct_b, n_b) -> float``: the pooled two-proportion z statistic."""
    import math

    from ..dalle.compare import two_proportion_z

    def body() -> str:
        for case in ((60, 76, 46, 76), (21, 28, 17, 28), (10, 40, 30, 60), (5, 20, 5, 20)):
            got = call_student(z_score, *case)
            if not isinstance(got, (int, float)) or not math.isfinite(got):
                fail(f"z_score{case}: expected a finite number, got {got!r}.")
            want = two_proportion_z(*case)
            if abs(got - want) < 1e-6:
                continue
            ka, na, kb, nb = case
            unpooled = (ka / na - kb / nb) / math.sqrt(ka / na * (1 - ka / na) / na + kb / nb * (1 - kb / nb) / nb)
            if abs(got + want) < 1e-6:
                fail(
                    f"z_score{case} = {got:.4f}: the sign is flipped. Hint: a minus b, so z > 0 when a is more accurate."
                )
            if abs(got - unpooled) < 1e-6:
                fail(
                    f"z_score{case} = {got:.4f} uses each accuracy's own variance. Hint: under the null hypothesis both"
                    " share one p, (k_a + k_b) / (n_a + n_b): use p(1 − p)(1/n_a + 1/n_b)."
                )
            fail(f"z_score{case} = {got!r}, expected {want:.4f}. Hint: (p̂_a − p̂_b) / sqrt(p(1 − p)(1/n_a + 1/n_b)).")
        return "Correct: equal accuracies give z = 0, and |z| > 1.96 is the usual 5 % threshold."

    return run_check(body)


def check_mcnemar_p(mcnemar) -> Feedback:
    """``mcnemar(right_a, right_b) -> float``: McNemar's exact two-sided p-value for paired verdicts."""
    import math

    from ..dalle.compare import mcnemar_p, mcnemar_tail

    def verdicts(both, only_a, only_b, neither):
        a = [True] * both + [True] * only_a + [False] * only_b + [False] * neither
        b = [True] * both + [False] * only_a + [True] * only_b + [False] * neither
        return a, b

    def body() -> str:
        for counts in ((60, 1, 5, 6), (10, 4, 4, 2), (3, 0, 7, 0), (20, 0, 0, 4), (0, 9, 2, 1)):
            a, b = verdicts(*counts)
            got = call_student(mcnemar, a, b)
            if not isinstance(got, (int, float)) or not math.isfinite(got):
                fail(f"mcnemar with (both, only a, only b, neither) = {counts}: expected a finite number, got {got!r}.")
            want = mcnemar_p(a, b)
            if abs(got - want) < 1e-9:
                continue
            _, only_a, only_b, _ = counts
            n = only_a + only_b
            if abs(got - mcnemar_tail(only_a, only_b)) < 1e-9:
                fail(f"{counts}: {got:.4f} is one tail. Hint: the test is two-sided; double the tail (at most 1).")
            if n == 0:
                fail(
                    f"{counts}: no item is discordant, so there is no evidence either way; expected p = 1, got {got!r}."
                )
            fail(
                f"(both, only a, only b, neither) = {counts}: got {got!r}, expected {want:.4f}. Hint: only the "
                f"{n} discordant items count; under the null each is a fair coin: 2 · P(Binomial({n}, 1/2) ≤ "
                f"{min(only_a, only_b)})."
            )
        return "Correct: items both judges agree on carry no evidence, and p = 1 when none disagree."

    return run_check(body)
