"""Checkers for chapter 2 (GPT with RLHF), part 1: tokenization and decoding."""

from __future__ import annotations

from .checks import Feedback, call_student, expect_tensor, fail, run_check


def check_merge(merge) -> Feedback:
    """``merge(ids, pair, new_id)`` replaces each non-overlapping occurrence of ``pair``, left to right."""
    from ..gpt.tokenizers import merge_pair

    cases = [
        ([1, 2, 3, 1, 2], (1, 2), 9, None),
        ([5, 5, 5], (5, 5), 7, "in 5 5 5 only the first two merge: after a merge, continue *after* the pair."),
        ([1, 2], (2, 1), 9, "a pair that does not occur leaves the list unchanged."),
        ([], (1, 2), 9, "an empty list stays empty."),
        ([3, 4, 3, 4, 4, 3], (4, 3), 8, None),
    ]

    def body() -> str:
        for ids, pair, new_id, hint in cases:
            got = call_student(merge, list(ids), pair, new_id)
            expected = merge_pair(ids, pair, new_id)
            if not isinstance(got, list):
                fail(f"merge({ids}, {pair}, {new_id}) should return a list, got {type(got).__name__}.")
            if got != expected:
                fail(
                    f"merge({ids}, {pair}, {new_id}): expected {expected}, got {got}."
                    + (f" Hint: {hint}" if hint else "")
                )
        return "Correct: your merge replaces every non-overlapping occurrence, left to right."

    return run_check(body)


def check_top_p(top_p) -> Feedback:
    """``top_p(logits, p)`` keeps the smallest set of most likely tokens whose probability reaches p."""
    import torch

    from ..gpt.sampling import top_p_filter

    def body() -> str:
        g = torch.Generator("cpu").manual_seed(0)
        logits = torch.randn(4, 10, generator=g) * 2
        for p in (0.1, 0.5, 0.9, 1.0):
            got = call_student(top_p, logits.clone(), p)
            expected = top_p_filter(logits, p)
            if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
                expect_tensor(got, expected, f"top_p(logits, {p})", "b v")
            kept, want = torch.isfinite(got), torch.isfinite(expected)
            if not torch.equal(kept, want):
                row = int((kept != want).any(-1).nonzero()[0])
                fail(
                    f"top_p(logits, {p}), row {row}: you keep {int(kept[row].sum())} tokens, "
                    f"the nucleus has {int(want[row].sum())}. Hint: sort the probabilities in "
                    "descending order and keep a token while the probability of the tokens "
                    "*before* it is still below p (so the token that crosses p is kept)."
                )
            expect_tensor(
                torch.where(kept, got, 0),
                torch.where(want, expected, 0),
                f"top_p(logits, {p}) kept logits",
                "b v",
                hint="leave the kept logits unchanged; set the others to -inf.",
            )
        return "Correct: your filter keeps exactly the nucleus for every p."

    return run_check(body)


def check_param_count(gpt_params) -> Feedback:
    """``gpt_params(V, T, L, d)``: every parameter of the course GPT (GPT-2's architecture, tied head)."""
    from ..gpt.model import GPT, GPTConfig

    cases = [(103, 64, 4, 128), (7, 5, 3, 6), (50, 16, 1, 8), (11, 9, 2, 12)]

    def body() -> str:
        for V, T, L, d in cases:
            got = call_student(gpt_params, V, T, L, d)
            model = GPT(GPTConfig(vocab_size=V, block_size=T, n_layers=L, n_heads=2, d_model=d))
            want = sum(p.numel() for p in model.parameters())  # counted on a real model: the truth
            if isinstance(got, float) and got.is_integer():
                got = int(got)
            if not isinstance(got, int):
                fail(f"gpt_params{(V, T, L, d)} should return an int, got {type(got).__name__}.")
            if got == want:
                continue
            diff = got - want
            hints = {
                V * d: "the output head is tied to the token embedding: its V·d matrix is counted once.",
                -T * d: "the learned position embedding has T·d parameters.",
                -13 * L * d: "every linear layer has a bias: 4d in attention, 4d + d in the MLP.",
                -4 * L * d - 2 * d: "each LayerNorm has a gain and a bias (2d): two per block and a final one.",
                -4 * L * d: "each block has two LayerNorms, each with a gain and a bias (2d).",
                -2 * d: "the final LayerNorm before the head has 2d parameters.",
                -4 * L * d * d: "the MLP's matrices are d × 4d and 4d × d: 8d² per block, not 4d².",
                V * d + 4 * L * d * d: "attention has 4 d × d matrices (query, key, value, output).",
            }
            hint = hints.get(diff, "count per block: attention 4d² + 4d, MLP 8d² + 5d, two LayerNorms 4d.")
            fail(
                f"gpt_params(V={V}, T={T}, L={L}, d={d}) = {got:,}, but the model has {want:,} ({diff:+,}). Hint: {hint}"
            )
        return "Correct: your formula matches the parameter count of every model tried."

    return run_check(body)


