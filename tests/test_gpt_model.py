import pytest
import torch

from genai_course.gpt.model import GPT, GPTConfig, KVCache
from genai_course.nn.attention import MultiHeadAttention, causal_mask


def tiny(**kw):
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=17, block_size=32, n_layers=2, n_heads=2, d_model=16, **kw)).eval()


def test_shapes_loss_and_weight_tying():
    m = tiny()
    x = torch.randint(0, 17, (3, 10))
    logits, loss = m(x, x)
    assert logits.shape == (3, 10, 17)
    assert abs(loss.item() - torch.log(torch.tensor(17.0)).item()) < 0.3  # near-uniform at init
    assert m.lm_head.weight is m.wte.weight


def test_attention_is_chapter_one_attention():
    m = tiny(fused=False)
    attn = m.blocks[0].attn
    ref = MultiHeadAttention(16, 2)
    ref.load_state_dict(attn.state_dict())
    x = torch.randn(2, 9, 16)
    with torch.no_grad():
        assert torch.allclose(attn(x), ref(x, mask=causal_mask(9)), atol=1e-6)


def test_fused_equals_readable():
    a, b = tiny(fused=False), tiny(fused=True)
    x = torch.randint(0, 17, (2, 20))
    with torch.no_grad():
        assert torch.allclose(a(x)[0], b(x)[0], atol=1e-5)


def test_causal_future_does_not_leak():
    m = tiny()
    x = torch.randint(0, 17, (1, 12))
    y = x.clone()
    y[0, 8:] = (y[0, 8:] + 1) % 17
    with torch.no_grad():
        assert torch.allclose(m(x)[0][:, :8], m(y)[0][:, :8], atol=1e-6)


@pytest.mark.parametrize("fused", [True, False])
def test_kv_cache_matches_full_recompute(fused):
    m = tiny(fused=fused)
    x = torch.randint(0, 17, (2, 15))
    cache = KVCache(2)
    with torch.no_grad():
        full = m(x)[0]
        parts = [m(x[:, :6], cache=cache)[0]] + [m(x[:, i : i + 1], cache=cache)[0] for i in range(6, 15)]
    assert torch.allclose(torch.cat(parts, 1), full, atol=1e-5)


def test_bad_input_is_clear():
    m = tiny()
    with pytest.raises(ValueError, match="torch.long"):
        m(torch.randn(2, 3))
    with pytest.raises(ValueError, match="exceeds block_size"):
        m(torch.zeros(1, 33, dtype=torch.long))
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(vocab_size=5, d_model=10, n_heads=3)


# ---------------------------------------------------------------- one attention for chapter 1 and the GPT


def _old_causal_attention(attn, x, cache=None, layer=0):
    """The GPT's attention forward as it was before it became chapter 1's MultiHeadAttention(causal=True),
    frozen here so the refactor is checked against it (fused path; eval mode)."""
    import torch.nn.functional as F
    from einops import rearrange

    b, t, _ = x.shape
    split = lambda y: rearrange(y, "b t (h d) -> b h t d", h=attn.n_heads)  # noqa: E731
    q, k, v = split(attn.q_proj(x)), split(attn.k_proj(x)), split(attn.v_proj(x))
    if cache is not None:
        if cache.keys[layer] is not None:
            k = torch.cat([cache.keys[layer], k], dim=2)
            v = torch.cat([cache.values[layer], v], dim=2)
        cache.keys[layer], cache.values[layer] = k, v
    t_k = k.shape[2]
    mask = None if t == 1 else torch.ones(t, t_k, dtype=torch.bool).tril(diagonal=t_k - t)
    if t == t_k and t > 1:
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    else:
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return attn.out_proj(rearrange(out, "b h t d -> b t (h d)"))


def _old_logits(model, idx, cache=None):
    start = cache.length if cache is not None else 0
    pos = torch.arange(start, start + idx.shape[1])
    x = model.wte(idx) + model.wpe(pos)
    for i, block in enumerate(model.blocks):
        x = x + _old_causal_attention(block.attn, block.ln1(x), cache, i)
        x = x + block.mlp(block.ln2(x))
    return model.lm_head(model.ln_f(x))


