"""Corpora at scale: imported only when `--data` asks for one (common/corpus.py hands it over).

What the default path (common/corpus.py, common/data.py) leaves to this module:
  - a named corpus not in a data folder: Hugging Face `datasets` (the WikiText ones:
    Salesforce/wikitext), with its own cache; works offline once cached; else a one-line error
    naming both ways to get it; and a named corpus bigger than corpus.SMALL_BYTES (wikitext-103);
  - `hf:OWNER/NAME[:CONFIG]`: a text dataset on the Hugging Face hub or in the local `datasets`
    cache (also `hf:FOLDER`: a dataset saved with `save_to_disk`, or a folder of data files);
  - a .jsonl or .parquet file, a folder of them or of text files, and any file bigger than
    corpus.SMALL_BYTES.

A split is a `Text`: a stream of str pieces, read from disk (or a memory-mapped dataset) as it is
used, so a corpus larger than memory works. Rows (of a dataset, a .jsonl or .parquet file) and the
files of a folder are documents: each is followed by a newline unless it ends with one. A single
file is taken as it is. A source without its own valid/test splits is cut as corpus.split_text cuts
a string (the streaming cut gives the same splits, and the same cache keys); one with only one of
them cuts that one in half.

The token cache of such a corpus is built in one streaming pass: the text is read in pieces, cut
where pre-tokens cannot straddle (cut_stream), encoded (across processes for a big split, given
spare cores) and appended to the file, so memory does not grow with the corpus. The build saves its
place every few seconds, so an interrupted build resumes where it stopped, and a file lock lets the
ranks of one torchrun (or two sweep shards) build it once. The files are those of common/data.py.
"""

import codecs
import contextlib
import fcntl
import hashlib
import json
import os
import re
import socket
import time
from itertools import chain
from pathlib import Path

import numpy as np

from bpe_extras import TokenizerError, ordered_map  # a bounded, ordered map across processes
from bpe_tokenizer import load_tokenizer, train_kind
from common import data
from common.corpus import DERIVED, NAMED, SPLIT_FRACTIONS, SPLITS, Corpus, InMemory, check_splits, not_utf8, safe_name
from common.errors import LadderError
from common.files import atomic_write, disk_errors

HF_NAMED = {
    "wikitext-2": ("Salesforce/wikitext", "wikitext-2-v1"),
    "wikitext-103": ("Salesforce/wikitext", "wikitext-103-v1"),
}
SUFFIXES = (".txt", ".jsonl", ".parquet")  # what a folder given as --data may hold
BLOCK = 1 << 22  # bytes read from a file at a time
ROWS = 1024  # rows read from a dataset at a time
PARALLEL_BYTES = 32 << 20  # splits at least this big are encoded across processes (given spare cores)
SAVE_SECONDS = 5.0  # how often a cache build records its place


# -----------------------------------------------------------------------------
# texts: one split, as a stream of pieces


class Text:
    """One split's text as a stream of str pieces, plus a `key` that changes when the text does.

    `pieces(start)` begins `start` UTF-8 bytes into the text; `start` must be a character boundary
    (it always comes from counting the bytes of earlier pieces)."""

    key: str = ""

    def pieces(self, start: int = 0):
        raise NotImplementedError

    def n_bytes(self) -> int | None:
        """UTF-8 bytes of the text when known without reading it, else None."""
        return None

    def read(self) -> str:
        return "".join(self.pieces())

    def head(self, n_chars: int) -> str:
        """The first `n_chars` characters, reading no more than needed."""
        out, n = [], 0
        for p in self.pieces():
            out.append(p[: n_chars - n])
            n += len(out[-1])
            if n >= n_chars:
                break
        return "".join(out)

    def has_text(self) -> bool:
        """Whether the text holds anything but whitespace (reads only up to the first such piece)."""
        return any(p and not p.isspace() for p in self.pieces())

    def slice(self, begin: int, end: int) -> "Text":
        return Slice(self, begin, end)


def skip_bytes(pieces, start: int):
    """The pieces with their first `start` UTF-8 bytes dropped."""
    for p in pieces:
        if start > 0:
            b = p.encode()
            if len(b) <= start:
                start -= len(b)
                continue
            p, start = b[start:].decode(), 0
        yield p


