"""What bpe_tokenizer.py needs that is not byte-pair encoding, and that every rung runs: read it
after the lesson, or never.

- One-line errors (TokenizerError) and the check of a tokenizer's internal form (it may come from
  a file someone edited).
- Pre-tokenization's plumbing (a bad pattern as one line, text a custom pattern leaves unmatched)
  and the bounded cache of encoded pre-tokens.
- Counting pre-tokens on all cores (training), where a text can be cut without changing them.
- Files: read with one line per fault, written atomically.

What no rung runs is in bpe_tools.py: special tokens, encoding across processes or as a stream,
and the command line. Neither file imports bpe_tokenizer.py (a tokenizer or its class is passed
in), so the lesson file can use them without a circular import.
"""

import contextlib
import errno
import json
import multiprocessing
import os
import sys
from collections import Counter, deque
from functools import partial
from itertools import chain, pairwise
from pathlib import Path

import regex


class TokenizerError(ValueError):
    """Bad input to the tokenizer; the message is one line that says what to fix."""


def check_tokenizer(vocab, merges, alphabet, unk_id) -> dict[bytes, int]:
    """Check a tokenizer's internal form (Tokenizer's constructor arguments; they may come from a
    file). Returns base symbol bytes -> id; any fault is one TokenizerError line."""
    n = len(vocab)

    def check(ok, message):
        if not ok:
            raise TokenizerError(message)

    if alphabet is None:
        check(unk_id is None, "a byte-level tokenizer has no unknown token: pass unk_id=None")
    else:
        check(alphabet != "", "the alphabet is empty: pass None for byte-level or the allowed characters")
        check(unk_id is not None and 0 <= unk_id < n and vocab[unk_id] == b"", "unk_id must be an id with b''")
    produced, seen = set(), set()
    for r, (a, b, c) in enumerate(merges):
        check(all(0 <= i < n for i in (a, b, c)), f"merge {r} {[a, b, c]} has an id outside 0..{n - 1}")
        check(unk_id not in (a, b), f"merge {r} uses the unknown token")
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
        if i not in produced and i != unk_id:
            base.setdefault(b, i)
    if alphabet is None:
        missing = [x for x in range(256) if bytes([x]) not in base]
        check(not missing, f"a byte-level vocabulary needs every single byte; {len(missing)} are missing")
    else:
        missing = [ch for ch in alphabet if ch.encode() not in base]
        check(not missing, f"alphabet characters {''.join(missing)!r} have no token in the vocabulary")
    return base


# Pre-tokenization: one line for a bad --pattern; what a custom pattern does not match is kept.


def compile_pattern(pattern: str) -> "regex.Pattern":
    """A pre-tokenization pattern, compiled, or one TokenizerError line that says what is wrong."""
    try:
        pat = regex.compile(pattern)
    except (regex.error, TypeError) as e:
        raise TokenizerError(f"pattern {pattern!r} is not a valid regular expression: {e}") from None
    if pat.groups:
        raise TokenizerError(f"pattern {pattern!r} has capturing groups: write (?:...) instead of (...)")
    return pat


def pretokenize(pat: "regex.Pattern", text: str) -> list[str]:
    """Cut `text` into pre-tokens: pat.findall(text). Characters the pattern does not match become
    pre-tokens of their own, so a custom pattern can never drop text (GPT-2's matches everything)."""
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


_CACHE_MAX = 1 << 18  # pre-tokens remembered by encode; cleared when full so memory stays bounded


class WordCache(dict):
    """pre-token -> its ids; a miss runs `encode_word` on the pre-token. Cleared when full (bounded memory)."""

    def __init__(self, encode_word):
        super().__init__()
        self.encode_word = encode_word

    def __missing__(self, word):
        if len(self) >= _CACHE_MAX:
            self.clear()
        ids = self[word] = self.encode_word(word)
        return ids


# Counting pre-tokens on all cores, and encoding across processes or as a stream, needs places
# where a text can be cut without changing its pre-tokens. bpe_tokenizer.py's GPT-2 pattern (GPT2_SPLIT_PATTERN) always has a
# pre-token boundary at whitespace that follows a non-whitespace character (no match of that
# pattern contains "non-space then space"), so the pieces of a text cut there pre-tokenize to the
# same pre-tokens as the whole text.
_CUT = regex.compile(r"(?<=\S)\s")
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


def count_pretokens(texts, split, num_workers=None, cuttable=False) -> Counter:
    """Count the distinct pre-tokens of a text (str) or of an iterable of texts (each one a separate
    document). `split` cuts a text into pre-tokens (a function that pickles: it runs in other
    processes); `cuttable`: whether texts may be cut at _CUT (GPT-2's pattern). Uses `num_workers`
    processes (default: all cores)."""

    def batches():  # lists of texts of about _CHUNK_CHARS characters
        batch, size = [], 0
        for text in [texts] if isinstance(texts, str) else texts:
            if not isinstance(text, str):
                raise TokenizerError(f"training data must be str or an iterable of str, got {type(text).__name__}")
            cuts = _cut_points(text, _CHUNK_CHARS) if cuttable else [0, len(text)]
            for lo, hi in pairwise(cuts):
                batch.append(text[lo:hi])
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


def readable_json(d: dict) -> str:
    """A tokenizer's to_dict() as JSON text with one vocab entry and one merge per line."""

    def dump(x):
        return json.dumps(x, ensure_ascii=False)

    lines = ["{"] + [f"  {dump(k)}: {dump(v)}," for k, v in d.items() if k not in ("vocab", "merges")]
    lines += ['  "vocab": {', ",\n".join(f"    {dump(k)}: {dump(v)}" for k, v in d["vocab"].items()), "  },"]
    lines += ['  "merges": [', ",\n".join(f"    {dump(m)}" for m in d["merges"]), "  ]", "}", ""]
    return "\n".join(lines)


def read_json(path):
    text = read_text(path, "tokenizer file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise TokenizerError(f"{path} is not valid JSON ({e.msg} at line {e.lineno}); is it truncated?") from None
    except RecursionError:
        raise TokenizerError(f"{path} is not a tokenizer file (JSON nested too deeply)") from None