# logits of the shipped gpt_char_small on PROMPT, computed before the attention moved into nn/attention.py
PROMPT = "def forward(self, x):\n    return x + 1\nThe quick brown fox"
REF_LAST = [2.0898776054382324, 6.6958136558532715, -1.9912129640579224, -0.47940346598625183, -3.015601396560669]
REF_POS10 = [3.7192633152008057, 2.2222094535827637, 5.033155918121338, -0.9808294773101807, -2.746797800064087]
REF_SUM = -9459.5712890625


def test_shipped_gpt_gives_the_logits_it_gave_before_the_refactor():
    from genai_course.checkpoint_io import read_torch
    from genai_course.gpt.model import KVCache as Cache
    from genai_course.gpt.pretrained import CHECKPOINT, load_pretrained

    torch.set_num_threads(1)
    model, tok, _ = load_pretrained()
    stored = read_torch(CHECKPOINT, remake="")["model"]
    assert set(model.state_dict()) == set(stored) | {"lm_head.weight"}  # identical keys
    x = torch.tensor([tok.encode(PROMPT)])
    with torch.no_grad():
        logits = model(x)[0]
        old = _old_logits(model, x)
        assert torch.allclose(logits, old, atol=1e-5)
        assert torch.allclose(logits[0, -1, :5], torch.tensor(REF_LAST), atol=1e-5)
        assert torch.allclose(logits[0, 10, 12:17], torch.tensor(REF_POS10), atol=1e-5)
        assert logits.sum().item() == pytest.approx(REF_SUM, rel=1e-6)
        new_cache, old_cache = Cache(4), Cache(4)
        new = [model(x[:, :20], cache=new_cache)[0]] + [
            model(x[:, i : i + 1], cache=new_cache)[0] for i in range(20, 30)
        ]
        ref = [_old_logits(model, x[:, :20], old_cache)] + [
            _old_logits(model, x[:, i : i + 1], old_cache) for i in range(20, 30)
        ]
    assert torch.allclose(torch.cat(new, 1), torch.cat(ref, 1), atol=1e-5)


def test_rlhf_checkpoints_load_into_the_gpt():
    from genai_course.rlhf.pretrained import load_dpo, load_sft

    sft, tok, _ = load_sft()
    dpo, _ = load_dpo()
    x = torch.tensor([tok.encode(PROMPT)])
    with torch.no_grad():
        for m in (sft, dpo):
            assert torch.allclose(m(x)[0], _old_logits(m, x), atol=1e-5)


def test_gpt_attention_keeps_rotary_and_recorded_weights():
    m = tiny(fused=True)
    attn = m.blocks[0].attn
    attn.rotary = True  # a chapter 1 feature the GPT's old forward silently dropped
    x = torch.randn(2, 9, 16)
    ref = MultiHeadAttention(16, 2, rotary=True)
    ref.load_state_dict(attn.state_dict())
    with torch.no_grad():
        assert torch.allclose(attn(x), ref(x, mask=causal_mask(9)), atol=1e-5)
        # and with a cache, the rotated keys are cached: stepwise equals all at once
        cache = KVCache(1)
        steps = torch.cat([attn(x[:, :4], cache=cache)] + [attn(x[:, i : i + 1], cache=cache) for i in range(4, 9)], 1)
        assert torch.allclose(steps, attn(x), atol=1e-5)
        attn.record_weights = True
        out = attn(x)
    w = attn.last_weights
    assert w.shape == (2, 2, 9, 9)
    assert torch.allclose(w.sum(-1), torch.ones(2, 2, 9), atol=1e-5)
    assert (w.triu(diagonal=1) == 0).all()  # causal: no weight on the future
    assert torch.allclose(out, ref(x, mask=causal_mask(9)), atol=1e-5)


