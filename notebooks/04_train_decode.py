# %% [markdown]
# # 4. Training, bits per byte, and decoding
#
# Train the v1 model of notebook 3 for a few hundred steps through the ladder's own training loop
# (`v1_transformer.main`, the same call as `python v1_transformer.py ...`), draw its loss curve,
# work out bits per byte from the numbers it reports, then generate text from it: greedy,
# temperature, top-k and top-p, with the distributions they sample from, and the key/value cache
# timed against no cache.
#
# At the committed settings the run is 200 steps of v1 on WikiText-2 at batch 16 (a minute or two on
# a 2-core laptop, most of it the loop's final evaluation of the whole validation and test splits).
# The fast mode (`LADDER_NOTEBOOK_FAST=1`) trains 10 steps on the tiny `the-verdict` corpus instead.

# %%
# --- setup: the project's modules, imported here only (the rest of the notebook uses these names)
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path.cwd().resolve().parent if Path.cwd().name == "notebooks" else Path.cwd().resolve()
sys.path.insert(0, str(ROOT))

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

import v1_transformer
from common.corpus import load_corpus
from common.data import load_dataset
from common.errors import LadderError
from common.generate import generate, sample_next
from sample import load_checkpoint

FAST = os.environ.get("LADDER_NOTEBOOK_FAST") == "1"
DATA = "the-verdict" if FAST else "wikitext-2"
STEPS = 10 if FAST else 200
try:  # the same place the rung scripts read from: $LADDER_DATA_DIR, else Hugging Face's cache
    load_corpus(DATA)
except LadderError as e:
    raise SystemExit(f"{DATA} not found. {e}; then restart the kernel") from None
work = Path(tempfile.mkdtemp(prefix="ladder-notebook-"))  # run records and the checkpoint: not in the repository
print(f"training v1 on {DATA} for {STEPS} steps; records in {work}")

# %% [markdown]
# ## A short real run
# These flags are the rung's own command line: anything `python v1_transformer.py --help` lists
# can be changed here. Every `eval_interval` steps the loop evaluates on a prefix of the validation
# split and prints a sample; at the end it evaluates the whole validation and test splits.