def file_not_utf8(path: Path, offset: int) -> LadderError:
    """corpus.not_utf8 for a file too big to read whole: count the lines up to `offset` block by block."""
    line, at = 1, 0
    with open(path, "rb") as f:
        while at < offset:
            block = f.read(min(BLOCK, offset - at))
            if not block:
                break
            line += block.count(b"\n")
            at += len(block)
        bad = f.read(1)
    return not_utf8(path, offset, line, bad)


class FileText(Text):
    """Bytes [begin, end) of a UTF-8 file, decoded block by block; `document`: followed by a
    newline unless it ends with one (a file among others in a folder)."""

    def __init__(self, path, begin: int = 0, end: int | None = None, document: bool = False):
        self.path = Path(path)
        st = self.path.stat()
        self.begin, self.end = begin, st.st_size if end is None else end
        self.label = str(self.path)
        self.newline = False
        if document and self.end > self.begin:
            with open(self.path, "rb") as f:
                f.seek(self.end - 1)
                self.newline = f.read(1) != b"\n"
        # the file's identity without reading it: a change to the file changes its size or mtime
        self.key = f"file:{self.path.resolve()}:{st.st_size}:{st.st_mtime_ns}:{self.begin}:{self.end}:{self.newline:d}"

    def n_bytes(self) -> int:
        return self.end - self.begin + self.newline

    def pieces(self, start: int = 0):
        decoder = codecs.getincrementaldecoder("utf-8")()
        at = self.begin + start
        with open(self.path, "rb") as f:
            f.seek(at)
            while at < self.end:
                block = f.read(min(BLOCK, self.end - at))
                if not block:
                    break
                pending = len(decoder.getstate()[0])  # bytes of a character cut by the last block
                try:
                    text = decoder.decode(block, final=at + len(block) >= self.end)
                except UnicodeDecodeError as e:  # e.start counts from the pending bytes
                    raise file_not_utf8(self.path, at - pending + e.start) from None
                at += len(block)
                if text:
                    yield text
        if self.newline and self.begin + start <= self.end:
            yield "\n"

    def slice(self, begin: int, end: int) -> Text:
        if self.newline:
            return Slice(self, begin, end)
        part = FileText(self.path, self.begin + begin, self.begin + end)
        return part


class Slice(Text):
    """Bytes [begin, end) of another text."""

    def __init__(self, base: Text, begin: int, end: int):
        self.base, self.begin, self.end = base, begin, end
        self.label = getattr(base, "label", "text")
        self.key = f"{base.key}[{begin}:{end}]"

    def n_bytes(self) -> int:
        return self.end - self.begin

    def pieces(self, start: int = 0):
        left = self.end - self.begin - start
        for p in self.base.pieces(self.begin + start):
            if left <= 0:
                return
            b = p.encode()
            if len(b) > left:
                yield b[:left].decode()
                return
            left -= len(b)
            yield p


class Concat(Text):
    """Texts one after another (the files of a folder)."""

    def __init__(self, parts: list[Text], label: str):
        self.parts, self.label = parts, label
        self.key = "concat:" + hashlib.sha256("\n".join(p.key for p in parts).encode()).hexdigest()

    def n_bytes(self) -> int | None:
        sizes = [p.n_bytes() for p in self.parts]
        return None if None in sizes else sum(sizes)

    def pieces(self, start: int = 0):
        for k, part in enumerate(self.parts):
            size = part.n_bytes()
            if size is not None and start >= size:  # skipped without reading it
                start -= size
                continue
            rest = chain.from_iterable(p.pieces() for p in self.parts[k + 1 :])
            if size is not None:
                yield from chain(part.pieces(start), rest)
            else:  # a size known only by reading: count the bytes to skip as they go by
                yield from skip_bytes(chain(part.pieces(), rest), start)
            return


def join_rows(rows) -> str:
    """The `datasets` rows of WikiText back into the file's text. Each row is one line with its
    newline, except that the loader yields a blank line (" \n" in the file) as "": put it back."""
    return "".join(row if row else " \n" for row in rows)


def join_documents(rows) -> str:
    """Rows of any other dataset: each a document, followed by a newline unless it ends with one."""
    return "".join(row if row.endswith("\n") else row + "\n" for row in rows)


class Rows(Text):
    """A column of text rows, read in batches: `batches()` yields lists of str."""

    def __init__(self, batches, key: str, label: str, join=join_documents, size: int | None = None):
        self.batches, self.key, self.label, self.join, self.size = batches, key, label, join, size

    def n_bytes(self) -> int | None:
        return None  # `size` is an estimate (for progress bars), not an exact count

    def estimate(self) -> int | None:
        return self.size

    def pieces(self, start: int = 0):
        return skip_bytes((self.join(rows) for rows in self.batches()), start)


