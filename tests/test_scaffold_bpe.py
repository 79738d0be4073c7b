"""Tests for Scaffold-BPE in bpe_scaffold.py (ScaffoldTokenizer.train): hand-checked examples,
agreement with a naive trainer that recounts everything each step, the id layout (scaffold tokens
last, never encoded), round trips, the restricted alphabet, save/load, and the CLI.

Run: pytest tests/test_scaffold_bpe.py   (hermetic: tmp_path only, no network; a few seconds)
"""

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bpe_tokenizer
import bpe_tools
from bpe_scaffold import ScaffoldTokenizer
from bpe_tokenizer import ENGLISH_ALPHABET, Tokenizer
from bpe_tools import train_with_special_tokens
from tests.bpe_reference import initial_sequences, replace_pair

SAMPLE = (Path(__file__).parent / "fixtures" / "sample.txt").read_text(encoding="utf-8")

fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def tok():
    return ScaffoldTokenizer.train(SAMPLE, 256 + 150, progress=False)


@pytest.fixture(scope="module")
def tok_en():
    return ScaffoldTokenizer.train(SAMPLE, 98 + 100, alphabet=ENGLISH_ALPHABET, progress=False)


# --- a naive reference: recount every pair and token after every merge (minbpe style) ------------


def naive_scaffold_train(text, num_merges, alphabet=None):
    """Scaffold-BPE by brute force. Returns (merges, scaffold ids) in learned numbering: base
    symbols, then merge k as len(base) + k. The rule, spelled out:
    - the queue head is the best of the pairs (count, then greatest bytes) and the scaffold tokens
      (count, then greatest bytes) that still occur; at equal counts a token wins;
    - a scaffold token at the head becomes normal again; a pair at the head is merged, and then
      each merged child that is not a base symbol becomes scaffold if its count < f(new head)."""
    vocab, seqs = initial_sequences(text, alphabet)
    n_base = len(vocab)

    def counts():
        pairs, tokens = Counter(), Counter()
        for seq, c in seqs.items():
            for t in seq:
                tokens[t] += c
            for pair in zip(seq, seq[1:]):
                pairs[pair] += c
        return pairs, tokens

    def head(pairs, tokens, scaffold):
        """(count, kind, item) of the best queue entry, or None; kind 1 = token, 0 = pair."""
        best = [(tokens[t], 1, vocab[t], b"", t) for t in scaffold if tokens[t] > 0]
        best += [(c, 0, vocab[a], vocab[b], p) for p, c in pairs.items() for a, b in [p]]
        return max(best, key=lambda e: e[:4], default=None)

    merges, scaffold = [], set()
    while len(merges) - len(scaffold) < num_merges:
        pairs, tokens = counts()
        top = head(pairs, tokens, scaffold)
        if top is None:
            break
        if top[1] == 1:
            scaffold.discard(top[4])
            continue
        (a, b), new = top[4], len(vocab)
        vocab.append(vocab[a] + vocab[b])
        merges.append((a, b))
        merged = Counter()
        for seq, c in seqs.items():
            merged[replace_pair(seq, a, b, new)] += c
        seqs = merged
        pairs, tokens = counts()
        f_head = (head(pairs, tokens, scaffold) or (0,))[0]
        for x in {a, b}:
            if x >= n_base and tokens[x] < f_head:
                scaffold.add(x)
    return merges, scaffold


def learned_view(t: Tokenizer):
    """A trained tokenizer's merges and scaffold tokens back in learned numbering (merge k ->
    base + k), to compare with the naive trainer."""
    n_base = 256 if t.alphabet is None else len(t.alphabet) + 1
    learned = {i: i for i in range(n_base)}
    for k, (_, _, c) in enumerate(t._merges):
        learned[c] = n_base + k
    merges = [(learned[a], learned[b]) for a, b in t.merges]
    return merges, {learned[i] for i in t.scaffold_tokens}


# --- hand-checked examples ------------------------------------------------------------------------


def test_aaabdaaabac_worked_example():
    # Worked in bpe_tokenizer's docstring. Counts after each merge, and f(Q_head):
    #   1. (a, a) -> aa          a:3 aa:2; head (aa, a):2      a is a byte: never scaffold
    #   2. (aa, a) -> aaa        aa:0 < 2 (head (aaa, b):2)    aa is scaffold      normal: aaa
    #   3. (aaa, b) -> aaab      aaa:0 < 1 (pairs all at 1)    aaa is scaffold     normal: aaab
    #   4. (d, aaab) -> daaab    aaab:1, not < 1               stays               normal: aaab, daaab
    # (merge 4: all pairs tie at 1 and (b"d", b"aaab") is the greatest as byte strings.)
    t = ScaffoldTokenizer.train("aaabdaaabac", 256 + 2, progress=False)
    assert t.vocab_size == 258 and t.scaffold_tokens == [258, 259]
    assert [t.token_bytes(i) for i in range(256, 260)] == [b"aaab", b"daaab", b"aa", b"aaa"]
    assert t.merges == [(97, 97), (258, 97), (259, 98), (100, 256)]
    assert t.encode("aaabdaaabac") == [256, 257, 97, 99]
    assert t.encode("aa") == [97, 97]  # merges to aa (scaffold): demolished
    assert t.encode("aaa") == [97, 97, 97]  # aaa (scaffold) -> aa + a -> a + a + a
    assert t.encode("aaab") == [256]


