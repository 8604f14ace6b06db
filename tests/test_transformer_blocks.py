"""Encoder / decoder blocks, the encoder–decoder and the decoder-only LM: shapes, causality, bad input."""

import pytest
import torch

from genai_course.nn.transformer import (
    DecoderBlock,
    EncoderBlock,
    Seq2SeqConfig,
    Seq2SeqTransformer,
)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def test_block_shapes():
    x, memory = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
    assert EncoderBlock(16, 4)(x).shape == (2, 5, 16)
    assert EncoderBlock(16, 4, causal=True)(x).shape == (2, 5, 16)
    assert DecoderBlock(16, 4)(x, memory).shape == (2, 5, 16)


def test_causal_block_ignores_future_tokens():
    block = EncoderBlock(16, 4, causal=True).eval()
    x = torch.randn(1, 6, 16)
    x2 = x.clone()
    x2[0, 4:] = torch.randn(2, 16)
    with torch.no_grad():
        a, b = block(x), block(x2)
    assert torch.equal(a[0, :4], b[0, :4])
    assert not torch.allclose(a[0, 4:], b[0, 4:])


def test_encoder_block_sees_everything():
    block = EncoderBlock(16, 4).eval()
    x = torch.randn(1, 6, 16)
    x2 = x.clone()
    x2[0, -1] = torch.randn(16)
    with torch.no_grad():
        assert (block(x)[0, 0] - block(x2)[0, 0]).abs().max() > 1e-4


def test_decoder_block_is_causal_in_its_own_tokens():
    block = DecoderBlock(16, 4).eval()
    y, memory = torch.randn(1, 5, 16), torch.randn(1, 3, 16)
    y2 = y.clone()
    y2[0, -1] = torch.randn(16)
    with torch.no_grad():
        assert torch.equal(block(y, memory)[0, :4], block(y2, memory)[0, :4])


def test_seq2seq_shapes_padding_and_cross_attention_record():
    model = Seq2SeqTransformer(Seq2SeqConfig(vocab_size=13, d_model=16, n_heads=2, n_layers=1, max_len=10)).eval()
    src = torch.tensor([[3, 4, 5, 0, 0], [6, 7, 8, 9, 10]])
    tgt = torch.tensor([[1, 5, 4], [1, 10, 9]])
    model.record_cross_attention(True)
    with torch.no_grad():
        logits = model(src, tgt)
    assert logits.shape == (2, 3, 13)
    w = model.decoder[0].cross_attn.last_weights  # (b h t s)
    assert w.shape == (2, 2, 3, 5)
    assert torch.all(w[0, :, :, 3:] == 0)  # padded source positions get no attention
    assert model.greedy_decode(src, 1, 4).shape == (2, 4)
    # changing padding content must not change the output of the first sequence
    src2 = src.clone()
    src2[0, 3:] = 0
    with torch.no_grad():
        assert torch.allclose(model(src2, tgt), logits)


def test_initial_loss_is_near_uniform():
    model = Seq2SeqTransformer(Seq2SeqConfig(vocab_size=13))
    src, tgt = torch.randint(3, 13, (8, 6)), torch.randint(3, 13, (8, 6))
    loss = torch.nn.functional.cross_entropy(model(src, tgt).flatten(0, 1), tgt.flatten())
    assert loss.item() < 2 * torch.log(torch.tensor(13.0)).item()


@pytest.mark.parametrize(
    "bad, match",
    [
        (torch.zeros(2, 3), "integer token ids"),
        (torch.zeros(2, 3, 4, dtype=torch.long), r"shape \(b t\)"),
        (torch.full((1, 3), 99), r"ids must lie in \[0, 13\)"),
        (torch.zeros(1, 40, dtype=torch.long), "more than max_len"),
        ([[1, 2]], "torch.Tensor"),
    ],
)
def test_bad_token_input_gives_clear_error(bad, match):
    model = Seq2SeqTransformer(Seq2SeqConfig(vocab_size=13, max_len=32))
    good = torch.zeros(1, 3, dtype=torch.long)
    with pytest.raises(ValueError, match=match):
        model(bad, good)
    with pytest.raises(ValueError, match=match):
        model(good, bad)


def test_bad_width_gives_clear_error():
    with pytest.raises(ValueError, match=r"x: expected shape \(b t d=16\), got \(2, 5, 8\)"):
        EncoderBlock(16, 4)(torch.randn(2, 5, 8))
