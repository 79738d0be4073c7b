"""Tests for bpe_tokenizer.py: exact merges and ids, round trips, save/load, special tokens, the
restricted alphabet, and equivalence with a naive trainer, Hugging Face `tokenizers` and tiktoken.

Run: pytest tests/test_bpe_tokenizer.py   (hermetic: tmp_path only, no network; about 20 s)
"""

import json
from collections import Counter
from pathlib import Path

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bpe_tokenizer
from bpe_tokenizer import ENGLISH_ALPHABET, GPT2_SPLIT_PATTERN, Tokenizer, TokenizerError, gpt2_bytes_to_unicode
from tests.bpe_reference import initial_sequences

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
    return Tokenizer.train(SAMPLE, 300, special_tokens=["<|endoftext|>", "<|end|>", "<| a |>"], progress=False)


@pytest.fixture(scope="module")
def tok_en():
    return Tokenizer.train(SAMPLE, 98 + 100, alphabet=ENGLISH_ALPHABET, progress=False)


# --- a naive reference: recount every pair after every merge (minbpe style) -----------------------


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
            merged[tuple(bpe_tokenizer._merge(list(seq), *best, new))] += c
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
    assert ids.count(tok_en.unk_id) == unknown == tok_en.count_unknown(text)
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
    monkeypatch.setattr(bpe_tokenizer, "_CHUNK_CHARS", 400)  # force several chunks and a process pool
    text = SAMPLE * 3
    a = Tokenizer.train(text, 400, progress=False, num_workers=1)
    b = Tokenizer.train(text, 400, progress=False, num_workers=2)
    c = Tokenizer.train(iter(text.splitlines(keepends=True)), 400, progress=False, num_workers=2)
    assert a == b and a.to_dict() == Tokenizer.train(text, 400, progress=False).to_dict()
    assert c.vocab_size == 400  # lines are separate documents, so c may differ; it must still train


def test_vocab_smaller_than_alphabet_says_the_minimum():
    with pytest.raises(TokenizerError, match="minimum is 258"):
        Tokenizer.train("abc", 200, special_tokens=["<|a|>", "<|b|>"], progress=False)
    with pytest.raises(TokenizerError, match=r"minimum is 98 \(97 base symbols \+ 1 unknown\)"):
        Tokenizer.train("abc", 50, alphabet=ENGLISH_ALPHABET, progress=False)


def test_runs_out_of_pairs():
    t = Tokenizer.train("ab ab", 1000, progress=False)
    assert t.merges == [(97, 98), (32, 256)] and t.vocab_size == 258


# --- special tokens -------------------------------------------------------------------------------


def test_special_tokens_never_split_overlapping_and_adjacent():
    specials = ["<|endoftext|>", "<|end|>", "<|endoftext|><|end|>"]
    t = Tokenizer.train(SAMPLE + "<|endoftext|>" * 50, 300, special_tokens=specials, progress=False)
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
    t = Tokenizer.train(SAMPLE, 98 + 20 + 1, alphabet=ENGLISH_ALPHABET, special_tokens=["<|é|>"], progress=False)
    assert t.special_tokens == {"<|é|>": 118} and t.token_bytes(118) == "<|é|>".encode()
    assert t.encode("a<|é|>é") == [t.encode("a")[0], 118, t.unk_id]
    assert t.decode(t.encode("x<|é|>")) == "x<|é|>"


# --- save / load ----------------------------------------------------------------------------------


@pytest.mark.parametrize("alphabet", [None, ENGLISH_ALPHABET])
def test_save_load_identical(tmp_path, alphabet):
    t = Tokenizer.train(SAMPLE, 400, alphabet=alphabet, special_tokens=["<|endoftext|>"], progress=False)
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
        u = Tokenizer.from_vocab_and_merges(t.vocab, merges, alphabet=alphabet, unk_id=t.unk_id)
        assert u == t
        for text in TEXTS:
            assert u.encode(text) == t.encode(text)


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


