"""Byte-pair encoding (BPE) from scratch: train, encode, decode, save, load, and a CLI.

BPE (Sennrich et al. 2016, arXiv:1508.07909; byte-level as in GPT-2, Radford et al. 2019) starts
from a small set of base symbols and repeatedly glues the most frequent adjacent pair of symbols
into a new symbol. The list of merges, in the order they were learned, *is* the tokenizer.

Worked example (byte-level, one pre-token "aaabdaaabac", ids 0..255 are the bytes, a=97 b=98):

    pairs: aa:4  ab:2  bd:1  da:1  ba:1  ac:1     -> merge (a, a)   into 256 = "aa"
    word:  aa a b d aa a b a c
    pairs: (aa,a):2 (a,b):2 ...  a tie at 2: the greater pair as byte strings wins,
           (b"aa", b"a") > (b"a", b"b")           -> merge (aa, a)  into 257 = "aaa"
    word:  aaa b d aaa b a c                       -> merge (aaa, b) into 258 = "aaab"
    encode("aaabdaaabac") == [258, 100, 258, 97, 99]

The file reads top to bottom, one part per idea; the rungs point at the part they use:
  1. BPE (v2): pre-tokenize, learn the merges, encode, decode, save and load. v3's English-only
     alphabet is one argument of the same code (`alphabet=`).
  2. The ladder's tokenizers by name ("char", "bpe", "bpe-english", "bpe-scaffold"): what a rung's
     Config selects, each the class that trains it; common/ passes the name here.
  3. The command line: `python bpe_tokenizer.py --help`, in the ladder's words (--tokenizer KIND).
v4's idea, Scaffold-BPE (a trainer that also marks merge intermediates as scaffold tokens, and an
encoder that splits them back up), builds on part 1 in its own file, bpe_scaffold.py.
What is not BPE lives in bpe_extras.py, which a first reading can skip: one-line errors, the check
of a loaded tokenizer, counting on all cores, files written atomically. What no rung runs is in
bpe_tools.py: special tokens (e.g. "<|endoftext|>"), encoding across processes and as a stream,
and the command line's plumbing.
GPT-2's own files (encoder.json, vocab.bpe) are read only by the tests: tests/gpt2_formats.py.
"""

import importlib
import json
import sys
from collections import defaultdict
from functools import partial
from heapq import heapify, heappop, heappush
from itertools import chain, pairwise, repeat

import regex
from tqdm import tqdm

# not BPE, so in their own file (read it last): errors, checks, files, counting on all cores
from bpe_extras import (
    TokenizerError,
    WordCache,
    check_tokenizer,
    compile_pattern,
    count_pretokens,
    pretokenize,
    read_json,
    readable_json,
    write_atomic,
)

# --- 1. byte-pair encoding (v2) -----------------------------------------------------------------
#
# Training: cut the text into pre-tokens, count each distinct pre-token ("word") once with its
# number of occurrences, then merge the most frequent adjacent pair of symbols again and again.
# Pairs are counted inside words only, weighted by the word's count, so a merge never crosses a
# pre-token boundary. Ties go to the greatest pair compared as byte strings (bytes(a), bytes(b)),
# so the same text always gives the same tokenizer.
# Encoding: cut the text the same way, and in each pre-token apply the earliest-learned merge
# among its adjacent pairs until none applies.

# GPT-2's pre-tokenizer (openai/gpt-2, src/encoder.py): contractions, words with an optional leading
# space, numbers, punctuation runs, and whitespace; `\s+(?!\S)` leaves the last space of a run to
# the word that follows, so " the" stays one pre-token. The pre-tokens of a text are
# pattern.findall(text) (bpe_extras.pretokenize: plus what a custom --pattern leaves unmatched).
GPT2_SPLIT_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

# v3's restricted "English-only" alphabet: printable ASCII plus newline and tab. With an alphabet,
# the base symbols are its characters plus one unknown token; every other character becomes one
# unknown token (never dropped, never merged), which decodes to U+FFFD.
ENGLISH_ALPHABET = "".join(chr(c) for c in range(0x20, 0x7F)) + "\n\t"
UNK_TEXT = "\ufffd"  # what an unknown token decodes to

