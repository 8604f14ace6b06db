r"""Metrics for generated text and code, written from their papers and checked against the reference tools.

- **Perplexity and bits per byte.** A language model's summed negative log-likelihood
  :math:`\mathrm{NLL} = -\sum_i \ln p(x_i \mid x_{<i})` (nats) over a text of :math:`T` tokens and
  :math:`B` UTF-8 bytes gives perplexity per token :math:`\exp(\mathrm{NLL}/T)`, which depends on what a
  token is, and bits per byte :math:`\mathrm{NLL} / (B \ln 2)`, which does not: two models with
  different tokenizers are compared on the same bytes.
- **BLEU** (Papineni et al. 2002) as ``sacrebleu`` computes it (Post 2018): clipped n-gram precisions
  :math:`p_n` for n = 1…4 summed over the corpus, their geometric mean, times the brevity penalty
  :math:`\mathrm{BP} = \min(1, e^{1 - r/c})`; text split by the ``13a`` tokenizer of WMT's ``mteval-v13a.pl``.
- **ROUGE** (Lin 2004) as Google's ``rouge-score`` computes it: ROUGE-N (n-gram overlap), ROUGE-L
  (longest common subsequence) and ROUGE-Lsum (union LCS over newline-separated sentences).

Each function matches its reference to float precision (see ``tests/test_text_metrics.py``); the code
follows the references' conventions where the papers leave a choice open, and the docstrings say which.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

# ---------------------------------------------------------------- perplexity and bits per byte


def bits_per_byte(total_nll_nats: float, n_bytes: int) -> float:
    """bpb = (NLL / ln 2) / B: the summed NLL in nats turned into bits, spread over the text's UTF-8 bytes."""
    if not isinstance(n_bytes, int) or isinstance(n_bytes, bool) or n_bytes <= 0:
        raise ValueError(f"n_bytes must be a positive int (the UTF-8 length of the scored text), got {n_bytes!r}")
    if not math.isfinite(total_nll_nats) or total_nll_nats < 0:
        raise ValueError(f"total_nll_nats must be a finite, non-negative sum of -log p, got {total_nll_nats!r}")
    return total_nll_nats / math.log(2) / n_bytes


def perplexity(total_nll_nats: float, n_tokens: int) -> float:
    """exp(NLL / T): the model is as unsure as a uniform choice among this many tokens, on average (geometric)."""
    if not isinstance(n_tokens, int) or isinstance(n_tokens, bool) or n_tokens <= 0:
        raise ValueError(f"n_tokens must be a positive int, got {n_tokens!r}")
    return math.exp(total_nll_nats / n_tokens)


def token_byte_lengths(tokenizer) -> torch.Tensor:
    """UTF-8 bytes of every token id → (v,) int64: a BPE token's own bytes, a character's UTF-8 length."""
    if hasattr(tokenizer, "token_bytes"):  # byte-level BPE: a token may be part of one character
        return torch.tensor([len(tokenizer.token_bytes(i)) for i in range(tokenizer.vocab_size)])
    if hasattr(tokenizer, "chars"):  # one character per token
        return torch.tensor([len(c.encode("utf-8")) for c in tokenizer.chars])
    raise TypeError(f"expected a course tokenizer (CharTokenizer or ByteBPETokenizer), got {type(tokenizer).__name__}")


@dataclass(frozen=True)
class TextNLL:
    """Summed negative log-likelihood of a text under a model, and what it was spread over."""

    nats: float  # Σ −ln p(token | the tokens before it in its window)
    n_tokens: int  # tokens scored
    n_bytes: int  # UTF-8 bytes of exactly those tokens

    @property
    def nats_per_token(self) -> float:
        return self.nats / self.n_tokens

    @property
    def perplexity(self) -> float:
        return perplexity(self.nats, self.n_tokens)

    @property
    def bits_per_byte(self) -> float:
        return bits_per_byte(self.nats, self.n_bytes)


@torch.no_grad()
def text_nll(model, tokenizer, text: str, device="cpu", batch_size: int = 16) -> TextNLL:
    """Score ``text`` under a course GPT: the summed NLL over consecutive windows of ``block_size`` tokens.

    Each window predicts its tokens from the ones before them *in that window* (the first from one
    token of context), as :func:`genai_course.gpt.train.token_losses` does; the tokens after the last
    whole window are not scored. The byte count is of the scored target tokens only, so bits per byte
    divides the right NLL by the right bytes.
    """
    from ..gpt.train import token_losses

    if not isinstance(text, str) or not text:
        raise ValueError(f"text must be a non-empty str, got {type(text).__name__} of length {len(text or '')}")
    ids = torch.tensor(tokenizer.encode(text), dtype=torch.long)
    targets, nats = token_losses(model, ids, batch_size=batch_size, device=device)  # (n·t,) each
    n_bytes = int(token_byte_lengths(tokenizer)[targets].sum())
    return TextNLL(nats=float(nats.double().sum()), n_tokens=len(targets), n_bytes=n_bytes)


