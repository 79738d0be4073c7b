"""v4: a Scaffold-BPE vocabulary, and a larger one, on top of v3's ALiBi transformer.

New in this rung: only the vocabulary. Plain BPE keeps every intermediate token of its merges,
even ones that afterwards occur almost only inside a longer token ("scaffold tokens": the model
rarely sees them, yet each takes a row of the embedding and a logit). Scaffold-BPE marks such a
token while training the tokenizer, leaves it out of the vocabulary the model sees (it does not
count toward --vocab), and at encoding time splits any leftover scaffold token back into
ordinary ones. Config sets `tokenizer = "bpe-scaffold"`, on v3's English-only alphabet: the idea
is bpe_scaffold.py (`learn_scaffold_merges`, `ScaffoldTokenizer`), built on bpe_tokenizer.py.
Paper: Lian et al. 2024, "Scaffold-BPE: Enhancing Byte Pair Encoding for Large Language Models
with Simple and Effective Scaffold Token Removal" (arXiv 2404.17808).
The default vocabulary, 4000, is twice v3's because Scaffold-BPE matters more as the vocabulary
grows: 11% of the English-alphabet tokens are scaffold at 2000, 16% at 4000 (results/bench/scaffold.md).
experiments/scaffold.yaml tests the choice in bits per byte, at 2000 and 4000, 3 seeds each.

Run: python v4_scaffold_bpe.py
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
    tokenizer: str = "bpe-scaffold"  # the idea: Scaffold-BPE on v3's English alphabet
    vocab: int = 4000  # twice v3's: see the docstring
    n_layer: int = setting(4, "transformer blocks", at_least=1)
    n_head: int = setting(4, "attention heads per block", at_least=1)
    n_embd: int = setting(128, "residual stream width (divisible by n_head)", at_least=1)
    fused: bool = setting(True, "use F.scaled_dot_product_attention; false = the written-out attention")


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
        x = self.drop(self.wte(idx))  # (B, T, C): no position embedding, ALiBi acts inside attention
        for i, block in enumerate(self.blocks):
            x = block(x, None if cache is None else cache.layer(i))
        return self.head(self.ln_f(x))  # (B, T, V)


def main(argv=None):
    return run_rung(Config, Model, __file__, __doc__, argv)


if __name__ == "__main__":
    run_cli(main)
