import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genai_course.gpt.model import GPT, GPTConfig
from genai_course.gpt.sampling import (
    beam_search,
    distinct_n,
    generate,
    gpt_logprobs,
    sample_next,
    top_k_filter,
    top_p_filter,
)

probs_strategy = st.lists(st.floats(0.001, 1.0), min_size=2, max_size=12)


@settings(max_examples=200, deadline=None)
@given(probs_strategy, st.floats(0.01, 1.0))
def test_top_p_keeps_smallest_set_reaching_p(weights, p):
    probs = torch.tensor(weights, dtype=torch.float64)
    probs = probs / probs.sum()
    kept = torch.isfinite(top_p_filter(probs.log(), p))
    # definition: the smallest k such that the k most likely tokens have probability ≥ p
    order = probs.argsort(descending=True)
    cum = probs[order].cumsum(0)
    k = int((cum < p - 1e-12).sum()) + 1
    k = min(k, len(probs))
    assert kept.sum() >= 1
    assert kept.sum() <= k + int((probs == probs[order][k - 1]).sum()) - 1  # ties at the boundary
    assert probs[kept].sum() >= p - 1e-9
    # and dropping the least likely kept token would fall below p
    assert probs[kept].sum() - probs[kept].min() < p + 1e-9


@settings(max_examples=100, deadline=None)
@given(probs_strategy, st.integers(1, 12))
def test_top_k_keeps_k_most_likely(weights, k):
    logits = torch.tensor(weights).log()
    kept = torch.isfinite(top_k_filter(logits, k))
    assert kept.sum() >= min(k, len(weights))
    assert logits[kept].min() >= logits[~kept].max() if (~kept).any() else True


def test_temperature_zero_is_greedy_and_low_temperature_concentrates():
    logits = torch.tensor([[1.0, 2.0, 0.5]])
    assert sample_next(logits, 0).item() == 1
    g = torch.Generator().manual_seed(0)
    draws = [sample_next(logits, 0.05, generator=g).item() for _ in range(50)]
    assert draws.count(1) == 50


def markov(table):
    """next_logprobs for a toy model whose next token depends only on the last one."""
    logp = torch.tensor(table, dtype=torch.float64).log()
    return lambda seqs: logp[seqs[:, -1]]


def test_beam_width_one_is_greedy_and_full_width_is_exact():
    torch.manual_seed(0)
    table = torch.rand(4, 4).softmax(-1).tolist()
    fn = markov(table)
    prompt = torch.tensor([0])
    seq1, score1 = beam_search(fn, prompt, 4, 1)
    greedy = [0]
    for _ in range(4):
        greedy.append(max(range(4), key=lambda j: table[greedy[-1]][j]))
    assert seq1.tolist() == greedy
    # exhaustive search over all 4^4 continuations
    best = max(
        itertools.product(range(4), repeat=4),
        key=lambda s: sum(math.log(table[a][b]) for a, b in zip((0,) + s, s, strict=False)),
    )
    seq, score = beam_search(fn, prompt, 4, 64)  # width ≥ 4^3 keeps every prefix
    assert seq.tolist() == [0, *best]
    for w in range(1, 6):
        assert beam_search(fn, prompt, 4, w)[1] >= score1 - 1e-12


def test_beam_never_worse_than_greedy_on_a_gpt():
    """Beam search is not a theorem-level improvement (a pruned greedy prefix could have had the
    best future), but on these models, widths 1…4, it never returns a lower log-probability."""
    torch.manual_seed(1)
    m = GPT(GPTConfig(vocab_size=11, block_size=16, n_layers=1, n_heads=2, d_model=16)).eval()
    fn = gpt_logprobs(m)
    for start in range(3):
        prompt = torch.tensor([start, 3])
        greedy = beam_search(fn, prompt, 6, 1)[1]
        for w in range(2, 5):
            assert beam_search(fn, prompt, 6, w)[1] >= greedy - 1e-9


def test_generate_cache_identical_to_recompute():
    torch.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=13, block_size=20, n_layers=2, n_heads=2, d_model=16)).eval()
    idx = torch.tensor([[1, 2, 3]])
    a = generate(m, idx, 30, temperature=0, use_cache=True)  # crosses the 20-token window
    b = generate(m, idx, 30, temperature=0, use_cache=False)
    assert torch.equal(a, b)
    ga, gb = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(
        generate(m, idx, 10, top_p=0.9, generator=ga, use_cache=True),
        generate(m, idx, 10, top_p=0.9, generator=gb, use_cache=False),
    )


def test_distinct_n():
    assert distinct_n([1, 2, 3, 4], 2) == 1.0
    assert distinct_n([1, 1, 1, 1], 1) == 0.25


def test_bad_arguments():
    with pytest.raises(ValueError, match="top_p"):
        top_p_filter(torch.zeros(3), 0.0)
    with pytest.raises(ValueError, match="top_k"):
        top_k_filter(torch.zeros(3), 0)


def test_exercise_checkers_accept_reference_and_reject_bugs():
    from genai_course.exercises.gpt import check_merge, check_top_p
    from genai_course.gpt.tokenizers import merge_pair

    assert check_merge(merge_pair).passed and check_top_p(top_p_filter).passed

    def first_only(ids, pair, new_id):
        for i in range(len(ids) - 1):
            if tuple(ids[i : i + 2]) == pair:
                return ids[:i] + [new_id] + ids[i + 2 :]
        return ids

    assert not check_merge(first_only).passed

    def top_p_off_by_one(logits, p):  # drops the token that crosses p
        probs = logits.softmax(-1)
        s, order = probs.sort(-1, descending=True)
        keep = torch.zeros_like(s, dtype=torch.bool).scatter(-1, order, s.cumsum(-1) <= p)
        return logits.masked_fill(~keep, float("-inf"))

    fb = check_top_p(top_p_off_by_one)
    assert not fb.passed and "nucleus" in fb.message
    assert "Not attempted" in check_top_p(lambda logits, p: (_ for _ in ()).throw(NotImplementedError())).message