def estimated_bytes(text: Text) -> int | None:
    """Exact where known, else an estimate (a progress bar's total), else None."""
    n = text.n_bytes()
    if n is not None:
        return n
    if isinstance(text, Rows):
        return text.estimate()
    if isinstance(text, Concat):
        sizes = [estimated_bytes(p) for p in text.parts]
        return None if None in sizes else sum(sizes)
    return None


# -----------------------------------------------------------------------------
# cutting one text into train / valid / test


def cut_points(text: Text, fractions=SPLIT_FRACTIONS) -> tuple[list[int], int]:
    """Byte offsets that cut `text` as split_text cuts the whole string (with these fractions), and
    the text's size in bytes, in two streaming passes: count the characters, then find the line starts."""
    n, size = 0, text.n_bytes()
    count_bytes = size is None
    size = size or 0
    for p in text.pieces():
        n += len(p)
        if count_bytes:
            size += len(p.encode())
    targets, at = [], 0
    for frac in fractions:
        at += int(n * frac)
        targets.append(at)
    t_bytes = [None] * len(targets)  # byte offset of each target character
    cuts = [None] * len(targets)  # (char, byte) of each cut
    c = b = 0  # characters and bytes before the current piece
    for p in text.pieces():
        for k, t in enumerate(targets):
            if t_bytes[k] is None and c <= t < c + len(p):
                t_bytes[k] = b + len(p[: t - c].encode())
            if cuts[k] is None and t < c + len(p):
                nl = p.find("\n", max(0, t - c))  # the first newline at or after t, in this piece
                if nl >= 0:
                    pos = c + nl
                    cuts[k] = (pos + 1, b + len(p[: nl + 1].encode())) if pos < n - 1 else (t, t_bytes[k])
        c += len(p)
        b += len(p.encode())
        if all(x is not None for x in cuts):
            break
    for k, t in enumerate(targets):  # no newline after t: cut at t itself
        if cuts[k] is None:
            cuts[k] = (t, b if t_bytes[k] is None else t_bytes[k])
    out = [cuts[0]]
    for cut in cuts[1:]:
        out.append(max(out[-1], cut))  # as split_text: a later cut never comes before an earlier one
    return [byte for _, byte in out], size


def cut_splits(text: Text, fractions=SPLIT_FRACTIONS) -> list[Text]:
    """The parts of `text` between its cut points."""
    cuts, size = cut_points(text, fractions)
    edges = [0, *cuts, size]
    return [text.slice(a, b) for a, b in zip(edges, edges[1:])]


# -----------------------------------------------------------------------------
# the corpus


def _from_folder(name: str, folder: Path) -> Corpus | None:
    layout = NAMED[name]
    paths = {k: folder / v for k, v in layout.items()}
    if not all(p.is_file() for p in paths.values()):
        return None
    if "all" in paths:
        return _cut_corpus(name, str(folder), FileText(paths["all"]), str(paths["all"]))
    return Corpus(name, str(folder), {s: FileText(paths[s]) for s in SPLITS})


def _cut_corpus(name: str, source: str, text: Text, what: str, fractions=SPLIT_FRACTIONS) -> Corpus:
    if not text.has_text():
        raise LadderError(f"{what} is empty; give a UTF-8 text file with some text in it")
    return Corpus(name, source, dict(zip(SPLITS, cut_splits(text, fractions))))


# -----------------------------------------------------------------------------
# Hugging Face `datasets`: the hub, its local cache, or a dataset saved to disk


def _hub_reachable(timeout: float = 3.0) -> bool:
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _offline(datasets) -> bool:
    """Whether `datasets` must keep to its cache: the user said so (HF_HUB_OFFLINE, which also
    skips the probe when it says online), or the hub cannot be reached."""
    if "HF_HUB_OFFLINE" in os.environ or datasets.config.HF_HUB_OFFLINE:
        return bool(datasets.config.HF_HUB_OFFLINE)
    return not _hub_reachable()


@contextlib.contextmanager
def _cache_only(datasets, offline: bool):
    """`datasets`' documented offline mode (its cache only) for one load: it answers at once, where
    the hub unreachable costs ~30 s of retried requests before the same failure. Set on the
    library's config for the call and restored after, never in the environment: the rest of the
    process, and the processes it starts, still use the network."""
    saved = datasets.config.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = saved or offline
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE = saved


