"""v1: a decoder-only transformer on top of v0's character bigram.

New in this rung: each position attends to every earlier one. Token embeddings plus learned
absolute position embeddings feed pre-LayerNorm blocks (causal multi-head self-attention, then a
ReLU MLP, each added back to the residual stream); a final LayerNorm and the output layer,
tied to the token embedding, give the logits. GPT-2 style initialisation.
Paper: Vaswani et al. 2017, "Attention Is All You Need" (arXiv 1706.03762); GPT-2 (Radford
et al. 2019) for pre-LayerNorm, weight tying and the initialisation.
The position table has block_size rows, so this model cannot run on longer contexts; `--pos
sinusoidal` swaps it for the fixed sin/cos table of Vaswani et al. (section 3.5), which can.

Run: python v1_transformer.py
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
    n_layer: int = setting(4, "transformer blocks", at_least=1)
    n_head: int = setting(4, "attention heads per block", at_least=1)
    n_embd: int = setting(128, "residual stream width (divisible by n_head)", at_least=1)
    fused: bool = setting(True, "use F.scaled_dot_product_attention; false = the written-out attention")
    pos: str = setting("learned", "learned table, or Vaswani et al.'s fixed sin/cos", choices=("learned", "sinusoidal"))


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

    def forward(self, x: torch.Tensor, cache: LayerCache | None = None) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # 3 x (B, T, C)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
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
        self.act = nn.ReLU()
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


def sinusoids(pos: torch.Tensor, C: int, dtype=torch.float32) -> torch.Tensor:
    """Vaswani et al. 2017, section 3.5: PE[p, 2i] = sin(p / 10000^(2i/C)), PE[p, 2i+1] = cos(same)."""
    angle = pos[:, None].double() * 10000.0 ** (-torch.arange(0, C, 2, device=pos.device).double() / C)  # (T, C/2)
    return torch.stack((angle.sin(), angle.cos()), dim=-1).flatten(1)[:, :C].to(dtype)  # (T, C)


class Model(nn.Module):
    def __init__(self, cfg: Config, vocab_size: int):
        super().__init__()
        self.context_length = cfg.block_size if cfg.pos == "learned" else None  # a table has no row past this
        self.wte = nn.Embedding(vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd) if cfg.pos == "learned" else None
        # Vaswani et al. 3.4: with the fixed table (entries of size 1) the token embeddings are scaled
        # by sqrt(C), or the positions would drown the tokens at GPT-2's init (std 0.02)
        self.emb_scale = 1.0 if cfg.pos == "learned" else math.sqrt(cfg.n_embd)
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
        B, T = idx.shape
        start = cache.pos if cache is not None else 0  # absolute position of idx[:, 0]
        pos = torch.arange(start, start + T, device=idx.device)
        pe = self.wpe(pos) if self.wpe is not None else sinusoids(pos, self.wte.embedding_dim, self.wte.weight.dtype)
        x = self.drop(self.wte(idx) * self.emb_scale + pe)  # (B, T, C)
        for i, block in enumerate(self.blocks):
            x = block(x, None if cache is None else cache.layer(i))
        return self.head(self.ln_f(x))  # (B, T, V)


def main(argv=None):
    return run_rung(Config, Model, __file__, __doc__, argv)


if __name__ == "__main__":
    run_cli(main)