# %%
flags = {
    "data": DATA,
    "max_steps": STEPS,
    "batch_size": 16,  # half the ladder's 32: a notebook-sized run
    "warmup_steps": max(STEPS // 10, 1),
    "eval_interval": max(STEPS // 3, 1),
    "sample_tokens": 120,
    "eval_sliding": False,  # the second, sliding-window column doubles the final evaluation: not needed here
    "name": "notebook-v1",
    "out_dir": work / "runs",
    "ckpt_dir": work / "checkpoints",
    "cache_dir": ROOT / ".cache",  # tokenizers and token ids, shared with the scripts
    "wandb": "disabled",
}
start = time.perf_counter()
summary = v1_transformer.main([f"--{k}={v}" for k, v in flags.items()])
print(f"wall time {time.perf_counter() - start:.0f} s")

# %% [markdown]
# ## The loss curve
# The run folder holds the metrics as JSON lines (the same records wandb gets): the training loss
# every `log_interval` steps, and the periodic validation numbers. The curve falls fast from
# ln(V) (notebook 3) as the model learns character frequencies, then slowly as it learns spelling.

# %%
run_dir = work / "runs" / "notebook-v1"
records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
train_curve = [(r["step"], r["train/loss"]) for r in records if "train/loss" in r]
val_key = next((k for k in ("val_prefix/loss", "val/loss") if any(k in r for r in records)), None)
val_curve = [(r["step"], r[val_key]) for r in records if val_key in r]
fig, ax = plt.subplots(figsize=(6.5, 3.5))
ax.plot(*zip(*train_curve), label="train loss (one batch)")
if val_curve:
    ax.plot(*zip(*val_curve), marker="o", label=f"{val_key} (validation prefix)")
ax.axhline(math.log(summary["vocab_size"]), color="gray", ls=":", label="ln(V): a uniform guess")
ax.set_xlabel("step")
ax.set_ylabel("nats per token")
ax.legend()
plt.show()

# %% [markdown]
# ## Bits per byte, on the numbers
# The loop reports `val/loss`, the mean cross-entropy in nats per predicted token over the whole
# validation split, and `val/bpb`. Bits per byte converts the same total: nats to bits (divide by
# ln 2), and per token to per byte (divide by the bytes those tokens stand for). It does not care
# how the text was cut into tokens, which is why the ladder compares rungs with it.

# %%
data = load_dataset(v1_transformer.Config(data=DATA, cache_dir=str(ROOT / ".cache")))
valid = data.valid
n_pred = len(valid.ids) - 1  # every token but the first is predicted
n_bytes = data.byte_lut["valid"][np.asarray(valid.ids[1:])].sum()  # UTF-8 bytes of the predicted tokens
total_nats = summary["val/loss"] * n_pred
bpb = total_nats / math.log(2) / n_bytes
print(
    f"val loss {summary['val/loss']:.4f} nats/token x {n_pred:,} tokens = {total_nats:,.0f} nats = {total_nats / math.log(2):,.0f} bits"
)
print(f"over {n_bytes:,.0f} bytes ({n_bytes / n_pred:.4f} bytes per token): {bpb:.4f} bits per byte")
print(f"the loop's val/bpb: {summary['val/bpb']:.4f}")
assert abs(bpb - summary["val/bpb"]) < 1e-6

# %% [markdown]
# ## Next-token distributions: temperature, top-k, top-p
# Load the checkpoint the run left (`sample.load_checkpoint`, as `python sample.py CKPT` does) and
# look at what the model predicts after a prompt. Each decoding rule reshapes the same logits:
#
# - **greedy**: always the most likely token;
# - **temperature** T: softmax(logits / T); T < 1 sharpens, T > 1 flattens;
# - **top-k**: keep the k most likely tokens, renormalise;
# - **top-p** (nucleus): keep the smallest set of most likely tokens whose probability reaches p.
#
# The bars are the exact distributions, written out here; the dots are the frequencies of 4000
# draws from the project's `common.generate.sample_next`, which must match them.

# %%
model, tok, cfg = load_checkpoint(work / "checkpoints" / "notebook-v1" / "ckpt.pt")
prompt = "The game was released in"
ids = torch.tensor([tok.encode(prompt)])  # (1, T)
with torch.no_grad():
    logits = model(ids)[0, -1]  # (V,): the scores for the token after the prompt


def exact(logits, temperature=1.0, top_k=None, top_p=None):
    """The distribution a decoding rule samples from, written out (common/generate.py does the same)."""
    p = (logits / temperature).softmax(-1)
    if top_k:
        p = torch.where(p >= p.topk(top_k).values[-1], p, 0.0)
    if top_p:
        order = p.argsort(descending=True)
        before = p[order].cumsum(0) - p[order]  # probability of the tokens ranked above each one
        p = p.clone()
        p[order[before >= top_p]] = 0.0
    return p / p.sum()


rules = {
    "T = 1": dict(temperature=1.0),
    "T = 0.5": dict(temperature=0.5),
    "T = 2": dict(temperature=2.0),
    "top-k 5": dict(top_k=5),
    "top-p 0.8": dict(top_p=0.8),
}
shown = logits.topk(15).indices  # the 15 most likely next characters
g = torch.Generator().manual_seed(0)
fig, axes = plt.subplots(1, len(rules), figsize=(15, 3), sharey=True)
for ax, (name, rule) in zip(axes, rules.items()):
    p = exact(logits, **rule)
    draws = sample_next(logits.expand(4000, -1), generator=g, **rule).flatten()  # (4000,)
    freq = torch.bincount(draws, minlength=len(p)).float() / len(draws)
    assert (freq - p).abs().max() < 0.05, name  # sampling noise is about 0.01 at 4000 draws
    ax.bar(range(len(shown)), p[shown], color="C0")
    ax.plot(range(len(shown)), freq[shown], "o", color="C1", ms=4)
    ax.set_xticks(range(len(shown)), [repr(tok.decode([i]))[1:-1] for i in shown.tolist()], fontsize=8)
    ax.set_title(f"{name}: {int((p > 0).sum())} tokens possible")
axes[0].set_ylabel(f"p(next | {prompt!r})")
plt.show()
print("greedy picks", repr(tok.decode([logits.argmax().item()])))

# %% [markdown]
# ## Generation
# `common.generate.generate` applies one rule token after token. Greedy text tends to loop; a
# little randomness reads better; too much turns to noise.

# %%
new = 60 if FAST else 200
for name, rule in {"greedy": dict(temperature=0), **rules}.items():
    g = torch.Generator().manual_seed(1337)
    out = generate(model, ids, new, cfg.block_size, generator=g, **rule)
    print(f"--- {name}\n{prompt}{tok.decode(out[0, ids.size(1) :].tolist())}\n")

# %% [markdown]
# ## The key/value cache
# Without a cache, each new token runs the model over the whole context again. With one, each
# attention layer keeps the keys and values of the tokens it has seen, and a step runs the model on
# the new token only. Same tokens out (greedy), less time:

# %%
new = 100 if FAST else 400
times = {}
for use_cache in (False, True):
    start = time.perf_counter()
    out = generate(model, ids, new, cfg.block_size, temperature=0, use_cache=use_cache)
    times[use_cache] = (time.perf_counter() - start, out)
assert torch.equal(times[False][1], times[True][1])
print(
    f"{new} tokens: no cache {times[False][0]:.2f} s, cache {times[True][0]:.2f} s ({times[False][0] / times[True][0]:.1f}x faster)"
)

# %% [markdown]
# ## The learned position table, trained
# Notebook 2 drew v1's position table at initialisation: noise. After training, neighbouring
# positions have similar vectors (a bright band around the diagonal): the model has learned that
# nearby positions mean nearby text. (In fast mode, 10 steps are too few for this.)

# %%
wpe = model.wpe.weight.detach()
sim = F.normalize(wpe, dim=1) @ F.normalize(wpe, dim=1).T  # (block_size, block_size)
plt.imshow(sim, cmap="RdBu_r", vmin=-1, vmax=1)
plt.colorbar()
plt.title(f"v1 positions after {STEPS} steps: cosine similarity")
plt.xlabel("position")
plt.ylabel("position")
plt.show()

# %% [markdown]
# Next: `05_read_the_ladder`, where many such runs, across rungs and seeds, are compared.