def _open_hf(repo: str, config: str | None):
    """A DatasetDict (or Dataset) by hub name or local folder; raises the library's errors."""
    import datasets

    folder = Path(repo)
    if folder.is_dir() and ((folder / "dataset_dict.json").is_file() or (folder / "state.json").is_file()):
        if config:
            raise ValueError(f"a dataset saved with save_to_disk has no configurations, got {config!r}")
        return datasets.load_from_disk(str(folder))
    return datasets.load_dataset(repo, config)


def _hf_rows(ds, column: str, spec: str, join) -> Rows:
    def batches():
        for batch in ds.select_columns([column]).iter(batch_size=ROWS):
            yield [row or "" for row in batch[column]]

    try:  # exact bytes of the rows (offsets only, no text read), for a progress bar's total
        import pyarrow.compute as pc

        size = int(pc.sum(pc.binary_length(ds.data.column(column))).as_py() or 0) + ds.num_rows
    except Exception:
        size = None
    return Rows(batches, f"hf:{ds._fingerprint}:{column}:{ds.num_rows}", spec, join, size)


def _hf_why(e: Exception, spec: str, repo: str, config: str | None, offline: bool) -> str:
    first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
    if config and re.search(r"config|BuilderConfig", str(e), re.I) and "not found" in str(e).lower():
        return f"{spec}: the dataset {repo} has no configuration {config!r} ({first})"
    if "corresponds to no data" in str(e):  # datasets' word for a split without rows
        return f"{spec} is empty: the dataset {repo} has no rows ({first})"
    if offline and not Path(repo).exists():
        return (
            f"{spec}: {repo} is not in the local `datasets` cache and the hub cannot be reached "
            f"(offline); run once with network access to cache it, or check the name ({type(e).__name__}: {first})"
        )
    return f"{spec}: cannot load the dataset {repo}: {type(e).__name__}: {first}"


def load_hf(spec: str, repo: str, config: str | None, column: str = "text", join=join_documents, name=None) -> Corpus:
    """A corpus from a `datasets` dataset: its train split, and its validation and test splits
    when it has them (cut from train, or one from the other, when it does not)."""
    try:
        import datasets
    except ImportError:
        raise LadderError(f"{spec} needs the `datasets` package: pip install -r requirements.txt") from None
    offline = _offline(datasets)
    try:
        with _cache_only(datasets, offline):
            ds = _open_hf(repo, config)
    except Exception as e:  # not cached offline, unknown name or config, hub down, ...: one line
        raise LadderError(_hf_why(e, spec, repo, config, offline)) from None
    if isinstance(ds, datasets.Dataset):
        ds = {"train": ds}
    if not isinstance(ds, (dict, datasets.DatasetDict)) or "train" not in ds:
        have = ", ".join(ds) if isinstance(ds, dict) else type(ds).__name__
        raise LadderError(f"{spec} has no train split (its splits: {have})")
    found = {"train": ds["train"]}
    for ours, theirs in (("valid", ("validation", "valid", "dev")), ("test", ("test",))):
        held = next((h for h in theirs if h in ds), None)
        if held:
            found[ours] = ds[held]
    for split, d in found.items():
        if column not in d.column_names:
            raise LadderError(
                f"{spec} has no column {column!r} (its {split} columns: {', '.join(d.column_names)}); "
                "pass --text_column NAME"
            )
        dtype = getattr(d.features[column], "dtype", type(d.features[column]).__name__)
        if dtype not in ("string", "large_string"):
            raise LadderError(
                f"column {column!r} of {spec} holds {dtype}, not text; pass --text_column with a text column"
            )
    if found["train"].num_rows == 0:
        raise LadderError(f"{spec} is empty: its train split has no rows")
    texts = {split: _hf_rows(d, column, f"{spec} {split}", join) for split, d in found.items()}
    source = f"huggingface:{repo}" + (f"/{config}" if config else "")
    name = name or safe_name("hf-" + repo.replace("/", "-") + (f"-{config}" if config else ""))
    if "valid" in texts and "test" in texts:
        corpus = Corpus(name, source, texts)
    elif "valid" in texts or "test" in texts:  # one held-out split: cut it in half
        held = texts.get("valid") or texts["test"]
        valid, test = cut_splits(held, (0.5,))
        corpus = Corpus(name, source, {"train": texts["train"], "valid": valid, "test": test})
    else:
        corpus = _cut_corpus(name, source, texts["train"], spec)
    return corpus


