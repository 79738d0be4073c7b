# %% [markdown]
# # 3. From attention to a GPT
#
# A GPT is token embeddings, a stack of blocks (attention, then an MLP, each added back to a
# *residual stream*), a final norm, and a head that turns each position's vector into one score per
# vocabulary entry. This notebook assembles the ladder's v1 model (`v1_transformer.py`) on WikiText-2
# characters and inspects it: shapes through one forward pass, parameters by part, and the loss
# before any training. Then it shows what v5's modern block (`v5_modern.py`) changes, on activations.

# %%
# --- setup: the project's modules, imported here only (the rest of the notebook uses these names)
import math
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path.cwd().resolve().parent if Path.cwd().name == "notebooks" else Path.cwd().resolve()
sys.path.insert(0, str(ROOT))

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import v1_transformer
import v5_modern
from common.config import build_model
from common.data import Batcher, load_dataset
from common.errors import LadderError

FAST = os.environ.get("LADDER_NOTEBOOK_FAST") == "1"  # nothing here is slow; kept for the same switch everywhere
torch.manual_seed(1337)
cfg = v1_transformer.Config(cache_dir=str(ROOT / ".cache"))  # the rung's defaults: the ladder's reference run
try:  # the corpus from $LADDER_DATA_DIR (as the rung scripts), tokenized once and cached in .cache/
    data = load_dataset(cfg)
except LadderError as e:
    raise SystemExit(f"WikiText-2 not found. {e}; then restart the kernel") from None
tok = data.tokenizer
V = tok.vocab_size
print(f"{cfg.tokenizer} tokenizer: {V} ids; {len(data.train.ids):,} training tokens")

# %% [markdown]
# ## Assemble v1
# `build_model` is what the training loop calls: `Model(cfg, vocab_size)`, with a one-line error if
# the settings do not fit together.

# %%
model = build_model(v1_transformer.Model, cfg, V, "v1_transformer")
print(model)

# %% [markdown]
# ## Shapes through one forward pass
# A batch of B windows of T tokens goes in; B x T x V scores (logits) come out. Hooks on each part
# record what it returns. B = batch, T = positions, C = the residual width (`n_embd`), V = vocabulary.

# %%
batcher = Batcher(data.train.ids, cfg.block_size, 4, cfg.seed, torch.device("cpu"))
x, y = batcher.next()  # (B, T) each: y is x shifted by one, the next token at every position
print("x", tuple(x.shape), repr(tok.decode(x[0, :40].tolist())))
print("y", tuple(y.shape), repr(tok.decode(y[0, :40].tolist())))
shapes = []
watch = [
    "wte",
    "wpe",
    "blocks.0.ln1",
    "blocks.0.attn",
    "blocks.0.mlp.fc",
    "blocks.0.mlp",
    "blocks.0",
    "blocks.3",
    "ln_f",
    "head",
]
hooks = [
    m.register_forward_hook(lambda mod, inp, out, name=name: shapes.append((name, tuple(out.shape))))
    for name, m in model.named_modules()
    if name in watch
]
with torch.no_grad():
    logits = model(x)
for h in hooks:
    h.remove()
for name, shape in shapes:
    print(f"{name:<16} -> {shape}")
print(f"{'logits':<16} -> {tuple(logits.shape)}")

# %% [markdown]
# ## Parameters by part
# The head is *tied* to the token embedding (one matrix reads tokens in and writes scores out), so
# it adds no parameters of its own. Most of the model is in the blocks: per block, attention holds
# 4 C^2 (q, k, v and the output projection) and the MLP 8 C^2 (C -> 4C -> C).

# %%
parts = Counter()
for name, p in model.named_parameters():  # shared (tied) parameters are listed once
    part = name.split(".")[0] if not name.startswith("blocks") else "blocks." + name.split(".")[2]
    parts[part] += p.numel()
total = sum(p.numel() for p in model.parameters())
for part, n in parts.most_common():
    print(f"{part:<14} {n:>9,}  {n / total:6.1%}")
