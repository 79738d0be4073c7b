"""Tokenized splits, cached on disk, and the seeded batch sampler.

Token ids are computed once per (corpus, tokenizer) and cached as raw arrays (memory-mapped,
smallest dtype that fits) under a key made of the corpus' texts and the tokenizer's JSON, so a
change to either never reuses stale ids. The cache is built in one streaming pass: the text is read
in pieces, cut where pre-tokens cannot straddle (bpe_extras.cut_stream), encoded (across
processes for a big split) and appended to the file, so memory does not grow with the corpus. A
progress bar shows MB/s and ETA; the build saves its place every few seconds, so an interrupted
build resumes where it stopped. Trained tokenizers are cached the same way, trained from pre-token
counts gathered piece by piece (optionally on a sample: --tokenizer_sample_mb).
"""

import contextlib
import fcntl
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bpe_extras import TokenizerError, cut_stream, ordered_map
from bpe_tokenizer import CharTokenizer, load_tokenizer, tokenizer_from_dict, train_kind
from common.corpus import Corpus, Text, estimated_bytes, load_corpus
from common.errors import LadderError
from common.files import atomic_write, disk_errors

__all__ = ["CharTokenizer"]  # re-exported: experiments/count_bigram.py and tests/test_core.py import it from here

CACHE_VERSION = 2  # of the token cache's layout; part of its key
PIECE_CHARS = 1 << 20  # text per piece of work (encoding, counting)
PARALLEL_BYTES = 32 << 20  # splits at least this big are encoded across processes (given spare cores)
SAVE_SECONDS = 5.0  # how often a cache build records its place

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


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _bar(text: Text, desc: str, initial: int = 0) -> tqdm:
    """A progress bar over a text's bytes: MB/s, and an ETA where the size is known."""
    total = estimated_bytes(text)
    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit="B",
        unit_scale=True,
        unit_divisor=1000,
        mininterval=1.0,
        disable=total is not None and total < (8 << 20),  # small splits take a second or two
        leave=False,
    )


def training_pieces(text: Text, sample_mb: float = 0.0, bar: tqdm | None = None):
    """The training text as pieces cut at pre-token boundaries (cut_stream); with `sample_mb`, about
    that many MB of them, spread evenly over the text: every k-th piece of about 1 MB, k = size /
    sample, from the first (or the first `sample_mb` MB when the size is not known)."""
    total = estimated_bytes(text)
    stride = max(1, round(total / (sample_mb * 1e6))) if sample_mb and total else 1
    taken = 0
    for k, piece in enumerate(cut_stream(text.pieces(), PIECE_CHARS)):
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
    """The tokenizer named `kind` trained on the corpus' training split (or a sample of it), cached on disk."""
    sample = f"-sample{sample_mb:g}MB" if sample_mb else ""
    train = corpus.text("train")
    path = Path(cache_dir) / "tokenizers" / f"{corpus.name}-{_sha(train.key)}-{kind}-{vocab}{sample}.json"
    if path.is_file():
        try:
            return load_tokenizer(path)
        except TokenizerError:
            print(f"ignoring unreadable cached tokenizer {path}; retraining")
    what = f"{sample_mb:g} MB sampled from " if sample_mb else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path.with_name(path.name + ".lock")):  # the ranks of one torchrun train it once
        with contextlib.suppress(TokenizerError):  # another process trained it meanwhile
            if path.is_file():
                return load_tokenizer(path)
        try:
            with _bar(train, f"reading {corpus.name} train") as bar:
                pieces = training_pieces(train, sample_mb, bar)
                tok = train_kind(kind, pieces, vocab, f"{what}the {corpus.name} training split (cached for next time)")
            tok.save(path)
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


def _dtype_for(vocab_size: int):
    return np.uint8 if vocab_size <= 2**8 else np.uint16 if vocab_size <= 2**16 else np.uint32


def _token_byte_lengths(tok) -> np.ndarray:
    return np.array([len(tok.token_bytes(i)) for i in range(tok.vocab_size)], dtype=np.float64)


_WORKER = {}


def _worker_init(tok) -> None:
    """Runs once per encoding process: its tokenizer (and so its word cache) lives for the whole build."""
    _WORKER["tok"], _WORKER["dtype"] = tok, _dtype_for(tok.vocab_size)