def parse_hf(data: str) -> tuple[str, str | None]:
    """hf:OWNER/NAME[:CONFIG] -> (OWNER/NAME, CONFIG or None)."""
    spec = data[3:]
    repo, _, config = spec.rpartition(":") if ":" in spec else (spec, "", "")
    if not repo or "/" in config:
        repo, config = spec, ""
    if not repo:
        raise LadderError("--data hf: needs a dataset: hf:OWNER/NAME or hf:OWNER/NAME:CONFIG")
    return repo, config or None


# -----------------------------------------------------------------------------
# local .jsonl and .parquet files, and folders


def _jsonl_rows(path: Path, column: str) -> Rows:
    def batches():
        rows = []
        with open(path, "rb") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except (ValueError, RecursionError) as e:
                    raise LadderError(f"{path} line {n} is not JSON ({e}); each line must be one JSON object") from None
                if not isinstance(obj, dict) or column not in obj:
                    keys = ", ".join(obj) if isinstance(obj, dict) else type(obj).__name__
                    raise LadderError(
                        f"{path} line {n} has no {column!r} field (it has: {keys}); pass --text_column NAME"
                    )
                value = obj[column]
                if value is not None and not isinstance(value, str):
                    raise LadderError(
                        f"{path} line {n}: {column!r} holds {type(value).__name__}, not text; "
                        "pass --text_column with a text field"
                    )
                rows.append(value or "")
                if len(rows) >= ROWS:
                    yield rows
                    rows = []
        if rows:
            yield rows

    st = path.stat()
    return Rows(batches, f"jsonl:{path.resolve()}:{st.st_size}:{st.st_mtime_ns}:{column}", str(path), size=st.st_size)


def _parquet_rows(path: Path, column: str) -> Rows:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as e:
        raise LadderError(f"{path} is not a readable parquet file: {e}") from None
    if column not in schema.names:
        raise LadderError(
            f"{path} has no column {column!r} (its columns: {', '.join(schema.names)}); pass --text_column NAME"
        )
    dtype = schema.field(column).type
    if not (pa.types.is_string(dtype) or pa.types.is_large_string(dtype)):
        raise LadderError(f"column {column!r} of {path} holds {dtype}, not text; pass --text_column with a text column")

    def batches():
        for batch in pq.ParquetFile(path).iter_batches(batch_size=ROWS, columns=[column]):
            yield [row or "" for row in batch.column(0).to_pylist()]

    st = path.stat()
    return Rows(batches, f"parquet:{path.resolve()}:{st.st_size}:{st.st_mtime_ns}:{column}", str(path), size=st.st_size)


def _file_text(path: Path, column: str, document: bool) -> Text:
    if path.suffix == ".jsonl":
        return _jsonl_rows(path, column)
    if path.suffix == ".parquet":
        return _parquet_rows(path, column)
    return FileText(path, document=document)


def _split_files(folder: Path) -> dict | None:
    """A folder laid out like wikitext-2: train / valid (or validation) / test files of one kind."""
    for suffix in SUFFIXES:
        names = {"train": ["train"], "valid": ["valid", "validation"], "test": ["test"]}
        found = {
            s: next((folder / (n + suffix) for n in ns if (folder / (n + suffix)).is_file()), None)
            for s, ns in names.items()
        }
        if all(found.values()):
            return found
    return None


def _from_path(data: str, column: str) -> Corpus:
    path = Path(data)
    if path.is_file():
        name, source = safe_name(path.stem), str(path.resolve())
        return _cut_corpus(name, source, _file_text(path, column, document=False), str(path))
    if path.is_dir():
        name, source = safe_name(path.resolve().name), str(path.resolve())
        layout = _split_files(path)
        if layout:
            return Corpus(name, source, {s: _file_text(p, column, document=False) for s, p in layout.items()})
        files = sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
        if not files:
            raise LadderError(f"--data {data} is a folder with no {', '.join(SUFFIXES)} files")
        return _cut_corpus(name, source, Concat([_file_text(p, column, True) for p in files], str(path)), str(path))
    raise LadderError(
        f"--data {data!r} is neither a corpus name ({', '.join([*NAMED, *DERIVED])}), nor hf:OWNER/NAME, nor a file or folder"
    )


