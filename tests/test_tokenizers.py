import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genai_course.data.corpus import load_course_text
from genai_course.gpt.tokenizers import (
    ByteBPETokenizer,
    CharTokenizer,
    bytes_to_unicode,
    load_tokenizer,
    merge_pair,
    tokenizer_from_dict,
)

SAMPLE = load_course_text()[:60_000]


@pytest.fixture(scope="module")
def bpe():
    return ByteBPETokenizer.train(SAMPLE, 400)


# any Unicode code point, lone surrogates (U+D800–U+DFFF) and emoji included
any_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=60)


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_bpe_round_trip_any_string(bpe, s):
    assert bpe.decode(bpe.encode(s)) == s


def test_bpe_round_trip_emoji_and_surrogates(bpe):
    for s in ["🙂👍🏽 family: 👨‍👩‍👧", "lone \ud800 surrogate", "\udfff\ud83d", "déjà vu — 中文", ""]:
        assert bpe.decode(bpe.encode(s)) == s


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=sorted(set(SAMPLE)), max_size=80))
def test_char_round_trip(s):
    tok = CharTokenizer.train(SAMPLE)
    assert tok.decode(tok.encode(s)) == s


def test_char_unknown_character_is_a_clear_error():
    with pytest.raises(ValueError, match="not in this tokenizer's vocabulary"):
        CharTokenizer.train("abc").encode("abd")


def test_merge_pair_is_left_to_right_non_overlapping():
    assert merge_pair([1, 1, 1, 2, 1, 1], (1, 1), 9) == [9, 1, 2, 9]


def test_bpe_compresses_and_vocab_size(bpe):
    assert bpe.vocab_size == 400
    assert len(SAMPLE) / len(bpe.encode(SAMPLE)) > 1.8  # merges buy compression


def test_save_load(tmp_path, bpe):
    for tok in (bpe, CharTokenizer.train(SAMPLE)):
        tok.save(tmp_path / "t.json")
        back = load_tokenizer(tmp_path / "t.json")
        assert back.to_dict() == tok.to_dict()
        assert back.encode(SAMPLE[:2000]) == tok.encode(SAMPLE[:2000])
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_tokenizer(tmp_path / "bad.json")


def test_agrees_with_huggingface_tokenizers():
    """HF's ByteLevelBPE trained on the same text with the same vocabulary learns the *same merges*.

    They agree exactly because (1) both pre-split text with GPT-2's pattern (ours uses ``re``
    classes equal to \\p{L} and \\p{N} on this ASCII-dominated corpus), (2) both count pairs
    inside those chunks and stop at the same ``min_frequency=2``, and (3) ties between equally
    frequent pairs are broken as HF does: smaller pair of ids, where HF numbers the 256 bytes in
    the order of GPT-2's printable stand-in characters. Without (3) a few late merges differ.
    """
    tokenizers = pytest.importorskip("tokenizers")
    vocab = 400
    hf = tokenizers.ByteLevelBPETokenizer()
    hf.train_from_iterator([SAMPLE], vocab_size=vocab, min_frequency=2, show_progress=False)
    hf_merges = [
        tuple(m) if isinstance(m, list) else tuple(m.split(" "))
        for m in json.loads(hf._tokenizer.to_str())["model"]["merges"]
    ]
    ours = ByteBPETokenizer.train(SAMPLE, vocab)
    stand_in = bytes_to_unicode()
    show = lambda i: "".join(stand_in[b] for b in ours.token_bytes(i))  # noqa: E731
    our_merges = [(show(a), show(b)) for a, b in ours.merges]
    assert our_merges == hf_merges
    text = load_course_text()[-50_000:]  # held-out text: same number of tokens
    assert len(ours.encode(text)) == len(hf.encode(text).ids)


def test_code_split_keeps_a_newline_with_its_indentation():
    from genai_course.gpt.tokenizers import CODE_SPLIT

    src = "class A:\n    def f(self, max_len):\n        return self.__x  # done\n\n\nx = 1\n"
    chunks = CODE_SPLIT.findall(src)
    assert "".join(chunks) == src  # the split loses nothing
    assert "\n        " in chunks and "\n    " in chunks and " max_len" in chunks and "__x" in chunks
    tok = ByteBPETokenizer.train(src * 50, 300, split="code")
    assert tok.decode(tok.encode(src)) == src
    assert tok.encode("\n        ") == [tok.encode("\n        ")[0]]  # two levels deep: one token
    again = tokenizer_from_dict(json.loads(json.dumps(tok.to_dict())))
    assert again.split == "code" and again.encode(src) == tok.encode(src)


def test_a_saved_prose_tokenizer_has_no_split_key_and_loads_as_before():
    tok = ByteBPETokenizer.train("the cat sat on the mat " * 20, 270)
    assert "split" not in tok.to_dict() and tokenizer_from_dict(tok.to_dict()).split == "gpt2"
    with pytest.raises(ValueError, match="split"):
        ByteBPETokenizer([], split="rust")