FORMAT = "llm-ladder-bpe"  # the saved files: versioned, human-readable JSON
FILE_VERSIONS = {}  # a file's "version" -> the class that reads it; a subclass with more fields adds its own


def cuttable(pattern: str) -> bool:
    """Whether texts may be cut between pre-tokens for work on all cores or as a stream: known
    only for GPT-2's pattern (why: bpe_extras.py, _CUT)."""
    return pattern == GPT2_SPLIT_PATTERN


def base_symbols(alphabet: str | None) -> list[bytes]:
    """What every word starts as: the 256 bytes (byte-level, alphabet=None: every string round-trips),
    or the alphabet's characters in sorted order followed by the unknown token b"" (v3)."""
    if alphabet is None:
        return [bytes([x]) for x in range(256)]
    if not alphabet:
        raise TokenizerError("the alphabet is empty: pass None for byte-level or the allowed characters")
    return [ch.encode() for ch in sorted(set(alphabet))] + [b""]


def merge(word: list[int], a: int, b: int, new: int):
    """Replace every non-overlapping occurrence of the pair (a, b) in `word`, left to right, by `new`.
    Returns the merged word, the adjacent pairs of `word` that went, and the pairs of the merged
    word that came (those with the new symbol), each as often as it occurs: the rest is unchanged."""
    out, gone, came = [], [], []
    i, n = 0, len(word)
    while i < n:
        if i + 1 < n and word[i] == a and word[i + 1] == b:
            if i and out[-1] != new:  # (if it is new, the previous merge took that pair away already)
                gone.append((word[i - 1], a))
            gone.append((a, b))
            if i + 2 < n:
                gone.append((b, word[i + 2]))
            if out:
                came.append((out[-1], new))
            out.append(new)
            i += 2
        else:
            if out and out[-1] == new:
                came.append((new, word[i]))
            out.append(word[i])
            i += 1
    return out, gone, came


_INVERT = {i: 255 - i for i in range(256)}


def _descending(b: bytes) -> str:
    """A sort key that orders byte strings backwards: for byte strings x < y, key(x) > key(y).
    The heap is a min-heap, so this makes it hand out the *greatest* pair first among equal counts.
    (Each byte c becomes 255 - c, and the end of the string sorts after every byte, so a prefix
    comes after the longer strings it starts.)"""
    return b.decode("latin-1").translate(_INVERT) + "\u0100"


class PairCounts:
    """What the trainer knows about the words: how often each adjacent pair occurs (summed over
    the words, weighted by their counts), which words hold it, and a heap to find the best one.

    The textbook loop recounts every pair after every merge (hours on WikiText-2). Here a merge
    revisits only the words that hold the merged pair, only the pairs that touch a merged spot get
    a new heap entry, and the heap keeps outdated entries (lazy deletion): an entry whose count no
    longer matches is dropped when it reaches the top.
    """

    def __init__(self, words: list[list[int]], freqs: list[int], token_bytes: list[bytes]):
        self.words, self.freqs = words, freqs  # `words` is merged in place
        self.token_bytes = list(token_bytes)  # symbol id -> its bytes; merges append to it
        self.count = defaultdict(int)  # (a, b) -> occurrences
        self.where = defaultdict(set)  # (a, b) -> indices of the words that hold it (some may be stale)
        for i, (word, freq) in enumerate(zip(words, freqs)):
            for pair in pairwise(word):
                self.count[pair] += freq
                self.where[pair].add(i)
        # entries (-count, key(a), key(b), a, b): the highest count first, then the greatest bytes
        self.key = [_descending(b) for b in self.token_bytes]
        self.heap = [(-c, self.key[a], self.key[b], a, b) for (a, b), c in self.count.items()]
        heapify(self.heap)

    def best(self) -> tuple[int, int, int] | None:
        """(count, a, b) of the pair to merge next; None when no pair is left."""
        while self.heap:
            neg_count, _, _, a, b = self.heap[0]
            if self.count.get((a, b)) == -neg_count:
                return -neg_count, a, b
            heappop(self.heap)  # outdated: the pair's count changed after this entry was pushed
        return None

    def merge(self, a: int, b: int) -> int:
        """Merge (a, b) into the new symbol len(token_bytes) in every word; returns how often the
        new symbol occurs (weighted by the word counts)."""
        count, where, words, key = self.count, self.where, self.words, self.key  # locals: a hot loop
        new = len(self.token_bytes)
        self.token_bytes.append(self.token_bytes[a] + self.token_bytes[b])
        key.append(_descending(self.token_bytes[new]))
        changed, made = set(), 0
        for i in where.pop((a, b)):
            word = words[i]
            if b not in word:  # a stale index (an earlier merge consumed (a, b) in this word)
                continue  # that has lost b: a third of the indices are stale, and `in` runs in C
            merged, gone, came = merge(word, a, b, new)
            if not gone:
                continue  # stale, although a and b are still in the word
            freq = self.freqs[i]
            made += (len(word) - len(merged)) * freq
            # Only the pairs next to a merged spot change; every other pair is in both words once.
            for pair in gone:
                count[pair] -= freq
            for pair in came:
                count[pair] += freq
                where[pair].add(i)
            changed.update(gone)
            changed.update(came)
            words[i] = merged
        for pair in changed:
            c = count[pair]
            if c > 0:
                heappush(self.heap, (-c, key[pair[0]], key[pair[1]], *pair))
            else:
                del count[pair]
        return made