# ---------------------------------------------------------------- BLEU (Papineni et al. 2002; sacrebleu, Post 2018)

# mteval-v13a.pl's tokenization, as sacrebleu's tokenizer_13a and tokenizer_re write it
_13A_RULES = (
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),  # punctuation and symbols become tokens
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),  # a period or comma not preceded by a digit
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),  # ... or not followed by one ("3.5" and "1,000" stay)
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),  # a dash after a digit
)


def tokenize_13a(line: str) -> str:
    """WMT's standard tokenization (``mteval-v13a``): split off punctuation, keep numbers like 3.5 whole."""
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:  # un-escape the four SGML entities mteval knows
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    line = f" {line} "
    for pattern, replacement in _13A_RULES:
        line = pattern.sub(replacement, line)
    return " ".join(line.split())


BLEU_TOKENIZERS: dict[str, Callable[[str], str]] = {
    "13a": tokenize_13a,
    "none": lambda line: line,
    "char": lambda line: " ".join(line),
}


def ngram_counts(tokens: Sequence[str], n: int) -> Counter:
    """How often each n-gram (a tuple of n tokens) occurs: len(tokens) − n + 1 of them in all."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def modified_precision(hypothesis: Sequence[str], references: Sequence[Sequence[str]], n: int) -> tuple[int, int]:
    """Papineni et al. (2002), section 2.1: (clipped matches, hypothesis n-grams) of one sentence.

    Count_clip(g) = min(Count(g), max_ref Count_ref(g)): a hypothesis n-gram is credited at most as often
    as it occurs in the one reference that has it most, so "the the the the" earns no more than one "the"
    per reference "the".
    """
    hyp = ngram_counts(hypothesis, n)
    most = Counter()
    for reference in references:
        most |= ngram_counts(reference, n)  # Counter | Counter keeps the larger count of each key
    return sum(min(count, most[g]) for g, count in hyp.items()), sum(hyp.values())


def closest_reference_length(hyp_len: int, ref_lens: Sequence[int]) -> int:
    """The reference length nearest the hypothesis's; on a tie the shorter (sacrebleu's and mteval's rule)."""
    return min(ref_lens, key=lambda r: (abs(hyp_len - r), r))


def brevity_penalty(sys_len: int, ref_len: int) -> float:
    """BP = 1 if c > r else exp(1 − r/c) (Papineni et al. 2002, section 2.2.2), with c, r summed over the corpus."""
    if sys_len >= ref_len:
        return 1.0
    return math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0


@dataclass(frozen=True)
class BLEUResult:
    """A BLEU score (0–100) and the statistics it is made of; precisions are percentages, as sacrebleu prints them."""

    score: float
    precisions: list[float]
    counts: list[int]  # clipped matches of each order, summed over the corpus
    totals: list[int]  # hypothesis n-grams of each order, summed over the corpus
    bp: float
    sys_len: int
    ref_len: int

    def __str__(self) -> str:
        precisions = "/".join(f"{p:.1f}" for p in self.precisions)
        return f"BLEU = {self.score:.2f} {precisions} (BP = {self.bp:.3f} hyp_len = {self.sys_len} ref_len = {self.ref_len})"


def _log(p: float) -> float:
    return math.log(p) if p > 0 else -9999999999  # sacrebleu's floor for log(0): the score becomes 0


def bleu_from_statistics(
    counts: list[int],
    totals: list[int],
    sys_len: int,
    ref_len: int,
    smooth: str = "exp",
    effective_order: bool = False,
) -> BLEUResult:
    r"""BLEU = BP · exp(Σₙ wₙ log pₙ) with uniform wₙ = 1/N (Papineni et al. 2002, section 2.3).

    ``smooth="exp"`` (sacrebleu's default, mteval's): the k-th order with no match gets precision
    1 / (2^k · total) instead of 0, so one missing 4-gram does not zero the score. ``smooth="none"``: the
    paper's BLEU, 0 as soon as any order has no match. ``effective_order``: average only over the orders
    the hypothesis has n-grams of (for single sentences shorter than 4 tokens).
    """
    if smooth not in ("exp", "none"):
        raise ValueError(f"smooth must be 'exp' or 'none', got {smooth!r}")
    order = len(counts)
    bp = brevity_penalty(sys_len, ref_len)
    precisions = [0.0] * order
    if not any(counts):  # no match of any order: 0 (sacrebleu returns early here too)
        return BLEUResult(0.0, precisions, list(counts), list(totals), bp, sys_len, ref_len)
    halvings, used = 1.0, order
    for n in range(1, order + 1):
        if totals[n - 1] == 0:  # the hypotheses are shorter than n tokens: no n-grams at all
            break
        if effective_order:
            used = n
        if counts[n - 1] == 0:
            if smooth == "exp":
                halvings *= 2
                precisions[n - 1] = 100.0 / (halvings * totals[n - 1])
        else:
            precisions[n - 1] = 100.0 * counts[n - 1] / totals[n - 1]  # pₙ, in percent
    score = bp * math.exp(sum(_log(p) for p in precisions[:used]) / used)  # geometric mean of the pₙ
    return BLEUResult(score, precisions, list(counts), list(totals), bp, sys_len, ref_len)


