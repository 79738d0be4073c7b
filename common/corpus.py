"""Find a corpus and read its train / valid / test text. No torch here.

`--data` takes (DESIGN.md, "Data"), on this default path:
  - a corpus name (NAMED): wikitext-2 (default), tinyshakespeare, the-verdict, found in a data
    folder: `--data_dir`, else the LADDER_DATA_DIR environment variable, laid out as
    <dir>/wikitext-2/{train,valid,test}.txt (as in ../shared/data);
  - a path to a UTF-8 text file (any suffix).
A single file is cut 90% / 5% / 5% of its characters, each cut moved to the next line start.

Everything else is a corpus at scale, read by common/corpus_scale.py, which is imported only then:
a named corpus that is not in a data folder (Hugging Face `datasets`) or is bigger than SMALL_BYTES
(wikitext-103), `hf:OWNER/NAME[:CONFIG]`, .jsonl and .parquet files, folders, and any file bigger
than SMALL_BYTES. It streams them, so a corpus larger than memory works; here a split is one str.
"""

import hashlib
import os
import re
from dataclasses import dataclass, field
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
# built from the named corpora above by common/corpus_scale.py: WikiText-103's training text written
# with WikiText-2's vocabulary, scored on WikiText-2's valid and test files (docs/data.md)
DERIVED = ("wikitext-103-wt2",)
SPLIT_FRACTIONS = (0.9, 0.05)  # train, valid; the rest is test
SPLITS = ("train", "valid", "test")
SMALL_BYTES = 32 << 20  # files up to this size are read whole here; bigger ones stream (corpus_scale.py)


@dataclass(frozen=True)
class InMemory:
    """One split's text, and `key`: it changes when the text does, and names the caches built from it.
    (common/corpus_scale.py's streaming texts answer the same methods.)"""

    text: str = field(repr=False)
    key: str

    def read(self) -> str:
        return self.text

    def head(self, n_chars: int) -> str:
        return self.text[:n_chars]

    def n_bytes(self) -> int:
        return len(self.text.encode("utf-8", "surrogatepass"))

    def has_text(self) -> bool:
        return bool(self.text.strip())


@dataclass(frozen=True)
class Corpus:
    name: str  # "wikitext-2", ... or a safe name made from the path or dataset (for cache files)
    source: str  # where the text came from (a folder, a file, or "huggingface:...")
    texts: dict = field(repr=False)  # split name -> InMemory (or a corpus_scale.Text)

    @classmethod
    def of(cls, name: str, source: str, train: str, valid: str, test: str) -> "Corpus":
        """A corpus from three strings (tests, small texts)."""
        texts = [
            InMemory(t, "sha:" + hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest())
            for t in (train, valid, test)
        ]
        return cls(name, source, dict(zip(SPLITS, texts)))

    def text(self, split: str):
        return self.texts[split]

    def split(self, name: str) -> str:
        """The whole split as one str."""
        return self.texts[name].read()

    train = property(lambda self: self.split("train"))
    valid = property(lambda self: self.split("valid"))
    test = property(lambda self: self.split("test"))


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


def safe_name(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", s).strip("-.") or "corpus"


def not_utf8(path: Path, offset: int, line: int, bad: bytes) -> LadderError:
    """The one line for a file whose byte `offset` (on `line`) starts no UTF-8 character."""
    return LadderError(
        f"{path} is not UTF-8 text: byte {offset} (line {line}) is {bad!r}; "
        "convert it with e.g. `iconv -f latin1 -t utf-8`"
    )


def read_file(path: Path) -> tuple[str, str]:
    """A UTF-8 file's text, and the start of its key: the file's identity without hashing it (a change
    to the file changes its size or mtime). common/corpus_scale.py's FileText keys it the same way."""
    st, data = path.stat(), path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise not_utf8(path, e.start, data.count(b"\n", 0, e.start) + 1, data[e.start : e.start + 1]) from None
    return text, f"file:{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"


def whole_file(path: Path) -> InMemory:
    text, key = read_file(path)
    return InMemory(text, f"{key}:0:{len(text.encode())}:0")  # bytes [0, size), no newline added


def cut_file(name: str, source: str, path: Path) -> Corpus:
    """A one-file corpus, cut as split_text cuts it; the keys name the byte range of each split."""
    text, key = read_file(path)
    if not text.strip():
        raise LadderError(f"{path} is empty; give a UTF-8 text file with some text in it")
    texts, at = {}, 0
    for split, part in zip(SPLITS, split_text(text)):
        n = len(part.encode())
        texts[split] = InMemory(part, f"{key}:{at}:{at + n}:0")
        at += n
    return Corpus(name, source, texts)


def load_corpus(data: str = "wikitext-2", data_dir: str | None = None, text_column: str = "text") -> Corpus:
    """The corpus `data` names (see the module docstring), its splits checked to hold text."""
    folder = data_dir or os.environ.get("LADDER_DATA_DIR")
    paths = {k: Path(folder) / v for k, v in NAMED[data].items()} if data in NAMED and folder else {}
    if (
        data not in NAMED
        and data not in DERIVED
        and not data.startswith("hf:")
        and Path(data).suffix not in (".jsonl", ".parquet")
    ):
        paths = {"all": Path(data)}
    if not paths or not all(p.is_file() and p.stat().st_size <= SMALL_BYTES for p in paths.values()):
        from common import corpus_scale  # a corpus at scale: only now

        return corpus_scale.load_corpus(data, data_dir, text_column)
    if data not in NAMED:
        corpus = cut_file(safe_name(paths["all"].stem), str(paths["all"].resolve()), paths["all"])
    elif "all" in paths:
        corpus = cut_file(data, str(Path(folder)), paths["all"])
    else:
        corpus = Corpus(data, str(Path(folder)), {s: whole_file(paths[s]) for s in SPLITS})
    check_splits(corpus)
    return corpus


def check_splits(corpus: Corpus) -> None:
    for split in SPLITS:
        if not corpus.text(split).has_text():
            raise LadderError(
                f"{corpus.source} is too short to split into train/valid/test (its {split} split is empty); "
                "use a longer text file"
            )
