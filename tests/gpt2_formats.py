"""GPT-2's tokenizer files (encoder.json and vocab.bpe), and any vocabulary + ordered merges, for
the tests: through them tests/test_bpe_tokenizer.py checks that Hugging Face `tokenizers` and
tiktoken encode exactly as bpe_tokenizer.py does. Only the tests read these formats, so they live here."""

import json
from collections import defaultdict
from pathlib import Path

from bpe_extras import TokenizerError
from bpe_tokenizer import GPT2_SPLIT_PATTERN, Tokenizer
from bpe_tools import with_special_tokens


def gpt2_bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table (openai/gpt-2, src/encoder.py), used in its files."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    cs = list(bs)
    n = 0
    for b in range(256):
        if b not in bs:  # bytes that would print badly get the characters from U+0100 on
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def from_vocab_and_merges(
    vocab, merges, pattern=GPT2_SPLIT_PATTERN, special_tokens=(), alphabet=None, unk_id=None
) -> Tokenizer:
    """Build a tokenizer from id -> bytes and an ordered merge list, e.g. GPT-2's files.

    merges: pairs of ids (a, b), pairs of byte strings, or triples (a, b, new_id). For pairs,
    the new id is the token whose bytes are the concatenation (the lowest such id not made by an
    earlier merge). special_tokens: a dict text -> id, or texts (an existing token with the same
    bytes is used, else a new id is appended). alphabet/unk_id: as in the Tokenizer constructor.
    """
    try:
        n = len(vocab)
        if sorted(vocab) != list(range(n)):
            raise TokenizerError("vocab ids must be exactly 0..len(vocab)-1")
        table = [bytes(vocab[i]) for i in range(n)]
        by_bytes = defaultdict(list)
        for i, b in enumerate(table):
            by_bytes[b].append(i)
        produced, triples = set(), []
        for r, m in enumerate(merges):
            if len(m) == 3:
                a, b, c = (int(x) for x in m)
            else:
                a, b = (by_bytes[x][0] if isinstance(x, (bytes, bytearray)) else int(x) for x in m)
                c = next((i for i in by_bytes[table[a] + table[b]] if i not in produced), None)
                if c is None:
                    raise TokenizerError(f"merge {r}: no token for {table[a] + table[b]!r} in the vocabulary")
            produced.add(c)
            triples.append((a, b, c))
    except TokenizerError:
        raise
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise TokenizerError(f"malformed vocab or merges: {type(e).__name__}: {e}") from None
    if isinstance(special_tokens, dict):
        specials = dict(special_tokens)
    else:
        specials = {}
        for s in special_tokens:
            ids = [i for i in by_bytes.get(s.encode(), []) if i not in produced]
            if ids:
                specials[s] = ids[0]
            else:
                specials[s] = len(table)
                table.append(s.encode())
    if not specials:
        return Tokenizer(table, triples, pattern, alphabet, unk_id)
    return with_special_tokens(Tokenizer)(table, triples, pattern, alphabet, unk_id, special_tokens=specials)


def from_gpt2_files(encoder_json, vocab_bpe, special_tokens=("<|endoftext|>",)) -> Tokenizer:
    """Build from GPT-2's published encoder.json and vocab.bpe (tokens written as printable
    characters through GPT-2's bytes_to_unicode table). Encodes exactly as GPT-2 does."""
    decoder = {ch: b for b, ch in gpt2_bytes_to_unicode().items()}
    try:
        encoder = json.loads(Path(encoder_json).read_text(encoding="utf-8"))
        vocab = {i: bytes(decoder[ch] for ch in tok) for tok, i in encoder.items()}
        lines = Path(vocab_bpe).read_text(encoding="utf-8").split("\n")
        merges = []
        for line in lines:
            if line and not line.startswith("#version"):
                x, y = line.split(" ")
                merges.append((bytes(decoder[ch] for ch in x), bytes(decoder[ch] for ch in y)))
    except (OSError, ValueError, KeyError, AttributeError) as e:
        raise TokenizerError(f"cannot read GPT-2 files {encoder_json}, {vocab_bpe}: {e}") from None
    return from_vocab_and_merges(vocab, merges, GPT2_SPLIT_PATTERN, special_tokens)


def write_gpt2_files(t, folder):
    """Export in the format of GPT-2's published encoder.json and vocab.bpe."""
    b2u = gpt2_bytes_to_unicode()

    def show(b):
        return "".join(b2u[x] for x in b)

    encoder = {show(t.token_bytes(i)): i for i in range(t.vocab_size)}
    assert len(encoder) == t.vocab_size  # no two tokens with the same bytes
    (folder / "encoder.json").write_text(json.dumps(encoder), encoding="utf-8")
    lines = ["#version: 0.2"] + [f"{show(t.token_bytes(a))} {show(t.token_bytes(b))}" for a, b in t.merges]
    (folder / "vocab.bpe").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / "encoder.json", folder / "vocab.bpe"