@pytest.mark.parametrize("record", [False, True])
def test_attention_with_dropout_is_computed_once(monkeypatch, record):
    """Training with dropout: the fused kernel's dropout_p, or one einsum pass with dropout on the
    weights; never the attention computed and then recomputed."""
    import torch.nn.functional as F

    attn = MultiHeadAttention(16, 2, dropout=0.5, fused=True, causal=True).train()
    attn.record_weights = record
    calls = {"einsum": 0, "sdpa": 0}
    einsum, sdpa = torch.einsum, F.scaled_dot_product_attention

    def count_einsum(*a, **k):
        calls["einsum"] += 1
        return einsum(*a, **k)

    def count_sdpa(*a, **k):
        calls["sdpa"] += 1
        return sdpa(*a, **k)

    monkeypatch.setattr(torch, "einsum", count_einsum)
    monkeypatch.setattr(F, "scaled_dot_product_attention", count_sdpa)
    out = attn(torch.randn(2, 7, 16))
    assert out.shape == (2, 7, 16)
    assert calls == ({"einsum": 2, "sdpa": 0} if record else {"einsum": 0, "sdpa": 1})
    if record:
        assert (attn.last_weights.triu(diagonal=1) == 0).all()


def test_cache_rejects_cross_attention():
    attn = MultiHeadAttention(16, 2, causal=True)
    with pytest.raises(ValueError, match="cache"):
        attn(torch.randn(1, 3, 16), context=torch.randn(1, 4, 16), cache=KVCache(1))


# ---------------------------------------------------------------- architecture options (benchmarks/gpt_cpu.py)

OPTIONS = [
    dict(pos="rope"),
    dict(norm="rmsnorm"),
    dict(mlp="swiglu"),
    dict(mlp="relu2"),
    dict(qk_norm=True),
    dict(bias=False),
    dict(tie_weights=False),
    dict(pos="rope", norm="rmsnorm", mlp="relu2", qk_norm=True, bias=False, tie_weights=False),
]


def test_defaults_are_the_shipped_architecture():
    c = GPTConfig(vocab_size=5)
    assert (c.pos, c.norm, c.mlp, c.qk_norm, c.bias, c.tie_weights) == (
        "learned",
        "layernorm",
        "gelu",
        False,
        True,
        True,
    )
    old = {k: v for k, v in c.to_dict().items() if k not in ("pos", "norm", "mlp", "qk_norm", "tie_weights")}
    assert GPTConfig.from_dict(old) == c  # a checkpoint saved before the options existed
    nanogpt_names = {"vocab_size": 5, "n_layer": 2, "n_head": 2, "n_embd": 8}  # what older checkpoints stored
    assert GPTConfig.from_dict(nanogpt_names) == GPTConfig(vocab_size=5, n_layers=2, n_heads=2, d_model=8)
    with pytest.raises(ValueError, match="'pos' must be one of"):
        GPTConfig.from_dict({**old, "pos": "alibi"})
    with pytest.raises(ValueError, match="GPTConfig.mlp"):
        GPTConfig(vocab_size=5, mlp="tanh")


