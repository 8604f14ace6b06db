"""Tokenizers written from scratch: characters, and byte-level byte-pair encoding (BPE).

- :class:`CharTokenizer`: one id per character seen in training (nanoGPT's Shakespeare recipe).
- :class:`ByteBPETokenizer`: GPT-2's recipe. Text becomes UTF-8 bytes (256 base tokens, so
  *any* string is representable), split into word-like chunks by a regular expression, and
  the most frequent adjacent pair of tokens is merged into a new token, again and again.

Both share ``encode(str) -> list[int]``, ``decode(list[int]) -> str``, ``save(path)`` and
:func:`load_tokenizer`. Strings with lone surrogates (``"\\ud800"``, which Python allows but
UTF-8 forbids) are encoded with ``errors="surrogatepass"`` so they round-trip too.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

# GPT-2's pre-tokenizer, with Python's ``re`` instead of ``regex``: ``[^\W\d_]`` is a letter
# (\p{L}), ``\d`` a digit (\p{N} minus rare numerals such as "²"), and the rest punctuation.
# Merges never cross these chunks, so " the" can become a token but "e. T" cannot.
GPT2_SPLIT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")

# For Python source (chapter 3): a newline *together with the indentation after it* is one chunk,
# so BPE can learn "\n        " (new line, two levels deep) as a single token, as Codex added
# whitespace-run tokens to GPT-3's vocabulary (Chen et al. 2021, section 3.1); identifiers keep
# their underscores (``__init__``, ``max_len``), and English contractions get no special rule.
CODE_SPLIT = re.compile(r"""\r?\n[ \t]*| ?[^\W\d]\w*| ?\d+| ?[^\s\w]+|[ \t]+(?!\S)|[ \t]+|\s""")
SPLITS = {"gpt2": GPT2_SPLIT, "code": CODE_SPLIT}


def _to_bytes(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogatepass")


def _from_bytes(data: bytes) -> str:
    try:
        return data.decode("utf-8", errors="surrogatepass")
    except UnicodeDecodeError:  # generated ids can split a character: show U+FFFD, as GPT-2 does
        return data.decode("utf-8", errors="replace")


class CharTokenizer:
    """One token per distinct character of the training text, ids in sorted character order."""

    kind = "char"

    def __init__(self, chars: list[str]):
        self.chars = list(chars)
        self.stoi = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def train(cls, text: str) -> CharTokenizer:
        if not text:
            raise ValueError("cannot train a tokenizer on empty text")
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        try:
            return [self.stoi[c] for c in text]
        except KeyError as err:
            raise ValueError(
                f"character {err.args[0]!r} is not in this tokenizer's vocabulary of {self.vocab_size} characters"
            ) from None

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "chars": self.chars}

    def save(self, path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=True))


def merge_pair(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every non-overlapping occurrence of ``pair`` in ``ids`` (left to right) by ``new_id``."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


class ByteBPETokenizer:
    """Byte-level BPE: ids 0–255 are bytes, id 256 + i is the i-th learned merge."""

    kind = "bpe"

    def __init__(self, merges: list[tuple[int, int]], split: str = "gpt2"):
        if split not in SPLITS:
            raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
        self.split, self.pattern = split, SPLITS[split]
        self.merges = [tuple(m) for m in merges]
        self.ranks = {pair: 256 + i for i, pair in enumerate(self.merges)}
        self.vocab = [bytes([i]) for i in range(256)]
        for a, b in self.merges:
            self.vocab.append(self.vocab[a] + self.vocab[b])
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        return 256 + len(self.merges)

    @classmethod
    def train(cls, text: str, vocab_size: int, min_frequency: int = 2, split: str = "gpt2") -> ByteBPETokenizer:
        """Learn ``vocab_size - 256`` merges; stop early when no pair occurs ``min_frequency`` times.

        ``split`` picks the pre-tokenizer: ``"gpt2"`` (:data:`GPT2_SPLIT`, for prose) or ``"code"``
        (:data:`CODE_SPLIT`, which keeps a newline and its indentation together).

        Ties between equally frequent pairs go to the pair that is smaller in byte order.
        Pair counts are updated only for words that contain the merged pair, so training on
        the course corpus takes seconds, not minutes.
        """
        if vocab_size < 256:
            raise ValueError(f"vocab_size must be at least 256 (the bytes), got {vocab_size}")
        if not text:
            raise ValueError("cannot train a tokenizer on empty text")
        if split not in SPLITS:
            raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
        chunks = Counter(SPLITS[split].findall(text))
        words = [list(_to_bytes(w)) for w in chunks]
        freqs = list(chunks.values())
        vocab = [bytes([i]) for i in range(256)]
        counts: Counter = Counter()
        where: dict[tuple[int, int], set[int]] = defaultdict(set)  # pair → words containing it
        for w, (word, n) in enumerate(zip(words, freqs, strict=True)):
            for pair in zip(word, word[1:], strict=False):
                counts[pair] += n
                where[pair].add(w)
        # HF numbers the 256 base tokens in the order of their printable stand-ins; we break ties
        # the same way so that both libraries learn the same merges from the same text
        stand_in = bytes_to_unicode()
        order = {b: r for r, b in enumerate(sorted(range(256), key=lambda b: stand_in[b]))}
        merges = []
        while len(vocab) < vocab_size and counts:
            # most frequent; ties → the smaller pair of ids in HF tokenizers' numbering
            pair = max(counts, key=lambda p: (counts[p], -order[p[0]], -order[p[1]]))
            if counts[pair] < min_frequency:
                break
            new_id = len(vocab)
            merges.append(pair)
            vocab.append(vocab[pair[0]] + vocab[pair[1]])
            order[new_id] = new_id
            for w in list(where[pair]):
                old, n = words[w], freqs[w]
                new = merge_pair(old, pair, new_id)
                for p in zip(old, old[1:], strict=False):
                    counts[p] -= n
                    if counts[p] <= 0:
                        del counts[p]
                for p in zip(new, new[1:], strict=False):
                    counts[p] += n
                    where[p].add(w)
                words[w] = new
            del where[pair]
        return cls(merges, split)

    def _encode_chunk(self, chunk: str) -> list[int]:
        if chunk in self._cache:
            return self._cache[chunk]
        ids = list(_to_bytes(chunk))
        while len(ids) > 1:
            # apply the earliest-learned merge present, exactly as training created them
            pair = min(zip(ids, ids[1:], strict=False), key=lambda p: self.ranks.get(p, float("inf")))
            if pair not in self.ranks:
                break
            ids = merge_pair(ids, pair, self.ranks[pair])
        if len(self._cache) < 100_000:
            self._cache[chunk] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        if not isinstance(text, str):
            raise ValueError(f"encode expects a str, got {type(text).__name__}")
        out: list[int] = []
        for chunk in self.pattern.findall(text):
            out.extend(self._encode_chunk(chunk))
        return out

    def decode(self, ids) -> str:
        try:
            return _from_bytes(b"".join(self.vocab[int(i)] for i in ids))
        except IndexError:
            bad = [int(i) for i in ids if not 0 <= int(i) < self.vocab_size]
            raise ValueError(f"token ids must lie in [0, {self.vocab_size}), got {bad[:5]}") from None

    def token_bytes(self, i: int) -> bytes:
        return self.vocab[i]

    def to_dict(self) -> dict:
        d = {"kind": self.kind, "merges": [list(m) for m in self.merges]}
        if self.split != "gpt2":  # files written before the code split existed stay byte-identical
            d["split"] = self.split
        return d

    def save(self, path) -> None:
        Path(path).write_text(json.dumps(self.to_dict()))


def tokenizer_from_dict(d: dict):
    """Rebuild a tokenizer from :meth:`to_dict`'s output."""
    kind = d.get("kind") if isinstance(d, dict) else None
    if kind == "char":
        return CharTokenizer(d["chars"])
    if kind == "bpe":
        return ByteBPETokenizer([tuple(m) for m in d["merges"]], d.get("split", "gpt2"))
    raise ValueError(f"unknown tokenizer description: expected kind 'char' or 'bpe', got {kind!r}")


def load_tokenizer(path):
    """Load a tokenizer saved with ``save(path)``."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"tokenizer file {path} does not exist")
    try:
        d = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"tokenizer file {path} is not valid JSON: {err}") from None
    return tokenizer_from_dict(d)


def build_tokenizer(kind: str, text: str, vocab_size: int = 512, val_fraction: float = 0.1):
    """``"char"`` or ``"bpe"`` for ``text``.

    BPE learns its merges from the training part only (the first ``1 - val_fraction``), so the
    validation text stays unseen; the character alphabet is taken from the whole text, as in
    nanoGPT, so that every validation character can be encoded.
    """
    if kind == "char":
        return CharTokenizer.train(text)
    if kind == "bpe":
        return ByteBPETokenizer.train(text[: int(len(text) * (1 - val_fraction))], vocab_size)
    raise ValueError(f"tokenizer must be 'char' or 'bpe', got {kind!r}")


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's printable stand-in character for each byte (HF ``tokenizers`` shows merges this way)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs), strict=True))
