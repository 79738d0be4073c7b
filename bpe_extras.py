"""What bpe_tokenizer.py needs that is not byte-pair encoding: read it after the lesson, or never.

- One-line errors (TokenizerError) and the check of a tokenizer's internal form (it may come from
  a file someone edited).
- Special tokens (e.g. "<|endoftext|>"; no rung uses them): SpecialTokens in front of a tokenizer
  class (with_special_tokens), trained by train_with_special_tokens.
- Work on all cores and in bounded memory: where a text can be cut without changing its pre-tokens,
  counting pre-tokens across processes (training), encoding across processes (encode_batch) or as
  a stream (encode_iterable, cut_stream).
- Files: read with one line per fault, written atomically.
- Pre-tokenization's plumbing (a bad pattern as one line, text a custom pattern leaves unmatched),
  the bounded cache of encoded pre-tokens, and the command line (bpe_tokenizer.py's main calls cli).

It imports nothing from bpe_tokenizer.py (a tokenizer, its class or its KINDS is passed in), so
the lesson file can use it without a circular import; common/ uses the streaming parts for
corpora larger than memory.
"""

import argparse
import contextlib
import errno
import json
import multiprocessing
import os
import re
import sys
import time
from array import array
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


# Special tokens (e.g. "<|endoftext|>"): texts that encode as one id each. They are cut out of the
# text before pre-tokenization: never split, never merged into, never counted in training; where
# several could match, the leftmost wins, then the longest. No rung uses them, so bpe_tokenizer.py's
# classes have none: with_special_tokens(cls) is a class with SpecialTokens in front of cls, and
# train_with_special_tokens trains one. Their ids come right after the tokens a model sees
# (from the trained tokenizer's vocab_size on), so any scaffold tokens move up past them.


def special_regex(special_tokens) -> re.Pattern | None:
    """One alternation of all special tokens, longest first, so the longest wins at a position."""
    if not special_tokens:
        return None
    alternatives = sorted(special_tokens, key=lambda s: (-len(s), s))
    return re.compile("(" + "|".join(map(re.escape, alternatives)) + ")")


def _check_special_tokens(vocab, merges, special_tokens) -> None:
    n = len(vocab)
    for text, i in special_tokens.items():
        if not (isinstance(text, str) and text and isinstance(i, int) and 0 <= i < n):
            raise TokenizerError(f"special token {text!r} has id {i!r}, outside the vocabulary of {n}")
        if vocab[i] != text.encode():
            raise TokenizerError(f"special token {text!r}: vocab[{i}] is {vocab[i]!r}")
    ids = set(special_tokens.values())
    if len(ids) != len(special_tokens):
        raise TokenizerError("two special tokens share an id")
    for r, merge in enumerate(merges):
        if ids.intersection(merge):
            raise TokenizerError(f"merge {r} makes or uses a special token")


class SpecialTokens:
    """Special tokens (text -> id) in front of a tokenizer class (see with_special_tokens); each
    id's vocabulary entry is the token's UTF-8 text, and no merge makes or uses it."""

    def __init__(self, *args, special_tokens, **kwargs):
        super().__init__(*args, **kwargs)
        self.special_tokens = dict(special_tokens)
        _check_special_tokens(self._vocab, self._merges, self.special_tokens)
        self._special_re = special_regex(self.special_tokens)

    def encode(self, text: str) -> list[int]:
        """Text -> token ids. Special tokens in the text become their ids."""
        if not isinstance(text, str) or self._special_re is None:
            return super().encode(text)
        ids = []
        for k, part in enumerate(self._special_re.split(text)):  # text, special, text, special, ...
            if k % 2:
                ids.append(self.special_tokens[part])
            elif part:
                ids.extend(super().encode(part))
        return ids

    def to_dict(self) -> dict:
        items = list(super().to_dict().items())
        at = next(k for k, (key, _) in enumerate(items) if key == "vocab_size")  # where files have them
        return dict(items[:at] + [("special_tokens", self.special_tokens)] + items[at:])


_WITH_SPECIAL_TOKENS = {}


def with_special_tokens(cls):
    """The tokenizer class `cls` with special tokens: its constructor takes `special_tokens=`
    (text -> id) too. One such class per `cls`, named as `cls`."""
    if cls not in _WITH_SPECIAL_TOKENS:
        _WITH_SPECIAL_TOKENS[cls] = type(cls.__name__, (SpecialTokens, cls), {"__doc__": cls.__doc__})
    return _WITH_SPECIAL_TOKENS[cls]


