"""Shared start of the naive reference trainers in the tokenizer tests: pre-tokenize with GPT-2's
pattern and turn each distinct pre-token into a tuple of base-symbol ids, with its count."""

from collections import Counter

import regex

from bpe_tokenizer import GPT2_SPLIT_PATTERN


def initial_sequences(text: str, alphabet: str | None) -> tuple[list[bytes], Counter]:
    """(base vocabulary as bytes, Counter of base-id tuples). Byte-level when alphabet is None;
    otherwise the sorted alphabet then an empty unk entry, with words cut at unknown characters
    (unk never merges)."""
    words = Counter(regex.findall(GPT2_SPLIT_PATTERN, text))
    if alphabet is None:
        return [bytes([i]) for i in range(256)], Counter({tuple(w.encode()): c for w, c in words.items()})
    chars = sorted(set(alphabet))
    seqs = Counter()
    for w, c in words.items():
        for part in regex.split("[^" + regex.escape("".join(chars)) + "]", w):
            seqs[tuple(chars.index(ch) for ch in part)] += c
    return [c.encode() for c in chars] + [b""], seqs


def replace_pair(seq, a, b, new) -> tuple:
    """Every non-overlapping (a, b) in seq, left to right, becomes new (the textbook way)."""
    out, i = [], 0
    while i < len(seq):
        if seq[i : i + 2] == (a, b):
            out.append(new)
            i += 2
        else:
            out.append(seq[i])
            i += 1
    return tuple(out)