def load_corpus(data: str = "wikitext-2", data_dir: str | None = None, text_column: str = "text") -> Corpus:
    """The corpus `data` names (any form: see this module's and common/corpus.py's docstrings), its
    splits checked to hold text."""
    if data == "wikitext-103-wt2":
        folder = data_dir or os.environ.get("LADDER_DATA_DIR")
        if not folder:
            raise LadderError("--data wikitext-103-wt2 reads files only: set LADDER_DATA_DIR (or --data_dir)")
        corpus = wt103_on_wt2(Path(folder))
    elif data in NAMED:
        folder = data_dir or os.environ.get("LADDER_DATA_DIR")
        corpus = _from_folder(data, Path(folder)) if folder else None
        if corpus is None and data_dir:
            raise LadderError(f"--data_dir {data_dir} has no {data} files (expected {NAMED[data]})")
        if corpus is None and data in HF_NAMED:
            repo, config = HF_NAMED[data]
            try:  # rows are lines; joining them gives the files' text
                corpus = load_hf(f"hf:{repo}:{config}", repo, config, "text", join_rows, name=data)
            except LadderError:
                corpus = None
        if corpus is None:
            how = "set LADDER_DATA_DIR (or --data_dir) to a folder with " + ", ".join(NAMED[data].values())
            if data in HF_NAMED:
                how += f", or go online once so `datasets` can cache {HF_NAMED[data][0]} ({HF_NAMED[data][1]})"
            raise LadderError(f"corpus {data!r} not found: {how}")
    elif data.startswith("hf:"):
        repo, config = parse_hf(data)
        corpus = load_hf(data, repo, config, text_column)
    else:
        corpus = _from_path(data, text_column)
    check_splits(corpus)
    return corpus


# -----------------------------------------------------------------------------
# wikitext-103-wt2: WikiText-103's training articles on WikiText-2's terms, scored on WikiText-2
#
# The ladder's benchmark is WikiText-2's (v1, tokenized) valid and test files. WikiText-103 has the
# same valid and test articles, but keeps far more rare words: WikiText-2 wrote every word outside
# its training vocabulary as <unk>. A run that trains on WikiText-103 and stays comparable with the
# ladder must (1) be scored on WikiText-2's files, and (2) train on text written the same way: every
# word outside WikiText-2's training vocabulary becomes <unk>. The mapping runs as the text streams
# (the token cache then holds it: one pass); `check_wt103_mapping` shows how close (1) and (2) are.

UNK_WORD = "<unk>"


def wt2_vocabulary(train: Text) -> frozenset[str]:
    """The words of WikiText-2's training file (space-separated, <unk> included)."""
    words = set()
    for line in _lines(train.pieces()):
        words.update(line.split())
    return frozenset(words)


def _lines(pieces):
    """Whole lines (each with its newline, but maybe the last) from pieces cut anywhere."""
    rest = ""
    for p in pieces:
        *done, rest = (rest + p).split("\n")
        yield from (line + "\n" for line in done)
    if rest:
        yield rest


def map_to_vocabulary(line: str, vocab: frozenset[str]) -> str:
    """`line` with every word outside `vocab` written as <unk>; spaces and newlines kept as they are."""
    return " ".join(w if not w.strip() or w.rstrip("\n") in vocab else UNK_WORD + w[len(w.rstrip("\n")) :]
                    for w in line.split(" "))  # fmt: skip


class UnkMapped(Text):
    """Another text with every word outside `vocab` mapped to <unk>, line by line as it streams."""

    def __init__(self, base: Text, vocab: frozenset[str], vocab_key: str):
        self.base, self.vocab = base, vocab
        self.label = f"{getattr(base, 'label', 'text')} (words outside WikiText-2's vocabulary as <unk>)"
        self.key = f"unk-mapped:{vocab_key}:{base.key}"

    def pieces(self, start: int = 0):  # offsets are of the mapped text: map from the top, skip `start`
        mapped = (map_to_vocabulary(line, self.vocab) for line in _lines(self.base.pieces()))
        yield from skip_bytes(mapped, start) if start else mapped


def wt103_on_wt2(folder: Path) -> Corpus:
    """--data wikitext-103-wt2: train = WikiText-103's train, mapped; valid, test = WikiText-2's files."""
    wt2, wt103 = _from_folder("wikitext-2", folder), _from_folder("wikitext-103", folder)
    if wt2 is None or wt103 is None:
        raise LadderError(
            f"--data wikitext-103-wt2 needs both wikitext-2/ and wikitext-103/ ({{train,valid,test}}.txt) in {folder}"
        )
    vocab = wt2_vocabulary(wt2.text("train"))
    print(check_wt103_mapping(wt103.text("valid"), wt2.text("valid"), vocab))
    train = UnkMapped(wt103.text("train"), vocab, wt2.text("train").key)
    return Corpus(
        "wikitext-103-wt2", str(folder), {"train": train, "valid": wt2.text("valid"), "test": wt2.text("test")}
    )