print(f"{'total':<14} {total:>9,}   (C = {cfg.n_embd}: attention 4C^2 = {4 * cfg.n_embd**2:,} per block)")
assert model.head.weight is model.wte.weight

# %% [markdown]
# ## The loss before training: near ln(V), and why
# Every weight starts small (normal, std 0.02), so the logits are small (their spread is printed
# below) and the softmax over V ids is nearly uniform: each next token gets probability about 1/V, and the cross-entropy is
# -ln(1/V) = ln(V). A first loss far above ln(V) means a broken initialisation (confidently wrong);
# the training loop's first step should start here.

# %%
with torch.no_grad():
    loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
print(f"initial loss {loss.item():.4f} nats vs ln(V) = ln({V}) = {math.log(V):.4f}")
print(
    f"logits: std {logits.std().item():.4f}, largest probability {logits.softmax(-1).max().item():.4f} (uniform: {1 / V:.4f})"
)
freq = np.bincount(np.asarray(data.train.ids[:2_000_000]), minlength=V) / min(len(data.train.ids), 2_000_000)
unigram = -(freq[freq > 0] * np.log(freq[freq > 0])).sum()
print(f"just learning character frequencies would bring it to {unigram:.4f} nats: the first thing training finds")

# %% [markdown]
# ## v5's block, on activations
# v5 keeps the shape of the model and changes the block: **RMSNorm** instead of LayerNorm,
# **QK-norm** inside attention, a **SwiGLU** MLP, and **zero-initialised** output projections (and
# ALiBi positions from v3, an untied head). Build a v5 model of the same size on the same ids.

# %%
cfg5 = v5_modern.Config(cache_dir=str(ROOT / ".cache"))
torch.manual_seed(1337)
model5 = build_model(v5_modern.Model, cfg5, V, "v5_modern")
print(model5.blocks[0])
print(f"v5: {sum(p.numel() for p in model5.parameters()):,} parameters (head untied: + V x C)")

# %% [markdown]
# **RMSNorm** divides by the root mean square and multiplies by a learned gain; unlike LayerNorm it
# does not subtract the mean and has no bias. Check `v5_modern.RMSNorm` against the formula, and see
# the difference on a vector with an offset.

# %%
xs = torch.randn(3, cfg5.n_embd) + 2.0  # (3, C): every row has a mean of about 2
rms = v5_modern.RMSNorm(cfg5.n_embd)
by_hand = xs / xs.pow(2).mean(-1, keepdim=True).add(1e-6).sqrt()
assert torch.allclose(rms(xs), by_hand, atol=1e-6)
ln = nn.LayerNorm(cfg5.n_embd)
with torch.no_grad():
    for name, out in (("LayerNorm", ln(xs)), ("RMSNorm", rms(xs))):
        print(f"{name:<9}: mean {out.mean(-1).numpy().round(3)}, rms {out.pow(2).mean(-1).sqrt().numpy().round(3)}")

# %% [markdown]
# **QK-norm** RMS-normalises each query and key before their dot product, so a score can never
# exceed sqrt(D) however large the weights grow. Scale the q/k weights of one attention layer up
# (as a long, hot training run might) and watch the largest score and the softmax's entropy: without
# QK-norm the attention collapses onto one key; with it, it cannot.

