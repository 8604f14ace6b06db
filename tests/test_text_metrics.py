"""The from-scratch text metrics equal the reference tools (sacrebleu, rouge-score) on many inputs,
bits per byte equals a hand computation, and the modified-precision checker gives the right hints."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genai_course.exercises.text_metrics import check_modified_precision
from genai_course.metrics.text import (
    bits_per_byte,
    brevity_penalty,
    closest_reference_length,
    corpus_bleu,
    lcs_table,
    modified_precision,
    perplexity,
    rouge_scores,
    rouge_tokenize,
    sentence_bleu,
    text_nll,
    token_byte_lengths,
    tokenize_13a,
)

sacrebleu = pytest.importorskip("sacrebleu")
rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
porter = pytest.importorskip("nltk.stem.porter")

STEM = porter.PorterStemmer().stem
ROUGE_TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
# words that exercise the 13a rules (numbers with . , -, punctuation, entities) and the stemmer
WORDS = [
    "the", "cat", "sat", "on", "mat", "a", "dog", "The", "3.5", "1,000", "end.", "(x)", "&amp;", "&quot;hi&quot;",
    "don't", "U.S.", "-", "e-mail", "Hello,", "world!", "5-3", "running", "runs", "ran", "caresses", "ponies",
    "généralement", "naïve", "über", "x<y", "$5", "a/b", "50%", "{}", "<skipped>", "-\n", "@home",
]  # fmt: skip
sentences = st.lists(st.sampled_from(WORDS), max_size=14).map(" ".join)
texts = st.lists(st.tuples(sentences, st.sampled_from([" ", "\n", "\n\n", ". ", ".\n"])), max_size=4).map(
    lambda parts: "".join(s + sep for s, sep in parts)
)


def same_bleu(ours, theirs):
    assert ours.sys_len == theirs.sys_len and ours.ref_len == theirs.ref_len
    assert ours.counts == list(theirs.counts) and ours.totals == list(theirs.totals)
    assert ours.bp == pytest.approx(theirs.bp, abs=1e-12)
    assert ours.precisions == pytest.approx(list(theirs.precisions), abs=1e-9)
    assert abs(ours.score - theirs.score) < 1e-6


# --- bits per byte ----------------------------------------------------------------------------------


def test_bits_per_byte_by_hand():
    # two tokens of p = 1/2 and 1/4: 1 + 2 = 3 bits over 6 bytes = 0.5 bits per byte
    nats = -math.log(0.5) - math.log(0.25)
    assert bits_per_byte(nats, 6) == pytest.approx(0.5, abs=1e-12)
    assert perplexity(nats, 2) == pytest.approx(math.sqrt(8), abs=1e-12)  # geometric mean of 1/p: √(2·4)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="n_bytes"):
            bits_per_byte(1.0, bad)
    with pytest.raises(ValueError, match="total_nll_nats"):
        bits_per_byte(float("nan"), 4)


class UniformGPT(torch.nn.Module):
    """A stand-in GPT: equal logits for every token, so each token costs ln v nats."""

    def __init__(self, vocab_size, block_size=4):
        super().__init__()
        self.config = type("Config", (), {"block_size": block_size})()
        self.vocab_size = vocab_size

    def forward(self, idx):
        return torch.zeros(*idx.shape, self.vocab_size), None


def test_text_nll_of_a_uniform_model_by_hand():
    from genai_course.gpt.tokenizers import CharTokenizer

    text = "héllo wörld!"  # 12 characters, two of them 2 bytes long
    tokenizer = CharTokenizer.train(text)
    v = tokenizer.vocab_size
    result = text_nll(UniformGPT(v, block_size=4), tokenizer, text)
    # windows of 4: (12 − 1) // 4 = 2 windows score targets 1..8 = "éllo wör" (10 bytes)
    assert result.n_tokens == 8 and result.n_bytes == len("éllo wör".encode())
    assert result.nats == pytest.approx(8 * math.log(v), rel=1e-6)
    assert result.perplexity == pytest.approx(v, rel=1e-5)
    assert result.bits_per_byte == pytest.approx(8 * math.log2(v) / 10, rel=1e-6)


def test_token_byte_lengths_sum_to_the_text_bytes():
    from genai_course.gpt.tokenizers import ByteBPETokenizer

    text = "def f(x):\n    return x * 2  # doppelt — zwei\n" * 20
    tokenizer = ByteBPETokenizer.train(text, 300)
    ids = tokenizer.encode(text)
    assert int(token_byte_lengths(tokenizer)[ids].sum()) == len(text.encode())
    with pytest.raises(TypeError, match="course tokenizer"):
        token_byte_lengths(object())


# --- BLEU -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("word", WORDS + ["x", "1.5.", "a,b", "4-", "-4", "&lt;p&gt;", "end . ", "(3.5,4)"])
def test_13a_tokenizer_equals_sacrebleu_on_single_words(word):
    reference = sacrebleu.BLEU(tokenize="13a").tokenizer
    assert tokenize_13a(word) == reference(word)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40))
def test_13a_tokenizer_equals_sacrebleu_on_any_text(line):
    assert tokenize_13a(line) == sacrebleu.BLEU(tokenize="13a").tokenizer(line)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda n: st.tuples(
            st.lists(sentences, min_size=n, max_size=n),
            st.lists(st.lists(sentences, min_size=n, max_size=n), min_size=1, max_size=3),
        )
    ),
    st.sampled_from(["13a", "none", "char"]),
    st.booleans(),
)
def test_corpus_bleu_equals_sacrebleu(data, tokenize, lowercase):
    hypotheses, references = data
    same_bleu(
        corpus_bleu(hypotheses, references, tokenize=tokenize, lowercase=lowercase),
        sacrebleu.corpus_bleu(hypotheses, references, tokenize=tokenize, lowercase=lowercase),
    )
    same_bleu(
        corpus_bleu(hypotheses, references, smooth="none"),
        sacrebleu.corpus_bleu(hypotheses, references, smooth_method="none"),
    )


@settings(max_examples=150, deadline=None)
@given(sentences, st.lists(sentences, min_size=1, max_size=4))
def test_sentence_bleu_equals_sacrebleu(hypothesis, references):
    same_bleu(sentence_bleu(hypothesis, references), sacrebleu.sentence_bleu(hypothesis, references))


@pytest.mark.parametrize(
    "hypotheses, references",
    [
        ([""], [["the cat sat on the mat"]]),  # empty hypothesis: BP = 0
        (["the cat"], [["the cat sat on the mat"]]),  # short hypothesis: no 3- or 4-grams
        (["the cat sat on the mat"], [[""]]),  # empty reference
        ([""], [[""]]),
        (["the the the the the the the"], [["the cat is on the mat"], ["there is a cat on the mat"]]),
        (["It is a guide to action which ensures that the military always obeys the commands of the party."],
         [["It is a guide to action that ensures that the military will forever heed Party commands."],
          ["It is the guiding principle which guarantees the military forces always being under the command of the Party."],
          ["It is the practical guide for the army always to heed the directions of the party."]]),  # Papineni's example
        (["a b c d", "e f"], [["a b c d", None], ["a b x d", "e f g"]]),  # a variable number of references
        (["same length", "x y z w v"], [["one two", "x y z w v u"], ["three four", "x y z w"]]),  # ties in ref length
    ],
)  # fmt: skip
def test_corpus_bleu_edge_cases_equal_sacrebleu(hypotheses, references):
    same_bleu(corpus_bleu(hypotheses, references), sacrebleu.corpus_bleu(hypotheses, references))


def test_bleu_pieces_by_hand():
    refs = ["the cat is on the mat".split(), "there is a cat on the mat".split()]
    assert modified_precision("the the the the the the the".split(), refs, 1) == (2, 7)  # Papineni's 2/7
    assert modified_precision("the cat".split(), refs, 3) == (0, 0)
    assert closest_reference_length(5, [3, 7]) == 3  # a tie goes to the shorter reference
    assert brevity_penalty(10, 10) == 1.0 and brevity_penalty(0, 3) == 0.0
    assert brevity_penalty(5, 10) == pytest.approx(math.exp(-1))
    perfect = corpus_bleu(["the cat sat on the mat"], [["the cat sat on the mat"]])
    assert perfect.score == pytest.approx(100.0) and perfect.bp == 1.0


def test_corpus_bleu_rejects_bad_layouts():
    with pytest.raises(ValueError, match="one string per hypothesis"):
        corpus_bleu(["a b", "c d"], ["a b", "c d"])  # a flat list of references instead of streams
    with pytest.raises(ValueError, match="non-empty"):
        corpus_bleu([], [[]])
    with pytest.raises(ValueError, match="no reference"):
        corpus_bleu(["a"], [[None]])
    with pytest.raises(ValueError, match="smooth"):
        corpus_bleu(["a"], [["a"]], smooth="add-k")
    with pytest.raises(ValueError, match="list of strings"):
        sentence_bleu("a", "a")


# --- ROUGE ------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(texts, texts, st.booleans())
def test_rouge_equals_rouge_score(target, prediction, stem):
    theirs = rouge_scorer.RougeScorer(ROUGE_TYPES, use_stemmer=stem).score(target, prediction)
    ours = rouge_scores(target, prediction, ROUGE_TYPES, stem=STEM if stem else None)
    for kind in ROUGE_TYPES:
        for field in ("precision", "recall", "fmeasure"):
            assert abs(getattr(ours[kind], field) - getattr(theirs[kind], field)) < 1e-9, (kind, field)


@pytest.mark.parametrize(
    "target, prediction",
    [
        ("", "the cat"),
        ("the cat", ""),
        ("!!!", "..."),
        ("The cats are running.\nDogs ran home.", "the cat runs\ndogs run home"),
        ("a b a b a\nb a b", "a b\nb a\na a b b"),  # repeated tokens: the double-counting rule of rougeLsum
        ("police killed the gunman", "the gunman killed police"),  # Lin's example: ROUGE-L sees the order
        ("one sentence. another sentence.", "another sentence. one sentence."),  # no newline: Lsum = L
    ],
)
@pytest.mark.parametrize("stem", [False, True])
def test_rouge_edge_cases_equal_rouge_score(target, prediction, stem):
    theirs = rouge_scorer.RougeScorer(ROUGE_TYPES, use_stemmer=stem).score(target, prediction)
    ours = rouge_scores(target, prediction, ROUGE_TYPES, stem=STEM if stem else None)
    for kind in ROUGE_TYPES:
        assert ours[kind].fmeasure == pytest.approx(theirs[kind].fmeasure, abs=1e-9)
        assert ours[kind].precision == pytest.approx(theirs[kind].precision, abs=1e-9)
        assert ours[kind].recall == pytest.approx(theirs[kind].recall, abs=1e-9)


def test_rouge_pieces_by_hand():
    assert rouge_tokenize("Don't STOP-me, 3.5!") == ["don", "t", "stop", "me", "3", "5"]
    assert rouge_tokenize("running dogs ran", stem=STEM) == ["run", "dog", "ran"]
    assert lcs_table("abcbdab", "bdcaba")[-1][-1] == 4  # CLRS's example
    no_newline = rouge_scores("a b. c d.", "c d. a b.", ["rougeL", "rougeLsum"])
    assert no_newline["rougeL"] == no_newline["rougeLsum"]
    with pytest.raises(ValueError, match="unknown ROUGE type"):
        rouge_scores("a", "a", ["rougeX"])
    with pytest.raises(ValueError, match="must be a str"):
        rouge_tokenize(None)


# --- the exercise checker ---------------------------------------------------------------------------


def reference_solution(hypothesis, references, n):
    from collections import Counter

    grams = Counter(tuple(hypothesis[i : i + n]) for i in range(len(hypothesis) - n + 1))
    most = Counter()
    for r in references:
        most |= Counter(tuple(r[i : i + n]) for i in range(len(r) - n + 1))
    return sum(min(c, most[g]) for g, c in grams.items()), sum(grams.values())


def loop_solution(hypothesis, references, n):  # a second correct style: dicts and max() by hand
    def count(tokens):
        d = {}
        for i in range(len(tokens) - n + 1):
            d[tuple(tokens[i : i + n])] = d.get(tuple(tokens[i : i + n]), 0) + 1
        return d

    hyp = count(hypothesis)
    refs = [count(r) for r in references]
    return sum(min(c, max(r.get(g, 0) for r in refs)) for g, c in hyp.items()), sum(hyp.values())


def no_clipping(hypothesis, references, n):
    grams = [tuple(hypothesis[i : i + n]) for i in range(len(hypothesis) - n + 1)]
    ref_grams = {tuple(r[i : i + n]) for r in references for i in range(len(r) - n + 1)}
    return sum(g in ref_grams for g in grams), len(grams)


def sum_clipping(hypothesis, references, n):
    from collections import Counter

    grams = Counter(tuple(hypothesis[i : i + n]) for i in range(len(hypothesis) - n + 1))
    total = Counter()
    for r in references:
        total += Counter(tuple(r[i : i + n]) for i in range(len(r) - n + 1))
    return sum(min(c, total[g]) for g, c in grams.items()), sum(grams.values())


def first_reference_only(hypothesis, references, n):
    return reference_solution(hypothesis, references[:1], n)


def off_by_one_short(hypothesis, references, n):
    from collections import Counter

    grams = Counter(tuple(hypothesis[i : i + n]) for i in range(len(hypothesis) - n))
    most = Counter()
    for r in references:
        most |= Counter(tuple(r[i : i + n]) for i in range(len(r) - n + 1))
    return sum(min(c, most[g]) for g, c in grams.items()), sum(grams.values())


def off_by_one_long(hypothesis, references, n):
    from collections import Counter

    grams = Counter(tuple(hypothesis[i : i + n]) for i in range(len(hypothesis) - n + 2))
    most = Counter()
    for r in references:
        most |= Counter(tuple(r[i : i + n]) for i in range(len(r) - n + 1))
    return sum(min(c, most[g]) for g, c in grams.items()), sum(grams.values())


def test_correct_solutions_pass():
    for solution in (reference_solution, loop_solution, modified_precision):
        feedback = check_modified_precision(solution)
        assert feedback, feedback.message


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (no_clipping, "without clipping"),
        (sum_clipping, "sum of the references"),
        (first_reference_only, "first reference only"),
        (off_by_one_short, "one n-gram too few"),
        (off_by_one_long, "one n-gram too many"),
        (lambda h, r, n: reference_solution(h, r, n)[0] / max(reference_solution(h, r, n)[1], 1), "pair"),
        (lambda h, r, n: tuple(float(x) for x in reference_solution(h, r, n)), "return ints"),
        (lambda h, r, n: (0, len(h)), "expected"),
    ],
)
def test_typical_mistakes_get_their_hint(wrong, hint):
    feedback = check_modified_precision(wrong)
    assert not feedback and hint in feedback.message, feedback.message


def test_not_attempted_and_errors_are_reported():
    def not_attempted(*args):
        raise NotImplementedError

    assert "Not attempted" in check_modified_precision(not_attempted).message
    assert "Expected a function" in check_modified_precision(None).message
    crashed = check_modified_precision(lambda h, r, n: h[100])
    assert not crashed and "IndexError" in crashed.message
