"""What bpe_tokenizer.py needs that is not byte-pair encoding: read it after the lesson, or never.

- One-line errors (TokenizerError) and the check of a tokenizer's internal form (it may come from
  a file someone edited).
- Special tokens: one regular expression that cuts them out of the text.
- Work on all cores and in bounded memory: where a text can be cut without changing its pre-tokens,
  counting pre-tokens across processes (training), encoding across processes (encode_batch) or as
  a stream (encode_iterable, cut_stream).
- Files: read with one line per fault, written atomically.

It imports nothing from bpe_tokenizer.py (a tokenizer is passed in), so the lesson file can use it
without a circular import; common/ uses the streaming parts for corpora larger than memory.
"""

import contextlib
import errno
import json
import multiprocessing
import os
import re
import sys
from array import array
from collections import Counter, deque
from functools import partial
from itertools import chain, pairwise
from pathlib import Path

import regex


class TokenizerError(ValueError):
    """Bad input to the tokenizer; the message is one line that says what to fix."""


def check_tokenizer(vocab, merges, special_tokens, alphabet, unk_id) -> dict[bytes, int]:
    """Check a tokenizer's internal form (Tokenizer's constructor arguments; they may come from a
    file). Returns base symbol bytes -> id; any fault is one TokenizerError line."""
    n = len(vocab)

    def check(ok, message):
        if not ok:
            raise TokenizerError(message)

    for text, i in special_tokens.items():
        check(text and 0 <= i < n, f"special token {text!r} has id {i}, outside the vocabulary of {n}")
        check(vocab[i] == text.encode(), f"special token {text!r}: vocab[{i}] is {vocab[i]!r}")
    check(len(set(special_tokens.values())) == len(special_tokens), "two special tokens share an id")
    if alphabet is None:
        check(unk_id is None, "a byte-level tokenizer has no unknown token: pass unk_id=None")
    else:
        check(alphabet != "", "the alphabet is empty: pass None for byte-level or the allowed characters")
        check(unk_id is not None and 0 <= unk_id < n and vocab[unk_id] == b"", "unk_id must be an id with b''")
    special_ids = set(special_tokens.values()) | {unk_id}
    produced, seen = set(), set()
    for r, (a, b, c) in enumerate(merges):
        check(all(0 <= i < n for i in (a, b, c)), f"merge {r} {[a, b, c]} has an id outside 0..{n - 1}")
        check(a not in special_ids and b not in special_ids, f"merge {r} uses a special or unknown token")
        check(vocab[a] and vocab[b], f"merge {r} joins an empty token")
        check(
            vocab[c] == vocab[a] + vocab[b],
            f"merge {r}: vocab[{c}] = {vocab[c]!r} is not {vocab[a]!r} + {vocab[b]!r}",
        )
        check((a, b) not in seen, f"merge {r} repeats the pair {(a, b)}")
        seen.add((a, b))
        produced.add(c)
    base = {}  # the base symbols: single bytes (byte-level) or single characters (alphabet)
    for i, b in enumerate(vocab):
        if i not in produced and i not in special_ids:
            base.setdefault(b, i)
    if alphabet is None:
        missing = [x for x in range(256) if bytes([x]) not in base]
        check(not missing, f"a byte-level vocabulary needs every single byte; {len(missing)} are missing")
    else:
        missing = [ch for ch in alphabet if ch.encode() not in base]
        check(not missing, f"alphabet characters {''.join(missing)!r} have no token in the vocabulary")
    return base


# Special tokens (e.g. "<|endoftext|>") are cut out of the text before pre-tokenization: never
# split, never merged into, never counted in training; where several could match, the leftmost
# wins, then the longest.


def special_regex(special_tokens) -> re.Pattern | None:
    """One alternation of all special tokens, longest first, so the longest wins at a position."""
    if not special_tokens:
        return None
    alternatives = sorted(special_tokens, key=lambda s: (-len(s), s))
    return re.compile("(" + "|".join(map(re.escape, alternatives)) + ")")


# Counting pre-tokens on all cores, and encoding across processes or as a stream, needs places
# where a text can be cut without changing its pre-tokens. bpe_tokenizer.py's GPT-2 pattern (GPT2_SPLIT_PATTERN) always has a
# pre-token boundary at whitespace that follows a non-whitespace character (no match of that
# pattern contains "non-space then space"), so the pieces of a text cut there pre-tokenize to the
# same pre-tokens as the whole text.
_CUT = regex.compile(r"(?<=\S)\s")
_CUT_LAST = regex.compile(r"(?r)(?<=\S)\s")  # (?r): search backwards, finds the last cut
_CHUNK_CHARS = 1 << 20  # pieces of work for other processes


