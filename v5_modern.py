"""v5: the modern transformer block, on top of v4's Scaffold-BPE ALiBi transformer.

New in this rung: only the block, as current small language models build it (nanochat and the
modded-nanogpt speedrun line of work). The tokenizer (Scaffold-BPE, vocab 4000) and the positions
(ALiBi) are v4's, so `diff v4_scaffold_bpe.py v5_modern.py` is the block and nothing else:
- RMSNorm instead of LayerNorm: rescale by the root mean square only, no mean subtraction and no
  bias (Zhang & Sennrich 2019, arXiv 1910.07467); no bias anywhere in the model;
- QK-norm: queries and keys are RMS-normalised per head before their dot product, so no logit can
  blow up however large the weights grow (Dehghani et al. 2023, arXiv 2302.05442, section 3.1);
- SwiGLU MLP: a gated MLP, silu(x W1) * (x W3), at 2/3 of the width so parameters and FLOPs equal
  a 4x MLP's (Shazeer 2020, arXiv 2002.05202); `--mlp relu2` is ReLU² (relu(x)², So et al. 2021,
  "Primer", arXiv 2109.08668) and `--mlp gelu` is v4's MLP (how SwiGLU won: results/LOG.md);
- the output projections of attention and MLP start at zero, so every block starts as the
  identity and the residual stream is the embedding until training says otherwise;
- the head is its own matrix, untied from the embedding (`--tie_head true` ties it as in v4).
Each piece has a flag so experiments/ablation_v5.yaml can remove it and measure what it buys.

Run: python v5_modern.py
"""

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from common.config import TrainConfig, setting
from common.errors import run_cli
from common.generate import KVCache, LayerCache
from common.train import run_rung


@dataclass
class Config(TrainConfig):
    tokenizer: str = "bpe-scaffold"  # as v4 (bpe_scaffold.py): this rung changes the model only
    vocab: int = 4000  # as v4
    n_layer: int = setting(4, "transformer blocks", at_least=1)
    n_head: int = setting(4, "attention heads per block", at_least=1)
    n_embd: int = setting(128, "residual stream width (divisible by n_head)", at_least=1)
    fused: bool = setting(True, "use F.scaled_dot_product_attention; false = the written-out attention")
    norm: str = setting("rmsnorm", "rmsnorm | layernorm (v4's)", choices=("rmsnorm", "layernorm"))
    qk_norm: bool = setting(True, "RMS-normalise queries and keys per head before their dot product")
    mlp: str = setting("swiglu", "swiglu | relu2 | gelu (v4's)", choices=("swiglu", "relu2", "gelu"))
    zero_init: bool = setting(True, "start the attention and MLP output projections at zero")
    tie_head: bool = setting(False, "share the head's matrix with the embedding (v4: tied)")


def alibi_slopes(n_head: int) -> torch.Tensor:
    """Per-head slopes (ALiBi, section 3): for n a power of two, 2^(-8/n), 2^(-16/n), ..., 2^-8.
    Otherwise take the slopes of the largest power of two below n, then every other slope of
    twice that many heads (the recipe of the paper's code), e.g. 6 heads: 1/4 ... 1/256, 1/2, 1/8."""

    def geometric(n):
        return [2 ** (-8 * (i + 1) / n) for i in range(n)]

    if math.log2(n_head).is_integer():
        return torch.tensor(geometric(n_head))
    low = 2 ** math.floor(math.log2(n_head))
    return torch.tensor(geometric(low) + geometric(2 * low)[0::2][: n_head - low])


