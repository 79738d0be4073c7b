# %% [markdown]
# # 1. Text to tokens
#
# A language model never sees text: it sees integers. This notebook goes from the WikiText-2 corpus
# to the token ids each rung trains on, with the ladder's own tokenizer code (`bpe_tokenizer.py`):
#
# 1. the corpus and its characters, and v0's bigram counted by hand;
# 2. byte-pair encoding merge by merge, then encode and decode a sentence;
# 3. v3's English-only alphabet and v4's Scaffold-BPE;
# 4. bytes per token against vocabulary size, and against GPT-2's tokenizer.
#
# Run it top to bottom; change a number and run a cell again. `LADDER_NOTEBOOK_FAST=1` makes every
# notebook use small settings (what CI runs).

# %%
# --- setup: the project's modules, imported here only (the rest of the notebook uses these names)
import contextlib
import io
import json
import math
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path.cwd().resolve().parent if Path.cwd().name == "notebooks" else Path.cwd().resolve()
sys.path.insert(0, str(ROOT))

import matplotlib.pyplot as plt
import numpy as np

from bpe_tokenizer import ENGLISH_ALPHABET, CharTokenizer, Tokenizer, train_kind
from common.corpus import load_corpus
from common.errors import LadderError
from experiments import count_bigram

FAST = os.environ.get("LADDER_NOTEBOOK_FAST") == "1"  # CI: a slice of the corpus instead of all of it
try:  # the same place the rung scripts read from: $LADDER_DATA_DIR, else Hugging Face's cache
    corpus = load_corpus("wikitext-2")
except LadderError as e:
    raise SystemExit(f"WikiText-2 not found. {e}; then restart the kernel") from None
train_text = corpus.train[:2_000_000] if FAST else corpus.train
valid_text = corpus.valid[:300_000] if FAST else corpus.valid
print(
    f"{corpus.name} from {corpus.source}: train {len(train_text.encode()):,} bytes, valid {len(valid_text.encode()):,} bytes"
)

# %% [markdown]
# ## The corpus
# WikiText-2 is Wikipedia's good and featured articles, already split into words: rare words are
# `<unk>`, and number separators are written `@-@`, `@,@` and `@.@`. Look at a piece of it.

# %%
print(corpus.train[:600])

# %% [markdown]
# ## Characters: v0's and v1's tokenizer
# The simplest tokenizer gives each distinct character of the training text an id, plus one
# *unknown* id for any character it never saw. One token is one character (one to four UTF-8 bytes).

# %%
chars = CharTokenizer.train(train_text)
print(f"{chars.vocab_size} ids: {len(chars.chars)} characters + 1 unknown")
counts = Counter(train_text)
print("most common:", [(c, n) for c, n in counts.most_common(12)])
print("rarest:", [(c, n) for c, n in counts.most_common()[-8:]])
ids = chars.encode("The meaning of life")
print(ids, "->", repr(chars.decode(ids)))

# %% [markdown]
# ## v0 by hand: count the bigrams
# v0 predicts the next character from the current one only. The best such model is a table of
# counts: how often character *b* followed character *a* in the training text, each row divided by
# its sum. Its quality is **bits per byte** on the validation text: the average number of bits the
# model needs to encode each byte, `-sum log2 p(next | this) / bytes`. (A tiny `alpha` is added to
# every count so that a pair never seen in training does not cost infinitely many bits.)

# %%
V = chars.vocab_size
train_ids, valid_ids = np.array(chars.encode(train_text)), np.array(chars.encode(valid_text))
pair_counts = np.bincount(train_ids[:-1] * V + train_ids[1:], minlength=V * V).reshape(V, V)  # (V, V)
alpha = 0.01
probs = (pair_counts + alpha) / (pair_counts + alpha).sum(axis=1, keepdims=True)  # each row sums to 1
nll_nats = -np.log(probs[valid_ids[:-1], valid_ids[1:]]).sum()
predicted_bytes = len(valid_text.encode()) - len(valid_text[0].encode())  # the first character is not predicted
bigram_bpb = nll_nats / math.log(2) / predicted_bytes
print(f"counted bigram: {bigram_bpb:.4f} bits per byte on {'a slice of ' if FAST else ''}the validation split")
print(f"a uniform guess over {V} ids would cost log2({V}) = {math.log2(V):.2f} bits per character")

# %% [markdown]
# The project computes the same number in `experiments/count_bigram.py`; the rung `v0_bigram.py`
# learns the same table by gradient descent. Both should agree with the count above (on the whole
# corpus; in fast mode the count above used a slice).

# %%
out = io.StringIO()
with contextlib.redirect_stdout(out):
    count_bigram.main(["--alpha", str(alpha)])