def _cut_points(text: str, size: int) -> list[int]:
    """Cut positions (see _CUT) roughly every `size` characters."""
    cuts = [0]
    while len(text) - cuts[-1] > size:
        m = _CUT.search(text, cuts[-1] + size)
        if m is None:
            break
        cuts.append(m.start())
    return cuts + [len(text)]


def _count_pretokens(split, texts: list[str]) -> Counter:
    """Pre-token counts of some texts; runs in a worker process."""
    counts = Counter()
    for text in texts:
        counts.update(split(text))
    return counts


def ordered_map(fn, items, num_workers: int, initializer=None, initargs=()):
    """map(fn, items) across processes, in order, with at most 2 tasks per worker in flight
    (Pool.imap would read the whole input ahead, which breaks bounded memory). `initializer`
    runs once per worker (in this process when num_workers <= 1), e.g. to hand it a tokenizer."""
    if num_workers <= 1:
        if initializer is not None:
            initializer(*initargs)
        yield from map(fn, items)
        return
    with multiprocessing.get_context().Pool(num_workers, initializer, initargs) as pool:
        pending = deque()
        for item in items:
            pending.append(pool.apply_async(fn, (item,)))
            if len(pending) >= 2 * num_workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def count_pretokens(texts, split, special_tokens=(), num_workers=None, cuttable=False) -> Counter:
    """Count the distinct pre-tokens of a text (str) or of an iterable of texts (each one a separate
    document), without special tokens. `split` cuts a text into pre-tokens (a function that pickles:
    it runs in other processes); `cuttable`: whether texts may be cut at _CUT (GPT-2's pattern).
    Uses `num_workers` processes (default: all cores)."""
    special = special_regex(special_tokens)

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
        return _count_pretokens(split, first)
    counts = Counter()
    for part in ordered_map(partial(_count_pretokens, split), chain([first, second], it), workers):
        counts.update(part)
    return counts


def _spans_special(text: str, p: int, special_tokens) -> bool:
    """Whether a special token could straddle position p of `text`."""
    return any(s in text[max(0, p - len(s) + 1) : p + len(s) - 1] for s in special_tokens)


def _safe_cut(tok, text: str, end: int) -> int | None:
    """The last position p < end where encode(text) == encode(text[:p]) + encode(text[p:])."""
    while True:
        m = _CUT_LAST.search(text, 1, end)
        if m is None:
            return None
        p = m.start()
        # A special token that spans p would be cut in two: look for one, and cut earlier if so.
        if not _spans_special(text, p, tok.special_tokens):
            return p
        end = p


def _pieces(tok, text: str, size: int) -> list[str]:
    """Cut a text into pieces of about `size` characters that encode independently."""
    if not tok._cuttable or len(text) <= size:
        return [text]
    pieces = []
    while len(text) > size:
        p = _safe_cut(tok, text, size)
        if p is None:
            break
        pieces.append(text[:p])
        text = text[p:]
    return pieces + [text]


def cut_stream(iterable, size: int = _CHUNK_CHARS, special_tokens=()):
    """Re-cut a stream of str (a file's blocks, a dataset's rows) into pieces of about `size`
    characters, each cut at a pre-token boundary of GPT-2's pattern (see _CUT) that no special
    token straddles. So the pieces pre-tokenize, count and encode exactly as their concatenation
    does, and whitespace-separated words are never cut either. Memory: about `size` characters
    (more only while one "word" is longer than that)."""
    longest = max(map(len, special_tokens), default=0)
    parts, n = [], 0
    for text in iterable:
        parts.append(text)
        n += len(text)
        if n < size:
            continue
        buffer, at = "".join(parts), 0
        # a special token that straddles a cut must lie wholly inside the buffer to be seen
        end = len(buffer) - longest
        while len(buffer) - at > size:
            m = _CUT.search(buffer, at + size, end)
            while m is not None and _spans_special(buffer, m.start(), special_tokens):
                m = _CUT.search(buffer, m.start() + 1, end)
            if m is None:
                break  # no cut yet (one giant word?): read on
            yield buffer[at : m.start()]
            at = m.start()
        parts, n = [buffer[at:]], len(buffer) - at
    rest = "".join(parts)
    if rest:
        yield rest


