"""v6: the Muon optimizer for the hidden matrices, on top of v5's modern transformer.

New in this rung: only how it trains. Every 2-D weight inside the blocks is updated by Muon:
momentum, then a few Newton-Schulz iterations that turn the update into (nearly) U V^T of its SVD
U S V^T, so all its directions move the weights equally instead of a few large ones dominating,
scaled by sqrt(max(1, rows / cols)). The embedding, head and 1-D gains stay on AdamW, each group
with its own learning rate: the embedding's is much larger (`--emb_lr`; a row only gets a
gradient when its token appears). Paper: Jordan et al. 2024, "Muon: An optimizer for hidden
layers in neural networks" (kellerjordan.github.io/posts/muon). Rates: experiments/lr_v6.yaml.
The block is v5's with its ablation's winners hard-coded (RMSNorm, QK-norm, SwiGLU, zero-init
output projections, untied head); the optimizers reach the loop via `configure_optimizers`.

Run: python v6_muon.py
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
    tokenizer: str = "bpe-scaffold"  # as v4 (bpe_scaffold.py): this rung changes the training only
    vocab: int = 4000  # as v4
    n_layer: int = setting(4, "transformer blocks", at_least=1)
    n_head: int = setting(4, "attention heads per block", at_least=1)
    n_embd: int = setting(128, "residual stream width (divisible by n_head)", at_least=1)
    fused: bool = setting(True, "use F.scaled_dot_product_attention; false = the written-out attention")
    muon: bool = setting(True, "Muon for the blocks' matrices; false = AdamW at --lr, as v5")
    muon_lr: float = setting(0.01, "Muon's peak learning rate (chosen by lr_v6.yaml)", above=0)
    emb_lr: float = setting(0.03, "the embedding's AdamW learning rate; 0 = --lr (lr_v6.yaml)", at_least=0)


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


def orthogonalize(G: torch.Tensor, steps: int = 5, eps: float = 1e-7) -> torch.Tensor:
    """Newton-Schulz: G (m, n) -> about U V^T of its SVD U S V^T, by matrix products only. With every
    singular value scaled to <= 1, each step maps s -> a s + b s^3 + c s^5, which pushes all of them
    towards 1 (to about +-0.3: the coefficients trade exactness for speed, harmlessly)."""
    a, b, c = 3.4445, -4.7750, 2.0315  # the quintic's coefficients (Jordan et al. 2024)
    X = G.bfloat16() if G.is_cuda else G.float()  # bf16 is fast and precise enough on GPUs only
    wide = G.size(0) <= G.size(1)
    X = X if wide else X.T  # (m, n), m <= n: the Gram matrix X X^T is the smaller one
    X = X / X.norm().clamp(min=eps)  # Frobenius norm >= spectral norm, so every s <= 1
    for _ in range(steps):
        A = X @ X.T  # (m, m)
        X = a * X + (b * A + c * A @ A) @ X  # (m, n): s -> a s + b s^3 + c s^5
    return (X if wide else X.T).to(G.dtype)


class Muon(torch.optim.Optimizer):
    """Nesterov momentum, orthogonalised; 2-D weights only. As torch.optim.Muon (tests/test_muon.py)."""

    def __init__(self, params, lr: float, momentum: float = 0.95, weight_decay: float = 0.0, ns_steps: int = 5):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, ns_steps=ns_steps))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            lr, mu = group["lr"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                buf = self.state[p].setdefault("momentum_buffer", torch.zeros_like(p))
                buf.lerp_(p.grad, 1 - mu)  # buf = mu * buf + (1 - mu) * grad
                update = orthogonalize(p.grad.lerp(buf, mu), group["ns_steps"])  # Nesterov: look ahead
                p.mul_(1 - lr * group["weight_decay"])  # decoupled weight decay, as AdamW
                p.add_(update, alpha=-lr * max(1, p.size(0) / p.size(1)) ** 0.5)  # (out, in): tall ones move more


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
        q, k = qk_rms(q), qk_rms(k)  # QK-norm, before the cache, so cached keys are normalised too
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
    """SwiGLU: (silu(x W1) * x W3) W2 at 2/3 width, so parameters and FLOPs equal a 4x MLP's."""

    def __init__(self, cfg: Config):
        super().__init__()
        hidden = 8 * cfg.n_embd // 3
        self.fc = nn.Linear(cfg.n_embd, hidden * 2, bias=False)  # W1 and W3 side by side
        self.proj = nn.Linear(hidden, cfg.n_embd, bias=False)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.fc(x).chunk(2, dim=-1)  # (B, T, hidden) each
        return self.drop(self.proj(F.silu(gate) * up))


class Block(nn.Module):
    """Pre-norm: normalise, transform, add back to the residual stream."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.ln1, self.attn = RMSNorm(cfg.n_embd), Attention(cfg)
        self.ln2, self.mlp = RMSNorm(cfg.n_embd), MLP(cfg)

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
        self.ln_f = RMSNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, vocab_size, bias=False)
        self.apply(self._init)
        for name, p in self.named_parameters():  # residual writes start at zero: each block the identity
            if name.endswith("proj.weight"):
                nn.init.zeros_(p)

    @staticmethod
    def _init(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def configure_optimizers(self, cfg: Config, device: torch.device) -> list[torch.optim.Optimizer]:
        """Muon for the blocks' matrices; AdamW for the embedding (at emb_lr), head and gains."""
        hidden = [p for n, p in self.named_parameters() if n.startswith("blocks.") and p.dim() == 2]
        emb = [self.wte.weight]
        rest = [p for p in self.parameters() if not any(p is q for q in hidden + emb)]
        if not cfg.muon:  # the ablation: the hidden matrices go back to AdamW, as in v5
            rest, hidden = rest + hidden, []
        groups = [
            {"params": emb, "lr": cfg.emb_lr or cfg.lr, "weight_decay": cfg.weight_decay},
            {"params": [p for p in rest if p.dim() >= 2], "weight_decay": cfg.weight_decay},
            {"params": [p for p in rest if p.dim() < 2], "weight_decay": 0.0},
        ]
        optimizers = [torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, cfg.beta2), fused=device.type == "cuda")]
        if hidden:
            optimizers.append(Muon(hidden, lr=cfg.muon_lr, weight_decay=cfg.weight_decay))
        return optimizers

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
