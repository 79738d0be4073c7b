"""Tests for bpe_tokenizer.py: exact merges and ids, round trips, save/load, special tokens, the
restricted alphabet, equivalence with a naive trainer, Hugging Face `tokenizers` and tiktoken
(through GPT-2's files, tests/gpt2_formats.py); the ladder's tokenizer kinds (part 2); atomic
writes; the CLI in the ladder's words, its old spellings, and every bad input to it as one line.

Run: pytest tests/test_bpe_tokenizer.py   (hermetic: tmp_path only, no network; about 10 s)
"""

import ast
import errno
import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import fields
from pathlib import Path

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bpe_extras
import bpe_tokenizer
import bpe_tools
from bpe_scaffold import ScaffoldTokenizer
from bpe_tokenizer import (
    ENGLISH_ALPHABET,
    GPT2_SPLIT_PATTERN,
    KINDS,
    CharTokenizer,
    Tokenizer,
    TokenizerError,
    load_tokenizer,
    takes_vocab,
    tokenizer_from_dict,
    train_kind,
)
from bpe_tools import cut_stream, encode_batch, encode_iterable, train_with_special_tokens
from tests.bpe_reference import initial_sequences, replace_pair
from tests.conftest import read_fifo
from tests.gpt2_formats import from_gpt2_files, from_vocab_and_merges, gpt2_bytes_to_unicode, write_gpt2_files

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "sample.txt"
SAMPLE = FIXTURE.read_text(encoding="utf-8")

TEXTS = [
    "",
    "a",
    " ",
    "\n",
    "hello world",
    "Hello, World! It's 2024; we'll see...",
    "你好，世界。日本語のテキスト",
    "👋🌍🚀 👨‍👩‍👧‍👦 🇫🇷",
    "mixed: café ñ Ω 한국어 \t tabs\n\n  spaces   \r\n crlf 😀!",
    "<|endoftext|>",
    SAMPLE,
]

fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def tok():
    return Tokenizer.train(SAMPLE, 256 + 200, progress=False)


@pytest.fixture(scope="module")
def tok_specials():
    return train_with_special_tokens(Tokenizer, SAMPLE, 300, ["<|endoftext|>", "<|end|>", "<| a |>"], progress=False)


@pytest.fixture(scope="module")
def tok_en():
    return Tokenizer.train(SAMPLE, 98 + 100, alphabet=ENGLISH_ALPHABET, progress=False)


# --- a naive reference: recount every pair after every merge (minbpe style) -----------------------


@given(st.lists(st.integers(0, 2), max_size=12), st.integers(0, 1))
def test_merge_lists_exactly_the_pairs_that_change(word, b):
    # the trainer updates only these pairs' counts: old pairs - gone + came must be the new pairs
    merged, gone, came = bpe_tokenizer.merge(word, 0, b, 9)
    assert tuple(merged) == replace_pair(tuple(word), 0, b, 9)
    pairs = Counter(zip(word, word[1:]))
    pairs.subtract(gone)
    pairs.update(came)
    assert min(pairs.values(), default=0) >= 0 and +pairs == Counter(zip(merged, merged[1:]))


def naive_train(text, num_merges, alphabet=None, ties="bytes"):
    """Returns (merges, index of the first merge whose best count was tied, or None).

    ties="bytes": among equal counts the greatest (bytes(a), bytes(b)) wins (bpe_tokenizer's rule);
    ties="hf": the smallest pair of Hugging Face ids wins (`tokenizers`' BpeTrainer with a
    ByteLevel alphabet: its 256 byte characters sorted by code point, then one id per merge)."""
    vocab, seqs = initial_sequences(text, alphabet)
    merges, first_tie = [], None
    for k in range(num_merges):
        stats = Counter()
        for seq, c in seqs.items():
            for pair in zip(seq, seq[1:]):
                stats[pair] += c
        if not stats:
            break
        top = max(stats.values())
        if first_tie is None and sum(v == top for v in stats.values()) > 1:
            first_tie = k
        if ties == "bytes":
            best = max(stats, key=lambda p: (stats[p], vocab[p[0]], vocab[p[1]]))
        else:
            b2u = gpt2_bytes_to_unicode()
            hf_id = {b: i for i, b in enumerate(sorted(range(256), key=lambda b: b2u[b]))}
            hf_id.update({256 + j: 256 + j for j in range(len(merges))})
            best = min(stats, key=lambda p: (-stats[p], hf_id[p[0]], hf_id[p[1]]))
        new = len(vocab)
        vocab.append(vocab[best[0]] + vocab[best[1]])
        merges.append(best)
        merged = Counter()
        for seq, c in seqs.items():
            merged[replace_pair(seq, *best, new)] += c
        seqs = merged
    return merges, first_tie


# --- the classic example ------------------------------------------------------------------------


def test_aaabdaaabac_byte_level():
    t = Tokenizer.train("aaabdaaabac", 256 + 3, progress=False)
    # aa (count 4); then (aa, a) and (a, b) tie at 2 and (b"aa", b"a") > (b"a", b"b"); then aaa+b.
    assert t.merges == [(97, 97), (256, 97), (257, 98)]
    assert [t.token_bytes(i) for i in (256, 257, 258)] == [b"aa", b"aaa", b"aaab"]
    assert t.encode("aaabdaaabac") == [258, 100, 258, 97, 99]
    assert t.decode([258, 100, 258, 97, 99]) == "aaabdaaabac"
    assert t.vocab_size == 259 and t.unk_id is None


