"""What bpe_tokenizer.py offers that no rung runs, so no rung imports it:

- Special tokens (e.g. "<|endoftext|>"): SpecialTokens in front of a tokenizer class
  (with_special_tokens), trained by train_with_special_tokens. bpe_tokenizer.py imports this only
  to read a file that has them.
- Encoding across processes (encode_batch) or as a stream in bounded memory (encode_iterable,
  cut_stream), cut where pre-tokens cannot straddle (bpe_extras._CUT).
- The command line's plumbing (bpe_tokenizer.py's main calls cli).

It imports nothing from bpe_tokenizer.py (a tokenizer, its class or its KINDS is passed in).
"""

import argparse
import multiprocessing
import os
import re
import sys
import time
from array import array
from pathlib import Path

import regex

from bpe_extras import _CHUNK_CHARS, _CUT, TokenizerError, read_text, write_atomic

_CUT_LAST = regex.compile(r"(?r)(?<=\S)\s")  # (?r): search backwards, finds the last cut (see bpe_extras._CUT)


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