def check_kv_attention_step(attend_step) -> Feedback:
    """``attend_step(q, k, v, cache_k, cache_v) -> (out, cache_k, cache_v)``: one cached attention step,
    checked token by token against full causal attention over the whole sequence."""
    import math

    import torch
    import torch.nn.functional as F

    def attend(q, keys, values):  # (b h 1 d) over (b h n d), no mask
        return (q @ keys.transpose(-2, -1) / math.sqrt(q.shape[-1])).softmax(-1) @ values

    def body() -> str:
        g = torch.Generator("cpu").manual_seed(0)
        b, h, T, d = 2, 3, 6, 4
        q, k, v = (torch.randn(b, h, T, d, generator=g) for _ in range(3))
        full = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (b h T d): the truth
        # two tokens are already cached (a prompt), so every step has t ≥ 2 and each mistake shows
        cache_k, cache_v = k[:, :, :2].clone(), v[:, :, :2].clone()
        for t in range(2, T):
            step = slice(t, t + 1)
            try:
                result = call_student(attend_step, q[:, :, step], k[:, :, step], v[:, :, step], cache_k, cache_v)
            except Exception as stop:  # a size mismatch is most often a concatenation on the wrong axis
                if "size" in str(stop).lower() and "Your code raised" in str(stop):
                    fail(
                        f"step {t}: {stop} Hint: concatenate the new key and value to the cache along the time axis, dim=2."
                    )
                raise
            if not isinstance(result, tuple) or len(result) != 3:
                fail("attend_step should return a tuple (out, cache_k, cache_v).")
            out, new_k, new_v = result
            for name, got, want in (("cache_k", new_k, k[:, :, : t + 1]), ("cache_v", new_v, v[:, :, : t + 1])):
                if isinstance(got, torch.Tensor) and got.shape != want.shape:
                    fail(
                        f"step {t}: the returned {name} has shape {tuple(got.shape)}, expected {tuple(want.shape)} "
                        "(b h t+1 d). Hint: concatenate the new key/value to the cache along the time axis, "
                        "dim=2 (the one that grows by one token per step), not the heads or features."
                    )
                expect_tensor(
                    got, want, f"step {t}: {name}", "b h t+1 d", hint="append the new one after the cached ones."
                )
            want = full[:, :, step]
            if isinstance(out, torch.Tensor) and out.shape == want.shape and not torch.allclose(out, want, atol=1e-5):
                if torch.allclose(out, attend(q[:, :, step], k[:, :, :t], v[:, :, :t]), atol=1e-5):
                    fail(
                        f"step {t}: your output attends over the {t} cached tokens only. Hint: the new token "
                        "attends to itself too: append its key and value first, then attend over t+1 keys."
                    )
                if torch.allclose(out, v[:, :, :1], atol=1e-5):
                    fail(
                        f"step {t}: your output is the first token's value: a causal mask hides every later key. "
                        "Hint: the new query is the last token, so every cached key is in its past: for a "
                        "single query no mask is needed (a (1 × t+1) lower-triangular mask keeps only key 0)."
                    )
                if torch.allclose(
                    out, attend(q[:, :, step] * math.sqrt(d), k[:, :, : t + 1], v[:, :, : t + 1]), atol=1e-5
                ):
                    fail(f"step {t}: the scores are not scaled. Hint: divide q·kᵀ by √d, d the head width.")
            expect_tensor(
                out,
                want,
                f"step {t}: out",
                "b h 1 d",
                hint="scores q·kᵀ/√d over all t+1 keys, softmax over the key axis (the last), then weight the values.",
            )
            cache_k, cache_v = new_k, new_v
        return f"Correct: {T - 2} cached steps reproduce full causal attention token by token."

    return run_check(body)