def merge_bar(num_merges: int, words, progress: bool) -> tqdm:
    # at most sum(len - 1) merges are possible, so an unreachable --vocab does not show a silly total
    total = min(num_merges, sum(max(len(w) - 1, 0) for w in words))
    return tqdm(total=total, desc="bpe merges", unit="merge", disable=not progress, mininterval=0.5)


def learn_merges(words, freqs, num_merges: int, token_bytes, progress: bool = False) -> list[tuple[int, int]]:
    """Learn up to `num_merges` merges from distinct words (lists of symbol ids) and their counts.

    `token_bytes[i]` is the byte string of symbol i; merge k creates the symbol len(token_bytes) + k.
    Stops early when no pair is left. `words` is modified in place (it ends up merged).
    """
    pairs = PairCounts(words, freqs, token_bytes)
    merges = []
    with merge_bar(num_merges, words, progress) as bar:
        while len(merges) < num_merges:
            best = pairs.best()
            if best is None:
                break  # every word is one symbol: the text has no more pairs to merge
            _, a, b = best
            pairs.merge(a, b)
            merges.append((a, b))
            bar.update()
    return merges


def plan_vocab(vocab_size: int, alphabet: str | None) -> tuple[list[bytes], int]:
    """(base symbols, number of merges) for a vocabulary of `vocab_size` ids."""
    base = base_symbols(alphabet)
    if vocab_size < len(base):
        what = f"{len(base) - (alphabet is not None)} base symbols" + (" + 1 unknown" if alphabet else "")
        raise TokenizerError(
            f"vocab_size={vocab_size} is smaller than the base alphabet: the minimum is {len(base)} ({what})"
        )
    return base, vocab_size - len(base)


def training_words(text, alphabet, pattern, num_workers) -> tuple[list[list[int]], list[int]]:
    """The distinct pre-tokens of the training text as lists of base-symbol ids, and their counts."""
    split = partial(pretokenize, compile_pattern(pattern))
    counts = count_pretokens(text, split, num_workers, cuttable(pattern))  # on all cores: bpe_extras.py
    if alphabet is None:
        try:
            words = {tuple(word.encode()): c for word, c in counts.items()}
        except UnicodeEncodeError:
            raise TokenizerError("the training text is not valid Unicode (it holds a lone surrogate)") from None
    else:
        # The unknown token never merges, so a word is cut at unknown characters into parts that
        # are counted separately (identical parts of different words are summed).
        ids = {ch: i for i, ch in enumerate(sorted(set(alphabet)))}
        words = defaultdict(int)
        for word, c in counts.items():
            for part in regex.split(r"[^" + regex.escape("".join(ids)) + "]", word) if word else []:
                if len(part) > 1:
                    words[tuple(ids[ch] for ch in part)] += c
    items = sorted(words.items())  # so that everything after is independent of hashing
    return [list(w) for w, _ in items], [c for _, c in items]


