"""v2: byte-pair-encoding tokens, rotary positions (RoPE) and GELU on top of v1's transformer.

New in this rung:
- tokens are byte-level BPE merges, so one position covers several characters and no string is
  ever unknown. Config sets `tokenizer = "bpe"`: bpe_tokenizer.py, part 1 "byte-pair encoding"
  (`learn_merges`, `Tokenizer.train`, `Tokenizer.encode`), trained on the training split on first
  use and cached;
- positions enter through rotary embeddings instead of a learned table: queries and keys are
  rotated by an angle proportional to their position, so q.k depends only on their offset.
  Paper: Su et al. 2021, "RoFormer: Enhanced Transformer with Rotary Position Embedding"
  (arXiv 2104.09864). There is no position table, so the model runs past its training context;
- the MLP uses GELU (exact erf form; Hendrycks & Gimpel 2016, arXiv 1606.08415) instead of ReLU.

Run: python v2_bpe_rope.py
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
    tokenizer: str = "bpe"  # the idea: byte-level BPE tokens instead of characters
    vocab: int = 2000  # ~3.1 bytes per token on WikiText-2 valid; see experiments/vocab.yaml
    rope_theta: float = setting(10000.0, "RoPE base: pair i turns at rope_theta^(-2i/head_dim) per position", above=0)
    n_layer: int = setting(4, "transformer blocks", at_least=1)
    n_head: int = setting(4, "attention heads per block", at_least=1)
    n_embd: int = setting(128, "residual stream width (divisible by n_head)", at_least=1)
    fused: bool = setting(True, "use F.scaled_dot_product_attention; false = the written-out attention")


class Rotary(nn.Module):
    """Rotary position embedding (RoFormer, section 3.4.2).

    Each head vector is cut into pairs, and pair i at position m is rotated by the angle
    m * theta_i, theta_i = rope_theta^(-2i/D). Rotating q at m and k at n by their own angles
    leaves q.k a function of m - n only. Pairing: the "half-split" convention (GPT-NeoX, Llama
    in Hugging Face): pair i is (x[i], x[i + D/2]) rather than the paper's (x[2i], x[2i+1]). The
    two differ only by a fixed permutation of the head dimensions, which the learned q/k
    projections absorb, and half-split needs no strided reshapes. The cos/sin tables are built
    once per length and grown when a longer sequence arrives, never per step.
    """

    def __init__(self, head_dim: int, theta: float):
        super().__init__()
        inv_freq = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)  # (D/2,)
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.cos = self.sin = None

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        T = x.size(-2)
        if self.cos is None or self.cos.size(0) < start + T or self.cos.device != x.device:
            length = max(2 * (start + T), 256)  # grow by doubling, so generation rebuilds it rarely
            angles = torch.outer(torch.arange(length, device=x.device).float(), self.inv_freq)  # (L, D/2)
            self.cos, self.sin = angles.cos(), angles.sin()
        cos, sin = self.cos[start : start + T].to(x.dtype), self.sin[start : start + T].to(x.dtype)  # (T, D/2)
        x1, x2 = x.chunk(2, dim=-1)  # (B, H, T, D/2) each
        return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)  # (B, H, T, D)


class Attention(nn.Module):
    """Causal multi-head self-attention, written out; `fused` swaps in PyTorch's kernel."""

    def __init__(self, cfg: Config):
        super().__init__()
        if cfg.n_embd % cfg.n_head:  # an error, not an assert: `python -O` would skip an assert
            raise ValueError("n_embd must be divisible by n_head")
        self.n_head, self.dropout, self.fused = cfg.n_head, cfg.dropout, cfg.fused
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=False)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=False)
        self.attn_drop, self.resid_drop = nn.Dropout(cfg.dropout), nn.Dropout(cfg.dropout)
        self.rotary = Rotary(cfg.n_embd // cfg.n_head, cfg.rope_theta)

    def forward(self, x: torch.Tensor, cache: LayerCache | None = None) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # 3 x (B, T, C)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
        start = cache.pos if cache is not None else 0  # absolute position of x[:, 0]
        q, k = self.rotary(q, start), self.rotary(k, start)  # rotate by absolute position
        if cache is not None:  # generation: keys and values of earlier positions, then these
            k, v = cache.update(k, v)  # (B, H, S, D)
        S = k.size(2)  # S - T cached positions, then these T; query i sits at key position S - T + i
        if self.fused:
            drop = self.dropout if self.training else 0.0
            if S == T or T == 1:  # training and prompts: causal; one new query: sees every key
                y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, is_causal=T > 1)
            else:  # subtle: is_causal aligns the mask top-left, wrong when keys outnumber queries
                mask = torch.ones(T, S, dtype=torch.bool, device=x.device).tril(diagonal=S - T)  # (T, S)
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
        else:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))  # (B, H, T, S)
            causal = torch.ones(T, S, dtype=torch.bool, device=x.device).tril(diagonal=S - T)  # (T, S)
            att = att.masked_fill(~causal, float("-inf")).softmax(dim=-1)
            y = self.attn_drop(att) @ v  # (B, H, T, D)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C)
        return self.resid_drop(self.proj(y))


class MLP(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=False)
        self.act = nn.GELU()  # exact erf form
        self.proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=False)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.proj(self.act(self.fc(x))))


class Block(nn.Module):
    """Pre-LayerNorm: normalise, transform, add back to the residual stream."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(cfg.n_embd), Attention(cfg)
        self.ln2, self.mlp = nn.LayerNorm(cfg.n_embd), MLP(cfg)

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
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, vocab_size, bias=False)
        self.head.weight = self.wte.weight  # weight tying: one matrix reads and writes tokens
        self.apply(self._init)
        for name, p in self.named_parameters():  # GPT-2: scale residual writes by depth
            if name.endswith("proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """idx (B, T) -> logits (B, T, V). With a `cache` (generation), idx continues the tokens
        already cached there; the cache keeps each block's keys and values."""
        x = self.drop(self.wte(idx))  # (B, T, C): no position embedding, RoPE acts inside attention
        for i, block in enumerate(self.blocks):
            x = block(x, None if cache is None else cache.layer(i))
        return self.head(self.ln_f(x))  # (B, T, V)


def main(argv=None):
    return run_rung(Config, Model, __file__, __doc__, argv)


if __name__ == "__main__":
    run_cli(main)
