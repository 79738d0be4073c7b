"""Find a corpus and read its train / valid / test text as a stream of pieces. No torch here.

`--data` takes (DESIGN.md, "Data"):
  - a corpus name (NAMED): wikitext-2 (default), wikitext-103, tinyshakespeare, the-verdict, found in
    1. a data folder: `--data_dir`, else the LADDER_DATA_DIR environment variable, laid out as
       <dir>/wikitext-2/{train,valid,test}.txt (as in ../shared/data);
    2. Hugging Face `datasets` (the WikiText ones: Salesforce/wikitext), with its own cache; works
       offline once cached;
    3. else a one-line error naming both ways to get it;
  - `hf:OWNER/NAME[:CONFIG]`: a text dataset on the Hugging Face hub or in the local `datasets`
    cache (also `hf:FOLDER`: a dataset saved with `save_to_disk`, or a folder of data files);
  - a path: a UTF-8 text file (any suffix), a .jsonl or .parquet file, or a folder of them.

A split is a `Text`: a stream of str pieces, read from disk (or a memory-mapped dataset) as it is
used, so a corpus larger than memory works; `Corpus.train` (the whole text as one str) is only for
small corpora. Rows (of a dataset, a .jsonl or .parquet file) and the files of a folder are
documents: each is followed by a newline unless it ends with one. A single file is taken as it is.
A source without its own valid/test splits is cut 90% / 5% / 5% of its characters, each cut moved
to the next line start (`split_text`; the streaming cut gives the same splits); one with only one
of them cuts that one in half.
"""

import codecs
import hashlib
import json
import os
import re
import socket
import sys
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

from common.errors import LadderError

# name -> file layout inside a data folder. Single-file corpora are split like a user's file.
NAMED = {
    "wikitext-2": {"train": "wikitext-2/train.txt", "valid": "wikitext-2/valid.txt", "test": "wikitext-2/test.txt"},
    "wikitext-103": {
        "train": "wikitext-103/train.txt",
        "valid": "wikitext-103/valid.txt",
        "test": "wikitext-103/test.txt",
    },
    "tinyshakespeare": {"all": "tinyshakespeare/input.txt"},
    "the-verdict": {"all": "the-verdict/the-verdict.txt"},
}
HF_NAMED = {
    "wikitext-2": ("Salesforce/wikitext", "wikitext-2-v1"),
    "wikitext-103": ("Salesforce/wikitext", "wikitext-103-v1"),
}
SPLIT_FRACTIONS = (0.9, 0.05)  # train, valid; the rest is test
SUFFIXES = (".txt", ".jsonl", ".parquet")  # what a folder given as --data may hold
BLOCK = 1 << 22  # bytes read from a file at a time
ROWS = 1024  # rows read from a dataset at a time
SPLITS = ("train", "valid", "test")


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


class InMemory(Text):
    def __init__(self, text: str, label: str = "text"):
        self.text, self.label = text, label
        self.key = "sha:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def pieces(self, start: int = 0):
        text = self.text if not start else self.text.encode()[start:].decode()
        for i in range(0, len(text), BLOCK):
            yield text[i : i + BLOCK]

    def n_bytes(self) -> int:
        return len(self.text.encode("utf-8", "surrogatepass"))

    def read(self) -> str:
        return self.text


def not_utf8(path: Path, offset: int) -> LadderError:
    """The one line for a file whose byte `offset` starts no UTF-8 character."""
    line, at = 1, 0
    with open(path, "rb") as f:
        while at < offset:
            block = f.read(min(BLOCK, offset - at))
            if not block:
                break
            line += block.count(b"\n")
            at += len(block)
        bad = f.read(1)
    return LadderError(
        f"{path} is not UTF-8 text: byte {offset} (line {line}) is {bad!r}; "
        "convert it with e.g. `iconv -f latin1 -t utf-8`"
    )


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
                    raise not_utf8(self.path, at - pending + e.start) from None
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


def split_text(text: str) -> tuple[str, str, str]:
    """Deterministic train/valid/test split at line boundaries (90% / 5% / 5% of characters)."""
    cuts = []
    at = 0
    for frac in SPLIT_FRACTIONS:
        at += int(len(text) * frac)
        nl = text.find("\n", at)  # move the cut to the next line start so no line is split
        cuts.append(nl + 1 if 0 <= nl < len(text) - 1 else at)
    a, b = cuts[0], max(cuts[0], cuts[1])
    return text[:a], text[a:b], text[b:]


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


@dataclass(frozen=True)
class Corpus:
    name: str  # "wikitext-2", ... or a safe name made from the path or dataset (for cache files)
    source: str  # where the text came from (a folder, a file, or "huggingface:...")
    texts: dict = field(repr=False)  # split name -> Text

    @classmethod
    def of(cls, name: str, source: str, train: str, valid: str, test: str) -> "Corpus":
        """A corpus from three strings (tests, small texts)."""
        return cls(name, source, {s: InMemory(t, f"{name} {s}") for s, t in zip(SPLITS, (train, valid, test))})

    def text(self, split: str) -> Text:
        return self.texts[split]

    def split(self, name: str) -> str:
        """The whole split as one str: for small corpora only."""
        return self.texts[name].read()

    train = property(lambda self: self.split("train"))
    valid = property(lambda self: self.split("valid"))
    test = property(lambda self: self.split("test"))


def safe_name(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", s).strip("-.") or "corpus"


def read_text(path: Path) -> str:
    """Read a UTF-8 file; on bad bytes say where they are."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise not_utf8(path, e.start) from None


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


def _go_offline_without_network() -> None:
    """With no network, switch `datasets` to its documented offline mode (its cache only), which
    answers at once, instead of ~30 s of retried requests before the same failure. (Read when
    `datasets` is imported, so only before that.)"""
    if "datasets" not in sys.modules and "HF_HUB_OFFLINE" not in os.environ and not _hub_reachable():
        os.environ["HF_HUB_OFFLINE"] = "1"


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
    _go_offline_without_network()
    try:
        import datasets
    except ImportError:
        raise LadderError(f"{spec} needs the `datasets` package: pip install -r requirements.txt") from None
    offline = bool(datasets.config.HF_HUB_OFFLINE)
    try:
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
        f"--data {data!r} is neither a corpus name ({', '.join(NAMED)}), nor hf:OWNER/NAME, nor a file or folder"
    )


def load_corpus(data: str = "wikitext-2", data_dir: str | None = None, text_column: str = "text") -> Corpus:
    """The corpus `data` names (see the module docstring), its splits checked to hold text."""
    if data in NAMED:
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
    for split in SPLITS:
        if not corpus.text(split).has_text():
            raise LadderError(
                f"{corpus.source} is too short to split into train/valid/test (its {split} split is empty); "
                "use a longer text file"
            )
    return corpus