_NO_RANK = 1 << 62  # the "rank" of a pair that never merges


class Tokenizer:
    """A BPE tokenizer: a vocabulary (id -> bytes), ordered merges, a split pattern.

    Make one with `Tokenizer.train` or `Tokenizer.load`; the constructor takes the internal form
    and checks it, since it may come from a file.
    Ids: base symbols first (bytes 0..255, or the sorted alphabet then the unknown token), then one
    id per merge in learned order.
    """

    VERSION = 1  # of the saved file
    special_tokens: dict = {}  # none here: bpe_tools.py adds them (SpecialTokens), and its streams read this

    def __init__(self, vocab, merges, pattern=GPT2_SPLIT_PATTERN, alphabet=None, unk_id=None):
        """vocab: list of bytes per id; merges: ordered (a, b, new_id); alphabet: None (byte-level)
        or the allowed characters, with unk_id the unknown token."""
        self._vocab = [bytes(b) for b in vocab]
        self._merges = [tuple(m) for m in merges]
        self.pattern = pattern
        self._pat = compile_pattern(pattern)  # checked: bpe_extras.py
        self.alphabet = None if alphabet is None else "".join(sorted(set(alphabet)))
        self.unk_id = unk_id
        # checked (it may come from a file): bpe_extras.py; base symbol bytes -> id
        base = check_tokenizer(self._vocab, self._merges, self.alphabet, unk_id)
        # Encoding applies the earliest-learned merge first: a pair's rank is its place in the list.
        self._rank = {(a, b): r for r, (a, b, _) in enumerate(self._merges)}
        self._merged_id = [c for _, _, c in self._merges]  # rank -> the id its pair merges into
        if self.alphabet is None:
            self._byte_ids, self._char_ids = [base[bytes([x])] for x in range(256)], None
        else:
            self._byte_ids, self._char_ids = None, {ch: base[ch.encode()] for ch in self.alphabet}
        self._decode_table = [UNK_TEXT.encode() if i == unk_id else b for i, b in enumerate(self._vocab)]
        self._cache = WordCache(self._encode_word)  # pre-token -> ids, of bounded size: bpe_extras.py
        self._cuttable = cuttable(pattern)

    @property
    def vocab_size(self) -> int:
        """The ids a model sees: base symbols + unknown + merges."""
        return len(self._vocab)

    @property
    def vocab(self) -> dict[int, bytes]:
        """id -> bytes for ids below vocab_size (b"" for the unknown token)."""
        return dict(enumerate(self._vocab[: self.vocab_size]))

    @property
    def merges(self) -> list[tuple[int, int]]:
        """The merged pairs in learned order (GPT-2's vocab.bpe order)."""
        return [(a, b) for a, b, _ in self._merges]

    def token_bytes(self, i: int) -> bytes:
        """The UTF-8 bytes token i stands for; b"" for the unknown token."""
        return self._vocab[i]

    # --- training ---------------------------------------------------------------------------------

    @classmethod
    def train(
        cls,
        text,
        vocab_size: int,
        alphabet: str | None = None,
        pattern: str = GPT2_SPLIT_PATTERN,
        progress: bool = True,
        num_workers: int | None = None,
    ) -> "Tokenizer":
        """Learn a tokenizer with `vocab_size` ids in total from a str or an iterable of str.

        Each str of an iterable is pre-tokenized on its own (a document). If the text runs out of
        pairs to merge, the vocabulary ends up smaller than asked (check `vocab_size`).
        """
        base, num_merges = plan_vocab(vocab_size, alphabet)
        words, freqs = training_words(text, alphabet, pattern, num_workers)
        merges = learn_merges(words, freqs, num_merges, base, progress)
        # Merge k made the id len(base) + k.
        vocab = list(base)
        for a, b in merges:
            vocab.append(vocab[a] + vocab[b])
        triples = [(a, b, len(base) + k) for k, (a, b) in enumerate(merges)]
        unk_id = None if alphabet is None else len(base) - 1
        return cls(vocab, triples, pattern, alphabet, unk_id)

    # --- encoding and decoding --------------------------------------------------------------------

    def _encode_word(self, word: str) -> list[int]:
        """BPE on one pre-token: apply the earliest-learned merge among adjacent pairs until none applies."""
        if self._byte_ids is not None:
            try:
                ids = [self._byte_ids[x] for x in word.encode("utf-8")]
            except UnicodeEncodeError:
                raise TokenizerError(
                    f"the text contains {word!r}, which is not valid Unicode (a lone surrogate)"
                ) from None
        else:
            ids = [self._char_ids.get(ch, self.unk_id) for ch in word]
        # Merge the adjacent pair with the lowest rank, repeat. GPT-2's encoder.py `bpe()` merges
        # every occurrence of that pair at once; merging only the leftmost one per step gives the
        # same result (pairs with the new token rank later, so the next step picks the next
        # occurrence) and lets each step run in C: ranks via map(dict.get), min, index, a slice.
        rank, merged_id = self._rank, self._merged_id
        while len(ids) >= 2:
            ranks = list(map(rank.get, pairwise(ids), repeat(_NO_RANK)))
            r = min(ranks)
            if r == _NO_RANK:
                break
            i = ranks.index(r)
            ids[i : i + 2] = (merged_id[r],)
        return ids

    def encode(self, text: str) -> list[int]:
        """Text -> token ids."""
        if not isinstance(text, str):
            raise TokenizerError(f"encode takes str, got {type(text).__name__}")
        # The cache lookup (map over dict.__getitem__) runs in C; only new pre-tokens reach Python.
        return list(chain.from_iterable(map(self._cache.__getitem__, pretokenize(self._pat, text))))

    def decode(self, ids) -> str:
        """Token ids -> text. Unknown tokens decode to "\\ufffd"; so do byte sequences that are not
        valid UTF-8 (possible only for ids that were not produced by encode)."""
        ids = list(ids)
        if ids and (min(ids) < 0 or max(ids) >= len(self._vocab)):
            bad = next(i for i in ids if not 0 <= i < len(self._vocab))
            raise TokenizerError(f"token id {bad} is outside this tokenizer's vocabulary 0..{len(self._vocab) - 1}")
        return b"".join(map(self._decode_table.__getitem__, ids)).decode("utf-8", errors="replace")

    # --- saving and loading: versioned, human-readable JSON -----------------------------------------

    def to_dict(self) -> dict:
        """The JSON-ready form. A token's bytes are written as text when they are valid UTF-8,
        else as a list of byte values (e.g. [226, 128] for part of a character)."""

        def show(b: bytes):
            try:
                return b.decode("utf-8")
            except UnicodeDecodeError:
                return list(b)

        return {
            "format": FORMAT,
            "version": Tokenizer.VERSION,  # a subclass that writes more fields writes its own
            "pattern": self.pattern,
            "alphabet": self.alphabet,
            "unk_id": self.unk_id,
            "vocab_size": self.vocab_size,
            "vocab": {str(i): show(b) for i, b in enumerate(self._vocab)},
            "merges": [list(m) for m in self._merges],
        }

    @classmethod
    def fields_from_dict(cls, d: dict) -> dict:
        """A subclass's own fields of a saved file, as constructor keywords (plain BPE has none)."""
        return {}

    @classmethod
    def from_dict(cls, d: dict, source: str = "tokenizer") -> "Tokenizer":
        """A tokenizer from its to_dict() form, of the class its "version" names, checked."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise TokenizerError(f'{source} is not a {FORMAT} tokenizer file (no "format": "{FORMAT}")')
        reader = FILE_VERSIONS.get(d.get("version"))
        if reader is None:
            known = " and ".join(f"{v} ({c.__name__})" for v, c in FILE_VERSIONS.items())
            raise TokenizerError(
                f"{source} is format version {d.get('version')!r}; this bpe_tokenizer.py reads version {known}"
            )

        def token(v) -> bytes:  # text, or a list of byte values (see to_dict)
            if not isinstance(v, (str, list)):
                raise TypeError(f"a token must be text or a list of byte values, not {type(v).__name__}")
            return v.encode() if isinstance(v, str) else bytes(v)

        try:
            vocab = [token(d["vocab"][str(i)]) for i in range(len(d["vocab"]))]
            merges = [tuple(int(x) for x in m) for m in d["merges"]]
            if any(len(m) != 3 for m in merges):
                raise ValueError("each merge must be [a, b, new_id]")
            fields = reader.fields_from_dict(d)
            if d.get("special_tokens"):  # a file trained with special tokens: bpe_tools.py reads them
                from bpe_tools import with_special_tokens

                reader, fields = with_special_tokens(reader), {**fields, "special_tokens": d["special_tokens"]}
            tok = reader(vocab, merges, d["pattern"], d["alphabet"], d["unk_id"], **fields)
            if tok.vocab_size != d["vocab_size"]:
                raise ValueError(f"vocab_size is {d['vocab_size']!r}, but the vocab holds {tok.vocab_size} tokens")
            return tok
        except TokenizerError as e:
            raise TokenizerError(f"{source}: {e}") from None
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
            raise TokenizerError(f"{source} is malformed: {type(e).__name__}: {e}") from None

    def save(self, path) -> None:
        """Write human-readable JSON (one vocab entry and one merge per line), atomically."""
        write_atomic(path, readable_json(self.to_dict()))  # bpe_extras.py

    @classmethod
    def load(cls, path) -> "Tokenizer":
        """A tokenizer saved by `save`; any fault in the file is one TokenizerError line."""
        return cls.from_dict(read_json(path), str(path))

    def __eq__(self, other) -> bool:
        return isinstance(other, Tokenizer) and self.to_dict() == other.to_dict()

    def __reduce__(self):  # pickling (for worker processes) goes through the JSON form
        return (tokenizer_from_dict, (self.to_dict(),))

    def __repr__(self) -> str:
        kind = "byte-level" if self.alphabet is None else f"alphabet of {len(self.alphabet)} + unk"
        return f"{type(self).__name__}(vocab_size={self.vocab_size}, {kind}, merges={len(self._merges)})"


FILE_VERSIONS[Tokenizer.VERSION] = Tokenizer


# --- 2. the ladder's tokenizers by name ---------------------------------------------------------
#
# A rung selects its tokenizer by name: its Config's `tokenizer` field ("char" by default, v2 sets
# "bpe", ...). common/ takes the list of names from KINDS, passes the name to train_kind, caches
# what it returns (`save`), and reads it back with load_tokenizer or, from a checkpoint,
# tokenizer_from_dict. It knows nothing else about tokenizers.


class CharTokenizer:
    """v0's and v1's tokenizer: the characters of the training text, sorted, then one unknown id for
    anything else. No merges: the baseline that BPE (v2) improves on."""

    FORMAT = "llm-ladder-char"
    UNK = UNK_TEXT  # what an unknown id decodes to

    def __init__(self, chars: str):
        self.chars = chars
        self.stoi = {c: i for i, c in enumerate(chars)}
        self.unk_id = len(chars)
        self.vocab_size = len(chars) + 1

    @classmethod
    def train(cls, text) -> "CharTokenizer":
        """The characters of a str, or of an iterable of str (a stream of pieces)."""
        chars = set(text) if isinstance(text, str) else set().union(*map(set, text))
        return cls("".join(sorted(chars)))

    def encode(self, text: str) -> list[int]:
        unk, stoi = self.unk_id, self.stoi
        return [stoi.get(c, unk) for c in text]

    def decode(self, ids) -> str:
        return "".join(self.chars[i] if i < self.unk_id else self.UNK for i in ids)

    def token_bytes(self, i: int) -> bytes:
        return self.chars[i].encode() if i < self.unk_id else b""

    def to_dict(self) -> dict:
        return {"format": self.FORMAT, "version": 1, "chars": self.chars}

    @classmethod
    def from_dict(cls, d: dict, source: str = "tokenizer") -> "CharTokenizer":
        chars = d.get("chars")
        if d.get("version") != 1 or not isinstance(chars, str) or len(set(chars)) != len(chars):
            raise TokenizerError(f'{source} is malformed: a {cls.FORMAT} file needs "version": 1 and distinct "chars"')
        return cls(chars)

    def save(self, path) -> None:
        write_atomic(path, json.dumps(self.to_dict(), ensure_ascii=False) + "\n")


# name -> (what it is, for --help; (the class that trains it, its `train` options))
KINDS = {
    "char": (
        "characters of the training text + unk; --vocab is ignored (v0, v1; bpe_tokenizer.py part 2)",
        (CharTokenizer, {}),
    ),
    "bpe": ("byte-level BPE (v2; bpe_tokenizer.py part 1)", (Tokenizer, {})),
    "bpe-english": (
        "BPE on printable ASCII + \\n \\t, the rest unknown (v3; bpe_tokenizer.py part 1)",
        (Tokenizer, {"alphabet": ENGLISH_ALPHABET}),
    ),
    "bpe-scaffold": (
        "Scaffold-BPE on bpe-english's alphabet (v4; bpe_scaffold.py)",
        ("bpe_scaffold.ScaffoldTokenizer", {"alphabet": ENGLISH_ALPHABET}),  # its own file: imported when used
    ),
}


def trainer_of(kind: str):
    """(the class that trains `kind`, its `train` options); a class named "module.Class" lives in
    its own file, imported now (which also registers its file version)."""
    trainer, options = KINDS[kind][1]
    if isinstance(trainer, str):
        module, _, name = trainer.rpartition(".")
        trainer = getattr(importlib.import_module(module), name)
    return trainer, options


def takes_vocab(kind: str) -> bool:
    """Whether the tokenizer `kind` has a size to choose (--vocab): every kind but "char"."""
    return KINDS[kind][1][0] is not CharTokenizer


def train_kind(kind: str, text, vocab: int, label: str = "the text", progress: bool = True):
    """The tokenizer named `kind` (see KINDS) with `vocab` ids, trained on `text` (a str, or an
    iterable of str pieces cut at pre-token boundaries: the same tokenizer as on their concatenation).
    A BPE training prints one line before it (naming the text `label`) and one after it if the text
    ran out of pairs."""
    if kind not in KINDS:
        raise TokenizerError(f"unknown tokenizer {kind!r}; choose one of {', '.join(KINDS)}")
    trainer, options = trainer_of(kind)
    if not takes_vocab(kind):
        return trainer.train(text)
    if vocab <= 0:
        raise TokenizerError(f"--tokenizer {kind} needs --vocab N (e.g. --vocab 500)")
    minimum = len(base_symbols(options.get("alphabet")))  # base symbols (+ unk)
    if vocab < minimum:
        raise TokenizerError(f"--vocab {vocab} is smaller than the {kind} alphabet; use at least {minimum}")
    print(f"training a {kind} tokenizer (vocab {vocab}) on {label}")
    tok = trainer.train(text, vocab, progress=progress, **options)
    if tok.vocab_size < vocab:
        print(
            f"note: the training text has no more pairs to merge, so the {kind} tokenizer has "
            f"{tok.vocab_size:,} ids, not the {vocab:,} of --vocab"
        )
    return tok


def tokenizer_from_dict(d, source: str = "tokenizer"):
    """Any kind of tokenizer from its to_dict() form (checkpoints store it as JSON)."""
    if isinstance(d, dict) and d.get("format") == CharTokenizer.FORMAT:
        return CharTokenizer.from_dict(d, source)
    if isinstance(d, dict) and d.get("version") not in FILE_VERSIONS:  # maybe a kind in its own file
        for kind in KINDS:
            trainer_of(kind)
    return Tokenizer.from_dict(d, source)


def load_tokenizer(path):
    """Any kind of tokenizer saved by its `save`; any fault in the file is one TokenizerError line."""
    return tokenizer_from_dict(read_json(path), str(path))


# --- 3. command line ----------------------------------------------------------------------------
#
# `python bpe_tokenizer.py train --data FILE --tokenizer KIND --vocab N --out FILE`, then encode and
# decode with `--tokenizer_file FILE`: the ladder's words. Its flags and messages are in bpe_tools.py.


def main(argv=None) -> int:
    from bpe_tools import cli  # the command line's flags and messages; no rung needs them

    kinds = {kind: (what, trainer_of(kind)) for kind, (what, _) in KINDS.items()}  # every class imported
    return cli(argv, kinds, takes_vocab, load_tokenizer)


if __name__ == "__main__":
    sys.exit(main())