def encode_iterable(tok, iterable, buffer_chars: int = _CHUNK_CHARS):
    """Yield the ids of the concatenation of an iterable of str (e.g. an open file's lines)
    with bounded memory: text is buffered up to a cut where pre-tokens cannot straddle.

    With GPT-2's pattern the ids equal tok.encode("".join(iterable)). With another pattern no such
    cut is known, so each str is encoded on its own: give it documents or paragraphs.
    """
    if not tok._cuttable:
        for text in iterable:
            yield from tok.encode(text)
        return
    for piece in cut_stream(iterable, buffer_chars, tok.special_tokens):
        yield from tok.encode(piece)


_WORKER_TOKENIZER = None


def _worker_init(tok) -> None:
    global _WORKER_TOKENIZER
    _WORKER_TOKENIZER = tok


def _worker_encode(text: str) -> array:
    return array("I", _WORKER_TOKENIZER.encode(text))  # an array pickles much faster than a list


def encode_batch(tok, texts, num_workers: int | None = None) -> list[list[int]]:
    """Encode many texts across `num_workers` processes (default: all cores). Long texts are
    cut into pieces that encode independently, so one big text is parallel too."""
    texts = list(texts)
    workers = num_workers or os.cpu_count() or 1
    total = sum(map(len, texts))
    if workers <= 1 or total < _CHUNK_CHARS // 4:
        return [tok.encode(t) for t in texts]
    size = max(1 << 16, total // (workers * 4))
    owner, pieces = [], []
    for k, text in enumerate(texts):
        for piece in _pieces(tok, text, size):
            owner.append(k)
            pieces.append(piece)
    out = [[] for _ in texts]
    with multiprocessing.get_context().Pool(workers, initializer=_worker_init, initargs=(tok,)) as pool:
        chunksize = max(1, len(pieces) // (workers * 8))
        for k, ids in zip(owner, pool.imap(_worker_encode, pieces, chunksize)):
            out[k].extend(ids)
    return out


# Files: read with one line per fault; written atomically, so that a crash, a full disk or Ctrl-C
# leaves the old file or the new one, never half of either. The temporary file is per process
# (`<name>.<pid>.tmp` beside the target: two processes filling one cache never share it), fsynced,
# renamed over the target, and removed on any failure.


def _why(e: OSError) -> str:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return "no space left on the disk; free some space or write elsewhere"
    if e.errno == errno.EROFS:
        return "read-only file system; write elsewhere"
    if e.errno in (errno.EACCES, errno.EPERM):
        return "permission denied; write elsewhere or fix the folder's permissions"
    return e.strerror or str(e)


def write_atomic(path, text: str) -> None:
    """Replace the file at `path` with `text` (UTF-8), atomically; one TokenizerError line on failure."""
    path = Path(path)
    if path.is_dir():
        raise TokenizerError(f"cannot write {path}: it is a folder; give a file path such as {path / 'tokenizer.json'}")
    if path.exists() and not path.is_file():  # /dev/stdout, a pipe: written through, never renamed over
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            return
        except OSError as e:
            raise TokenizerError(f"cannot write {path}: {_why(e)}") from None
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())  # the bytes are on disk before the name points at them
            os.replace(tmp, path)
        except BaseException:  # also Ctrl-C: never leave the temporary file behind
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise
    except OSError as e:
        raise TokenizerError(f"cannot write {path}: {_why(e)}") from None
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX)
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_text(path, what: str = "file") -> str:
    """A UTF-8 text file ('-': standard input), or one TokenizerError line that says what is wrong."""
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else Path(path).read_bytes()
    except FileNotFoundError:
        raise TokenizerError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise TokenizerError(f"{what} {path} is a folder; give a file") from None
    except OSError as e:
        raise TokenizerError(f"cannot read {what} {path}: {_why(e)}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise TokenizerError(
            f"{what} {path} is not UTF-8 text: byte {e.start} (line {line}) is {data[e.start : e.start + 1]!r}; "
            "convert it with e.g. `iconv -f latin1 -t utf-8`"
        ) from None


def read_json(path):
    text = read_text(path, "tokenizer file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise TokenizerError(f"{path} is not valid JSON ({e.msg} at line {e.lineno}); is it truncated?") from None
    except RecursionError:
        raise TokenizerError(f"{path} is not a tokenizer file (JSON nested too deeply)") from None
