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

What this file adds on top of that textbook loop:
- Pre-tokenization: text is first cut into pre-tokens with GPT-2's regex (words with their
  leading space, numbers, punctuation runs, whitespace); merges never cross a pre-token boundary.
  Special tokens such as "<|endoftext|>" are cut out before that: never split, never merged into;
  where several could match, the leftmost wins, then the longest.
- Two alphabets. Byte-level (alphabet=None): the base symbols are the 256 bytes, so every string
  round-trips exactly. Restricted (alphabet="..."): the base symbols are the given characters
  plus one unknown token; each other character becomes one unknown token (never dropped, never
  merged), and decodes to U+FFFD "\ufffd".
- Training rule: count adjacent pairs inside pre-tokens, weighted by how often each pre-token
  occurs; merge the most frequent pair; break ties by the lexicographically greatest pair,
  compared as byte strings (bytes(a), bytes(b)). The result is deterministic for the same input.
- Speed: pre-token counts are deduplicated (WikiText-2 has 2.2M pre-tokens but 33k distinct), pair
  counts are updated only for the words a merge touches, the best pair comes from a heap, and
  pre-tokenization runs on all cores. Encoding caches the ids of every pre-token it has seen.

Token ids: base symbols first (bytes 0..255, or the sorted alphabet followed by the unknown
token), then one id per merge in learned order, then the special tokens (Scaffold-BPE moves its
scaffold tokens after those: see below).
Run `python bpe_tokenizer.py --help` for the CLI.

