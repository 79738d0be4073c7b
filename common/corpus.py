"""Find a corpus and return its train / valid / test text. No torch here.

Resolution order for a named corpus (DESIGN.md, "Data"):
  1. a data folder: `--data_dir`, else the LADDER_DATA_DIR environment variable,
     laid out as <dir>/wikitext-2/{train,valid,test}.txt (as in ../shared/data);
  2. Hugging Face `datasets` (wikitext-2 only), with its own cache; works offline once cached;
  3. a one-line error naming both ways to get it.
Anything else is a path to a UTF-8 text file, split deterministically into train/valid/test.
"""

import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from common.errors import LadderError

# name -> file layout inside a data folder. Single-file corpora are split like a user's file.
NAMED = {
    "wikitext-2": {"train": "wikitext-2/train.txt", "valid": "wikitext-2/valid.txt", "test": "wikitext-2/test.txt"},
    "tinyshakespeare": {"all": "tinyshakespeare/input.txt"},
    "the-verdict": {"all": "the-verdict/the-verdict.txt"},
}
SPLIT_FRACTIONS = (0.9, 0.05)  # train, valid; the rest is test


@dataclass(frozen=True)
class Corpus:
    name: str  # "wikitext-2", ... or the file's stem
    source: str  # where the text came from (a folder, a file, or "huggingface:...")
    train: str
    valid: str
    test: str

    def split(self, name: str) -> str:
        return {"train": self.train, "valid": self.valid, "test": self.test}[name]


def read_text(path: Path) -> str:
    """Read a UTF-8 file; on bad bytes say where they are."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise LadderError(
            f"{path} is not UTF-8 text: byte {e.start} (line {line}) is {data[e.start : e.start + 1]!r}; "
            "convert it with e.g. `iconv -f latin1 -t utf-8`"
        ) from None


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


def _from_folder(name: str, folder: Path) -> Corpus | None:
    layout = NAMED[name]
    paths = {k: folder / v for k, v in layout.items()}
    if not all(p.is_file() for p in paths.values()):
        return None
    if "all" in paths:
        train, valid, test = split_text(read_text(paths["all"]))
    else:
        train, valid, test = (read_text(paths[s]) for s in ("train", "valid", "test"))
    return Corpus(name, str(folder), train, valid, test)


def join_rows(rows) -> str:
    """The `datasets` rows of WikiText back into the file's text. Each row is one line with its
    newline, except that the loader yields a blank line (" \n" in the file) as "": put it back."""
    return "".join(row if row else " \n" for row in rows)


def _hub_reachable(timeout: float = 3.0) -> bool:
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _from_huggingface(name: str) -> Corpus | None:
    """WikiText-2 through `datasets` (rows are lines; joining them gives the files' text)."""
    if name != "wikitext-2":
        return None
    if "datasets" not in sys.modules and "HF_HUB_OFFLINE" not in os.environ and not _hub_reachable():
        # no network: use datasets' documented offline mode (its cache only), which answers at
        # once, instead of ~30 s of retried requests before the same failure
        os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        import datasets
    except ImportError:
        return None
    try:
        ds = datasets.load_dataset("Salesforce/wikitext", "wikitext-2-v1")
    except Exception:  # offline and not cached, hub down, ...: fall through to the error
        return None
    splits = {s: join_rows(ds[h]["text"]) for s, h in (("train", "train"), ("valid", "validation"), ("test", "test"))}
    return Corpus(name, "huggingface:Salesforce/wikitext/wikitext-2-v1", **splits)


def load_corpus(data: str = "wikitext-2", data_dir: str | None = None) -> Corpus:
    """Return the corpus named `data` (see NAMED) or read the UTF-8 file at path `data`."""
    if data in NAMED:
        folder = data_dir or os.environ.get("LADDER_DATA_DIR")
        corpus = _from_folder(data, Path(folder)) if folder else None
        if corpus is None and data_dir:
            raise LadderError(f"--data_dir {data_dir} has no {data} files (expected {NAMED[data]})")
        corpus = corpus or _from_huggingface(data)
        if corpus is None:
            how = "set LADDER_DATA_DIR (or --data_dir) to a folder with " + ", ".join(NAMED[data].values())
            if data == "wikitext-2":
                how += ", or go online once so `datasets` can cache Salesforce/wikitext"
            raise LadderError(f"corpus {data!r} not found: {how}")
    else:
        path = Path(data)
        if not path.is_file():
            raise LadderError(f"--data {data!r} is neither a corpus name ({', '.join(NAMED)}) nor a file")
        text = read_text(path)
        if not text.strip():
            raise LadderError(f"{path} is empty; give a UTF-8 text file with some text in it")
        corpus = Corpus(path.stem, str(path.resolve()), *split_text(text))
    for split in ("train", "valid", "test"):
        if not corpus.split(split).strip():
            raise LadderError(
                f"{corpus.source} is too short to split into train/valid/test (its {split} split is empty); "
                "use a longer text file"
            )
    return corpus
