import pytest
import torch

from genai_course.gpt.model import GPT, GPTConfig, KVCache
from genai_course.nn.attention import MultiHeadAttention, causal_mask


def tiny(**kw):
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=17, block_size=32, n_layer=2, n_head=2, n_embd=16, **kw)).eval()


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
        GPTConfig(vocab_size=5, n_embd=10, n_head=3)