print("experiments/count_bigram.py:", out.getvalue().strip())
project_bpb = float(out.getvalue().split("val bpb")[1])
if not FAST:
    assert abs(project_bpb - bigram_bpb) < 1e-3, (project_bpb, bigram_bpb)
    print("the count above matches the project's")
v0_runs = sorted((ROOT / "results/runs").glob("ladder-v0_bigram-s*/summary.json"))
trained = [json.loads(p.read_text())["val/bpb"] for p in v0_runs]
print("v0_bigram.py trained by gradient descent (results/runs/ladder-v0_bigram-*):", [f"{b:.4f}" for b in trained])

# %% [markdown]
# The table itself, for the 24 most common characters: row = this character, column = the next.
# Bright cells are likely continuations (a space after `e`, `h` after `t`).

# %%
top = [chars.stoi[c] for c, _ in counts.most_common(24)]
fig, ax = plt.subplots(figsize=(6.5, 5.5))
im = ax.imshow(probs[np.ix_(top, top)], cmap="viridis")
labels = [repr(chars.chars[i])[1:-1] for i in top]
ax.set_xticks(range(len(top)), labels, fontsize=8)
ax.set_yticks(range(len(top)), labels, fontsize=8)
ax.set_xlabel("next character")
ax.set_ylabel("this character")
ax.set_title("v0's bigram: p(next | this)")
fig.colorbar(im)
plt.show()

# %% [markdown]
# ## Byte-pair encoding, merge by merge (v2)
# Characters make sequences long: the model spends its context and compute one letter at a time.
# Byte-pair encoding (BPE) starts from the 256 byte values and repeatedly glues the most frequent
# adjacent pair into a new token. The list of merges, in the order they were learned, *is* the
# tokenizer. Text is first cut into pre-tokens (words with their leading space, numbers,
# punctuation), and merges never cross a pre-token boundary.
#
# Train on the first 200 kB of the corpus and watch the first merges form:

# %%
small = corpus.train[:200_000]
tok_small = Tokenizer.train(small, vocab_size=256 + 40, progress=False)
for k, (a, b) in enumerate(tok_small.merges[:40]):
    new = 256 + k
    print(
        f"merge {k:2d}: {tok_small.token_bytes(a)!r:>10} + {tok_small.token_bytes(b)!r:<10} -> {new} = {tok_small.token_bytes(new)!r}"
    )


# %% [markdown]
# Merges are learned in order, so a tokenizer with fewer ids is just the first merges of a bigger
# one. `first_merges` builds that smaller tokenizer from the bigger one's vocabulary; the check
# below trains the smaller one from scratch and compares.


# %%
def first_merges(tok: Tokenizer, n: int) -> Tokenizer:
    """The tokenizer made of the first n merges of `tok` (byte-level BPE: ids 0..255 are the bytes)."""
    vocab = [tok.token_bytes(i) for i in range(256 + n)]
    return Tokenizer(vocab, [(a, b, 256 + k) for k, (a, b) in enumerate(tok.merges[:n])])


assert first_merges(tok_small, 10) == Tokenizer.train(small, vocab_size=256 + 10, progress=False)
sentence = "The meaning of the game was in the playing ."
for n in (0, 5, 10, 20, 40):
    pieces = [first_merges(tok_small, n).decode([i]) for i in first_merges(tok_small, n).encode(sentence)]
    print(f"{n:2d} merges, {len(pieces):2d} tokens: {'|'.join(pieces)}")

# %% [markdown]
# ## v2's tokenizer: 2000 ids on the whole training split
# `train_kind` is what a rung's `--tokenizer` flag calls (through `common/data.py`, which also caches
# it). Encode a sentence, look at the pieces, decode it back.

# %%
bpe = train_kind("bpe", train_text, 2000, "the training split", progress=False)
print(bpe)
sentence = "The Valkyria Chronicles III game was released in 2011 , and it was a success ."
ids = bpe.encode(sentence)
print(len(sentence.encode()), "bytes ->", len(ids), "tokens:", ids)
print("|".join(bpe.decode([i]) for i in ids))
assert bpe.decode(ids) == sentence  # byte-level BPE loses nothing
print("the 10 longest tokens:", sorted((bpe.token_bytes(i) for i in range(bpe.vocab_size)), key=len)[-10:])

# %% [markdown]
# ## v3: an English-only alphabet
# Byte-level BPE must spend merges on the bytes of every script in the corpus (a Japanese character
# is three bytes that need two merges to become one token). v3 restricts the base symbols to
# printable ASCII plus newline and tab; any other character becomes one *unknown* token. The cost
# is the unknown rate: the share of bytes the model can no longer predict exactly.

