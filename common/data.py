"""Tokenized splits, cached on disk, and the seeded batch sampler.

Token ids are computed once per (corpus, tokenizer) and cached as raw arrays (memory-mapped,
smallest dtype that fits) under a key made of the corpus' texts and the tokenizer's JSON, so a
change to either never reuses stale ids. Trained tokenizers are cached the same way. A text is
worked on in pieces of about PIECE_CHARS characters, each cut where no pre-token or word can
straddle (`cut`), so the pieces train, encode and count as the whole text does.

Only the batch sampler needs torch, and imports it itself: loading a corpus, its tokenizer and its
cached ids (`load_dataset`) runs without torch. A corpus at scale (common/corpus_scale.py) builds
its cache there, streamed, resumable and across processes; this module hands it over.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import regex
from tqdm import tqdm

from bpe_extras import TokenizerError
from bpe_tokenizer import CharTokenizer, load_tokenizer, tokenizer_from_dict, train_kind
from common.corpus import SPLITS, Corpus, InMemory, load_corpus
from common.errors import LadderError
from common.files import atomic_write, disk_errors

__all__ = ["CharTokenizer"]  # re-exported: experiments/count_bigram.py and tests/test_core.py import it from here

CACHE_VERSION = 2  # of the token cache's layout; part of its key
PIECE_CHARS = 1 << 20  # text per piece of work (training, encoding)
# a whitespace after a non-space: GPT-2's pre-tokens and whitespace-separated words never straddle it
CUT = regex.compile(r"(?<=\S)\s")

# -----------------------------------------------------------------------------
# the tokenizer a rung names: bpe_tokenizer.py owns the kinds (its KINDS); this only caches them


def tokenizer_json(tok) -> str:
    """A tokenizer as JSON text (stored in checkpoints, hashed for the token cache)."""
    return json.dumps(tok.to_dict(), ensure_ascii=False, sort_keys=True)


def tokenizer_from_json(text: str):
    """Rebuild a tokenizer saved in a checkpoint (JSON only: nothing executes)."""
    try:
        obj = json.loads(text)
    except (TypeError, ValueError, RecursionError) as e:
        raise LadderError(f"the checkpoint's tokenizer is not valid JSON ({e}): the checkpoint is damaged") from None
    try:
        return tokenizer_from_dict(obj, "the checkpoint's tokenizer")
    except TokenizerError as e:
        raise LadderError(f"{e}; the checkpoint was written by another version of the ladder") from None


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def bar(total: int | None, desc: str, initial: int = 0) -> tqdm:
    """A progress bar over a text's bytes: MB/s, and an ETA where the size is known."""
    small = total is not None and total < (8 << 20)  # small splits take a second or two
    kw = dict(unit="B", unit_scale=True, unit_divisor=1000, mininterval=1.0, disable=small, leave=False)
    return tqdm(total=total, initial=initial, desc=desc, **kw)


def cut(text: str, size: int | None = None):
    """`text` in pieces of about `size` (PIECE_CHARS) characters, each cut at the first CUT at least
    that far on (corpus_scale.cut_stream makes the same cuts in a stream)."""
    size, at = size or PIECE_CHARS, 0
    while len(text) - at > size and (m := CUT.search(text, at + size)):
        yield text[at : m.start()]
        at = m.start()
    if at < len(text):
        yield text[at:]


def counted(pieces, progress):
    """The pieces, moving the progress bar by each one's bytes as it is read."""
    for piece in pieces:  # subtle: not `bar.update(n) or piece`: tqdm's update returns True when it redraws
        progress.update(len(piece.encode()))
        yield piece


def get_tokenizer(kind: str, vocab: int, corpus: Corpus, cache_dir: str, sample_mb: float = 0.0):
    """The tokenizer named `kind` trained on the corpus' training split, cached on disk (a streamed
    split, or a sample of one with --tokenizer_sample_mb: common/corpus_scale.py trains it)."""
    train = corpus.text("train")
    if sample_mb or not isinstance(train, InMemory):
        from common import corpus_scale

        return corpus_scale.get_tokenizer(kind, vocab, corpus, cache_dir, sample_mb)
    path = Path(cache_dir) / "tokenizers" / f"{corpus.name}-{sha(train.key)}-{kind}-{vocab}.json"
    if path.is_file():
        try:
            return load_tokenizer(path)
        except TokenizerError:
            print(f"ignoring unreadable cached tokenizer {path}; retraining")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with bar(train.n_bytes(), f"reading {corpus.name} train") as b:
            tok = train_kind(
                kind, counted(cut(train.text), b), vocab, f"the {corpus.name} training split (cached for next time)"
            )
        tok.save(path)  # written atomically: the ranks of one torchrun may each train it
    except TokenizerError as e:
        raise LadderError(str(e)) from None
    return tok