def train_with_special_tokens(cls, text, vocab_size: int, special_tokens, alphabet=None, **options):
    """`cls.train` (a BPE tokenizer class) with special tokens: `vocab_size` ids in all, the
    special tokens the last of them (before any scaffold tokens). They are cut out of the text
    first, so nothing is learned from them; `options` go to cls.train."""
    specials = list(dict.fromkeys(special_tokens))
    if any(not isinstance(s, str) or not s for s in specials):
        raise TokenizerError("special tokens must be non-empty strings")
    if not specials:
        return cls.train(text, vocab_size, alphabet, **options)
    n_base = 256 if alphabet is None else len(set(alphabet)) + 1  # bytes, or characters + unknown
    if vocab_size < n_base + len(specials):
        what = f"{n_base - (alphabet is not None)} base symbols" + (" + 1 unknown" if alphabet is not None else "")
        raise TokenizerError(
            f"vocab_size={vocab_size} is smaller than the base alphabet: the minimum is "
            f"{n_base + len(specials)} ({what} + {len(specials)} special tokens)"
        )
    special = special_regex(specials)
    # each text between special tokens is a document of its own (a str the trainer pre-tokenizes alone)
    pieces = (
        p
        for t in ([text] if isinstance(text, str) else text)
        for p in (special.split(t)[::2] if isinstance(t, str) else [t])
    )
    tok = cls.train(pieces, vocab_size - len(specials), alphabet, **options)
    n, k = tok.vocab_size, len(specials)

    def up(i):  # ids from n on (scaffold tokens) move up past the special tokens
        return i + k if i >= n else i

    vocab = tok._vocab[:n] + [s.encode() for s in specials] + tok._vocab[n:]
    merges = [tuple(map(up, m)) for m in tok._merges]
    fields = {"scaffold_tokens": [up(i) for i in tok.scaffold_tokens]} if hasattr(tok, "scaffold_tokens") else {}
    specials = {s: n + j for j, s in enumerate(specials)}
    return with_special_tokens(type(tok))(
        vocab, merges, tok.pattern, tok.alphabet, tok.unk_id, **fields, special_tokens=specials
    )


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