def check_wt103_mapping(valid103: Text, valid2: Text, vocab: frozenset[str]) -> str:
    """One line: how far WikiText-103's validation file, mapped, is from WikiText-2's (the same
    articles, so 0 lines apart when the mapping is WikiText-2's own). Scoring uses WikiText-2's file."""
    a = [map_to_vocabulary(line, vocab) for line in _lines(valid103.pieces())]
    b = list(_lines(valid2.pieces()))
    differ = sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b))
    words = sum(len(line.split()) for line in b)
    unk = sum(line.split().count(UNK_WORD) for line in b)
    return (
        f"wikitext-103-wt2: WikiText-103's validation file mapped to WikiText-2's vocabulary differs from "
        f"WikiText-2's in {differ:,} of {max(len(a), len(b)):,} lines ({unk / max(words, 1):.2%} of its words are <unk>); "
        "scoring uses WikiText-2's valid and test files"
    )


# -----------------------------------------------------------------------------
# work in pieces, in bounded memory, across processes


def cut_stream(pieces, size: int | None = None):
    """Re-cut a stream of str (a file's blocks, a dataset's rows) into pieces of about `size`
    characters, cut where data.cut cuts the whole text (so the same pieces). Memory: about `size`
    characters (more only while one "word" is longer than that)."""
    size = size or data.PIECE_CHARS
    parts, n = [], 0
    for text in pieces:
        parts.append(text)
        n += len(text)
        if n < size:
            continue
        *done, rest = data.cut("".join(parts), size)  # the last piece may grow with the next text
        yield from done
        parts, n = [rest], len(rest)
    rest = "".join(parts)
    if rest:
        yield rest


@contextlib.contextmanager
def _locked(path: Path):
    """One process at a time builds a cache entry (ranks of one torchrun, two sweep shards): the
    others wait here, then find it built."""
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# -----------------------------------------------------------------------------
# the tokenizer and the token cache of a streamed corpus (the files of common/data.py)


def training_pieces(pieces, total: int | None, sample_mb: float = 0.0, bar=None):
    """The training text's pieces; with `sample_mb`, about that many MB of them, spread evenly over
    the text: every k-th piece of about 1 MB, k = size / sample, from the first (or the first
    `sample_mb` MB when the size is not known)."""
    stride = max(1, round(total / (sample_mb * 1e6))) if sample_mb and total else 1
    taken = 0
    for k, piece in enumerate(pieces):
        n = len(piece.encode())
        if bar is not None:
            bar.update(n)
        if k % stride:
            continue
        yield piece
        taken += n
        if sample_mb and taken >= sample_mb * 1e6:
            return


def get_tokenizer(kind: str, vocab: int, corpus: Corpus, cache_dir: str, sample_mb: float = 0.0):
    """data.get_tokenizer for a streamed training split, or a sample of any (--tokenizer_sample_mb),
    trained once by the ranks of one torchrun."""
    sample = f"-sample{sample_mb:g}MB" if sample_mb else ""
    train = corpus.text("train")
    path = Path(cache_dir) / "tokenizers" / f"{corpus.name}-{data.sha(train.key)}-{kind}-{vocab}{sample}.json"
    if path.is_file():
        try:
            return load_tokenizer(path)
        except TokenizerError:
            print(f"ignoring unreadable cached tokenizer {path}; retraining")
    what = f"{sample_mb:g} MB sampled from " if sample_mb else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path.with_name(path.name + ".lock")):
        with contextlib.suppress(TokenizerError):  # another process trained it meanwhile
            if path.is_file():
                return load_tokenizer(path)
        try:
            total = estimated_bytes(train)
            with data.bar(total, f"reading {corpus.name} train") as bar:
                whole = data.cut(train.read()) if isinstance(train, InMemory) else cut_stream(train.pieces())
                pieces = training_pieces(whole, total, sample_mb, bar)
                tok = train_kind(kind, pieces, vocab, f"{what}the {corpus.name} training split (cached for next time)")
            tok.save(path)
        except TokenizerError as e:
            raise LadderError(str(e)) from None
    return tok


_WORKER = {}