# -----------------------------------------------------------------------------
# tokenized splits


@dataclass
class Split:
    """One split as token ids, plus what bits per byte and word perplexity need."""

    ids: np.ndarray  # (N,) token ids, memory-mapped
    n_bytes: int  # UTF-8 bytes of the split's text
    n_words: int  # whitespace-separated words + one per line end (WikiText convention)
    unk_bytes: int  # bytes of the text that became unknown-symbol tokens
    n_unk: int = 0  # unknown-symbol tokens


@dataclass
class Dataset:
    corpus: Corpus
    tokenizer: object
    train: Split
    valid: Split
    test: Split
    byte_lut: dict  # split name -> (V,) float64: bytes each token id stands for in that split

    def split(self, name: str) -> Split:
        return getattr(self, name)


def dtype_for(vocab_size: int):
    return np.uint8 if vocab_size <= 2**8 else np.uint16 if vocab_size <= 2**16 else np.uint32


def token_byte_lengths(tok) -> np.ndarray:
    return np.array([len(tok.token_bytes(i)) for i in range(tok.vocab_size)], dtype=np.float64)


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def checksum(path: Path) -> str:
    """BLAKE2b of a file, read in 8 MB blocks: one pass over it each time the cache opens."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while block := f.read(1 << 23):
            h.update(block)
    return h.hexdigest()


def cached(folder: Path, name: str, vocab_size: int | None = None) -> Split | None:
    """Split `name` from the cache: `<name>.bin` (the ids) and `<name>.json` (their count, dtype,
    checksum and text statistics). An entry cut short or never finished is rebuilt (None); one whose
    bytes changed after it was built (a disk, a copy) is refused with one line, so nothing trains on
    damaged ids: its checksum and every id below the vocabulary size are checked each time it opens."""
    meta = read_json(folder / f"{name}.json")
    path = folder / f"{name}.bin"
    try:
        dtype, n = np.dtype(meta["dtype"]), meta["n_tokens"]
        if not path.is_file() or path.stat().st_size != n * dtype.itemsize:
            return None
        ids = np.memmap(path, dtype=dtype, mode="r", shape=(n,)) if n else np.zeros(0, dtype)
        split = Split(ids, meta["n_bytes"], meta["n_words"], meta["unk_bytes"], meta["n_unk"])
    except (KeyError, TypeError, ValueError, OSError):
        return None
    damaged = f"the token cache {path} is damaged (%s); delete {folder} and run again to rebuild it"
    if "checksum" in meta and checksum(path) != meta["checksum"]:  # caches before 2026-12-04 have none
        raise LadderError(damaged % "its checksum differs from the one recorded when it was built")
    if vocab_size is not None and n and int(ids.max()) >= vocab_size:
        raise LadderError(damaged % f"it holds id {int(ids.max())}, outside the tokenizer's {vocab_size} ids")
    return split


def encode_split(tok, text: InMemory, folder: Path, name: str, label: str) -> Split:
    """The split's ids from the cache, or encoded piece by piece and written to it. Two processes
    may build one entry at once (the ranks of a torchrun): each writes it whole, atomically."""
    split = cached(folder, name, tok.vocab_size)
    if split is not None:
        return split
    dtype = np.dtype(dtype_for(tok.vocab_size))
    meta = {"n_tokens": 0, "n_bytes": text.n_bytes(), "n_words": 0, "unk_bytes": 0, "n_unk": 0, "dtype": dtype.name}
    parts = []
    with bar(meta["n_bytes"], f"tokenizing {label} {name}") as b:
        for piece in cut(text.text):  # words and line ends add up over pieces (cut at whitespace)
            parts.append(np.asarray(tok.encode(piece), dtype=dtype))
            meta["n_words"] += len(piece.split()) + piece.count("\n")
            b.update(len(piece.encode()))
    ids = np.concatenate(parts) if parts else np.zeros(0, dtype)
    meta["n_tokens"] = len(ids)
    if tok.unk_id is not None:
        # unknown tokens stand for characters outside the alphabet: whatever bytes the known tokens
        # do not account for (one unk = one character)
        meta["unk_bytes"] = meta["n_bytes"] - int(token_byte_lengths(tok)[ids].sum())
        meta["n_unk"] = int((ids == tok.unk_id).sum())
    meta["checksum"] = hashlib.blake2b(ids.tobytes(), digest_size=16).hexdigest()
    atomic_write(folder / f"{name}.bin", ids.tobytes(), flag="--cache_dir")
    atomic_write(folder / f"{name}.json", json.dumps(meta), flag="--cache_dir")  # after the ids it counts
    split = cached(folder, name, tok.vocab_size)
    assert split is not None, f"the token cache {folder / name}.bin did not read back"
    return split


def load_dataset(cfg, tokenizer=None) -> Dataset:
    """Corpus -> tokenizer (given, e.g. from a checkpoint, or trained) -> cached token ids."""
    corpus = load_corpus(cfg.data, cfg.data_dir or None, getattr(cfg, "text_column", "text"))
    with disk_errors(Path(cfg.cache_dir) / "tokenizers", flag="--cache_dir"):  # a trained tokenizer is saved there
        tok = tokenizer or get_tokenizer(
            cfg.tokenizer, cfg.vocab, corpus, cfg.cache_dir, getattr(cfg, "tokenizer_sample_mb", 0.0)
        )
    texts = "\n".join(corpus.text(s).key for s in SPLITS)
    key = f"{corpus.name}-{sha(f'v{CACHE_VERSION}:{texts}')}-{sha(tokenizer_json(tok))}"
    folder = Path(cfg.cache_dir) / "tokens" / key
    encode = encode_split
    if not isinstance(corpus.text("train"), InMemory):
        from common.corpus_scale import encode_split as encode  # streamed, resumable, across processes
    splits = {name: encode(tok, corpus.text(name), folder, name, corpus.name) for name in SPLITS}
    lengths = token_byte_lengths(tok)
    luts = {}
    for name, s in splits.items():
        lut = lengths.copy()
        if tok.unk_id is not None:
            lut[tok.unk_id] = s.unk_bytes / s.n_unk if s.n_unk else 1.0
        luts[name] = lut
    for name, s in splits.items():
        if len(s.ids) < cfg.block_size + 1 and name == "train":
            raise LadderError(
                f"the {name} split of {corpus.name!r} has {len(s.ids)} tokens, fewer than one context window "
                f"(--block_size {cfg.block_size}) plus one; use a longer text or a smaller --block_size"
            )
        if len(s.ids) < 2:
            raise LadderError(f"the {name} split of {corpus.name!r} is too short to evaluate; use a longer text")
    return Dataset(corpus, tok, splits["train"], splits["valid"], splits["test"], luts)


# -----------------------------------------------------------------------------
# batches: random windows from a generator seeded by the run seed (never the global RNG)


def rank_seed(seed: int, rank: int) -> int:
    """The batch-stream seed of one DDP rank: far apart per rank (a prime stride), so rank 1 of
    seed 1337 never draws the batches of rank 0 of seed 1338."""
    return seed + 1_000_003 * rank


class Batcher:
    """Random (x, y) windows of `block_size` tokens from one split.

    The generator is seeded from the run seed (and rank), not the global RNG, so two models with
    the same tokenizer and seed see the same batches whatever they draw at init.
    """

    def __init__(self, ids: np.ndarray, block_size: int, batch_size: int, seed: int, device):
        import torch  # here, not at the top: the data path itself needs no torch (v1_numpy.py)

        self.ids, self.block_size, self.batch_size, self.device = ids, block_size, batch_size, device
        self.generator = torch.Generator().manual_seed(seed)

    def next(self):  # -> (x, y), torch tensors (B, T)
        import torch

        T = self.block_size
        # a window needs T + 1 tokens (x and its shifted targets): starts 0 .. len - T - 1 inclusive,
        # so the last window, and with it the split's last token as a target, can be drawn
        ix = torch.randint(len(self.ids) - T, (self.batch_size,), generator=self.generator).tolist()
        chunk = np.stack([self.ids[i : i + T + 1] for i in ix]).astype(np.int64)  # (B, T+1)
        xy = torch.from_numpy(chunk)
        if self.device.type == "cuda":  # pinned memory lets the copy overlap compute
            xy = xy.pin_memory().to(self.device, non_blocking=True)
        else:
            xy = xy.to(self.device)
        return xy[:, :-1], xy[:, 1:]  # (B, T), (B, T)
