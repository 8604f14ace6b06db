"""The shipped chapter-1 encoder–decoder: it loads from float16 and still reverses held-out digit strings."""

from genai_course.data import sequences as seq
from genai_course.seq2seq import DATA, MODEL, TRAIN, load_seq2seq_reverse, seq2seq_metrics, train_reversal


def test_shipped_model_reverses_held_out_strings():
    model = load_seq2seq_reverse("cpu")
    _, test_pairs = seq.train_test_split(**DATA)
    assert seq.exact_match(model, test_pairs[:300]) >= 0.99
    record = seq2seq_metrics()
    assert record["heldout_exact_match"] >= 0.99 and record["parameters"] == sum(p.numel() for p in model.parameters())
    assert record["model"] == MODEL and record["training"] == TRAIN and record["data"] == DATA


def test_the_training_loop_learns_in_a_few_steps():
    import torch

    torch.manual_seed(0)
    _, metrics = train_reversal(steps=120, batch_size=32, lr=2e-3, seed=0)
    assert metrics["final_loss"] < 2.0 and metrics["train_seconds"] > 0  # from ln(14) ≈ 2.64 at the start