# --- the command line's plumbing: bpe_tokenizer.py's main calls cli ---------------------------------
#
# It speaks the ladder's words: `train --tokenizer KIND --vocab N` (KIND as in a rung's --tokenizer),
# then `encode`/`decode --tokenizer_file FILE`. Old spellings still work for one release, with a
# one-line notice after the command has run (so an error stays one line): encode/decode
# `--tokenizer FILE` (a value that is not a kind), and train's `--alphabet` and `--scaffold`.


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (and exits 2) instead of usage + error."""

    def error(self, message):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _check_out(path: Path) -> None:
    """Fail before a long training, not after it, when --out cannot be written."""
    if path.is_dir():
        raise TokenizerError(f"--out {path} is a folder; give a file path such as {path / 'tokenizer.json'}")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # the folder that write_atomic will create the rest in
    if not folder.is_dir():
        raise TokenizerError(f"--out {path}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise TokenizerError(f"--out {path}: cannot write in {folder} (read-only or permission denied)")


def _write_output(args, text: str) -> None:
    if args.out is None:
        sys.stdout.write(text)
    else:
        write_atomic(args.out, text)


def _trainer(args, kinds) -> tuple[str | None, type, dict]:
    """(kind, the class that trains it, its options) from --tokenizer, or from the old spelling."""
    old = [f"--alphabet {args.alphabet}"] * (args.alphabet is not None) + ["--scaffold"] * args.scaffold
    if not old:
        kind = args.tokenizer or "bpe"
        return (kind, *kinds[kind][1])
    if args.tokenizer is not None:
        raise TokenizerError(f"give --tokenizer {args.tokenizer} alone: {' '.join(old)} is the old spelling of a kind")
    english = args.alphabet == "english"
    kind = {(False, False): "bpe", (True, False): "bpe-english", (True, True): "bpe-scaffold"}.get(
        (english, args.scaffold)
    )
    if kind is not None:
        args.notices.append(
            f"note: {' '.join(old)} is now --tokenizer {kind}; the old spelling goes in the next release"
        )
        return (kind, *kinds[kind][1])
    args.notices.append(
        "note: --scaffold on bytes goes in the next release; the ladder's Scaffold-BPE is --tokenizer bpe-scaffold "
        "(on the English alphabet)"
    )
    return (None, kinds["bpe-scaffold"][1][0], {})


def _train(args, kinds, takes_vocab) -> None:
    kind, trainer, options = _trainer(args, kinds)
    if args.data != "-" and not Path(args.data).exists():
        raise TokenizerError(
            f"--data {args.data} does not exist: give a UTF-8 text file "
            "(for a corpus of the ladder, its file, e.g. $LADDER_DATA_DIR/wikitext-2/train.txt)"
        )
    text = read_text(args.data, "--data")
    if not text.strip():
        raise TokenizerError(f"--data {args.data} has no text (it is empty or only whitespace): nothing to train on")
    held_out = read_text(args.valid, "--valid") if args.valid else None
    _check_out(Path(args.out))
    chars = kind is not None and not takes_vocab(kind)
    if chars and (args.special or args.pattern is not None):
        raise TokenizerError("--tokenizer char has no --special or --pattern; they are for the bpe kinds")
    options = dict(options, progress=not args.no_progress, num_workers=args.num_workers)
    if args.pattern is not None:
        options["pattern"] = args.pattern
    t0 = time.perf_counter()
    if chars:
        tok = trainer.train(text)
    else:
        tok = train_with_special_tokens(trainer, text, args.vocab, args.special, **options)
    seconds = time.perf_counter() - t0
    tok.save(args.out)
    print(f"trained on {args.data} ({len(text.encode()):,} bytes) in {seconds:.2f} s")
    if chars:
        print(f"characters: {len(tok.chars):,} + 1 unknown; vocab_size: {tok.vocab_size:,}; saved to {args.out}")
    else:
        scaffold = getattr(tok, "scaffold_tokens", [])
        n_merges = len(tok.merges) - len(scaffold)  # the merged tokens that count toward vocab_size
        asked = args.vocab - (tok.vocab_size - n_merges)
        note = "" if n_merges == asked else f" (asked for {asked:,}: the text has no more pairs to merge)"
        print(f"merges: {n_merges:,}{note}; vocab_size: {tok.vocab_size:,}; saved to {args.out}")
    if hasattr(tok, "scaffold_tokens"):
        shown = ", ".join(repr(tok.token_bytes(i).decode("utf-8", "replace")) for i in scaffold[:10])
        print(
            f"scaffold tokens: {len(scaffold):,} (merge intermediates, not counted in vocab_size, "
            f"never output by encode)" + (f"; the first {min(10, len(scaffold))}: {shown}" if scaffold else "")
        )
    name, sample = ("valid", held_out) if held_out is not None else ("train", text)
    ids = tok.encode(sample)
    n_bytes = len(sample.encode())
    print(
        f"{name}: {n_bytes:,} bytes -> {len(ids):,} tokens = {n_bytes / max(1, len(ids)):.3f} bytes/token"
        + (f"; {ids.count(tok.unk_id):,} unknown characters (decoded as U+FFFD)" if tok.unk_id is not None else "")
    )


def _tokenizer_file(args, kinds) -> str:
    """--tokenizer_file, or the old spelling --tokenizer FILE (a value that is not a kind)."""
    if args.tokenizer is None:
        if args.tokenizer_file is None:
            raise TokenizerError(f"{args.command} needs --tokenizer_file FILE (a tokenizer JSON written by `train`)")
        return args.tokenizer_file
    if args.tokenizer_file is not None:
        raise TokenizerError(
            "give --tokenizer_file alone (--tokenizer names a kind, which encode and decode do not take)"
        )
    if args.tokenizer in kinds:
        raise TokenizerError(
            f"{args.command} needs a trained tokenizer: --tokenizer_file FILE "
            f"(`bpe_tokenizer.py train --tokenizer {args.tokenizer} --data TEXT --out FILE` writes one)"
        )
    args.notices.append(
        f"note: --tokenizer {args.tokenizer} is now --tokenizer_file {args.tokenizer} (--tokenizer names a kind: "
        f"{', '.join(kinds)}); the old spelling goes in the next release"
    )
    return args.tokenizer


def _encode(args, tok) -> None:
    text = args.text if args.text is not None else read_text(args.input, "--input")
    ids = tok.encode(text)
    _write_output(args, " ".join(map(str, ids)) + "\n")
    unknown = f", {ids.count(tok.unk_id):,} unknown" if tok.unk_id is not None else ""
    print(f"{len(text.encode()):,} bytes -> {len(ids):,} tokens{unknown}", file=sys.stderr)


def _decode(args, tok) -> None:
    raw = args.ids if args.ids is not None else read_text(args.input, "--input")
    try:
        ids = [int(x) for x in raw.replace(",", " ").split()]
    except ValueError as e:
        raise TokenizerError(f"token ids must be integers separated by spaces: {e}") from None
    _write_output(args, tok.decode(ids))


def build_parser(kinds) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bpe_tokenizer.py",
        description="Byte-pair-encoding tokenizer from scratch: train on a text file, encode, decode.",
        allow_abbrev=False,
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("train", help="learn a tokenizer from a text file", allow_abbrev=False)
    g = p.add_argument_group("data")
    g.add_argument(
        "--data",
        required=True,
        help="a UTF-8 text file to train on (a ladder corpus: its file, e.g. $LADDER_DATA_DIR/wikitext-2/train.txt)",
    )
    g.add_argument("--valid", default=None, help="a UTF-8 text file to report bytes per token on (default: --data)")
    g = p.add_argument_group("tokenizer")
    g.add_argument(
        "--tokenizer",
        choices=tuple(kinds),
        default=None,
        help="the ladder's kind, as a rung's --tokenizer (default: bpe): "
        + "; ".join(f"{name}: {what}" for name, (what, _) in kinds.items()),
    )
    g.add_argument(
        "--vocab",
        type=int,
        default=8000,
        help="total vocabulary size: base symbols + unk + merges + specials, without scaffold tokens "
        "(default: 8000; char ignores it)",
    )
    g.add_argument(
        "--special",
        action="append",
        default=[],
        metavar="TEXT",
        help="a special token, e.g. '<|endoftext|>' (repeatable)",
    )
    g.add_argument("--pattern", default=None, help="pre-tokenization regex (default: GPT-2's)")
    # the old spelling of --tokenizer bpe-english / bpe-scaffold, for one release
    g.add_argument("--alphabet", choices=("bytes", "english"), default=None, help=argparse.SUPPRESS)
    g.add_argument("--scaffold", action="store_true", help=argparse.SUPPRESS)
    g = p.add_argument_group("output")
    g.add_argument("--out", required=True, help="where to write the tokenizer JSON")
    g.add_argument("--num_workers", type=int, default=None, help="processes for pre-tokenization (default: all cores)")
    g.add_argument("--no_progress", action="store_true", help="no progress bar")

    for name, what in (("encode", "text -> token ids (space-separated)"), ("decode", "token ids -> text")):
        p = sub.add_parser(name, help=what, description=what, allow_abbrev=False)
        p.add_argument(
            "--tokenizer_file", metavar="FILE", help="a tokenizer JSON written by `train` (any kind; required)"
        )
        p.add_argument("--tokenizer", help=argparse.SUPPRESS)  # the old spelling of --tokenizer_file, for one release
        src = p.add_mutually_exclusive_group(required=True)
        if name == "encode":
            src.add_argument("--text", help="the text to encode")
        else:
            src.add_argument("--ids", help="the ids to decode, e.g. '72 101 108'")
        src.add_argument("--input", help="a UTF-8 file to read ('-' for stdin)")
        p.add_argument("--out", default=None, help="write here instead of stdout")
    return parser


def cli(argv, kinds, takes_vocab, load) -> int:
    """The command line of bpe_tokenizer.py, given its KINDS, takes_vocab and load_tokenizer."""
    args = build_parser(kinds).parse_args(argv)
    args.notices = []  # about old spellings: printed once the command has run
    try:
        if args.command == "train":
            _train(args, kinds, takes_vocab)
        else:
            tok = load(_tokenizer_file(args, kinds))
            (_encode if args.command == "encode" else _decode)(args, tok)
    except TokenizerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # one not foreseen above still gets one line
        print(f"error: {e.strerror or e}" + (f": {e.filename}" if e.filename else ""), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    for notice in args.notices:
        print(notice, file=sys.stderr)
    return 0