class RMSNorm(nn.Module):
    """x / rms(x) * gain: LayerNorm without the mean subtraction and the bias (arXiv 1910.07467)."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps, self.weight = eps, nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def qk_rms(t: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """QK-norm: each head vector scaled to unit RMS (no gain), so |q.k| / sqrt(D) <= sqrt(D)."""
    return t * torch.rsqrt(t.pow(2).mean(-1, keepdim=True) + eps)


class Attention(nn.Module):
    """Causal multi-head self-attention, written out; `fused` swaps in PyTorch's kernel."""

    def __init__(self, cfg: Config):
        super().__init__()
        if cfg.n_embd % cfg.n_head:  # an error, not an assert: `python -O` would skip an assert
            raise ValueError("n_embd must be divisible by n_head")
        self.n_head, self.dropout, self.fused, self.qk_norm = cfg.n_head, cfg.dropout, cfg.fused, cfg.qk_norm
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=False)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=False)
        self.attn_drop, self.resid_drop = nn.Dropout(cfg.dropout), nn.Dropout(cfg.dropout)
        self.register_buffer("slopes", alibi_slopes(cfg.n_head), persistent=False)  # (H,)
        self._bias_key, self._bias = None, None

    def bias(self, T: int, S: int, device) -> torch.Tensor:
        """ALiBi bias (H, T, S), built once per (T, S) and reused by every step of that shape."""
        if self._bias_key != (T, S, device):
            query_pos = torch.arange(S - T, S, device=device)[:, None]  # (T, 1)
            distance = (query_pos - torch.arange(S, device=device)[None, :]).float()  # (T, S)
            bias = -self.slopes.to(device)[:, None, None] * distance  # (H, T, S)
            self._bias = bias.masked_fill(distance < 0, float("-inf"))  # causal: no key ahead
            self._bias_key = (T, S, device)
        return self._bias

    def forward(self, x: torch.Tensor, cache: LayerCache | None = None) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # 3 x (B, T, C)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
        if self.qk_norm:  # before the cache, so cached keys are normalised too
            q, k = qk_rms(q), qk_rms(k)
        if cache is not None:  # generation: keys and values of earlier positions, then these
            k, v = cache.update(k, v)  # (B, H, S, D)
        S = k.size(2)  # S - T cached positions, then these T; query i sits at key position S - T + i
        # (1, H, T, S): -slope * distance, -inf ahead; 4-D, or SDPA drops its flash kernel for the slow math path
        bias = self.bias(T, S, x.device).to(q.dtype)[None]
        if self.fused:  # the bias goes in as an additive float mask
            y = F.scaled_dot_product_attention(
                q, k, v, attn_mask=bias, dropout_p=self.dropout if self.training else 0.0
            )
        else:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1)) + bias  # (B, H, T, S)
            y = self.attn_drop(att.softmax(dim=-1)) @ v  # (B, H, T, D)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C)
        return self.resid_drop(self.proj(y))


class MLP(nn.Module):
    """SwiGLU: (silu(x W1) * x W3) W2 at 2/3 width, equal params and FLOPs; or relu(x W1)² W2; or GELU (v4)."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.kind = cfg.mlp
        hidden = 4 * cfg.n_embd if cfg.mlp != "swiglu" else 8 * cfg.n_embd // 3
        self.fc = nn.Linear(cfg.n_embd, hidden * (2 if cfg.mlp == "swiglu" else 1), bias=False)
        self.proj = nn.Linear(hidden, cfg.n_embd, bias=False)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc(x)  # (B, T, hidden), or (B, T, 2 * hidden) for SwiGLU
        if self.kind == "relu2":
            h = F.relu(h).square()
        elif self.kind == "gelu":
            h = F.gelu(h)  # exact erf form
        else:
            gate, up = h.chunk(2, dim=-1)  # (B, T, hidden) each
            h = F.silu(gate) * up
        return self.drop(self.proj(h))


class Block(nn.Module):
    """Pre-norm: normalise, transform, add back to the residual stream."""

    def __init__(self, cfg: Config):
        super().__init__()
        Norm = RMSNorm if cfg.norm == "rmsnorm" else nn.LayerNorm
        self.ln1, self.attn = Norm(cfg.n_embd), Attention(cfg)
        self.ln2, self.mlp = Norm(cfg.n_embd), MLP(cfg)

    def forward(self, x: torch.Tensor, cache: LayerCache | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), cache)
        return x + self.mlp(self.ln2(x))


class Model(nn.Module):
    def __init__(self, cfg: Config, vocab_size: int):
        super().__init__()
        self.context_length = None  # positions are relative: it runs past its training context
        self.wte = nn.Embedding(vocab_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = RMSNorm(cfg.n_embd) if cfg.norm == "rmsnorm" else nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, vocab_size, bias=False)
        if cfg.tie_head:
            self.head.weight = self.wte.weight  # weight tying: one matrix reads and writes tokens
        self.apply(self._init)
        for name, p in self.named_parameters():  # residual writes: zero, or GPT-2's depth-scaled init
            if name.endswith("proj.weight"):
                if cfg.zero_init:
                    nn.init.zeros_(p)
                else:
                    nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """idx (B, T) -> logits (B, T, V). With a `cache` (generation), idx continues the tokens
        already cached there; the cache keeps each block's keys and values."""
        x = self.drop(self.wte(idx))  # (B, T, C): no position embedding, ALiBi acts inside attention
        for i, block in enumerate(self.blocks):
            x = block(x, None if cache is None else cache.layer(i))
        return self.head(self.ln_f(x))  # (B, T, V)


def main(argv=None):
    return run_rung(Config, Model, __file__, __doc__, argv)


if __name__ == "__main__":
    run_cli(main)