def _worker_init(tok) -> None:
    """Runs once per encoding process: its tokenizer (and so its word cache) lives for the whole build."""
    _WORKER["tok"], _WORKER["dtype"] = tok, data.dtype_for(tok.vocab_size)


def _encode_piece(piece: str) -> tuple[bytes, int, int]:
    """(ids as raw bytes, UTF-8 bytes, words) of one piece. Pieces are cut at whitespace after a
    non-space, so words and line ends add up over pieces to those of the whole text."""
    ids = np.asarray(_WORKER["tok"].encode(piece), dtype=_WORKER["dtype"])
    return ids.tobytes(), len(piece.encode()), len(piece.split()) + piece.count("\n")


def encode_split(tok, text: Text, folder: Path, name: str, label: str) -> data.Split:
    """data.encode_split for a streamed text: from the cache, or built into it in one streaming
    pass (resumed if a previous build was interrupted), one process at a time."""
    split = data.cached(folder, name, tok.vocab_size)
    if split is not None:
        return split
    with disk_errors(folder, flag="--cache_dir"):
        folder.mkdir(parents=True, exist_ok=True)
        with _locked(folder / f"{name}.lock"):
            return data.cached(folder, name, tok.vocab_size) or _build_split(tok, text, folder, name, label)


def _build_split(tok, text: Text, folder: Path, name: str, label: str) -> data.Split:
    ids_path, meta_path = folder / f"{name}.bin", folder / f"{name}.json"
    partial, place_path = folder / f"{name}.bin.partial", folder / f"{name}.place.json"
    dtype = np.dtype(data.dtype_for(tok.vocab_size))
    fresh = {"n_tokens": 0, "n_bytes": 0, "n_words": 0, "unk_bytes": 0, "n_unk": 0, "dtype": dtype.name}
    place = data.read_json(place_path) if partial.is_file() else None
    if not place or place.get("dtype") != dtype.name or partial.stat().st_size < place["n_tokens"] * dtype.itemsize:
        place = fresh
    elif place["n_bytes"]:
        print(f"resuming the token cache of {label} {name} at {place['n_bytes'] / 1e6:,.1f} MB")
    lengths = data.token_byte_lengths(tok)
    unk = tok.unk_id
    size = estimated_bytes(text)
    # one process reads, cuts and writes; the others encode. On 2 cores that pipeline measured
    # slower than encoding in the one process (results/bench/data.md), so only with spare cores.
    workers = min((os.cpu_count() or 1) - 1, 8) if size is None or size >= PARALLEL_BYTES else 1
    pieces = cut_stream(text.pieces(place["n_bytes"]))

    def save_place():
        f.flush()
        os.fsync(f.fileno())  # the ids are on disk before the place that counts them
        atomic_write(place_path, json.dumps(place), flag="--cache_dir")

    with (
        open(partial, "r+b" if place["n_tokens"] else "wb") as f,
        data.bar(size, f"tokenizing {label} {name}", place["n_bytes"]) as bar,
    ):
        f.truncate(place["n_tokens"] * dtype.itemsize)  # ids written after the last saved place are redone
        f.seek(0, os.SEEK_END)
        saved = time.monotonic()
        for raw, n_bytes, n_words in ordered_map(_encode_piece, pieces, workers, _worker_init, (tok,)):
            f.write(raw)
            ids = np.frombuffer(raw, dtype=dtype)
            place["n_tokens"] += len(ids)
            place["n_bytes"] += n_bytes
            place["n_words"] += n_words
            if unk is not None:
                # unknown tokens stand for characters outside the alphabet: whatever bytes the known
                # tokens do not account for (exact over the split; one unk = one character)
                place["unk_bytes"] += n_bytes - int(lengths[ids].sum())
                place["n_unk"] += int((ids == unk).sum())
            bar.update(n_bytes)
            if time.monotonic() - saved > SAVE_SECONDS:
                save_place()
                saved = time.monotonic()
        f.flush()
        os.fsync(f.fileno())
    # ranks of one torchrun wait on the lock above; the rename makes the ids visible at once, whole
    place["checksum"] = data.checksum(partial)  # checked each time the cache opens (data.cached)
    os.replace(partial, ids_path)
    atomic_write(meta_path, json.dumps(place), flag="--cache_dir")
    place_path.unlink(missing_ok=True)
    split = data.cached(folder, name, tok.vocab_size)
    assert split is not None, f"the token cache {ids_path} did not read back"
    return split