Scaffold-BPE (train(..., scaffold=True); Lian et al. 2024, arXiv:2404.17808). Plain BPE keeps every
token it ever made, even those that survive almost only inside longer tokens ("scaffold tokens":
WikiText-2's " @" lives in " @-@", " @,@" and " @.@"); they take vocabulary slots and the model
rarely sees them. Unlike plain BPE:
- Training (the paper's Algorithm 1): after each merge (a, b) -> ab, a child whose remaining count
  is below the count of the new head of the queue, f(Q_head), becomes a scaffold token. The queue
  holds scaffold tokens too, with their counts, so a scaffold token that outranks every pair later
  (pair counts keep falling) is popped and becomes a normal token again, at no merge. Scaffold tokens
  stay in the training words and keep merging; `vocab_size` counts only the normal tokens, so
  training runs until that many merged tokens are normal. The pairs merge in the same order as in
  plain BPE: Scaffold-BPE only merges more of them and labels some results.
- Encoding: all merges apply as usual, then each remaining scaffold token is demolished into its
  shortest sequence of normal tokens: undo the merge that made it, and again for each half that is
  scaffold too (every token is made by one merge, so this split is unique and follows BPE's own
  structure; it is not a search over all ways to spell the bytes with normal tokens).
- Ids: base symbols, normal merged tokens in learned order, special tokens, then the scaffold tokens.
  So ids 0..vocab_size-1 are exactly the model's tokens (an embedding of vocab_size rows, no row
  for a scaffold token), encode never outputs an id >= vocab_size, and `scaffold_tokens` lists the
  rest. A file with scaffold tokens is format version 2 (version 1 plus "scaffold_tokens"); plain
  BPE files stay version 1, unchanged.

Worked example (byte-level, "aaabdaaabac", vocab_size=258: 2 normal merged tokens), counts after
each merge, f(Q_head) being the best count left in the queue:

    1. (a, a)    -> aa      a:3 aa:2         pairs (aa,a):2 (a,b):2 ... f(Q_head)=2; a is a byte
    2. (aa, a)   -> aaa     aa:0 < 2         -> aa is scaffold          (normal merged: aaa)
    3. (aaa, b)  -> aaab    aaa:0 < 1        -> aaa is scaffold         (normal merged: aaab)
    4. (d, aaab) -> daaab   aaab:1, not < 1  -> stays                   (normal: aaab, daaab)
    ids: 256 = aaab, 257 = daaab, then scaffold 258 = aa, 259 = aaa; vocab_size = 258
    encode("aaabdaaabac") == [256, 257, 97, 99]; encode("aaa") -> [259] -> demolished: [97, 97, 97]

Deviations from the paper, and choices it leaves open:
- Base symbols (bytes, alphabet characters, unk) are never scaffold, so every text stays encodable
  and demolishing always ends.
- At equal counts a scaffold token in the queue beats a pair (the marking test is strict, f < f(Q_head),
  so a token with the head's count counts as frequent enough); with an empty queue f(Q_head) = 0.
- Only the two children of the latest merge are tested, as in Algorithm 1. No other token needs
  it: a count changes only when a merge consumes the token, and f(Q_head) never grows.
- A pair whose bytes equal an existing token's still makes a new id, as in plain BPE here.
- Written from the abstract, the issue, and two public reproductions that follow Algorithm 1
  (TkTkT's ScaffoldBPE, yerinNam/h-scaffold-bpe); the paper's full text was not at hand.
"""

import argparse
import json
import multiprocessing
import os
import re
import sys
import time
from array import array
from collections import Counter, defaultdict, deque
from heapq import heapify, heappop, heappush
from itertools import chain, pairwise, repeat
from pathlib import Path

import regex
from tqdm import tqdm

__all__ = ["Tokenizer", "TokenizerError", "GPT2_SPLIT_PATTERN", "ENGLISH_ALPHABET", "learn_merges"]

# GPT-2's pre-tokenizer (openai/gpt-2, src/encoder.py): contractions, words with an optional leading
# space, numbers, punctuation runs, and whitespace; `\s+(?!\S)` leaves the last space of a run to
# the word that follows, so " the" stays one pre-token.
GPT2_SPLIT_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

# The restricted "English-only" alphabet (rung v3): printable ASCII plus newline and tab.
ENGLISH_ALPHABET = "".join(chr(c) for c in range(0x20, 0x7F)) + "\n\t"

FORMAT = "llm-ladder-bpe"
VERSION = 1  # plain BPE; files are unchanged from before Scaffold-BPE existed
VERSION_SCAFFOLD = 2  # version 1 + "scaffold_tokens"; vocab also holds the scaffold ids
UNK_TEXT = "\ufffd"  # what an unknown token decodes to
UTF8_UNK = UNK_TEXT.encode()

# Where GPT2_SPLIT_PATTERN always has a pre-token boundary: at whitespace that follows a
# non-whitespace character (no match of that pattern contains "non-space then space"). Cutting a
# text there and pre-tokenizing the pieces gives the same pre-tokens as the whole text, which is
# what lets training and encoding split one long text across processes and stream it.
_CUT = regex.compile(r"(?<=\S)\s")
_CUT_LAST = regex.compile(r"(?r)(?<=\S)\s")  # (?r): search backwards, finds the last cut
_CUTTABLE_PATTERNS = {GPT2_SPLIT_PATTERN}

_CHUNK_CHARS = 1 << 20  # pieces of work for other processes
_NO_RANK = 1 << 62  # the "rank" of a pair that never merges
_CACHE_MAX = 1 << 18  # pre-tokens remembered by encode; cleared when full so memory stays bounded


class TokenizerError(ValueError):
    """Bad input to the tokenizer; the message is one line that says what to fix."""


# --- pre-tokenization ---------------------------------------------------------------------------


def _compile_pattern(pattern: str) -> "regex.Pattern":
    try:
        pat = regex.compile(pattern)
    except regex.error as e:
        raise TokenizerError(f"pattern {pattern!r} is not a valid regular expression: {e}") from None
    if pat.groups:
        raise TokenizerError(f"pattern {pattern!r} has capturing groups: write (?:...) instead of (...)")
    return pat


def _pretokenize(pat: "regex.Pattern", text: str) -> list[str]:
    """Cut `text` into pre-tokens. Characters the pattern does not match become pre-tokens of
    their own, so a custom pattern can never drop text (GPT-2's pattern matches everything)."""
    words = pat.findall(text)
    if sum(map(len, words)) == len(text):
        return words
    words, at = [], 0
    for m in pat.finditer(text):
        if m.start() > at:
            words.append(text[at : m.start()])
        if m.end() > m.start():
            words.append(m.group())
        at = max(at, m.end())
    if at < len(text):
        words.append(text[at:])
    return words


def _special_regex(special_tokens) -> re.Pattern | None:
    """One alternation of all special tokens, longest first, so the longest wins at a position."""
    if not special_tokens:
        return None
    alternatives = sorted(special_tokens, key=lambda s: (-len(s), s))
    return re.compile("(" + "|".join(map(re.escape, alternatives)) + ")")


def _cut_points(text: str, size: int) -> list[int]:
    """Cut positions (see _CUT) roughly every `size` characters."""
    cuts = [0]
    while len(text) - cuts[-1] > size:
        m = _CUT.search(text, cuts[-1] + size)
        if m is None:
            break
        cuts.append(m.start())
    return cuts + [len(text)]


def _count_pretokens(pattern: str, texts: list[str]) -> Counter:
    """Pre-token counts of some texts; runs in a worker process."""
    pat = _compile_pattern(pattern)
    counts = Counter()
    for text in texts:
        counts.update(_pretokenize(pat, text))
    return counts


def _ordered_map(fn, items, num_workers: int):
    """map(fn, items) across processes, in order, with at most 2 tasks per worker in flight
    (Pool.imap would read the whole input ahead, which breaks bounded memory)."""
    if num_workers <= 1:
        yield from map(fn, items)
        return
    with multiprocessing.get_context().Pool(num_workers) as pool:
        pending = deque()
        for item in items:
            pending.append(pool.apply_async(fn, (item,)))
            if len(pending) >= 2 * num_workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def count_pretokens(texts, pattern=GPT2_SPLIT_PATTERN, special_tokens=(), num_workers=None) -> Counter:
    """Count the distinct pre-tokens of a text (str) or of an iterable of texts (each one a separate
    document), without special tokens. Uses `num_workers` processes (default: all cores)."""
    _compile_pattern(pattern)
    special = _special_regex(special_tokens)
    cuttable = pattern in _CUTTABLE_PATTERNS

    def batches():  # lists of texts of about _CHUNK_CHARS characters
        batch, size = [], 0
        for text in [texts] if isinstance(texts, str) else texts:
            if not isinstance(text, str):
                raise TokenizerError(f"training data must be str or an iterable of str, got {type(text).__name__}")
            for segment in special.split(text)[::2] if special else [text]:
                cuts = _cut_points(segment, _CHUNK_CHARS) if cuttable else [0, len(segment)]
                for lo, hi in pairwise(cuts):
                    batch.append(segment[lo:hi])
                    size += hi - lo
                    if size >= _CHUNK_CHARS:
                        yield batch
                        batch, size = [], 0
        if batch:
            yield batch

    it = batches()
    first = list(next(it, []))
    second = next(it, None)
    workers = num_workers or os.cpu_count() or 1
    if second is None:  # one chunk of work: a pool would only add start-up time
        return _count_pretokens(pattern, first)
    counts = Counter()
    from functools import partial

    for part in _ordered_map(partial(_count_pretokens, pattern), chain([first, second], it), workers):
        counts.update(part)
    return counts


# --- training -----------------------------------------------------------------------------------

_INVERT = {i: 255 - i for i in range(256)}


def _descending(b: bytes) -> str:
    """A sort key that orders byte strings backwards: for byte strings x < y, key(x) > key(y).
    The heap is a min-heap, so this makes it hand out the *greatest* pair first among equal counts.
    (Each byte c becomes 255 - c, and the end of the string sorts after every byte, so a prefix
    comes after the longer strings it starts.)"""
    return b.decode("latin-1").translate(_INVERT) + "\u0100"


def _merge(word: list[int], a: int, b: int, new: int) -> list[int]:
    """Replace every non-overlapping occurrence of the pair (a, b) in `word`, left to right."""
    out, i, n = [], 0, len(word)
    while i < n:
        if i + 1 < n and word[i] == a and word[i + 1] == b:
            out.append(new)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out


def _head_count(heap, pair_counts, token_count, scaffold) -> int:
    """Scaffold-BPE's f(Q_head): the count of the best live entry of the queue (pair or scaffold
    token), 0 when the queue is empty. Stale entries on top are dropped (the main loop would too)."""
    while heap:
        neg_count, _, _, a, b = heap[0]
        live = pair_counts.get((a, b)) if b >= 0 else (token_count[a] if a in scaffold else None)
        if live == -neg_count:
            return -neg_count
        heappop(heap)
    return 0


def learn_merges(words, freqs, num_merges, token_bytes, progress=False, scaffold=False):
    """Learn up to `num_merges` merges from distinct words (lists of symbol ids) and their counts.

    `token_bytes[i]` is the byte string of symbol i; merge k creates the symbol len(token_bytes) + k.
    Each step merges the pair with the highest count (summed over the words it occurs in, weighted
    by the word's count); ties go to the greatest (token_bytes[a], token_bytes[b]). Stops early when
    no pair is left. `words` is modified in place (it ends up holding the merged words).

    Instead of recounting every pair after every merge (hours on WikiText-2), it keeps the pair
    counts and, for each pair, the set of words that contain it; a merge then only revisits those
    words, and a heap with lazy deletion finds the best pair.

    scaffold=True runs Scaffold-BPE (see the module docstring) and returns (merges, scaffold ids):
    it merges until `num_merges` merged tokens are *not* scaffold, so it returns more merges. The
    base symbols (ids below len(token_bytes)) are never scaffold. Returns just the merges otherwise.
    """
    token_bytes = list(token_bytes)
    n_base = len(token_bytes)
    pair_counts = defaultdict(int)
    where = defaultdict(set)  # pair -> indices of words that contain it (may hold stale indices)
    for i, (word, freq) in enumerate(zip(words, freqs)):
        for pair in pairwise(word):
            pair_counts[pair] += freq
            where[pair].add(i)
    key = [_descending(b) for b in token_bytes]
    heap = [(-count, key[a], key[b], a, b) for (a, b), count in pair_counts.items()]
    heapify(heap)
    # Scaffold-BPE's expanded queue: besides pairs, the heap holds scaffold tokens as entries
    # (-count, "", key[t], t, -1). "" sorts first, so at equal counts a token beats every pair.
    scaffold_ids = set()
    token_count = defaultdict(int)  # token -> how often it occurs in the (merged) words
    if scaffold:
        for word, freq in zip(words, freqs):
            for t in word:
                token_count[t] += freq

    merges = []
    with tqdm(total=num_merges, desc="bpe merges", unit="merge", disable=not progress, mininterval=0.5) as bar:
        while len(merges) - len(scaffold_ids) < num_merges and heap:
            neg_count, _, _, a, b = heappop(heap)
            if b < 0:  # a scaffold token at the head of the queue: frequent enough to be a token again
                if a in scaffold_ids and token_count[a] == -neg_count:
                    scaffold_ids.discard(a)
                    bar.update()
                continue
            if pair_counts.get((a, b)) != -neg_count:
                continue  # stale: this pair's count changed after the entry was pushed
            new = len(token_bytes)
            merges.append((a, b))
            token_bytes.append(token_bytes[a] + token_bytes[b])
            key.append(_descending(token_bytes[new]))

            # Re-count only the words that contain (a, b): remove their old pairs, add the new ones.
            changed = set()
            merged_count = 0  # occurrences of the new token, weighted by word counts
            for i in where.pop((a, b)):
                word = words[i]
                merged = _merge(word, a, b, new)
                if len(merged) == len(word):
                    continue  # stale index: an earlier merge already consumed (a, b) in this word
                freq = freqs[i]
                merged_count += (len(word) - len(merged)) * freq
                old_pairs = list(pairwise(word))
                new_pairs = list(pairwise(merged))
                for pair in old_pairs:
                    pair_counts[pair] -= freq
                for pair in new_pairs:
                    pair_counts[pair] += freq
                    where[pair].add(i)
                changed.update(old_pairs)
                changed.update(new_pairs)
                words[i] = merged
            for pair in changed:
                count = pair_counts[pair]
                if count > 0:
                    heappush(heap, (-count, key[pair[0]], key[pair[1]], pair[0], pair[1]))
                else:
                    del pair_counts[pair]

            if scaffold:
                # Scaffold-BPE (Lian et al. 2024, Algorithm 1): the merge consumed some a's and b's.
                # A child whose remaining count is below the count of the next entry of the queue
                # now occurs mostly inside longer tokens: it becomes a scaffold token, and waits in
                # the queue with its count in case it outranks the pairs later on.
                token_count[a] -= merged_count
                token_count[b] -= merged_count  # subtle: for a == b this takes two a's per merge, right
                token_count[new] = merged_count
                children = (a,) if a == b else (a, b)
                for x in children:  # a child that is scaffold already: its queue entry is stale now
                    if x in scaffold_ids and token_count[x] > 0:
                        heappush(heap, (-token_count[x], "", key[x], x, -1))
                head = _head_count(heap, pair_counts, token_count, scaffold_ids)
                for x in children:
                    if x >= n_base and x not in scaffold_ids and token_count[x] < head:
                        scaffold_ids.add(x)
                        if token_count[x] > 0:  # a token that no longer occurs can never come back
                            heappush(heap, (-token_count[x], "", key[x], x, -1))
            bar.update(len(merges) - len(scaffold_ids) - bar.n)
    return (merges, scaffold_ids) if scaffold else merges


# --- the tokenizer ------------------------------------------------------------------------------


class _WordCache(dict):
    """pre-token -> its ids; a miss runs BPE on the pre-token. Cleared when full (bounded memory)."""

    def __init__(self, encode_word):
        super().__init__()
        self.encode_word = encode_word

    def __missing__(self, word):
        if len(self) >= _CACHE_MAX:
            self.clear()
        ids = self[word] = self.encode_word(word)
        return ids


class Tokenizer:
    """A BPE tokenizer: a vocabulary (id -> bytes), ordered merges, a split pattern, special tokens.

    Make one with `Tokenizer.train`, `Tokenizer.from_vocab_and_merges`, `Tokenizer.from_gpt2_files`
    or `Tokenizer.load`; the constructor takes the internal form and checks it.
    """

    def __init__(
        self,
        vocab,
        merges,
        pattern=GPT2_SPLIT_PATTERN,
        special_tokens=None,
        alphabet=None,
        unk_id=None,
        scaffold_tokens=(),
    ):
        """vocab: list of bytes per id; merges: ordered (a, b, new_id); special_tokens: text -> id;
        alphabet: None (byte-level) or the allowed characters, with unk_id the unknown token;
        scaffold_tokens: ids of Scaffold-BPE's scaffold tokens, which must be the last ids."""
        self._vocab = [bytes(b) for b in vocab]
        n = len(self._vocab)
        self.pattern = pattern
        self._pat = _compile_pattern(pattern)
        self.special_tokens = dict(special_tokens or {})
        self.alphabet = None if alphabet is None else "".join(sorted(set(alphabet)))
        self.unk_id = unk_id
        self._merges = [tuple(m) for m in merges]

        def check(ok, message):
            if not ok:
                raise TokenizerError(message)

        for text, i in self.special_tokens.items():
            check(text and 0 <= i < n, f"special token {text!r} has id {i}, outside the vocabulary of {n}")
            check(self._vocab[i] == text.encode(), f"special token {text!r}: vocab[{i}] is {self._vocab[i]!r}")
        check(len(set(self.special_tokens.values())) == len(self.special_tokens), "two special tokens share an id")
        if self.alphabet is None:
            check(unk_id is None, "a byte-level tokenizer has no unknown token: pass unk_id=None")
        else:
            check(self.alphabet != "", "the alphabet is empty: pass None for byte-level or the allowed characters")
            check(
                unk_id is not None and 0 <= unk_id < n and self._vocab[unk_id] == b"", "unk_id must be an id with b''"
            )
        special_ids = set(self.special_tokens.values()) | {unk_id}
        produced = set()
        made_by = {}  # id -> the first merge (a, b) that makes it
        self._rank = {}  # (a, b) -> position in the merge list: earlier merges apply first
        self._merged_id = [c for _, _, c in self._merges]  # rank -> the id its pair merges into
        for r, (a, b, c) in enumerate(self._merges):
            check(all(0 <= i < n for i in (a, b, c)), f"merge {r} {[a, b, c]} has an id outside 0..{n - 1}")
            check(a not in special_ids and b not in special_ids, f"merge {r} uses a special or unknown token")
            check(
                self._vocab[c] == self._vocab[a] + self._vocab[b],
                f"merge {r}: vocab[{c}] = {self._vocab[c]!r} is not {self._vocab[a]!r} + {self._vocab[b]!r}",
            )
            check((a, b) not in self._rank, f"merge {r} repeats the pair {(a, b)}")
            self._rank[(a, b)] = r
            produced.add(c)
            made_by.setdefault(c, (a, b))

        # Scaffold tokens take the last ids, so that ids 0..vocab_size-1 are exactly what a model sees.
        self._scaffold = frozenset(int(i) for i in scaffold_tokens)
        self._n_model = n - len(self._scaffold)
        check(
            self._scaffold == set(range(self._n_model, n)),
            f"scaffold tokens must be the last ids {self._n_model}..{n - 1} of the vocabulary",
        )
        check(self._scaffold <= produced - special_ids, "a scaffold token must be made by a merge")

        # The base symbols: single bytes (byte-level) or single characters (restricted).
        base = {}
        for i, b in enumerate(self._vocab):
            if i not in produced and i not in special_ids:
                base.setdefault(b, i)
        if self.alphabet is None:
            missing = [x for x in range(256) if bytes([x]) not in base]
            check(not missing, f"a byte-level vocabulary needs every single byte; {len(missing)} are missing")
            self._byte_ids = [base[bytes([x])] for x in range(256)]
            self._char_ids = None
        else:
            missing = [ch for ch in self.alphabet if ch.encode() not in base]
            check(not missing, f"alphabet characters {''.join(missing)!r} have no token in the vocabulary")
            self._byte_ids = None
            self._char_ids = {ch: base[ch.encode()] for ch in self.alphabet}
        self._special_re = _special_regex(self.special_tokens)
        self._decode_table = [UTF8_UNK if i == unk_id else b for i, b in enumerate(self._vocab)]

        # Scaffold-BPE's demolishing: each scaffold token -> the non-scaffold tokens it splits into,
        # by undoing its merge, and again for each half that is scaffold too (see the module docstring).
        self._demolish = {}

        def demolish(t):
            if t not in self._scaffold:
                return (t,)
            if t not in self._demolish:
                a, b = made_by[t]  # shorter tokens than t, so the recursion ends at the base symbols
                self._demolish[t] = demolish(a) + demolish(b)
            return self._demolish[t]

        for t in sorted(self._scaffold):
            demolish(t)
        self._cache = _WordCache(self._encode_word)
        self._cuttable = pattern in _CUTTABLE_PATTERNS

    # --- properties -------------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """The ids a model sees: base symbols + unknown + merges + special tokens, without
        Scaffold-BPE's scaffold tokens (they have the ids vocab_size and up; encode never outputs them)."""
        return self._n_model

    @property
    def vocab(self) -> dict[int, bytes]:
        """id -> bytes for ids below vocab_size (b"" for the unknown token, a special token's UTF-8
        text for a special token). Scaffold tokens are left out: see `scaffold_tokens`."""
        return dict(enumerate(self._vocab[: self._n_model]))

    @property
    def scaffold_tokens(self) -> list[int]:
        """Ids of Scaffold-BPE's scaffold tokens (empty for plain BPE): merge intermediates that encode
        splits back up. They are the ids vocab_size and up; `token_bytes(i)` gives their bytes."""
        return sorted(self._scaffold)

    @property
    def merges(self) -> list[tuple[int, int]]:
        """The merged pairs in learned order (GPT-2's vocab.bpe order)."""
        return [(a, b) for a, b, _ in self._merges]

    def token_bytes(self, i: int) -> bytes:
        """The UTF-8 bytes token i stands for; b"" for the unknown token (scaffold ids work too)."""
        return self._vocab[i]

    # --- training ---------------------------------------------------------------------------------

    @classmethod
    def train(
        cls,
        text,
        vocab_size: int,
        alphabet: str | None = None,
        pattern: str = GPT2_SPLIT_PATTERN,
        special_tokens=(),
        progress: bool = True,
        num_workers: int | None = None,
        *,
        scaffold: bool = False,
    ) -> "Tokenizer":
        """Learn a tokenizer with `vocab_size` ids in total from a str or an iterable of str.

        Each str of an iterable is pre-tokenized on its own (a document). Special tokens in the
        text are removed before counting; they get the last ids. If the text runs out of pairs to
        merge, the vocabulary ends up smaller than asked (check `vocab_size`).

        scaffold=True: Scaffold-BPE. `vocab_size` then counts only the tokens a model sees; the
        scaffold tokens come on top, with ids from vocab_size on (see the module docstring).
        """
        special_tokens = list(dict.fromkeys(special_tokens))
        if any(not isinstance(s, str) or not s for s in special_tokens):
            raise TokenizerError("special tokens must be non-empty strings")
        if alphabet is None:
            base = [bytes([x]) for x in range(256)]
        else:
            if not alphabet:
                raise TokenizerError("the alphabet is empty: pass None for byte-level or the allowed characters")
            base = [ch.encode() for ch in sorted(set(alphabet))] + [b""]  # the last one is unk
        minimum = len(base) + len(special_tokens)
        if vocab_size < minimum:
            what = f"{len(base) - (alphabet is not None)} base symbols" + (" + 1 unknown" if alphabet else "")
            what += f" + {len(special_tokens)} special tokens" if special_tokens else ""
            raise TokenizerError(
                f"vocab_size={vocab_size} is smaller than the base alphabet: the minimum is {minimum} ({what})"
            )

        # 1. Distinct pre-tokens and their counts (in parallel), as lists of base symbol ids.
        counts = count_pretokens(text, pattern, special_tokens, num_workers)
        if alphabet is None:
            words = {tuple(word.encode()): c for word, c in counts.items()}
        else:
            # The unknown token never merges, so a word is cut at unknown characters into parts
            # that are counted separately (identical parts of different words are summed).
            ids = {ch: i for i, ch in enumerate(sorted(set(alphabet)))}
            words = defaultdict(int)
            for word, c in counts.items():
                for part in regex.split(r"[^" + regex.escape("".join(ids)) + "]", word) if word else []:
                    if len(part) > 1:
                        words[tuple(ids[ch] for ch in part)] += c
        # Sorted so that the word order (and thus everything after) is independent of hashing.
        items = sorted(words.items())
        word_lists = [list(w) for w, _ in items]
        freqs = [c for _, c in items]

        # 2. The merges.
        if scaffold:
            merges, scaffold_ids = learn_merges(word_lists, freqs, vocab_size - minimum, base, progress, True)
        else:
            merges, scaffold_ids = learn_merges(word_lists, freqs, vocab_size - minimum, base, progress), set()

        # 3. Assemble the vocabulary: base, merges that are not scaffold, special tokens, then the
        # scaffold tokens. learn_merges numbers merge k as len(base) + k; `new_id` renumbers.
        learned = list(base)
        for a, b in merges:
            learned.append(learned[a] + learned[b])
        vocab = list(base)
        new_id = list(range(len(base))) + [None] * len(merges)
        for i in range(len(base), len(learned)):
            if i not in scaffold_ids:
                new_id[i] = len(vocab)
                vocab.append(learned[i])
        specials = {}
        for s in special_tokens:
            specials[s] = len(vocab)
            vocab.append(s.encode())
        for i in sorted(scaffold_ids):
            new_id[i] = len(vocab)
            vocab.append(learned[i])
        triples = [(new_id[a], new_id[b], new_id[len(base) + k]) for k, (a, b) in enumerate(merges)]
        unk_id = None if alphabet is None else len(base) - 1
        scaffold_tokens = [new_id[i] for i in sorted(scaffold_ids)]
        return cls(vocab, triples, pattern, specials, alphabet, unk_id, scaffold_tokens)

    # --- building from an existing vocabulary ------------------------------------------------------

    @classmethod
    def from_vocab_and_merges(
        cls, vocab, merges, pattern=GPT2_SPLIT_PATTERN, special_tokens=(), alphabet=None, unk_id=None
    ) -> "Tokenizer":
        """Build a tokenizer from id -> bytes and an ordered merge list, e.g. GPT-2's files.

        merges: pairs of ids (a, b), pairs of byte strings, or triples (a, b, new_id). For pairs,
        the new id is the token whose bytes are the concatenation (the lowest such id not made by an
        earlier merge). special_tokens: a dict text -> id, or texts (an existing token with the same
        bytes is used, else a new id is appended). alphabet/unk_id: as in the constructor.
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
        except (KeyError, IndexError, TypeError, ValueError) as e:
            if isinstance(e, TokenizerError):
                raise
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
        return cls(table, triples, pattern, specials, alphabet, unk_id)

    @classmethod
    def from_gpt2_files(cls, encoder_json, vocab_bpe, special_tokens=("<|endoftext|>",)) -> "Tokenizer":
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
        except (OSError, ValueError, KeyError) as e:
            raise TokenizerError(f"cannot read GPT-2 files {encoder_json}, {vocab_bpe}: {e}") from None
        return cls.from_vocab_and_merges(vocab, merges, GPT2_SPLIT_PATTERN, special_tokens)

    # --- encoding ---------------------------------------------------------------------------------

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
        if self._demolish and not self._scaffold.isdisjoint(ids):
            # Scaffold-BPE: all merges applied; now split each remaining scaffold token.
            ids = [x for t in ids for x in self._demolish.get(t, (t,))]
        return ids

    def _encode_ordinary(self, text: str) -> list[int]:
        # The cache lookup (map over dict.__getitem__) runs in C; only new pre-tokens reach Python.
        return list(chain.from_iterable(map(self._cache.__getitem__, _pretokenize(self._pat, text))))

    def encode(self, text: str) -> list[int]:
        """Text -> token ids. Special tokens in the text become their ids."""
        if not isinstance(text, str):
            raise TokenizerError(f"encode takes str, got {type(text).__name__}")
        if self._special_re is None:
            return self._encode_ordinary(text)
        ids = []
        for k, part in enumerate(self._special_re.split(text)):  # text, special, text, special, ...
            if k % 2:
                ids.append(self.special_tokens[part])
            elif part:
                ids.extend(self._encode_ordinary(part))
        return ids

    def decode(self, ids) -> str:
        """Token ids -> text. Unknown tokens decode to "\\ufffd"; so do byte sequences that are not
        valid UTF-8 (possible only for ids that were not produced by encode). Scaffold ids decode too."""
        ids = list(ids)
        if ids and (min(ids) < 0 or max(ids) >= len(self._vocab)):
            bad = next(i for i in ids if not 0 <= i < len(self._vocab))
            raise TokenizerError(f"token id {bad} is outside this tokenizer's vocabulary 0..{len(self._vocab) - 1}")
        return b"".join(map(self._decode_table.__getitem__, ids)).decode("utf-8", errors="replace")

    def count_unknown(self, text: str) -> int:
        """How many characters of `text` fall outside the alphabet (each is one unknown token)."""
        if self.unk_id is None:
            return 0
        return self.encode(text).count(self.unk_id)

    def _safe_cut(self, text: str, end: int) -> int | None:
        """The last position p < end where encode(text) == encode(text[:p]) + encode(text[p:])."""
        while True:
            m = _CUT_LAST.search(text, 1, end)
            if m is None:
                return None
            p = m.start()
            # A special token that spans p would be cut in two: look for one, and cut earlier if so.
            if not any(s in text[max(0, p - len(s) + 1) : p + len(s) - 1] for s in self.special_tokens):
                return p
            end = p

    def _pieces(self, text: str, size: int) -> list[str]:
        """Cut a text into pieces of about `size` characters that encode independently."""
        if not self._cuttable or len(text) <= size:
            return [text]
        pieces = []
        while len(text) > size:
            p = self._safe_cut(text, size)
            if p is None:
                break
            pieces.append(text[:p])
            text = text[p:]
        return pieces + [text]

    def encode_iterable(self, iterable, buffer_chars: int = _CHUNK_CHARS):
        """Yield the ids of the concatenation of an iterable of str (e.g. an open file's lines)
        with bounded memory: text is buffered up to a cut where pre-tokens cannot straddle.

        With GPT-2's pattern the ids equal encode("".join(iterable)). With another pattern no such
        cut is known, so each str is encoded on its own: give it documents or paragraphs.
        """
        if not self._cuttable:
            for text in iterable:
                yield from self.encode(text)
            return
        parts, size, limit = [], 0, buffer_chars
        for text in iterable:
            parts.append(text)
            size += len(text)
            if size >= limit:
                buffer = "".join(parts)
                # Cut no later than the longest special token from the end: one that spans the cut
                # must be wholly inside the buffer for _safe_cut to see it.
                p = self._safe_cut(buffer, len(buffer) - max(map(len, self.special_tokens), default=0))
                if p is None:  # no cut yet (one giant word?): keep reading
                    parts, limit = [buffer], 2 * size
                    continue
                yield from self.encode(buffer[:p])
                parts, size, limit = [buffer[p:]], len(buffer) - p, buffer_chars
        yield from self.encode("".join(parts))

    def encode_batch(self, texts, num_workers: int | None = None) -> list[list[int]]:
        """Encode many texts across `num_workers` processes (default: all cores). Long texts are
        cut into pieces that encode independently, so one big text is parallel too."""
        texts = list(texts)
        workers = num_workers or os.cpu_count() or 1
        total = sum(map(len, texts))
        if workers <= 1 or total < _CHUNK_CHARS // 4:
            return [self.encode(t) for t in texts]
        size = max(1 << 16, total // (workers * 4))
        owner, pieces = [], []
        for k, text in enumerate(texts):
            for piece in self._pieces(text, size):
                owner.append(k)
                pieces.append(piece)
        out = [[] for _ in texts]
        ctx = multiprocessing.get_context()
        with ctx.Pool(workers, initializer=_worker_init, initargs=(self,)) as pool:
            chunksize = max(1, len(pieces) // (workers * 8))
            for k, ids in zip(owner, pool.imap(_worker_encode, pieces, chunksize)):
                out[k].extend(ids)
        return out

    # --- saving and loading -----------------------------------------------------------------------

    def to_dict(self) -> dict:
        """The JSON-ready form. A token's bytes are written as text when they are valid UTF-8,
        else as a list of byte values (e.g. [226, 128] for part of a character)."""

        def show(b: bytes):
            try:
                return b.decode("utf-8")
            except UnicodeDecodeError:
                return list(b)

        d = {
            "format": FORMAT,
            "version": VERSION_SCAFFOLD if self._scaffold else VERSION,
            "pattern": self.pattern,
            "alphabet": self.alphabet,
            "unk_id": self.unk_id,
            "special_tokens": self.special_tokens,
            "vocab_size": self.vocab_size,
        }
        if self._scaffold:  # only then: a plain tokenizer's file (and its hash) stays as it was
            d["scaffold_tokens"] = self.scaffold_tokens
        d["vocab"] = {str(i): show(b) for i, b in enumerate(self._vocab)}
        d["merges"] = [list(m) for m in self._merges]
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str = "tokenizer") -> "Tokenizer":
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise TokenizerError(f'{source} is not a {FORMAT} tokenizer file (no "format": "{FORMAT}")')
        if d.get("version") not in (VERSION, VERSION_SCAFFOLD):
            raise TokenizerError(
                f"{source} is format version {d.get('version')!r}; "
                f"this bpe_tokenizer.py reads version {VERSION} (BPE) and {VERSION_SCAFFOLD} (Scaffold-BPE)"
            )
        try:
            scaffold = [int(i) for i in d["scaffold_tokens"]] if d["version"] == VERSION_SCAFFOLD else []
            n = d["vocab_size"] + len(scaffold)
            vocab = [d["vocab"][str(i)] for i in range(n)]
            vocab = [v.encode() if isinstance(v, str) else bytes(v) for v in vocab]
            merges = [tuple(int(x) for x in m) for m in d["merges"]]
            if any(len(m) != 3 for m in merges):
                raise ValueError("each merge must be [a, b, new_id]")
            return cls(vocab, merges, d["pattern"], d["special_tokens"], d["alphabet"], d["unk_id"], scaffold)
        except TokenizerError as e:
            raise TokenizerError(f"{source}: {e}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise TokenizerError(f"{source} is malformed: {type(e).__name__}: {e}") from None

    def save(self, path) -> None:
        """Write human-readable JSON (one vocab entry and one merge per line), atomically."""
        d = self.to_dict()
        head = {k: v for k, v in d.items() if k not in ("vocab", "merges")}

        def dump(x):
            return json.dumps(x, ensure_ascii=False)

        lines = ["{"] + [f"  {dump(k)}: {dump(v)}," for k, v in head.items()]
        lines += ['  "vocab": {', ",\n".join(f"    {dump(k)}: {dump(v)}" for k, v in d["vocab"].items()), "  },"]
        lines += ['  "merges": [', ",\n".join(f"    {dump(m)}" for m in d["merges"]), "  ]", "}", ""]
        path = Path(path)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # per process: two writers never share one
        tmp.write_text("\n".join(lines), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path) -> "Tokenizer":
        path = Path(path)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TokenizerError(f"tokenizer file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as e:
            raise TokenizerError(f"cannot read tokenizer file {path}: {e}") from None
        except json.JSONDecodeError as e:
            raise TokenizerError(f"{path} is not valid JSON ({e.msg} at line {e.lineno}); is it truncated?") from None
        return cls.from_dict(d, str(path))

    def __eq__(self, other) -> bool:
        return isinstance(other, Tokenizer) and self.to_dict() == other.to_dict()

    def __reduce__(self):  # pickling (for worker processes) goes through the JSON form
        return (Tokenizer.from_dict, (self.to_dict(),))

    def __repr__(self) -> str:
        kind = "byte-level" if self.alphabet is None else f"alphabet of {len(self.alphabet)} + unk"
        scaffold = f", scaffold_tokens={len(self._scaffold)}" if self._scaffold else ""
        return f"Tokenizer(vocab_size={self.vocab_size}, {kind}, merges={len(self._merges)}{scaffold})"


_WORKER_TOKENIZER = None


def _worker_init(tok: Tokenizer) -> None:
    global _WORKER_TOKENIZER
    _WORKER_TOKENIZER = tok


def _worker_encode(text: str) -> array:
    return array("I", _WORKER_TOKENIZER.encode(text))  # an array pickles much faster than a list


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


# --- command line -------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (and exits 2) instead of usage + error."""

    def error(self, message):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _read_input(args) -> str:
    if args.text is not None:
        return args.text
    if args.input == "-":
        return sys.stdin.read()
    try:
        return Path(args.input).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise TokenizerError(f"{args.input} is not UTF-8 text (byte {e.start})") from None


def _write_output(args, text: str) -> None:
    if args.out is None:
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")


def cmd_train(args) -> None:
    from common.corpus import load_corpus  # lazy: the library part stays standalone

    corpus = load_corpus(args.data, args.data_dir)
    alphabet = {"bytes": None, "english": ENGLISH_ALPHABET}[args.alphabet]
    t0 = time.perf_counter()
    tok = Tokenizer.train(
        corpus.train,
        args.vocab,
        alphabet,
        args.pattern,
        args.special,
        not args.no_progress,
        args.num_workers,
        scaffold=args.scaffold,
    )
    seconds = time.perf_counter() - t0
    tok.save(args.out)
    scaffold = tok.scaffold_tokens
    n_merges = len(tok.merges) - len(scaffold)  # the merged tokens that count toward vocab_size
    valid_ids = tok.encode(corpus.valid)
    n_bytes = len(corpus.valid.encode())
    print(f"trained on {corpus.name} train ({len(corpus.train.encode()):,} bytes) in {seconds:.2f} s")
    asked = args.vocab - (tok.vocab_size - n_merges)
    note = "" if n_merges == asked else f" (asked for {asked}: the text has no more pairs to merge)"
    print(f"merges: {n_merges:,}{note}; vocab_size: {tok.vocab_size:,}; saved to {args.out}")
    if args.scaffold:
        shown = ", ".join(repr(tok.token_bytes(i).decode("utf-8", "replace")) for i in scaffold[:10])
        print(
            f"scaffold tokens: {len(scaffold):,} (merge intermediates, not counted in vocab_size, "
            f"never output by encode)" + (f"; the first {min(10, len(scaffold))}: {shown}" if scaffold else "")
        )
    unknown = valid_ids.count(tok.unk_id) if tok.unk_id is not None else 0
    print(
        f"valid: {n_bytes:,} bytes -> {len(valid_ids):,} tokens = {n_bytes / max(1, len(valid_ids)):.3f} bytes/token"
        + (f"; {unknown:,} unknown characters (decoded as U+FFFD)" if tok.unk_id is not None else "")
    )


def cmd_encode(args) -> None:
    tok = Tokenizer.load(args.tokenizer)
    text = _read_input(args)
    ids = tok.encode(text)
    _write_output(args, " ".join(map(str, ids)) + "\n")
    unknown = f", {ids.count(tok.unk_id):,} unknown" if tok.unk_id is not None else ""
    print(f"{len(text.encode()):,} bytes -> {len(ids):,} tokens{unknown}", file=sys.stderr)


def cmd_decode(args) -> None:
    tok = Tokenizer.load(args.tokenizer)
    raw = args.ids if args.ids is not None else _read_input(argparse.Namespace(text=None, input=args.input))
    try:
        ids = [int(x) for x in raw.replace(",", " ").split()]
    except ValueError as e:
        raise TokenizerError(f"token ids must be integers separated by spaces: {e}") from None
    _write_output(args, tok.decode(ids))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bpe_tokenizer.py",
        description="Byte-pair-encoding tokenizer from scratch: train on a corpus, encode, decode.",
        allow_abbrev=False,
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("train", help="learn a tokenizer from a corpus", allow_abbrev=False)
    g = p.add_argument_group("data")
    g.add_argument(
        "--data", default="wikitext-2", help="corpus name (wikitext-2, tinyshakespeare, the-verdict) or a UTF-8 file"
    )
    g.add_argument("--data_dir", default=None, help="folder with the corpora (default: $LADDER_DATA_DIR)")
    g = p.add_argument_group("tokenizer")
    g.add_argument(
        "--vocab",
        type=int,
        default=8000,
        help="total vocabulary size: base symbols + unk + merges + specials (without scaffold tokens)",
    )
    g.add_argument(
        "--alphabet",
        choices=("bytes", "english"),
        default="bytes",
        help="bytes: 256 base bytes, every text round-trips; english: printable ASCII + \\n \\t, the rest is unknown",
    )
    g.add_argument(
        "--special",
        action="append",
        default=[],
        metavar="TEXT",
        help="a special token, e.g. '<|endoftext|>' (repeatable)",
    )
    g.add_argument("--pattern", default=GPT2_SPLIT_PATTERN, help="pre-tokenization regex (default: GPT-2's)")
    g.add_argument(
        "--scaffold",
        action="store_true",
        help="Scaffold-BPE (arXiv 2404.17808): merge intermediates that rarely occur on their own become "
        "scaffold tokens, which --vocab does not count and encode splits back up",
    )
    g = p.add_argument_group("output")
    g.add_argument("--out", required=True, help="where to write the tokenizer JSON")
    g.add_argument("--num_workers", type=int, default=None, help="processes for pre-tokenization (default: all cores)")
    g.add_argument("--no_progress", action="store_true", help="no progress bar")
    p.set_defaults(run=cmd_train)

    for name, what in (("encode", "text -> token ids (space-separated)"), ("decode", "token ids -> text")):
        p = sub.add_parser(name, help=what, description=what, allow_abbrev=False)
        p.add_argument("--tokenizer", required=True, help="a tokenizer JSON written by `train`")
        src = p.add_mutually_exclusive_group(required=True)
        if name == "encode":
            src.add_argument("--text", help="the text to encode")
        else:
            src.add_argument("--ids", help="the ids to decode, e.g. '72 101 108'")
        src.add_argument("--input", help="a UTF-8 file to read ('-' for stdin)")
        p.add_argument("--out", default=None, help="write here instead of stdout")
        p.set_defaults(run=cmd_encode if name == "encode" else cmd_decode)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from common.errors import LadderError
    except ImportError:  # bpe_tokenizer.py copied out of the repo: corpus names need common/
        LadderError = TokenizerError
    try:
        args.run(args)
    except (TokenizerError, LadderError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e.strerror or e}: {e.filename}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