@pytest.mark.parametrize("kw", OPTIONS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_option_shapes_causality_and_cache(kw):
    m = tiny(**kw)
    x = torch.randint(0, 17, (2, 15))
    y = x.clone()
    y[:, 9:] = (y[:, 9:] + 1) % 17
    cache = KVCache(2)
    logits, loss = m(x, x)
    loss.backward()
    assert all(p.grad is not None for p in m.parameters())
    logits = logits.detach()
    with torch.no_grad():
        assert logits.shape == (2, 15, 17) and torch.isfinite(loss)
        assert torch.allclose(m(y)[0][:, :9], logits[:, :9], atol=1e-6)  # the future does not leak
        parts = [m(x[:, :6], cache=cache)[0]] + [m(x[:, i : i + 1], cache=cache)[0] for i in range(6, 15)]
    assert torch.allclose(torch.cat(parts, 1), logits, atol=1e-5)


def test_rope_attention_depends_on_relative_position_only():
    """Same token everywhere: with RoPE the score of query i on key i - d depends on d only, so
    log w[i, i-d] - log w[i, i] is the same for every i; learned absolute positions break this."""

    def log_ratios(model):
        attn = model.blocks[0].attn
        attn.record_weights = True
        with torch.no_grad():
            model(torch.full((1, 12), 3))
        w = attn.last_weights[0, 0].log()  # (q k)
        return torch.stack([w[i, i - 2] - w[i, i] for i in range(2, 12)])

    torch.manual_seed(0)
    rope = log_ratios(tiny(pos="rope"))
    assert torch.allclose(rope, rope[0].expand_as(rope), atol=1e-5)
    m = tiny()
    torch.nn.init.normal_(m.wpe.weight, std=1.0)  # make absolute positions matter
    learned = log_ratios(m)
    assert not torch.allclose(learned, learned[0].expand_as(learned), atol=1e-3)
    assert tiny(pos="rope").wpe is None and "wpe.weight" not in tiny(pos="rope").state_dict()


def test_rmsnorm_matches_torch_rms_norm():
    import torch.nn.functional as F

    m = tiny(norm="rmsnorm")
    norm = m.blocks[0].ln1
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
    x = torch.randn(2, 5, 16) * 3 + 1
    ref = F.rms_norm(x, (16,), norm.weight, eps=1e-5)
    manual = x / (x.pow(2).mean(-1, keepdim=True) + 1e-5).sqrt() * norm.weight  # Zhang & Sennrich 2019, eq. 4
    assert torch.allclose(norm(x), ref, atol=1e-6) and torch.allclose(ref, manual, atol=1e-5)
    assert not any("bias" in k for k in m.state_dict() if k.startswith("blocks.0.ln"))


def test_swiglu_and_relu2_mlps():
    import torch.nn.functional as F

    swiglu, gelu, relu2 = tiny(mlp="swiglu"), tiny(), tiny(mlp="relu2")
    ratio = swiglu.num_params() / gelu.num_params()
    assert 0.95 < ratio < 1.1  # 8d/3 hidden: about the parameters of the 4d GELU MLP
    mlp = swiglu.blocks[0].mlp
    x = torch.randn(2, 4, 16)
    gate, up = (x @ mlp.gate_up.weight.T + mlp.gate_up.bias).chunk(2, -1)
    ref = (F.silu(gate) * up) @ mlp.proj.weight.T + mlp.proj.bias  # Shazeer 2020, eq. 6 (FFN_SwiGLU)
    assert torch.allclose(mlp(x), ref, atol=1e-6)
    assert torch.equal(relu2.blocks[0].mlp.net[1](x), F.relu(x) ** 2)


def test_qk_norm_makes_scores_invariant_to_the_scale_of_queries_and_keys():
    m = tiny(qk_norm=True, bias=False)
    attn = m.blocks[0].attn
    x = torch.randn(2, 7, 16)
    with torch.no_grad():
        before = attn(x)
        attn.q_proj.weight.mul_(30.0)
        attn.k_proj.weight.mul_(5.0)
        assert torch.allclose(attn(x), before, atol=1e-5)


def test_no_bias_and_untied_head():
    m = tiny(bias=False, tie_weights=False)
    assert not [k for k in m.state_dict() if k.endswith("bias")]
    assert m.lm_head.weight is not m.wte.weight
    # the untied embedding is a lookup, not a matmul: left out of N (and so of the FLOP estimate)
    assert m.num_params() == sum(p.numel() for p in m.parameters()) - m.wte.weight.numel() - m.wpe.weight.numel()


@pytest.mark.parametrize("kw", [dict(pos="rope", tie_weights=False), dict(mlp="swiglu", norm="rmsnorm")])
def test_option_checkpoints_round_trip(tmp_path, kw):
    from genai_course.gpt.tokenizers import CharTokenizer
    from genai_course.gpt.train import load_checkpoint, save_checkpoint

    tok = CharTokenizer([chr(ord("a") + i) for i in range(17)])
    m = tiny(**kw)
    save_checkpoint(tmp_path / "ckpt.pt", m, tok)
    loaded, _, blob = load_checkpoint(tmp_path / "ckpt.pt")
    assert loaded.config == m.config
    x = torch.randint(0, 17, (2, 9))
    with torch.no_grad():
        assert torch.equal(loaded(x)[0], m(x)[0])