def test_aaabdaaabac_restricted_alphabet():
    t = Tokenizer.train("aaabdaaabac", 4 + 1 + 3, alphabet="dcba", progress=False)
    # base ids: a=0 b=1 c=2 d=3, unk=4, merges 5, 6, 7
    assert t.unk_id == 4 and t.merges == [(0, 0), (5, 0), (6, 1)]
    assert t.encode("aaabdaaabac") == [7, 3, 7, 0, 2]
    assert t.encode("aaabz") == [7, 4]


# --- round trips ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_round_trip(tok, text):
    ids = tok.encode(text)
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert tok.decode(ids) == text
    assert sum(len(tok.token_bytes(i)) for i in ids) == len(text.encode())  # bits per byte relies on this


def test_round_trip_fixture_compresses(tok):
    ids = tok.encode(SAMPLE)
    assert tok.decode(ids) == SAMPLE and len(ids) < len(SAMPLE.encode()) / 2


@fast
@given(st.text())
def test_round_trip_any_unicode(tok, text):
    assert tok.decode(tok.encode(text)) == text


@fast
@given(st.text())
def test_restricted_alphabet_replaces_each_unknown_character(tok_en, text):
    ids = tok_en.encode(text)
    unknown = sum(ch not in ENGLISH_ALPHABET for ch in text)
    assert ids.count(tok_en.unk_id) == unknown
    assert tok_en.decode(ids) == "".join(ch if ch in ENGLISH_ALPHABET else "\ufffd" for ch in text)
    assert sum(len(tok_en.token_bytes(i)) for i in ids if i != tok_en.unk_id) == len(text.encode()) - sum(
        len(ch.encode()) for ch in text if ch not in ENGLISH_ALPHABET
    )


def test_lone_surrogate_is_a_clear_error(tok):
    with pytest.raises(TokenizerError, match="surrogate"):
        tok.encode("a\ud800b")


# --- training rule --------------------------------------------------------------------------------


@pytest.mark.parametrize("alphabet", [None, ENGLISH_ALPHABET])
def test_matches_naive_trainer_on_fixture(alphabet):
    base = 256 if alphabet is None else len(set(alphabet)) + 1
    t = Tokenizer.train(SAMPLE, base + 150, alphabet=alphabet, progress=False)
    assert t.merges == naive_train(SAMPLE, 150, alphabet)[0]


@fast
@given(st.text(alphabet="ab éz\n😀", max_size=60), st.integers(0, 30))
def test_matches_naive_trainer_on_random_text(text, n):
    # a tiny alphabet makes ties common, so this checks the tie rule and the incremental counts
    assert Tokenizer.train(text, 256 + n, progress=False).merges[:n] == naive_train(text, n)[0]


def test_deterministic_and_independent_of_workers(monkeypatch):
    monkeypatch.setattr(bpe_extras, "_CHUNK_CHARS", 400)  # force several chunks and a process pool
    text = SAMPLE * 3
    a = Tokenizer.train(text, 400, progress=False, num_workers=1)
    b = Tokenizer.train(text, 400, progress=False, num_workers=2)
    c = Tokenizer.train(iter(text.splitlines(keepends=True)), 400, progress=False, num_workers=2)
    assert a == b and a.to_dict() == Tokenizer.train(text, 400, progress=False).to_dict()
    assert c.vocab_size == 400  # lines are separate documents, so c may differ; it must still train


def test_vocab_smaller_than_alphabet_says_the_minimum():
    with pytest.raises(TokenizerError, match="minimum is 258"):
        train_with_special_tokens(Tokenizer, "abc", 200, ["<|a|>", "<|b|>"], progress=False)
    with pytest.raises(TokenizerError, match=r"minimum is 98 \(97 base symbols \+ 1 unknown\)"):
        Tokenizer.train("abc", 50, alphabet=ENGLISH_ALPHABET, progress=False)


def test_runs_out_of_pairs():
    t = Tokenizer.train("ab ab", 1000, progress=False)
    assert t.merges == [(97, 98), (32, 256)] and t.vocab_size == 258


# --- special tokens -------------------------------------------------------------------------------


def test_special_tokens_never_split_overlapping_and_adjacent():
    specials = ["<|endoftext|>", "<|end|>", "<|endoftext|><|end|>"]
    t = train_with_special_tokens(Tokenizer, SAMPLE + "<|endoftext|>" * 50, 300, specials, progress=False)
    eot, end, both = (t.special_tokens[s] for s in specials)
    assert (eot, end, both) == (297, 298, 299)
    assert t.token_bytes(eot) == b"<|endoftext|>"
    assert t.encode("<|endoftext|>") == [eot]
    assert t.encode("<|endoftext|><|end|>") == [both]  # the longest wins
    assert t.encode("<|end|><|endoftext|>") == [end, eot]
    ids = t.encode("hello<|endoftext|>world")
    assert ids[len(t.encode("hello"))] == eot and t.decode(ids) == "hello<|endoftext|>world"
    assert t.encode("hello") + [eot] + t.encode("world") == ids
    # the special text was never counted, so no merge learned any of it
    assert not any(b"<|" in t.token_bytes(i) for i in range(256, 297))


