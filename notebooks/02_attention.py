# %% [markdown]
# # 2. Attention
#
# Attention lets each position read from earlier positions, with weights it computes from the data.
# This notebook builds it up from a dot product on a few hand-made vectors to causal multi-head
# self-attention, then checks the hand-written numbers against the ladder's attention module
# (`v1_transformer.Attention`) and PyTorch's `F.scaled_dot_product_attention`. Last, positions: how a
# learned table, sinusoids, RoPE (v2) and ALiBi (v3) tell attention where a token is.

# %%
# --- setup: the project's modules, imported here only (the rest of the notebook uses these names)
import math
import os
import sys
from pathlib import Path

ROOT = Path.cwd().resolve().parent if Path.cwd().name == "notebooks" else Path.cwd().resolve()
sys.path.insert(0, str(ROOT))

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

import v1_transformer
import v2_bpe_rope
import v3_alibi

FAST = os.environ.get("LADDER_NOTEBOOK_FAST") == "1"  # nothing here is slow; the same switch in every notebook
torch.manual_seed(0)
torch.set_printoptions(precision=3, sci_mode=False)

# %% [markdown]
# ## A query, some keys, a dot product
# Four earlier tokens each offer a **key** (what I am about) and a **value** (what I will tell you).
# The current token has a **query** (what I am looking for). The dot product of the query with each
# key scores how well they match.

# %%
keys = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7], [-1.0, 0.0]])  # (4, 2): four tokens' keys
values = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])  # (4, 3)
query = torch.tensor([2.0, 0.5])  # (2,): looks mostly like key 0
scores = keys @ query  # (4,)
print("scores  :", scores)

# %% [markdown]
# **Softmax** turns scores into weights that are positive and sum to 1: `exp(s_i) / sum_j exp(s_j)`.
# The output is the weighted sum of the values: mostly value 0 and value 2, whose keys match.

# %%
weights = scores.exp() / scores.exp().sum()
assert torch.allclose(weights, scores.softmax(dim=0))
print("weights :", weights, " sum", weights.sum().item())
print("output  :", weights @ values)
for scale in (0.25, 1.0, 4.0):  # a larger query sharpens the weights towards the best match
    print(f"query x {scale:<4}: weights {(keys @ (scale * query)).softmax(0)}")

# %% [markdown]
# ## Trainable projections
# In a transformer nobody hand-makes queries, keys and values: each token's vector `x` is projected
# by three learned matrices, `q = x Wq`, `k = x Wk`, `v = x Wv`. Every token attends to every token,
# so the scores form a (T, T) matrix. They are divided by `sqrt(D)` so their spread does not grow
# with the head size `D` (which would make the softmax saturate).

# %%
T, C = 6, 8  # 6 tokens, 8 numbers each
x = torch.randn(T, C)  # (T, C)
Wq, Wk, Wv = (torch.randn(C, C) / math.sqrt(C) for _ in range(3))
q, k, v = x @ Wq, x @ Wk, x @ Wv  # (T, C) each
att = (q @ k.T) / math.sqrt(C)  # (T, T): row i = how much token i wants each token
print(att)

# %% [markdown]
# ## The causal mask
# A language model predicts the next token, so position *i* must not read positions after *i*:
# their scores are set to minus infinity before the softmax, which makes their weights exactly 0.

# %%
causal = torch.ones(T, T, dtype=torch.bool).tril()  # (T, T): True on and below the diagonal
weights = att.masked_fill(~causal, float("-inf")).softmax(dim=-1)  # (T, T)
y_single = weights @ v  # (T, C)
fig, axes = plt.subplots(1, 2, figsize=(8, 3.5))
axes[0].imshow(causal, cmap="gray")
axes[0].set_title("causal mask (white: may attend)")
axes[1].imshow(weights.detach(), cmap="viridis")
axes[1].set_title("attention weights (rows sum to 1)")
for ax in axes:
    ax.set_xlabel("key position")
    ax.set_ylabel("query position")
plt.show()

# %% [markdown]
# ## Heads
# One softmax picks one mixture per token. **Multi-head** attention cuts the C numbers into H heads
# of D = C / H and runs attention in each independently, so a token can look for several things at
# once (the previous token in one head, the start of the word in another). The heads' outputs are
# put side by side again and mixed by one more matrix, the output projection.