def test_scaffold_token_returns_to_the_vocabulary():
    # Words "abc" x6, "ab" x3, "xy" x5 (spaces are unknown characters and cut the words):
    #   1. (a, b) -> ab     count 9; head (ab, c):6
    #   2. (ab, c) -> abc   ab: 9 - 6 = 3 < 5 = (x, y)       -> ab is scaffold, waits in the queue with 3
    #   3. (x, y) -> xy     the queue holds only ab:3        -> (asked for 2 normal merged tokens: stop)
    #   4. ab (3) is at the head: a normal token again        -> (asked for 3: now plain BPE's vocabulary)
    text = "abc " * 6 + "ab " * 3 + "xy " * 5
    t = ScaffoldTokenizer.train(text, 6 + 2, alphabet="abcxy", progress=False)
    # ids: a b c x y = 0..4, unk = 5, abc = 6, xy = 7, then the scaffold token ab = 8
    assert t.vocab_size == 8 and t.scaffold_tokens == [8] and t.token_bytes(8) == b"ab"
    assert t.merges == [(0, 1), (8, 2), (3, 4)]
    assert t.encode("ab abc xy") == [0, 1, 5, 6, 5, 7]
    assert t.encode(text).count(t.unk_id) == text.count(" ")
    again = ScaffoldTokenizer.train(text, 6 + 3, alphabet="abcxy", progress=False)
    assert again.scaffold_tokens == [] and again == Tokenizer.train(text, 6 + 3, alphabet="abcxy", progress=False)


# --- the training rule ----------------------------------------------------------------------------


@pytest.mark.parametrize("alphabet", [None, ENGLISH_ALPHABET])
def test_matches_naive_trainer_on_fixture(alphabet):
    base = 256 if alphabet is None else len(set(alphabet)) + 1
    t = ScaffoldTokenizer.train(SAMPLE, base + 120, alphabet=alphabet, progress=False)
    merges, scaffold = naive_scaffold_train(SAMPLE, 120, alphabet)
    assert scaffold, "the fixture should have scaffold tokens"
    assert learned_view(t) == (merges, scaffold)


@fast
@given(st.text(alphabet="ab éz\n😀", max_size=80), st.integers(0, 30))
def test_matches_naive_trainer_on_random_text(text, n):
    # a tiny alphabet makes ties common, so this checks the tie rules and the incremental counts
    t = ScaffoldTokenizer.train(text, 256 + n, progress=False)
    assert learned_view(t) == naive_scaffold_train(text, n)


@pytest.mark.parametrize("alphabet", [None, ENGLISH_ALPHABET])
def test_merges_are_plain_bpe_merges_continued(alphabet):
    # Scaffold-BPE only labels tokens: its pairs merge in plain BPE's order, it just merges more.
    t = ScaffoldTokenizer.train(SAMPLE, 256 + 150 if alphabet is None else 98 + 100, alphabet, progress=False)
    plain = Tokenizer.train(SAMPLE, t.vocab_size + len(t.scaffold_tokens), alphabet, progress=False)
    as_bytes = [(t.token_bytes(a), t.token_bytes(b)) for a, b in t.merges]
    assert as_bytes == [(plain.token_bytes(a), plain.token_bytes(b)) for a, b in plain.merges]


# --- ids and encoding -----------------------------------------------------------------------------


@pytest.mark.parametrize("special", [[], ["<|endoftext|>"]])
def test_vocab_size_counts_only_normal_tokens(special):
    t = train_with_special_tokens(ScaffoldTokenizer, SAMPLE, 256 + 150 + len(special), special, progress=False)
    n, k = t.vocab_size, len(t.scaffold_tokens)
    assert n == 256 + 150 + len(special) and k > 0
    assert len(t.merges) == 150 + k  # the scaffold tokens come on top of the merges asked for
    assert t.scaffold_tokens == list(range(n, n + k))  # the last ids: no embedding row for them
    assert len(t.vocab) == n and all(t.special_tokens[s] < n for s in special)
    assert len({t.token_bytes(i) for i in t.scaffold_tokens}) == k


