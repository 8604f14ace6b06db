import pytest
import torch

from genai_course.codex.token_stats import group_by_kind, loss_by_kind, token_kind, tokens_per_line
from genai_course.gpt.model import GPT, GPTConfig
from genai_course.gpt.tokenizers import CharTokenizer
from genai_course.gpt.train import evaluate, token_losses

CODE = "def f(x):\n    if x:\n        return 1\n    return 22\n" * 20


@pytest.mark.parametrize(
    "piece,kind",
    [("\n    ", "newline+indent"), ("  ", "space"), ("def", "keyword"), ("match", "keyword"), ("x_1", "name")]
    + [("42", "number"), ("):", "punctuation"), ("):x", "mixed")],
)
def test_token_kind(piece, kind):
    assert token_kind(piece) == kind


def test_tokens_per_line_counts_a_last_line_without_newline():
    tok = CharTokenizer.train("ab\nc")
    assert tokens_per_line(tok, "ab\nc") == pytest.approx(4 / 2)
    assert tokens_per_line(tok, "ab\n") == pytest.approx(3 / 1)


def test_loss_by_kind_splits_the_evaluated_loss():
    """The kinds partition the tokens: token-weighted kind losses give back evaluate()'s mean loss."""
    torch.manual_seed(0)
    tok = CharTokenizer.train(CODE)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=16, n_layers=1, n_heads=2, d_model=16))
    ids = torch.tensor(tok.encode(CODE))
    table = loss_by_kind(model, tok, ids, batch_size=5)
    assert set(table) == {"name", "space", "punctuation", "newline+indent", "number"}  # characters: no keywords
    assert sum(row["tokens"] for row in table.values()) == pytest.approx(1.0)
    assert sum(row["share_of_loss"] for row in table.values()) == pytest.approx(1.0)
    mean = sum(row["tokens"] * row["loss"] for row in table.values())
    assert mean == pytest.approx(evaluate(model, ids, batch_size=7), rel=1e-5)
    with pytest.raises(ValueError, match="need more than block_size=16 tokens"):
        loss_by_kind(model, tok, ids[:10])


def test_group_by_kind_of_precomputed_losses_equals_loss_by_kind():
    torch.manual_seed(0)
    tok = CharTokenizer.train(CODE)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=16, n_layers=1, n_heads=2, d_model=16))
    ids = torch.tensor(tok.encode(CODE))
    targets, nats = token_losses(model, ids, batch_size=5)
    grouped, direct = group_by_kind(tok, targets, nats), loss_by_kind(model, tok, ids, batch_size=5)
    assert set(grouped) == set(direct)
    for kind, row in direct.items():
        assert grouped[kind] == pytest.approx(row, rel=1e-6)
    with pytest.raises(ValueError, match="same length, got 3 and 2"):
        group_by_kind(tok, targets[:3], nats[:2])