def corpus_bleu(
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str | None]],
    tokenize: str | Callable[[str], str] = "13a",
    lowercase: bool = False,
    smooth: str = "exp",
    effective_order: bool = False,
    max_order: int = 4,
) -> BLEUResult:
    """Corpus BLEU as ``sacrebleu.corpus_bleu(hypotheses, references)`` computes it.

    ``references`` is laid out as sacrebleu's: a list of reference *streams*, each with one string per
    hypothesis (``references[j][i]`` is the j-th reference of hypothesis i; ``None`` skips one). The counts
    are summed over the corpus before dividing (BLEU is a corpus metric: the mean of sentence BLEUs is a
    different number). The reference length of each sentence is the one closest to its hypothesis.
    """
    if isinstance(hypotheses, str) or not isinstance(hypotheses, Sequence) or not hypotheses:
        raise ValueError("hypotheses must be a non-empty list of strings")
    if isinstance(references, str) or not isinstance(references, Sequence) or not references:
        raise ValueError("references must be a non-empty list of reference streams (lists of strings)")
    for j, stream in enumerate(references):
        if isinstance(stream, str) or len(stream) != len(hypotheses):
            raise ValueError(
                f"reference stream {j} must be a list with one string per hypothesis ({len(hypotheses)}), "
                f"got {type(stream).__name__} of length {len(stream)}; wrap a single reference set as [refs]"
            )
    split = BLEU_TOKENIZERS[tokenize] if isinstance(tokenize, str) else tokenize

    def prepare(text: str) -> list[str]:
        if not isinstance(text, str):
            raise ValueError(f"every hypothesis and reference must be a str, got {type(text).__name__}")
        return split((text.lower() if lowercase else text).rstrip()).split()

    counts, totals, sys_len, ref_len = [0] * max_order, [0] * max_order, 0, 0
    for i, hypothesis in enumerate(hypotheses):
        hyp = prepare(hypothesis)
        refs = [prepare(stream[i]) for stream in references if stream[i] is not None]
        if not refs:
            raise ValueError(f"hypothesis {i} has no reference (every stream holds None there)")
        sys_len += len(hyp)
        ref_len += closest_reference_length(len(hyp), [len(r) for r in refs])
        for n in range(1, max_order + 1):
            clipped, total = modified_precision(hyp, refs, n)
            counts[n - 1] += clipped
            totals[n - 1] += total
    return bleu_from_statistics(counts, totals, sys_len, ref_len, smooth, effective_order)


def sentence_bleu(hypothesis: str, references: Sequence[str], **kwargs) -> BLEUResult:
    """BLEU of one sentence, as ``sacrebleu.sentence_bleu``: exp smoothing and the effective order by default."""
    if isinstance(references, str):
        raise ValueError("references must be a list of strings; wrap a single reference as [reference]")
    kwargs.setdefault("effective_order", True)
    return corpus_bleu([hypothesis], [[r] for r in references], **kwargs)


# ---------------------------------------------------------------- ROUGE (Lin 2004; Google's rouge-score)


@dataclass(frozen=True)
class RougeScore:
    precision: float
    recall: float
    fmeasure: float


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


_NON_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")
_TOKEN = re.compile(r"^[a-z0-9]+$")


def rouge_tokenize(text: str, stem: Callable[[str], str] | None = None) -> list[str]:
    """rouge-score's tokenizer: lowercase, every run of characters outside [a-z0-9] becomes a space; with
    ``stem`` (e.g. ``nltk.stem.porter.PorterStemmer().stem``), words longer than 3 characters are stemmed."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    tokens = re.split(r"\s+", _NON_ALPHANUMERIC.sub(" ", text.lower()))
    if stem is not None:
        tokens = [stem(t) if len(t) > 3 else t for t in tokens]
    return [t for t in tokens if _TOKEN.match(t)]


def rouge_n(target: Sequence[str], prediction: Sequence[str], n: int) -> RougeScore:
    """ROUGE-N (Lin 2004, section 2): overlapping n-grams, each counted at most as often as in both texts;
    recall divides by the target's n-grams, precision by the prediction's."""
    target_ngrams, prediction_ngrams = ngram_counts(target, n), ngram_counts(prediction, n)
    overlap = sum((target_ngrams & prediction_ngrams).values())
    precision = overlap / max(sum(prediction_ngrams.values()), 1)
    recall = overlap / max(sum(target_ngrams.values()), 1)
    return RougeScore(precision, recall, _f1(precision, recall))


def lcs_table(a: Sequence[str], b: Sequence[str]) -> list[list[int]]:
    """table[i][j] = length of the longest common subsequence of a[:i] and b[:j] (dynamic programming)."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                table[i][j] = table[i - 1][j - 1] + 1
            else:
                table[i][j] = max(table[i - 1][j], table[i][j - 1])
    return table