# %%
attn = model5.blocks[0].attn
H, D = cfg5.n_head, cfg5.n_embd // cfg5.n_head
h_in = torch.randn(1, 64, cfg5.n_embd)  # (1, T, C)
mask = torch.ones(64, 64, dtype=torch.bool).tril()
print(
    f"{'weight scale':>12} | {'max score':>10} {'entropy':>8} (no QK-norm) | {'max score':>10} {'entropy':>8} (QK-norm)"
)
with torch.no_grad():
    for scale in (1, 10, 100):
        q, k, _ = (scale * attn.qkv(h_in)).split(cfg5.n_embd, dim=2)  # (1, T, C) each
        q, k = (t.view(1, 64, H, D).transpose(1, 2) for t in (q, k))  # (1, H, T, D)
        row = []
        for qq, kk in ((q, k), (v5_modern.qk_rms(q), v5_modern.qk_rms(k))):
            s = (qq @ kk.transpose(-2, -1)) / math.sqrt(D)  # (1, H, T, T)
            p = s.masked_fill(~mask, float("-inf")).softmax(-1)
            entropy = -(p * p.clamp_min(1e-12).log()).sum(-1).mean()
            row.append(f"{s.masked_fill(~mask, 0).abs().max().item():>10.2f} {entropy.item():>8.3f}")
        print(f"{scale:>12} | {row[0]}              | {row[1]}")
print(f"the bound with QK-norm: sqrt(D) = {math.sqrt(D):.2f}")

# %% [markdown]
# **SwiGLU** gates one projection with another: `silu(x W1) * (x W3)`, then `W2`. It has three
# matrices instead of two, so v5 makes the hidden width 2/3 of 4C: the same parameters and FLOPs.

# %%
z = torch.linspace(-3, 3, 200)
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, f in (
    ("ReLU (v1)", F.relu),
    ("GELU (v2-v4)", F.gelu),
    ("ReLU²", lambda t: F.relu(t) ** 2),
    ("SiLU (SwiGLU's gate)", F.silu),
):
    ax.plot(z, f(z), label=name)
ax.set_ylim(-1, 4)
ax.legend()
ax.set_title("activation functions")
plt.show()
for kind in ("swiglu", "relu2", "gelu"):
    mlp = v5_modern.MLP(v5_modern.Config(mlp=kind))
    print(f"{kind:<7} MLP: {sum(p.numel() for p in mlp.parameters()):,} parameters")

# %% [markdown]
# **Zero-init**: the output projections of attention and MLP start at zero, so at initialisation
# every block adds nothing and the residual stream is exactly the embedding all the way up; each
# block starts as the identity and training grows what it needs. With GPT-2's init (`zero_init=False`,
# as v1) every block adds noise from the start. Measure the residual stream after each block.


# %%
def residual_rms(m, ids) -> list[float]:
    """RMS of the residual stream after the embedding and after each block, from forward hooks."""
    out = []
    hooks = [b.register_forward_hook(lambda mod, inp, o: out.append(o.pow(2).mean().sqrt().item())) for b in m.blocks]
    with torch.no_grad():
        emb = m.wte(ids) + (m.wpe(torch.arange(ids.size(1))) if hasattr(m, "wpe") else 0)
        m(ids)
    for h in hooks:
        h.remove()
    return [emb.pow(2).mean().sqrt().item(), *out]


fig, ax = plt.subplots(figsize=(6, 3.5))
for label, m in (
    ("v1 (GPT-2 init)", model),
    ("v5, zero_init=True", model5),
    ("v5, zero_init=False", build_model(v5_modern.Model, v5_modern.Config(zero_init=False), V, "v5_modern")),
):
    curve = residual_rms(m, x)
    ax.plot(range(len(curve)), curve, marker="o", label=label)
    print(f"{label:<20}", " ".join(f"{r:.4f}" for r in curve))
ax.set_xticks(range(cfg.n_layer + 1))
ax.set_xlabel("after embedding (0) and after block k")
ax.set_ylabel("residual stream RMS")
ax.legend()
plt.show()
with torch.no_grad():
    h_stream = model5.wte(x)
    for block in model5.blocks:
        h_stream = block(h_stream)
    assert torch.equal(h_stream, model5.wte(x))  # zero-init: every block is the identity at the start
print("v5 at init: the residual stream after all blocks equals the embedding exactly")

# %% [markdown]
# Whether these changes help is a measurement, not a belief: `experiments/ablation_v5.yaml` removes
# one at a time, and notebook 5 reads its results. Next: `04_train_decode`, training a model.