# %%
H = 2
D = C // H
qh, kh, vh = (t.view(T, H, D).transpose(0, 1) for t in (q, k, v))  # (H, T, D) each
att_h = (qh @ kh.transpose(-2, -1)) / math.sqrt(D)  # (H, T, T)
w_h = att_h.masked_fill(~causal, float("-inf")).softmax(dim=-1)  # (H, T, T)
y_heads = (w_h @ vh).transpose(0, 1).reshape(T, C)  # (T, C): heads side by side
print("head 0 weights of the last token:", w_h[0, -1])
print("head 1 weights of the last token:", w_h[1, -1])

# %% [markdown]
# ## The same numbers from the ladder's module
# `v1_transformer.Attention` holds `Wq, Wk, Wv` as one `qkv` linear layer (3C outputs) and the
# output projection as `proj`. Take its weights, do the attention by hand as above, and compare
# with the module written out (`fused=False`), with the module on PyTorch's fused kernel
# (`fused=True`, the default), and with `F.scaled_dot_product_attention` called directly.

# %%
cfg = v1_transformer.Config(n_embd=C, n_head=H, block_size=T)
module = v1_transformer.Attention(cfg).eval()
xb = x[None]  # (1, T, C): a batch of one
with torch.no_grad():
    Wq_m, Wk_m, Wv_m = module.qkv.weight.split(C, dim=0)  # each (C, C); nn.Linear computes x @ W.T
    qm, km, vm = ((x @ W.T).view(T, H, D).transpose(0, 1) for W in (Wq_m, Wk_m, Wv_m))  # (H, T, D) each
    w = ((qm @ km.transpose(-2, -1)) / math.sqrt(D)).masked_fill(~causal, float("-inf")).softmax(-1)  # (H, T, T)
    by_hand = (w @ vm).transpose(0, 1).reshape(T, C) @ module.proj.weight.T  # (T, C)

    module.fused = False
    written_out = module(xb)[0]
    module.fused = True
    fused = module(xb)[0]
    sdpa = F.scaled_dot_product_attention(qm[None], km[None], vm[None], is_causal=True)  # (1, H, T, D)
    sdpa = sdpa[0].transpose(0, 1).reshape(T, C) @ module.proj.weight.T
for name, y in (
    ("module, written out", written_out),
    ("module, fused", fused),
    ("F.scaled_dot_product_attention", sdpa),
):
    err = (y - by_hand).abs().max().item()
    assert torch.allclose(y, by_hand, atol=1e-6), name
    print(f"{name:<32} equals the hand-written attention (max difference {err:.1e})")

# %% [markdown]
# ## Positions
# Attention by itself does not know order: shuffle the earlier tokens and each query gets the same
# mixture. Each rung tells the model where tokens are in its own way:
#
# - **learned table** (v1): a trainable vector per position is added to the token's embedding; it
#   stops at the training context (`block_size` rows);
# - **sinusoidal** (the original transformer): a fixed vector of sines and cosines of the position
#   at many frequencies, added the same way (not a rung; written out here);
# - **RoPE** (v2): queries and keys are *rotated* by an angle proportional to their position, so
#   their dot product depends only on the offset between them;
# - **ALiBi** (v3 and up): nothing is added to the tokens; each head subtracts `slope x distance`
#   from the scores, so attention fades with distance at a per-head rate.
#
# The pictures show what each does to the attention score between a query and a key as a function
# of their distance, for the same content vectors everywhere.

# %%
L, Dh = 64, 32  # positions, head size
wpe = v1_transformer.Model(v1_transformer.Config(n_embd=Dh, n_head=1, n_layer=1, block_size=L), 10).wpe.weight.detach()
pos = torch.arange(L).float()[:, None]  # (L, 1)
freq = 10000 ** (-torch.arange(0, Dh, 2).float() / Dh)  # (Dh/2,)
sinusoidal = torch.cat([(pos * freq).sin(), (pos * freq).cos()], dim=1)  # (L, Dh)

fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
for ax, table, title in ((axes[0], wpe, "learned table (v1), at init: noise"), (axes[1], sinusoidal, "sinusoidal")):
    sim = F.normalize(table, dim=1) @ F.normalize(table, dim=1).T  # (L, L) cosine similarity of positions
    im = ax.imshow(sim, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_title(title)
    ax.set_xlabel("position")
    ax.set_ylabel("position")
fig.colorbar(im, ax=axes)
plt.show()
print("A learned table starts as noise: training gives it the smooth structure (notebook 4 draws a trained one).")

# %% [markdown]
# RoPE with the ladder's `v2_bpe_rope.Rotary`: put the *same* query and key content at positions
# m and n; the score depends only on m - n (checked below at two different absolute positions), and
# it wobbles down with distance because the many rotation frequencies fall out of step.

# %%
rotary = v2_bpe_rope.Rotary(Dh, theta=10000.0)
content = torch.randn(Dh)
seq = content.expand(1, 1, L, Dh)  # (1, 1, L, Dh): the same vector at every position
rq = rotary(seq)[0, 0]  # (L, Dh): rotated by position
rope_scores = (rq @ rq.T) / math.sqrt(Dh)  # (L, L): query m, key n
assert torch.allclose(rope_scores[40, 30], rope_scores[20, 10], atol=1e-5)  # only m - n matters
assert torch.allclose(rq.norm(dim=1), content.norm().expand(L), atol=1e-4)  # a rotation keeps lengths
dist = torch.arange(L)
fig, ax = plt.subplots(figsize=(6.5, 3.5))
ax.plot(dist, rope_scores[L - 1, L - 1 - dist], label="RoPE, theta = 10000")
ax.axhline(
    (content @ content / math.sqrt(Dh)).item(), color="gray", ls=":", label="no positions (same at any distance)"
)
ax.set_xlabel("distance m - n")
ax.set_ylabel("score q.k / sqrt(D)")
ax.set_title("RoPE: the same content scores less with distance")
ax.legend()
plt.show()

# %% [markdown]
# ALiBi with the ladder's `v3_alibi`: per-head slopes 2^-8/H, 2^-16/H, ..., and the bias matrix that
# the attention adds to its scores (minus infinity ahead: the causal mask comes for free). Steep
# heads look only at the last few tokens; shallow heads see far.

# %%
n_head = 8
slopes = v3_alibi.alibi_slopes(n_head)
print("slopes:", slopes)
alibi = v3_alibi.Attention(v3_alibi.Config(n_embd=64, n_head=n_head))
bias = alibi.bias(16, 16, torch.device("cpu"))  # (H, T, S)
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
for ax, h in zip(axes[:2], (0, n_head - 1)):
    shown = bias[h].masked_fill(bias[h].isinf(), float("nan"))  # blank: ahead of the query, masked
    im = ax.imshow(shown, cmap="viridis", vmin=-8, vmax=0)
    ax.set_title(f"ALiBi bias, head {h} (slope {slopes[h]:.3f})")
    ax.set_xlabel("key position")
    ax.set_ylabel("query position")
fig.colorbar(im, ax=axes[:2], shrink=0.8, label="added to the score")
for h in range(n_head):
    axes[2].plot(dist, -slopes[h] * dist, label=f"head {h}")
axes[2].set_xlabel("distance")
axes[2].set_ylabel("added to the score")
axes[2].legend(fontsize=7, ncol=2)
plt.show()

# %% [markdown]
# With all slopes at zero ALiBi is plain causal attention: check it on the module (the degenerate
# case is a test in `tests/`, too). Next: `03_model`, where attention becomes a GPT.

# %%
flat = v3_alibi.Attention(v3_alibi.Config(n_embd=64, n_head=n_head)).eval()
flat.slopes.zero_()  # before its first call: the bias is built once per shape, from the slopes
plain = v1_transformer.Attention(v1_transformer.Config(n_embd=64, n_head=n_head)).eval()
plain.load_state_dict(flat.state_dict())  # the same qkv and proj weights
xa = torch.randn(1, 10, 64)
with torch.no_grad():
    assert torch.allclose(flat(xa), plain(xa), atol=1e-6)
print("ALiBi with zero slopes == causal attention without positions")