# %%
non_ascii = Counter(c for c in train_text if c not in ENGLISH_ALPHABET)
print(
    f"{sum(non_ascii.values()):,} non-ASCII characters in the training text ({len(non_ascii)} distinct); most common:"
)
print(non_ascii.most_common(15))
english = train_kind("bpe-english", train_text, 2000, "the training split", progress=False)
text = "Pokémon was released in Tōkyō ."
ids = english.encode(text)
print("|".join(english.decode([i]) for i in ids), f"  (unknown id {english.unk_id})")
valid_ids_en = np.array(english.encode(valid_text))
unk_share = (valid_ids_en == english.unk_id).sum() / len(valid_text)
print(f"unknown tokens: {unk_share:.3%} of the validation characters")

# %% [markdown]
# ## v4: Scaffold-BPE removes scaffold tokens
# Plain BPE keeps every token it ever made, even those that end up living almost only inside
# longer tokens. WikiText-2's ` @` is the classic one: it exists only to build ` @-@`, ` @,@` and
# ` @.@`. Scaffold-BPE (arXiv 2404.17808) marks such tokens as *scaffold*: they stay in the merge
# list, but encoding splits them back up, and they take no vocabulary slot, so the model's ids all
# go to tokens it will actually see.

# %%
scaffold = train_kind("bpe-scaffold", train_text, 4000, "the training split", progress=False)
print(scaffold)
removed = [scaffold.token_bytes(i) for i in scaffold.scaffold_tokens]
print(f"{len(removed)} scaffold tokens removed, e.g.:", removed[:25])
for text in ("the value was 3 @.@ 5 and 1 @,@ 000", " @"):
    print(repr(text), "->", "|".join(scaffold.decode([i]) for i in scaffold.encode(text)))
assert all(i < scaffold.vocab_size for i in scaffold.encode(valid_text[:20_000]))  # never a scaffold id

# %% [markdown]
# ## Bytes per token against vocabulary size
# More merges make longer tokens, so the same text becomes fewer tokens: the model sees more text
# per position of context and per step. The cost is a bigger embedding table and more, rarer ids to
# learn. Train once at 8000 ids and take the first merges for every smaller size (the prefix
# property above).

# %%
big = train_kind("bpe", train_text, 8000, "the training split", progress=False)
sizes = [256, 500, 1000, 2000, 4000, 8000]
valid_bytes = len(valid_text.encode())
rows = {"char": (chars.vocab_size, valid_bytes / len(chars.encode(valid_text)))}
for n in sizes:
    t = first_merges(big, n - 256)
    rows[f"bpe {n}"] = (n, valid_bytes / len(t.encode(valid_text)))
rows["bpe-english 2000"] = (english.vocab_size, valid_bytes / len(english.encode(valid_text)))
rows["bpe-scaffold 4000"] = (scaffold.vocab_size, valid_bytes / len(scaffold.encode(valid_text)))

# %% [markdown]
# GPT-2's tokenizer (50,257 ids, trained on web text) through tiktoken, for scale. tiktoken
# downloads its vocabulary once; offline, the row is left out with a note.

# %%
try:
    import tiktoken

    gpt2 = tiktoken.get_encoding("gpt2")
    rows["GPT-2 (tiktoken)"] = (gpt2.n_vocab, valid_bytes / len(gpt2.encode_ordinary(valid_text)))
except Exception as e:  # offline: tiktoken cannot fetch its files
    print(
        f"GPT-2 row skipped: tiktoken could not load its 'gpt2' vocabulary ({type(e).__name__}); it needs the network once"
    )
print(f"{'tokenizer':<20} {'ids':>7} {'bytes/token':>12}")
for name, (n, bpt) in rows.items():
    print(f"{name:<20} {n:>7,} {bpt:>12.2f}")

# %%
fig, ax = plt.subplots(figsize=(6.5, 4))
bpe_rows = [rows[f"bpe {n}"] for n in sizes]
ax.plot([n for n, _ in bpe_rows], [b for _, b in bpe_rows], marker="o", label="byte-level BPE (v2)")
for name, marker in (("char", "s"), ("bpe-english 2000", "^"), ("bpe-scaffold 4000", "D"), ("GPT-2 (tiktoken)", "*")):
    if name in rows:
        ax.plot(*rows[name], marker=marker, ls="none", ms=9, label=name)
ax.set_xscale("log")
ax.set_xticks(sizes, [str(n) for n in sizes], minor=False)
ax.set_xticks([], minor=True)
ax.set_xlabel("vocabulary size (ids, log scale)")
ax.set_ylabel("validation bytes per token")
ax.set_title("Longer tokens with more merges (WikiText-2 validation)")
ax.legend()
plt.show()

# %% [markdown]
# Bits per byte, not loss per token, is the ladder's headline metric because of this plot: a loss
# per token means different things when tokens hold 1 or 3.3 bytes. Next: `02_attention`.
