"""Tokenized splits, cached on disk, and the seeded batch sampler.

Token ids are computed once per (corpus, tokenizer) and cached as .npy files (memory-mapped,
smallest dtype that fits); the cache key hashes the corpus text and the tokenizer's JSON, so a
change to either rebuilds it. Trained BPE tokenizers are cached the same way.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bpe_tokenizer import CharTokenizer, TokenizerError, load_tokenizer, tokenizer_from_dict, train_kind
from common.corpus import Corpus, load_corpus
from common.errors import LadderError
from common.files import atomic_write, disk_errors

__all__ = ["CharTokenizer"]  # re-exported: experiments/count_bigram.py and tests/test_core.py import it from here

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


def get_tokenizer(kind: str, vocab: int, corpus: Corpus, cache_dir: str):
    """The tokenizer named `kind` trained on the corpus' training split, cached on disk."""
    path = Path(cache_dir) / "tokenizers" / f"{corpus.name}-{_sha(corpus.train)}-{kind}-{vocab}.json"
    if path.is_file():
        try:
            return load_tokenizer(path)
        except TokenizerError:
            print(f"ignoring unreadable cached tokenizer {path}; retraining")
    try:
        tok = train_kind(kind, corpus.train, vocab, f"the {corpus.name} training split (cached for next time)")
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


def _encode_split(tok, text: str, folder: Path, name: str) -> Split:
    ids_path, meta_path = folder / f"{name}.npy", folder / f"{name}.json"
    if ids_path.is_file() and meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
            ids = np.load(ids_path, mmap_mode="r")
            if len(ids) == meta["n_tokens"]:
                return Split(ids, meta["n_bytes"], meta["n_words"], meta["unk_bytes"])
        except (ValueError, KeyError, OSError):
            pass  # a damaged cache entry is rebuilt below
    ids = np.asarray(tok.encode(text), dtype=_dtype_for(tok.vocab_size))
    lengths = _token_byte_lengths(tok)
    n_bytes = len(text.encode())
    # unknown tokens stand for characters outside the alphabet: whatever bytes the known
    # tokens do not account for (exact over the split; one unk = one character).
    unk_bytes = n_bytes - int(lengths[ids].sum()) if tok.unk_id is not None else 0
    meta = {
        "n_tokens": len(ids),
        "n_bytes": n_bytes,
        "n_words": len(text.split()) + text.count("\n"),
        "unk_bytes": unk_bytes,
    }
    # ranks of one torchrun (or two sweep shards) filling a cold cache at once each write their
    # own temporary file (atomic_write names it per process); the last rename wins, same content
    atomic_write(ids_path, lambda f: np.save(f, ids), flag="--cache_dir")
    atomic_write(meta_path, json.dumps(meta), flag="--cache_dir")
    return Split(np.load(ids_path, mmap_mode="r"), n_bytes, meta["n_words"], unk_bytes)


def load_dataset(cfg, tokenizer=None) -> Dataset:
    """Corpus -> tokenizer (given, e.g. from a checkpoint, or trained) -> cached token ids."""
    corpus = load_corpus(cfg.data, cfg.data_dir or None)
    with disk_errors(Path(cfg.cache_dir) / "tokenizers", flag="--cache_dir"):  # a trained tokenizer is saved there
        tok = tokenizer or get_tokenizer(cfg.tokenizer, cfg.vocab, corpus, cfg.cache_dir)
    key = f"{corpus.name}-{_sha(corpus.train + corpus.valid + corpus.test)}-{_sha(tokenizer_json(tok))}"
    folder = Path(cfg.cache_dir) / "tokens" / key
    splits = {name: _encode_split(tok, corpus.split(name), folder, name) for name in ("train", "valid", "test")}
    lengths = _token_byte_lengths(tok)
    luts = {}
    for name, s in splits.items():
        lut = lengths.copy()
        if tok.unk_id is not None:
            n_unk = int((s.ids == tok.unk_id).sum())
            lut[tok.unk_id] = s.unk_bytes / n_unk if n_unk else 1.0
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

    def __init__(self, ids: np.ndarray, block_size: int, batch_size: int, seed: int, device: torch.device):
        self.ids, self.block_size, self.batch_size, self.device = ids, block_size, batch_size, device
        self.generator = torch.Generator().manual_seed(seed)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
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