def test_demolishing_undoes_merges_down_to_normal_tokens(tok):
    made_by = {c: (a, b) for a, b, c in reversed(tok._merges)}
    scaffold = set(tok.scaffold_tokens)

    def undo(t):  # the reference: split t into its merge's halves until nothing is scaffold
        return [t] if t not in scaffold else undo(made_by[t][0]) + undo(made_by[t][1])

    for t in scaffold:
        parts = undo(t)
        assert tok._demolish[t] == tuple(parts) and not scaffold & set(parts)
        assert b"".join(map(tok.token_bytes, parts)) == tok.token_bytes(t)


def test_encode_never_outputs_scaffold_tokens_and_round_trips(tok, tok_en):
    for t in (tok, tok_en):
        ids = t.encode(SAMPLE)
        assert ids and max(ids) < t.vocab_size
    ids = tok.encode(SAMPLE)
    assert tok.decode(ids) == SAMPLE
    assert sum(len(tok.token_bytes(i)) for i in ids) == len(SAMPLE.encode())  # bits per byte relies on this
    # each scaffold token's own text: BPE makes the scaffold token (when it is a whole pre-token) and
    # encode splits it up again
    for i in tok.scaffold_tokens:
        text = tok.token_bytes(i).decode("utf-8", errors="ignore")
        ids = tok.encode(text)
        assert max(ids, default=0) < tok.vocab_size and tok.decode(ids) == text


@fast
@given(st.text(max_size=200))
def test_round_trip_any_unicode(tok, text):
    ids = tok.encode(text)
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert tok.decode(ids) == text


@fast
@given(st.text(alphabet="the qu\u00e9ck brown fox\n\u4e16", max_size=120))
def test_restricted_alphabet_still_reports_unknowns(tok_en, text):
    ids = tok_en.encode(text)
    outside = sum(ch not in ENGLISH_ALPHABET for ch in text)
    assert all(0 <= i < tok_en.vocab_size for i in ids)
    assert ids.count(tok_en.unk_id) == outside
    assert tok_en.decode(ids) == "".join(ch if ch in ENGLISH_ALPHABET else "\ufffd" for ch in text)


def test_encode_batch_matches_encode(monkeypatch, tok):
    monkeypatch.setattr(bpe_tools, "_CHUNK_CHARS", 64)  # force worker processes
    texts = [SAMPLE, SAMPLE[:100], ""]
    assert bpe_tools.encode_batch(tok, texts, num_workers=2) == [tok.encode(s) for s in texts]


# --- saving and loading ---------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["tok", "tok_en"])
def test_save_load_keeps_scaffold_tokens(tmp_path, request, which):
    t = request.getfixturevalue(which)
    t.save(tmp_path / "t.json")
    d = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    assert d["version"] == 2 and d["scaffold_tokens"] == t.scaffold_tokens and d["vocab_size"] == t.vocab_size
    u = Tokenizer.load(tmp_path / "t.json")
    assert u == t and u.scaffold_tokens == t.scaffold_tokens and u.to_dict() == t.to_dict()
    assert u.encode(SAMPLE) == t.encode(SAMPLE)
    u.save(tmp_path / "u.json")
    assert (tmp_path / "u.json").read_bytes() == (tmp_path / "t.json").read_bytes()


def test_plain_bpe_files_stay_version_1():
    d = Tokenizer.train(SAMPLE, 300, progress=False).to_dict()
    assert d["version"] == 1 and "scaffold_tokens" not in d
    assert type(Tokenizer.from_dict(d)) is Tokenizer  # plain BPE, which has no scaffold tokens


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda d: d["scaffold_tokens"].__setitem__(-1, 300), "scaffold tokens must be the last ids"),
        (lambda d: d["scaffold_tokens"].__setitem__(0, 97), "scaffold tokens must be the last ids"),
        (lambda d: d.pop("scaffold_tokens"), "malformed"),
    ],
)
def test_bad_scaffold_fields_are_rejected(tok, edit, match):
    d = json.loads(json.dumps(tok.to_dict()))
    edit(d)
    with pytest.raises(bpe_tokenizer.TokenizerError, match=match):
        Tokenizer.from_dict(d, "t.json")


# --- the command line -----------------------------------------------------------------------------


def test_cli_train_scaffold_reports_scaffold_tokens(tmp_path, capsys):
    data = tmp_path / "corpus.txt"
    data.write_text(SAMPLE * 20, encoding="utf-8")
    out = tmp_path / "tok.json"
    argv = ["train", "--data", str(data), "--vocab", "400", "--out", str(out), "--no_progress", "--scaffold"]
    assert bpe_tokenizer.main(argv) == 0
    summary = capsys.readouterr().out
    t = Tokenizer.load(out)
    k = len(t.scaffold_tokens)
    assert t.vocab_size == 400 and k > 0
    assert f"merges: {400 - 256:,};" in summary and f"scaffold tokens: {k:,}" in summary
    assert repr(t.token_bytes(t.scaffold_tokens[0]).decode("utf-8", "replace")) in summary