def test_gpt2_files_match_huggingface_and_tiktoken(tmp_path, tok):
    """Export GPT-2-format files, load them here, in `tokenizers` and in tiktoken: same ids."""
    tiktoken = pytest.importorskip("tiktoken")
    hf = pytest.importorskip("tokenizers")
    enc_json, merges_txt = write_gpt2_files(tok, tmp_path)
    ours = Tokenizer.from_gpt2_files(enc_json, merges_txt, special_tokens=())
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
    for m in bpe_tokenizer._CUT.finditer(text):
        p = m.start()
        assert pat.findall(text[:p]) + pat.findall(text[p:]) == whole


FRAGMENTS = ["a", "b", " ", "é", "\n", "\t", "😀", "<|", "|>", "end", "oftext", " a "]


@fast
@given(st.lists(st.lists(st.sampled_from(FRAGMENTS), max_size=6).map("".join), max_size=12))
def test_encode_iterable_equals_encode_of_the_whole(tok_specials, chunks):
    t = tok_specials
    assert list(t.encode_iterable(chunks, buffer_chars=5)) == t.encode("".join(chunks))


def test_encode_iterable_keeps_a_special_token_split_across_chunks(tok_specials):
    chunks = ["x <| a", " |> y <|endof", "text|>"]
    ids = list(tok_specials.encode_iterable(chunks, buffer_chars=3))
    assert ids == tok_specials.encode("".join(chunks))
    assert tok_specials.special_tokens["<| a |>"] in ids and tok_specials.special_tokens["<|endoftext|>"] in ids


def test_encode_iterable_over_file_lines(tok):
    with open(FIXTURE, encoding="utf-8") as f:
        assert list(tok.encode_iterable(f, buffer_chars=100)) == tok.encode(SAMPLE)


def test_encode_batch_matches_encode(monkeypatch, tok):
    monkeypatch.setattr(bpe_tokenizer, "_CHUNK_CHARS", 64)  # small enough to use the process pool
    texts = TEXTS + [SAMPLE * 40]
    assert tok.encode_batch(texts, num_workers=2) == [tok.encode(t) for t in texts]
    assert tok.encode_batch(texts, num_workers=1) == [tok.encode(t) for t in texts]


def test_custom_pattern_never_drops_text():
    t = Tokenizer.train(SAMPLE, 300, pattern=r"\w+", progress=False)
    assert t.decode(t.encode("hi, there! ☃")) == "hi, there! ☃"
    with pytest.raises(TokenizerError, match="capturing groups"):
        Tokenizer.train(SAMPLE, 300, pattern=r"(\w)+", progress=False)


# --- the command line ---------------------------------------------------------------------------------


def test_cli_train_encode_decode(tmp_path, capsys):
    data = tmp_path / "corpus.txt"
    data.write_text(SAMPLE * 20, encoding="utf-8")
    out = tmp_path / "tok.json"
    assert bpe_tokenizer.main(["train", "--data", str(data), "--vocab", "300", "--out", str(out), "--no_progress"]) == 0
    summary = capsys.readouterr().out
    assert "merges: 44" in summary and "bytes/token" in summary
    assert bpe_tokenizer.main(["encode", "--tokenizer", str(out), "--text", "héllo wörld"]) == 0
    ids = capsys.readouterr().out
    assert bpe_tokenizer.main(["decode", "--tokenizer", str(out), "--ids", ids]) == 0
    assert capsys.readouterr().out == "héllo wörld"


@pytest.mark.parametrize(
    "argv, match",
    [
        (["train", "--data", "MISSING.txt", "--out", "x.json"], "neither a corpus name"),
        (["train", "--data", "FIXTURE", "--vocab", "10", "--out", "x.json"], "minimum is 256"),
        (["train", "--vocb", "10", "--out", "x.json"], "unrecognized arguments"),
        (["encode", "--tokenizer", "nope.json", "--text", "x"], "does not exist"),
        (["decode", "--tokenizer", "TOK", "--ids", "1 99999"], "outside"),
        (["decode", "--tokenizer", "TOK", "--ids", "1 x"], "integers"),
    ],
)
def test_cli_errors_are_one_line(tmp_path, capsys, tok, argv, match):
    tok.save(tmp_path / "tok.json")
    argv = [str(tmp_path / "tok.json") if a == "TOK" else str(FIXTURE) if a == "FIXTURE" else a for a in argv]
    with pytest.raises(SystemExit) as e:
        code = bpe_tokenizer.main(argv)
        raise SystemExit(code)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert match in err and err.startswith("error: ") and err.count("\n") == 1