def test_special_token_in_restricted_alphabet():
    t = train_with_special_tokens(Tokenizer, SAMPLE, 98 + 20 + 1, ["<|é|>"], alphabet=ENGLISH_ALPHABET, progress=False)
    assert t.special_tokens == {"<|é|>": 118} and t.token_bytes(118) == "<|é|>".encode()
    assert t.encode("a<|é|>é") == [t.encode("a")[0], 118, t.unk_id]
    assert t.decode(t.encode("x<|é|>")) == "x<|é|>"


# --- save / load ----------------------------------------------------------------------------------


@pytest.mark.parametrize("alphabet", [None, ENGLISH_ALPHABET])
def test_save_load_identical(tmp_path, alphabet):
    t = train_with_special_tokens(Tokenizer, SAMPLE, 400, ["<|endoftext|>"], alphabet=alphabet, progress=False)
    t.save(tmp_path / "a.json")
    u = Tokenizer.load(tmp_path / "a.json")
    u.save(tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert u == t and u.encode(SAMPLE) == t.encode(SAMPLE) and u.unk_id == t.unk_id
    d = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert d["format"] == "llm-ladder-bpe" and d["version"] == 1 and d["vocab"][str(t.encode(" ")[0])] == " "


@pytest.mark.parametrize(
    "content, match",
    [
        ('{"format": "llm-ladder-bpe", "version": 1, "vocab_s', "not valid JSON"),
        ("[1, 2]", "not a llm-ladder-bpe tokenizer file"),
        ('{"format": "llm-ladder-bpe", "version": 7}', "format version 7; this bpe_tokenizer.py reads version 1"),
        ('{"format": "llm-ladder-bpe", "version": 1, "vocab_size": 3}', "malformed"),
    ],
)
def test_bad_files_give_one_line(tmp_path, content, match):
    (tmp_path / "t.json").write_text(content)
    with pytest.raises(TokenizerError, match=match) as e:
        Tokenizer.load(tmp_path / "t.json")
    assert "\n" not in str(e.value)


def test_files_written_before_special_tokens_moved_still_load(tmp_path, tok, tok_specials):
    # until special tokens moved to bpe_extras.py, every file had "special_tokens" ({} when none)
    items = list(tok.to_dict().items())
    old = dict(items[:5] + [("special_tokens", {})] + items[5:])
    (tmp_path / "old.json").write_text(json.dumps(old, ensure_ascii=False), encoding="utf-8")
    assert type(Tokenizer.load(tmp_path / "old.json")) is Tokenizer and Tokenizer.load(tmp_path / "old.json") == tok
    d = tok_specials.to_dict()
    assert list(d)[5] == "special_tokens" and Tokenizer.from_dict(d).special_tokens == tok_specials.special_tokens


def test_tampered_file_is_rejected(tmp_path, tok):
    d = tok.to_dict()
    d["vocab"]["300"] = "xyz"
    (tmp_path / "t.json").write_text(json.dumps(d))
    with pytest.raises(TokenizerError, match="merge 44"):
        Tokenizer.load(tmp_path / "t.json")


# --- rebuilt from vocab + merges, and other implementations ------------------------------------------


@pytest.mark.parametrize("alphabet", [None, ENGLISH_ALPHABET])
def test_rebuilt_from_vocab_and_merges_encodes_identically(tok, tok_en, alphabet):
    t = tok if alphabet is None else tok_en
    for merges in (t.merges, [(t.token_bytes(a), t.token_bytes(b)) for a, b in t.merges]):
        u = from_vocab_and_merges(t.vocab, merges, alphabet=alphabet, unk_id=t.unk_id)
        assert u == t
        for text in TEXTS:
            assert u.encode(text) == t.encode(text)


def test_gpt2_files_match_huggingface_and_tiktoken(tmp_path, tok):
    """Export GPT-2-format files, load them here, in `tokenizers` and in tiktoken: same ids."""
    tiktoken = pytest.importorskip("tiktoken")
    hf = pytest.importorskip("tokenizers")
    enc_json, merges_txt = write_gpt2_files(tok, tmp_path)
    ours = from_gpt2_files(enc_json, merges_txt, special_tokens=())
    assert ours == tok

    hf_tok = hf.Tokenizer(hf.models.BPE.from_file(str(enc_json), str(merges_txt)))
    hf_tok.pre_tokenizer = hf.pre_tokenizers.ByteLevel(add_prefix_space=False)
    ranks = {tok.token_bytes(i): i for i in range(tok.vocab_size)}
    tt = tiktoken.Encoding("ladder-test", pat_str=GPT2_SPLIT_PATTERN, mergeable_ranks=ranks, special_tokens={})
    for text in TEXTS[:-2] + [SAMPLE, SAMPLE.upper(), SAMPLE[::-1]]:
        ids = tok.encode(text)
        assert hf_tok.encode(text).ids == ids
        assert tt.encode_ordinary(text) == ids


def test_merges_match_huggingface_trainer():
    """`tokenizers` breaks count ties by the smallest pair of its ids, we by the greatest pair of
    byte strings. So: its merges must equal the naive trainer's with its tie rule (all of them),
    ours the naive trainer's with our rule, and ours equal its merges up to the first tie."""
    hf = pytest.importorskip("tokenizers")
    text = SAMPLE * 3 + SAMPLE.replace(" ", "  ")
    n = 150

    hf_tok = hf.Tokenizer(hf.models.BPE())
    hf_tok.pre_tokenizer = hf.pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = hf.trainers.BpeTrainer(
        vocab_size=256 + n,
        min_frequency=0,
        show_progress=False,
        initial_alphabet=hf.pre_tokenizers.ByteLevel.alphabet(),
    )
    hf_tok.train_from_iterator([text], trainer)
    u2b = {u: b for b, u in gpt2_bytes_to_unicode().items()}
    hf_merges = json.loads(hf_tok.to_str())["model"]["merges"]
    hf_merges = [m.split(" ") if isinstance(m, str) else m for m in hf_merges]
    hf_merges = [tuple(bytes(u2b[c] for c in s) for s in m) for m in hf_merges]

    def as_bytes(merges):
        vocab = [bytes([i]) for i in range(256)]
        for a, b in merges:
            vocab.append(vocab[a] + vocab[b])
        return [(vocab[a], vocab[b]) for a, b in merges]

    assert as_bytes(naive_train(text, n, ties="hf")[0]) == hf_merges
    reference, first_tie = naive_train(text, n)
    ours = Tokenizer.train(text, 256 + n, progress=False)
    assert ours.merges == reference
    assert as_bytes(ours.merges)[:first_tie] == hf_merges[:first_tie]


# --- streaming and parallel encoding ----------------------------------------------------------------


@fast
@given(st.text(alphabet=st.sampled_from(list("ab é\n\t😀'sx.!<|>")), max_size=80), st.data())
def test_pre_tokens_never_straddle_a_cut(text, data):
    pat = regex.compile(GPT2_SPLIT_PATTERN)
    whole = pat.findall(text)
    for m in bpe_extras._CUT.finditer(text):
        p = m.start()
        assert pat.findall(text[:p]) + pat.findall(text[p:]) == whole


FRAGMENTS = ["a", "b", " ", "é", "\n", "\t", "😀", "<|", "|>", "end", "oftext", " a "]


@fast
@given(st.lists(st.lists(st.sampled_from(FRAGMENTS), max_size=6).map("".join), max_size=12))
def test_encode_iterable_equals_encode_of_the_whole(tok_specials, chunks):
    t = tok_specials
    assert list(encode_iterable(t, chunks, buffer_chars=5)) == t.encode("".join(chunks))


@fast
@given(st.lists(st.lists(st.sampled_from(FRAGMENTS), max_size=6).map("".join), max_size=12), st.integers(1, 8))
def test_cut_stream_pieces_pretokenize_as_the_whole(chunks, size):
    pieces = list(cut_stream(chunks, size, ["<|endoftext|>"]))
    whole = "".join(chunks)
    assert "".join(pieces) == whole and all(pieces)
    pat = regex.compile(GPT2_SPLIT_PATTERN)
    assert [w for p in pieces for w in pat.findall(p)] == pat.findall(whole)
    assert sum(len(p.split()) for p in pieces) == len(whole.split())  # words are never cut either


def test_encode_iterable_keeps_a_special_token_split_across_chunks(tok_specials):
    chunks = ["x <| a", " |> y <|endof", "text|>"]
    ids = list(encode_iterable(tok_specials, chunks, buffer_chars=3))
    assert ids == tok_specials.encode("".join(chunks))
    assert tok_specials.special_tokens["<| a |>"] in ids and tok_specials.special_tokens["<|endoftext|>"] in ids


def test_encode_iterable_over_file_lines(tok):
    with open(FIXTURE, encoding="utf-8") as f:
        assert list(encode_iterable(tok, f, buffer_chars=100)) == tok.encode(SAMPLE)


def test_encode_batch_matches_encode(monkeypatch, tok):
    monkeypatch.setattr(bpe_tools, "_CHUNK_CHARS", 64)  # small enough to use the process pool
    texts = TEXTS + [SAMPLE * 40]
    assert encode_batch(tok, texts, num_workers=2) == [tok.encode(t) for t in texts]
    assert encode_batch(tok, texts, num_workers=1) == [tok.encode(t) for t in texts]


def test_custom_pattern_never_drops_text():
    t = Tokenizer.train(SAMPLE, 300, pattern=r"\w+", progress=False)
    assert t.decode(t.encode("hi, there! ☃")) == "hi, there! ☃"
    with pytest.raises(TokenizerError, match="capturing groups"):
        Tokenizer.train(SAMPLE, 300, pattern=r"(\w)+", progress=False)


# --- the ladder's tokenizers by name (part 2) --------------------------------------------------------


def test_the_tokenizer_owns_its_kinds_and_imports_nothing_from_common():
    for name in ("bpe_tokenizer.py", "bpe_scaffold.py", "bpe_extras.py", "bpe_tools.py"):
        tree = ast.parse((ROOT / name).read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not [m for m in imported if m.split(".")[0] == "common"], f"{name} must not import common/"
        if name not in ("bpe_tokenizer.py", "bpe_scaffold.py"):  # Scaffold-BPE builds on part 1
            assert "bpe_tokenizer" not in imported, f"{name} must not import bpe_tokenizer.py (it is the layer below)"
    from common.config import TrainConfig

    field = next(f for f in fields(TrainConfig) if f.name == "tokenizer")
    assert field.metadata["choices"] == tuple(KINDS) and field.default in KINDS
    assert [k for k in KINDS if not takes_vocab(k)] == ["char"]


def test_every_kind_is_the_tokenizer_it_names(capsys):
    assert list(KINDS) == ["char", "bpe", "bpe-english", "bpe-scaffold"]
    assert isinstance(train_kind("char", SAMPLE, 0), CharTokenizer)
    assert train_kind("bpe", SAMPLE, 300, progress=False) == Tokenizer.train(SAMPLE, 300, progress=False)
    en = Tokenizer.train(SAMPLE, 300, ENGLISH_ALPHABET, progress=False)
    assert train_kind("bpe-english", SAMPLE, 300, progress=False) == en
    scaffold = ScaffoldTokenizer.train(SAMPLE, 300, ENGLISH_ALPHABET, progress=False)
    assert train_kind("bpe-scaffold", SAMPLE, 300, progress=False) == scaffold and scaffold.scaffold_tokens


@pytest.mark.parametrize("kind", ["char", "bpe", "bpe-scaffold"])
def test_every_kind_comes_back_from_its_dict_and_its_file(tmp_path, capsys, kind):
    t = train_kind(kind, SAMPLE, 300, progress=False)
    u = tokenizer_from_dict(json.loads(json.dumps(t.to_dict())))
    t.save(tmp_path / "t.json")
    for back in (u, load_tokenizer(tmp_path / "t.json")):
        assert type(back) is type(t) and back.to_dict() == t.to_dict() and back.encode(SAMPLE) == t.encode(SAMPLE)


@pytest.mark.parametrize(
    "kind, vocab, match",
    [
        ("bpe", 100, "--vocab 100 is smaller than the bpe alphabet; use at least 256"),
        ("bpe-english", 50, "--vocab 50 is smaller than the bpe-english alphabet; use at least 98"),
        ("bpe-scaffold", 0, "--tokenizer bpe-scaffold needs --vocab N"),
        ("bpe-french", 300, "unknown tokenizer 'bpe-french'; choose one of char, bpe, bpe-english, bpe-scaffold"),
    ],
)
def test_train_kind_bad_settings_are_one_line(kind, vocab, match):
    with pytest.raises(TokenizerError, match=re.escape(match)):
        train_kind(kind, SAMPLE, vocab, progress=False)


def test_train_kind_says_once_that_the_text_ran_out_of_pairs(capsys):
    t = train_kind("bpe", "ab ab", 10_000_000, progress=False)
    out = capsys.readouterr().out
    assert t.vocab_size == 258 and out.count("no more pairs to merge") == 1
    assert "the bpe tokenizer has 258 ids, not the 10,000,000 of --vocab" in out


def test_bad_char_tokenizer_file_is_one_line(tmp_path):
    (tmp_path / "c.json").write_text('{"format": "llm-ladder-char", "version": 1, "chars": "aab"}')
    with pytest.raises(TokenizerError, match="distinct"):
        load_tokenizer(tmp_path / "c.json")


def test_ladder_caches_every_kind_and_reports_a_short_vocabulary(tmp_path, capsys):
    from common.corpus import Corpus
    from common.data import get_tokenizer
    from common.errors import LadderError

    corpus = Corpus.of("sample", "test", SAMPLE, SAMPLE[:100], SAMPLE[:100])
    for kind in KINDS:
        t = get_tokenizer(kind, 300, corpus, tmp_path)
        assert get_tokenizer(kind, 300, corpus, tmp_path).to_dict() == t.to_dict()  # the second from the cache
    assert len(list((tmp_path / "tokenizers").glob("*.json"))) == len(KINDS)
    capsys.readouterr()
    get_tokenizer("bpe", 10_000_000, corpus, tmp_path)
    assert capsys.readouterr().out.count("no more pairs to merge") == 1
    with pytest.raises(LadderError, match="--vocab 10 is smaller than the bpe alphabet"):
        get_tokenizer("bpe", 10, corpus, tmp_path)


# --- writing files: atomic, and one line when the disk says no ---------------------------------------


def test_write_atomic_replaces_and_leaves_no_temporary_file(tmp_path, tok):
    tok.save(tmp_path / "t.json")
    tok.save(tmp_path / "t.json")
    assert Tokenizer.load(tmp_path / "t.json") == tok
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
def test_write_atomic_writes_through_a_pipe_and_never_replaces_it(tmp_path, tok):
    # the tokenizer's --out /dev/stdout (or, as root, /dev/null) must not be renamed over
    got, still_fifo = read_fifo(tmp_path, tok.save)
    assert Tokenizer.from_dict(json.loads(got)) == tok and still_fifo


def test_full_disk_keeps_the_old_file_and_removes_the_temporary_one(tmp_path, tok):
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    out = tmp_path / "t.json"
    Tokenizer.train("abc", 257, progress=False).save(out)
    before = out.read_bytes()
    (tmp_path / f"t.json.{os.getpid()}.tmp").symlink_to("/dev/full")  # the temporary file lands on a full disk
    with pytest.raises(TokenizerError, match=f"cannot write {re.escape(str(out))}: no space left") as e:
        tok.save(out)
    assert "\n" not in str(e.value) and ".tmp" not in str(e.value)
    assert out.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["t.json"]


@pytest.mark.parametrize("fault", [OSError(errno.EROFS, "Read-only file system"), KeyboardInterrupt()])
def test_a_failed_rename_or_ctrl_c_keeps_the_old_file(tmp_path, tok, monkeypatch, fault):
    out = tmp_path / "t.json"
    Tokenizer.train("abc", 257, progress=False).save(out)
    before = out.read_bytes()

    def fail(*args):
        raise fault

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(TokenizerError if isinstance(fault, OSError) else KeyboardInterrupt):
        tok.save(out)
    assert out.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["t.json"]


# --- the command line ---------------------------------------------------------------------------------


def cli(*argv) -> int:
    """bpe_tokenizer's main in this process; the exit status (argparse errors exit through SystemExit)."""
    try:
        return bpe_tokenizer.main([str(a) for a in argv])
    except SystemExit as e:
        return e.code


def test_cli_train_encode_decode(tmp_path, capsys):
    data = tmp_path / "corpus.txt"
    data.write_text(SAMPLE * 20, encoding="utf-8")
    out = tmp_path / "tok.json"
    assert cli("train", "--data", data, "--vocab", 300, "--out", out, "--no_progress") == 0
    summary = capsys.readouterr().out
    assert "merges: 44;" in summary and "train: " in summary and "bytes/token" in summary
    assert Tokenizer.load(out) == Tokenizer.train(SAMPLE * 20, 300, progress=False)
    assert cli("train", "--data", data, "--valid", FIXTURE, "--vocab", 300, "--out", out, "--no_progress") == 0
    assert "valid: " in capsys.readouterr().out
    assert cli("encode", "--tokenizer", out, "--text", "héllo wörld") == 0
    ids = capsys.readouterr().out
    assert cli("decode", "--tokenizer", out, "--ids", ids) == 0
    assert capsys.readouterr().out == "héllo wörld"
    assert cli("encode", "--tokenizer", out, "--input", FIXTURE, "--out", tmp_path / "ids.txt") == 0
    assert cli("decode", "--tokenizer", out, "--input", tmp_path / "ids.txt", "--out", tmp_path / "back.txt") == 0
    assert (tmp_path / "back.txt").read_text(encoding="utf-8") == SAMPLE
    assert not list(tmp_path.glob("*.tmp"))


def test_cli_says_once_that_the_vocabulary_is_smaller_than_asked(tmp_path, capsys):
    data = tmp_path / "corpus.txt"
    data.write_text(SAMPLE, encoding="utf-8")
    assert cli("train", "--data", data, "--vocab", 10_000_000, "--out", tmp_path / "t.json", "--no_progress") == 0
    captured = capsys.readouterr()
    n = Tokenizer.load(tmp_path / "t.json").vocab_size
    assert n < 10_000_000 and f"vocab_size: {n:,}" in captured.out
    assert (captured.out + captured.err).count("no more pairs to merge") == 1


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# Each bad input: exit status 2 and one line on stderr that starts "error: ", never a traceback.
# Names in capitals are files made in tmp_path: TEXT a good corpus, TOK a good tokenizer.
BAD_INPUTS = {
    "missing --data": (["train", "--data", "MISSING.txt"], "--data MISSING.txt does not exist"),
    "a corpus name as --data": (["train", "--data", "wikitext-2"], "$LADDER_DATA_DIR/wikitext-2/train.txt"),
    "non-UTF-8 --data": (["train", "--data", "LATIN1"], "is not UTF-8 text: byte 7 (line 2) is b'\\xe9'"),
    "empty --data": (["train", "--data", "EMPTY"], "has no text"),
    "a folder as --data": (["train", "--data", "FOLDER"], "is a folder"),
    "vocab below the alphabet": (["train", "--data", "TEXT", "--vocab", "10"], "minimum is 256"),
    "vocab below the english alphabet": (
        ["train", "--data", "TEXT", "--vocab", "50", "--alphabet", "english"],
        "minimum is 98 (97 base symbols + 1 unknown)",
    ),
    "empty special token": (["train", "--data", "TEXT", "--special", ""], "special tokens must be non-empty"),
    "bad pattern": (["train", "--data", "TEXT", "--pattern", "(?"], "is not a valid regular expression"),
    "--out is a folder": (["train", "--data", "TEXT", "--out", "FOLDER"], "is a folder; give a file path"),
    "--out under a file": (["train", "--data", "TEXT", "--out", "TEXT/t.json"], "is a file, not a folder"),
    "mistyped flag": (["train", "--data", "TEXT", "--vocb", "10"], "unrecognized arguments"),
    "missing tokenizer": (["encode", "--tokenizer", "nope.json", "--text", "x"], "does not exist"),
    "truncated tokenizer": (["encode", "--tokenizer", "TRUNCATED", "--text", "x"], "not valid JSON"),
    "not a tokenizer": (["encode", "--tokenizer", "NOT_TOK", "--text", "x"], "not a llm-ladder-bpe tokenizer file"),
    "non-UTF-8 tokenizer": (["encode", "--tokenizer", "LATIN1", "--text", "x"], "is not UTF-8 text"),
    "tampered tokenizer": (["encode", "--tokenizer", "TAMPERED", "--text", "x"], "malformed"),
    "non-UTF-8 --input": (["encode", "--tokenizer", "TOK", "--input", "LATIN1"], "--input"),
    "encode --out is a folder": (["encode", "--tokenizer", "TOK", "--text", "x", "--out", "FOLDER"], "is a folder"),
    "id outside the vocabulary": (["decode", "--tokenizer", "TOK", "--ids", "1 99999"], "outside"),
    "ids that are not integers": (["decode", "--tokenizer", "TOK", "--ids", "1 x"], "integers"),
    # the same faults in the new spelling, and faults of the spellings themselves
    "missing --tokenizer_file": (["encode", "--tokenizer_file", "nope.json", "--text", "x"], "does not exist"),
    "truncated --tokenizer_file": (["decode", "--tokenizer_file", "TRUNCATED", "--ids", "1"], "not valid JSON"),
    "no tokenizer file": (["encode", "--text", "x"], "encode needs --tokenizer_file FILE"),
    "a kind where a file belongs": (["encode", "--tokenizer", "bpe", "--text", "x"], "train --tokenizer bpe"),
    "both spellings": (["decode", "--tokenizer", "TOK", "--tokenizer_file", "TOK", "--ids", "1"], "alone"),
    "an unknown kind": (["train", "--data", "TEXT", "--tokenizer", "bpe-french"], "invalid choice: 'bpe-french'"),
    "a kind and its old spelling": (
        ["train", "--data", "TEXT", "--tokenizer", "bpe", "--alphabet", "english"],
        "give --tokenizer bpe alone",
    ),
    "char with a special token": (
        ["train", "--data", "TEXT", "--tokenizer", "char", "--special", "<s>"],
        "char has no",
    ),
    "vocab below the kind's alphabet": (
        ["train", "--data", "TEXT", "--tokenizer", "bpe-scaffold", "--vocab", "50"],
        "minimum is 98 (97 base symbols + 1 unknown)",
    ),
}


@pytest.mark.parametrize("argv, match", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_cli_bad_input_is_one_line(tmp_path, capsys, tok, argv, match):
    tok.save(tmp_path / "TOK")
    tampered = tok.to_dict()
    tampered["vocab"]["0"] = 5  # a number where bytes belong
    (tmp_path / "TAMPERED").write_text(json.dumps(tampered))
    write(tmp_path / "TEXT", SAMPLE.encode())
    write(tmp_path / "LATIN1", "abc\ncafé".encode("latin-1"))
    write(tmp_path / "EMPTY", b"")
    write(tmp_path / "TRUNCATED", (tmp_path / "TOK").read_bytes()[:500])
    write(tmp_path / "NOT_TOK", b"[1, 2]")
    (tmp_path / "FOLDER").mkdir()
    argv = [str(tmp_path / a) if a.split("/")[0].isupper() else a for a in argv]
    if argv[0] == "train" and "--out" not in argv:
        argv += ["--out", str(tmp_path / "out.json")]
    if argv[0] == "train":
        argv += ["--no_progress"] + ([] if "--out" in argv else ["--out", str(tmp_path / "out.json")])
    assert cli(*argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and match in err, err
    assert ".tmp" not in err  # the user's path, never the temporary file's
    assert not list(tmp_path.glob("**/*.tmp")) and not (tmp_path / "out.json").exists()
    assert not any((tmp_path / "FOLDER").iterdir())


def test_cli_unwritable_out_is_found_before_training(tmp_path, capsys, monkeypatch):
    # a read-only folder, as seen by os.access (root ignores permission bits, so it is simulated)
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    assert cli("train", "--data", FIXTURE, "--vocab", 300, "--out", tmp_path / "t.json", "--no_progress") == 2
    err = capsys.readouterr().err
    assert f"--out {tmp_path / 't.json'}: cannot write in {tmp_path}" in err and err.count("\n") == 1


def test_cli_write_failure_after_training_is_one_line(tmp_path, capsys, monkeypatch):
    def read_only(*args):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "replace", read_only)
    assert cli("train", "--data", FIXTURE, "--vocab", 300, "--out", tmp_path / "t.json", "--no_progress") == 2
    err = capsys.readouterr().err
    assert err == f"error: cannot write {tmp_path / 't.json'}: read-only file system; write elsewhere\n"
    assert not list(tmp_path.iterdir())


def test_cli_out_folder_end_to_end(tmp_path):
    """The one subprocess test: issue 16.10 as a user meets it (the others call main in-process)."""
    (tmp_path / "out").mkdir()
    argv = ["train", "--data", FIXTURE, "--vocab", "300", "--out", tmp_path / "out", "--no_progress"]
    r = subprocess.run([sys.executable, ROOT / "bpe_tokenizer.py", *map(str, argv)], capture_output=True, text=True)
    assert r.returncode == 2 and r.stdout == ""
    assert (
        r.stderr
        == f"error: --out {tmp_path / 'out'} is a folder; give a file path such as {tmp_path / 'out' / 'tokenizer.json'}\n"
    )
    assert not list(tmp_path.glob("**/*.tmp")) and not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("kind", KINDS)
def test_cli_speaks_the_ladders_words(tmp_path, capsys, kind):
    """train --tokenizer KIND writes the tokenizer the ladder's KIND is; encode and decode take it
    with --tokenizer_file; no notice about old spellings."""
    out = tmp_path / "tok.json"
    assert cli("train", "--data", FIXTURE, "--tokenizer", kind, "--vocab", 300, "--out", out, "--no_progress") == 0
    summary = capsys.readouterr()
    assert "note:" not in summary.err and "bytes/token" in summary.out
    trainer, options = bpe_tokenizer.trainer_of(kind)
    want = trainer.train(SAMPLE) if not takes_vocab(kind) else trainer.train(SAMPLE, 300, progress=False, **options)
    assert load_tokenizer(out).to_dict() == want.to_dict()
    assert cli("encode", "--tokenizer_file", out, "--text", "héllo wörld") == 0
    ids = capsys.readouterr().out
    assert ids.split() == [str(i) for i in want.encode("héllo wörld")]
    assert cli("decode", "--tokenizer_file", out, "--ids", ids) == 0
    decoded = capsys.readouterr()
    assert decoded.out == want.decode(want.encode("héllo wörld")) and "note:" not in decoded.err


def test_cli_default_kind_is_bpe(tmp_path, capsys):
    assert cli("train", "--data", FIXTURE, "--vocab", 300, "--out", tmp_path / "t.json", "--no_progress") == 0
    assert load_tokenizer(tmp_path / "t.json") == train_kind("bpe", SAMPLE, 300, progress=False)


@pytest.mark.parametrize(
    "old, kind",
    [
        (["--alphabet", "bytes"], "bpe"),
        (["--alphabet", "english"], "bpe-english"),
        (["--alphabet", "english", "--scaffold"], "bpe-scaffold"),
    ],
)
def test_cli_train_old_spelling_works_with_one_notice(tmp_path, capsys, old, kind):
    argv = ["train", "--data", FIXTURE, "--vocab", 300, "--no_progress"]
    assert cli(*argv, "--out", tmp_path / "old.json", *old) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"note: {' '.join(old)} is now --tokenizer {kind};"), err
    assert cli(*argv, "--out", tmp_path / "new.json", "--tokenizer", kind) == 0
    assert (tmp_path / "old.json").read_bytes() == (tmp_path / "new.json").read_bytes()


def test_cli_byte_level_scaffold_still_works_with_one_notice(tmp_path, capsys):
    out = tmp_path / "t.json"
    assert cli("train", "--data", FIXTURE, "--vocab", 300, "--out", out, "--no_progress", "--scaffold") == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--tokenizer bpe-scaffold" in err
    assert load_tokenizer(out) == ScaffoldTokenizer.train(SAMPLE, 300, progress=False)


@pytest.mark.parametrize("command, source", [("encode", ["--text", "héllo"]), ("decode", ["--ids", "104 195 169"])])
def test_cli_old_tokenizer_file_spelling_works_with_one_notice(tmp_path, capsys, tok, command, source):
    tok.save(tmp_path / "tok.json")
    assert cli(command, "--tokenizer_file", tmp_path / "tok.json", *source) == 0
    new = capsys.readouterr()
    assert cli(command, "--tokenizer", tmp_path / "tok.json", *source) == 0
    old = capsys.readouterr()
    assert old.out == new.out
    notice = old.err.removeprefix(new.err)
    assert notice.startswith(f"note: --tokenizer {tmp_path / 'tok.json'} is now --tokenizer_file ")
    assert notice.count("\n") == 1 and "goes in the next release" in notice


def test_cli_special_tokens_and_a_char_tokenizer_file(tmp_path, capsys):
    out = tmp_path / "t.json"
    argv = ["train", "--data", FIXTURE, "--vocab", 300, "--out", out, "--no_progress", "--special", "<|endoftext|>"]
    assert cli(*argv) == 0
    t = load_tokenizer(out)
    assert t == train_with_special_tokens(Tokenizer, SAMPLE, 300, ["<|endoftext|>"], progress=False)
    assert t.special_tokens == {"<|endoftext|>": 299}
    capsys.readouterr()
    assert cli("encode", "--tokenizer_file", out, "--text", "a<|endoftext|>") == 0
    assert capsys.readouterr().out.split()[-1] == "299"
    # a char tokenizer, e.g. one a rung cached, encodes too
    CharTokenizer.train(SAMPLE).save(tmp_path / "c.json")
    assert cli("encode", "--tokenizer_file", tmp_path / "c.json", "--text", "ab") == 0
    assert capsys.readouterr().out.split() == [str(i) for i in CharTokenizer.train(SAMPLE).encode("ab")]