def rouge_l(target: Sequence[str], prediction: Sequence[str]) -> RougeScore:
    """ROUGE-L (Lin 2004, section 3.1): R = LCS/|target|, P = LCS/|prediction|, F1 of the two
    (rouge-score's choice; the paper's F_lcs has a β that it sets very large, i.e. recall)."""
    if not target or not prediction:
        return RougeScore(0.0, 0.0, 0.0)
    lcs = lcs_table(target, prediction)[-1][-1]
    precision, recall = lcs / len(prediction), lcs / len(target)
    return RougeScore(precision, recall, _f1(precision, recall))


def lcs_positions(reference: Sequence[str], candidate: Sequence[str]) -> list[int]:
    """Positions in ``reference`` of one longest common subsequence, read back from the table the way
    rouge-score does (when both moves keep the length, step back in the reference), so ties break alike."""
    table = lcs_table(reference, candidate)
    i, j, positions = len(reference), len(candidate), []
    while i > 0 and j > 0:
        if reference[i - 1] == candidate[j - 1]:
            positions.append(i - 1)
            i, j = i - 1, j - 1
        elif table[i][j - 1] > table[i - 1][j]:
            j -= 1
        else:
            i -= 1
    return positions[::-1]


def rouge_lsum(target_sentences: Sequence[Sequence[str]], prediction_sentences: Sequence[Sequence[str]]) -> RougeScore:
    """Summary-level ROUGE-L (Lin 2004, section 3.2): for each reference sentence, the union of its LCS
    positions with every candidate sentence; hits are counted with each token used at most as often as it
    occurs in either summary (ROUGE-1.5.5's rule against double counting)."""
    m, n = sum(map(len, target_sentences)), sum(map(len, prediction_sentences))
    if not target_sentences or not prediction_sentences or not m or not n:
        return RougeScore(0.0, 0.0, 0.0)
    left_target = Counter(t for s in target_sentences for t in s)
    left_prediction = Counter(t for s in prediction_sentences for t in s)
    hits = 0
    for reference in target_sentences:
        union = sorted(set().union(*(lcs_positions(reference, c) for c in prediction_sentences)))
        for token in (reference[i] for i in union):
            if left_target[token] > 0 and left_prediction[token] > 0:
                hits += 1
                left_target[token] -= 1
                left_prediction[token] -= 1
    precision, recall = hits / n, hits / m
    return RougeScore(precision, recall, _f1(precision, recall))


def rouge_scores(
    target: str, prediction: str, types: Sequence[str] = ("rouge1", "rouge2", "rougeL", "rougeLsum"), stem=None
) -> dict[str, RougeScore]:
    """``rouge_scorer.RougeScorer(types, use_stemmer=...).score(target, prediction)`` from scratch.

    rougeLsum splits both texts into sentences at newlines only: without newlines a summary is one
    "sentence" and rougeLsum equals rougeL.
    """
    tokens = {"target": rouge_tokenize(target, stem), "prediction": rouge_tokenize(prediction, stem)}
    scores = {}
    for kind in types:
        if kind == "rougeL":
            scores[kind] = rouge_l(tokens["target"], tokens["prediction"])
        elif kind == "rougeLsum":
            sentences = [[rouge_tokenize(s, stem) for s in text.split("\n") if s] for text in (target, prediction)]
            scores[kind] = rouge_lsum(*sentences)
        elif re.fullmatch(r"rouge[1-9]", kind):
            scores[kind] = rouge_n(tokens["target"], tokens["prediction"], int(kind[5:]))
        else:
            raise ValueError(f"unknown ROUGE type {kind!r}: expected rouge1 … rouge9, rougeL or rougeLsum")
    return scores


def mean_rouge(targets: Sequence[str], predictions: Sequence[str], kind: str = "rougeL", stem=None) -> float:
    """Mean F-measure of ``kind`` over pairs (ROUGE is averaged over sentences; BLEU pools its counts)."""
    if len(targets) != len(predictions) or not targets:
        raise ValueError(f"need as many targets as predictions (≥ 1), got {len(targets)} and {len(predictions)}")
    return sum(
        rouge_scores(t, p, (kind,), stem)[kind].fmeasure for t, p in zip(targets, predictions, strict=True)
    ) / len(targets)