def _encode_piece(piece: str) -> tuple[bytes, int, int]:
    """(ids as raw bytes, UTF-8 bytes, words) of one piece. Pieces are cut at whitespace after a
    non-space, so words and line ends add up over pieces to those of the whole text."""
    ids = np.asarray(_WORKER["tok"].encode(piece), dtype=_WORKER["dtype"])
    return ids.tobytes(), len(piece.encode()), len(piece.split()) + piece.count("\n")


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _open_ids(path: Path, meta: dict) -> np.ndarray | None:
    """The cached ids if the file holds exactly what its meta says, else None."""
    dtype = np.dtype(meta["dtype"])
    n = meta["n_tokens"]
    if not path.is_file() or path.stat().st_size != n * dtype.itemsize:
        return None
    return np.memmap(path, dtype=dtype, mode="r", shape=(n,)) if n else np.zeros(0, dtype)


def _cached(folder: Path, name: str) -> Split | None:
    meta = _read_json(folder / f"{name}.json")
    try:
        ids = meta and _open_ids(folder / f"{name}.bin", meta)
        if ids is not None:
            return Split(ids, meta["n_bytes"], meta["n_words"], meta["unk_bytes"], meta["n_unk"])
    except (KeyError, TypeError, ValueError, OSError):
        pass  # a damaged cache entry is rebuilt
    return None


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


def _encode_split(tok, text: Text, folder: Path, name: str, label: str) -> Split:
    """The split's ids from the cache, or built into it in one streaming pass (resumed if a
    previous build was interrupted)."""
    split = _cached(folder, name)
    if split is not None:
        return split
    with disk_errors(folder, flag="--cache_dir"):
        folder.mkdir(parents=True, exist_ok=True)
        with _locked(folder / f"{name}.lock"):
            return _cached(folder, name) or _build_split(tok, text, folder, name, label)


def _build_split(tok, text: Text, folder: Path, name: str, label: str) -> Split:
    ids_path, meta_path = folder / f"{name}.bin", folder / f"{name}.json"
    partial, place_path = folder / f"{name}.bin.partial", folder / f"{name}.place.json"
    dtype = np.dtype(_dtype_for(tok.vocab_size))
    fresh = {"n_tokens": 0, "n_bytes": 0, "n_words": 0, "unk_bytes": 0, "n_unk": 0, "dtype": dtype.name}
    place = _read_json(place_path) if partial.is_file() else None
    if not place or place.get("dtype") != dtype.name or partial.stat().st_size < place["n_tokens"] * dtype.itemsize:
        place = fresh
    elif place["n_bytes"]:
        print(f"resuming the token cache of {label} {name} at {place['n_bytes'] / 1e6:,.1f} MB")
    lengths = _token_byte_lengths(tok)
    unk = tok.unk_id
    size = estimated_bytes(text)
    # one process reads, cuts and writes; the others encode. On 2 cores that pipeline measured
    # slower than encoding in the one process (results/bench/data.md), so only with spare cores.
    workers = min((os.cpu_count() or 1) - 1, 8) if size is None or size >= PARALLEL_BYTES else 1
    pieces = cut_stream(text.pieces(place["n_bytes"]), PIECE_CHARS)

    def save_place():
        f.flush()
        os.fsync(f.fileno())  # the ids are on disk before the place that counts them
        atomic_write(place_path, json.dumps(place), flag="--cache_dir")

    with (
        open(partial, "r+b" if place["n_tokens"] else "wb") as f,
        _bar(text, f"tokenizing {label} {name}", place["n_bytes"]) as bar,
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
    os.replace(partial, ids_path)
    atomic_write(meta_path, json.dumps(place), flag="--cache_dir")
    place_path.unlink(missing_ok=True)
    split = _cached(folder, name)
    assert split is not None, f"the token cache {ids_path} did not read back"
    return split


def load_dataset(cfg, tokenizer=None) -> Dataset:
    """Corpus -> tokenizer (given, e.g. from a checkpoint, or trained) -> cached token ids."""
    corpus = load_corpus(cfg.data, cfg.data_dir or None, getattr(cfg, "text_column", "text"))
    with disk_errors(Path(cfg.cache_dir) / "tokenizers", flag="--cache_dir"):  # a trained tokenizer is saved there
        tok = tokenizer or get_tokenizer(
            cfg.tokenizer, cfg.vocab, corpus, cfg.cache_dir, getattr(cfg, "tokenizer_sample_mb", 0.0)
        )
    texts = "\n".join(corpus.text(s).key for s in ("train", "valid", "test"))
    key = f"{corpus.name}-{_sha(f'v{CACHE_VERSION}:{texts}')}-{_sha(tokenizer_json(tok))}"
    folder = Path(cfg.cache_dir) / "tokens" / key
    splits = {
        name: _encode_split(tok, corpus.text(name), folder, name, corpus.name) for name in ("train", "valid", "test")
    }
    lengths = _token_byte_lengths(tok)
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
