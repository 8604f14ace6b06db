"""The toy sequence tasks: deterministic, correct, disjoint splits, padding and bad input."""

import pytest
import torch

from genai_course.data import sequences as seq


def test_deterministic_given_seed():
    assert seq.make_pairs("reverse", 50, seed=3) == seq.make_pairs("reverse", 50, seed=3)
    assert seq.make_pairs("reverse", 50, seed=3) != seq.make_pairs("reverse", 50, seed=4)


@pytest.mark.parametrize("task", seq.TASKS)
def test_split_is_disjoint_and_correct(task):
    train, test = seq.train_test_split(task, 2000, 300, min_len=1, max_len=4, seed=0)
    assert len(train) == 2000 and len(test) == 300
    assert not {s for s, _ in train} & {s for s, _ in test}
    assert len({s for s, _ in train}) == 2000  # no duplicates either
    for s, t in train[:100] + test[:100]:
        assert t == seq.solve(task, s)


def test_lengths_and_examples():
    pairs = seq.make_pairs("reverse", 500, min_len=2, max_len=5, seed=1)
    assert {len(s) for s, _ in pairs} == {2, 3, 4, 5}
    assert seq.solve("reverse", "2026") == "6202"
    assert seq.solve("add", "27+5") == "32"
    for s, t in seq.make_pairs("add", 100, min_len=1, max_len=3, seed=0):
        a, b = s.split("+")
        assert 1 <= len(a) <= 3 and 1 <= len(b) <= 3 and int(t) == int(a) + int(b)


def test_to_tensors_teacher_forcing_layout():
    src, tgt_in, tgt_out = seq.to_tensors([("123", "321"), ("45", "54")])
    assert src.tolist() == [[4, 5, 6], [7, 8, 0]]
    assert tgt_in.tolist() == [[1, 6, 5, 4], [1, 8, 7, 0]]
    assert tgt_out.tolist() == [[6, 5, 4, 2], [8, 7, 2, 0]]
    assert seq.decode(tgt_out[1]) == "54" and seq.decode(src[0]) == "123"
    assert src.dtype == torch.long


def test_encode_decode_roundtrip():
    assert seq.decode(seq.encode("90+12")) == "90+12"


def test_exact_match_of_an_oracle():
    class Oracle:
        def eval(self):
            return self

        def greedy_decode(self, src, bos, max_len):
            out = torch.full((src.shape[0], max_len), seq.PAD)
            for i, row in enumerate(src):
                ids = seq.encode(seq.solve("reverse", seq.decode(row))) + [seq.EOS]
                out[i, : len(ids)] = torch.tensor(ids)
            return out

    pairs = seq.make_pairs("reverse", 40, seed=0)
    assert seq.exact_match(Oracle(), pairs, batch_size=16) == 1.0


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: seq.make_pairs("sort", 5), "task must be one of"),
        (lambda: seq.make_pairs("reverse", 5, min_len=3, max_len=2), "min_len <= max_len"),
        (lambda: seq.make_pairs("reverse", 100, min_len=1, max_len=1), "distinct"),
        (lambda: seq.encode("12a"), "may only contain"),
        (lambda: seq.encode(12), "must be a str"),
        (lambda: seq.to_tensors([]), "empty"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_shift_right_checker():
    from genai_course.exercises.transformers import check_shift_right

    def good(tgt_out, bos_id):
        return torch.cat([torch.full_like(tgt_out[:, :1], bos_id), tgt_out[:, :-1]], dim=1)

    def constant_bos(tgt_out, bos_id):
        return good(tgt_out, 1)

    def not_attempted(tgt_out, bos_id):
        raise NotImplementedError

    assert check_shift_right(good).passed
    feedback = check_shift_right(constant_bos)
    assert not feedback.passed and "bos_id" in feedback.message
    assert "Not attempted" in check_shift_right(not_attempted).message
    _, tgt_in, tgt_out = seq.to_tensors([("123", "321"), ("45", "54")])
    assert torch.equal(good(tgt_out, seq.BOS)[tgt_out != seq.PAD], tgt_in[tgt_out != seq.PAD])