# ---------------------------------------------------------------- logits hook


def _tiny_gpt(vocab=23):
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=vocab, block_size=16, n_layers=1, n_heads=2, d_model=16))


@pytest.mark.parametrize("temperature", [0.0, 1.0, 2.0])
def test_logits_hook_masking_a_range_yields_only_that_range(temperature):
    from genai_course.gpt.sampling import only_tokens

    m = _tiny_gpt()
    prompt = torch.zeros(3, 2, dtype=torch.long)
    out = generate(
        m,
        prompt,
        30,
        temperature=temperature,
        logits_hook=only_tokens(5, 9),
        generator=torch.Generator().manual_seed(0),
    )
    new = out[:, 2:]
    assert new.shape == (3, 30)  # past block_size too: the hook applies on the recomputing path as well
    assert ((new >= 5) & (new < 9)).all()


def test_logits_hook_composes_with_top_k_and_sees_the_sequence():
    """The hook runs before top-k: top-k then chooses among the hook's survivors only."""
    m = _tiny_gpt()
    seen = []

    def hook(logits, idx):
        seen.append(idx.shape[1])
        keep = torch.zeros_like(logits, dtype=torch.bool)
        keep[:, [1, 3, 7, 11]] = True
        return logits.masked_fill(~keep, float("-inf"))

    with torch.no_grad():
        base = m(torch.zeros(1, 1, dtype=torch.long))[0][0, -1]
    top2 = set(base[[1, 3, 7, 11]].topk(2).indices.tolist())
    top2 = {[1, 3, 7, 11][i] for i in top2}
    out = generate(
        m, torch.zeros(1, 1, dtype=torch.long), 1, top_k=2, logits_hook=hook, generator=torch.Generator().manual_seed(1)
    )
    assert out[0, 1].item() in top2
    out = generate(
        m, torch.zeros(4, 1, dtype=torch.long), 5, top_k=2, logits_hook=hook, generator=torch.Generator().manual_seed(1)
    )
    assert set(out[:, 1:].flatten().tolist()) <= {1, 3, 7, 11}
    assert seen[-5:] == [1, 2, 3, 4, 5]  # the hook is given the sequence so far


def test_logits_hook_can_stop_at_a_boundary():
    """A Codex-like hook: after token 4 (say, the end of a function) only token 0 may follow."""
    m = _tiny_gpt()

    def hook(logits, idx):
        after_end = idx[:, -1] == 4
        logits = logits.clone()
        logits[after_end] = float("-inf")
        logits[after_end, 0] = 0.0
        return logits

    out = generate(m, torch.tensor([[4], [2]]), 3, logits_hook=hook, generator=torch.Generator().manual_seed(0))
    assert out[0, 1].item() == 0
    with pytest.raises(ValueError, match="logits_hook"):
        generate(m, torch.zeros(1, 1, dtype=torch.long), 1, logits_hook=lambda logits, idx: logits[:, :3])


def test_length_penalty_is_gnmt():
    from genai_course.gpt.sampling import length_penalty

    assert length_penalty(1, 0.7) == pytest.approx(1.0)  # ((5+1)/6)^α
    assert length_penalty(7, 1.0) == pytest.approx(2.0)
    assert length_penalty(13, 0.0) == 1.0


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0, 2.0])
def test_beam_with_end_token_and_length_normalisation_matches_exhaustive_search(alpha):
    from genai_course.gpt.sampling import length_penalty

    torch.manual_seed(2)
    v, eos, n = 4, 3, 4
    table = torch.rand(v, v).mul(3).softmax(-1).tolist()
    fn = markov(table)

    def logp(s):
        return sum(math.log(table[a][b]) for a, b in zip((0,) + s, s, strict=False))

    hyps = [
        s
        for k in range(1, n + 1)
        for s in itertools.product(range(v), repeat=k)
        if eos not in s[:-1] and (k == n or s[-1] == eos)
    ]  # ended by eos, or cut at n
    best = max(hyps, key=lambda s: logp(s) / length_penalty(len(s), alpha))
    seq, score = beam_search(fn, torch.tensor([0]), n, 500, eos=eos, alpha=alpha)  # wide enough to be exact
    assert seq.tolist() == [0, *best]
    assert score == pytest.approx(logp(best))  # the raw log-probability, not the normalised one


def test_length_normalisation_prefers_the_longer_hypothesis():
    # from token 0 the end token (2) is likely at once; token 1 leads to a near-certain long path
    table = [[0.0, 0.45, 0.55], [0.0, 0.97, 0.03], [1 / 3, 1 / 3, 1 / 3]]
    fn = markov([[max(p, 1e-12) for p in row] for row in table])
    short, _ = beam_search(fn, torch.tensor([0]), 8, 3, eos=2, alpha=0.0)
    long_, _ = beam_search(fn, torch.tensor([0]), 8, 3, eos=2, alpha=1.0)
    assert short.tolist() == [0, 2]  # raw log-probability: stop at once (log 0.55)
    assert len(long_) > len(short)
    with pytest.raises(ValueError, match="alpha"):
        beam_search(fn, torch.tensor([0]), 2, 2, eos=2, alpha=-1)
