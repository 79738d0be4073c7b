"""v7: shortcuts, paths that carry information past the residual stream, on top of v6.

New in this rung: cheap paths from the input to deep layers, from the small-model speedruns
(modded-nanogpt's records, nanochat), each a flag (all off = v6 exactly; default: one value table,
ablation_v7.yaml's one 3-seed winner): `--x0` blocks read lambda_r x + lambda_0 x0, x0 the
normalised embedding; `--value_residual` values (1 - a) v + a v_1, v_1 block 0's (arXiv
2410.17897); `--value_embeds N` gated token tables in the values of blocks i and L-1-i; `--unet`
first-half outputs into the mirrored second half; `--softcap C` logits C tanh(logits / C) (Gemma
2). Own rates: `--scalar_lr`, `--ve_lr`.

Run: python v7_shortcuts.py
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
    muon_lr: float = setting(0.01, "Muon's peak learning rate (chosen by lr_v6.yaml)", above=0)
    emb_lr: float = setting(0.03, "the embedding's AdamW learning rate; 0 = --lr (lr_v6.yaml)", at_least=0)
    x0: bool = setting(False, "each block reads a learned mix of the stream and the normalised embedding")
    value_residual: bool = setting(False, "later blocks mix the first block's attention values into theirs")
    value_embeds: int = setting(1, "token tables added into the values of blocks i and L-1-i (0: none)", at_least=0)
    unet: bool = setting(False, "U-net skips: first-half block outputs into the mirrored second half")
    softcap: float = setting(0.0, "logits -> C tanh(logits / C) (0: off)", at_least=0)
    scalar_lr: float = setting(0.01, "AdamW learning rate of the new mixing scalars", above=0)
    ve_lr: float = setting(0.03, "AdamW learning rate of the value-embedding tables", above=0)


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
        self.v_mix = nn.Parameter(torch.tensor([0.5, 0.5])) if cfg.value_residual or cfg.value_embeds else None
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

    def forward(self, x, cache: LayerCache | None = None, v1=None, ve=None):  # -> (output, values)
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # 3 x (B, T, C)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
        q, k = qk_rms(q), qk_rms(k)  # QK-norm, before the cache, so cached keys are normalised too
        if v1 is not None:  # value residual: values pulled towards the first block's
            v = (1 - self.v_mix[0]) * v + self.v_mix[0] * v1  # (B, H, T, D)
        if ve is not None:  # value embedding: a token's own row, straight into the values
            v = v + self.v_mix[1] * ve.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, H, T, D)
        if cache is not None:  # generation: keys and values of earlier positions, then these
            k, v = cache.update(k, v)  # (B, H, S, D)
        S = k.size(2)  # S - T cached positions, then these T; query i sits at key position S - T + i
        # (1, H, T, S): -slope * distance, -inf ahead; 4-D, or SDPA drops its flash kernel for the slow math path
        bias = self.bias(T, S, x.device).to(q.dtype)[None]
        if self.fused:  # the bias goes in as an additive float mask
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=self.dropout if self.training else 0)
        else:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1)) + bias  # (B, H, T, S)
            y = self.attn_drop(att.softmax(dim=-1)) @ v  # (B, H, T, D)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C)
        return self.resid_drop(self.proj(y)), v[:, :, -T:]  # these tokens' values, mixed: what the cache holds


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

    def forward(self, x, cache: LayerCache | None = None, v1=None, ve=None):
        a, values = self.attn(self.ln1(x), cache, v1, ve)  # v1: block 0's values, ve: a value embedding
        x = x + a
        return x + self.mlp(self.ln2(x)), values


class Model(nn.Module):
    def __init__(self, cfg: Config, vocab_size: int):
        super().__init__()
        self.cfg, L = cfg, cfg.n_layer
        self.context_length = None  # positions are relative: it runs past its training context
        self.wte = nn.Embedding(vocab_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = RMSNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, vocab_size, bias=False)
        if cfg.value_embeds > (L + 1) // 2:  # v7's paths come after v6's modules: v6's weights draw the same numbers
            raise ValueError(f"value_embeds {cfg.value_embeds} > (n_layer + 1) // 2: a table serves block i and L-1-i")
        self.ve = nn.ModuleList(nn.Embedding(vocab_size, cfg.n_embd) for _ in range(cfg.value_embeds))
        self.x0_mix = nn.Parameter(torch.tensor([[1.0, 0.0]] * L)) if cfg.x0 else None  # (L, 2): lambda_r, lambda_0
        self.skip_w = nn.Parameter(torch.ones(L // 2)) if cfg.unet else None  # U-net: one weight per skip
        self.apply(self._init)
        for name, p in self.named_parameters():  # residual writes start at zero: each block the identity
            if name.endswith("proj.weight"):
                nn.init.zeros_(p)

    @staticmethod
    def _init(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def configure_optimizers(self, cfg: Config, device: torch.device) -> list[torch.optim.Optimizer]:
        """Muon for the blocks' matrices; AdamW for the rest, the embedding, tables and scalars at their rates."""
        hidden = [p for n, p in self.named_parameters() if n.startswith("blocks.") and p.dim() == 2]
        emb, tables = [self.wte.weight], list(self.ve.parameters())
        scalars = [p for n, p in self.named_parameters() if n.endswith(("x0_mix", "v_mix", "skip_w"))]
        rest = [p for p in self.parameters() if not any(p is q for q in hidden + emb + tables + scalars)]
        groups = [
            {"params": emb, "lr": cfg.emb_lr or cfg.lr, "weight_decay": cfg.weight_decay},
            {"params": [p for p in rest if p.dim() >= 2], "weight_decay": cfg.weight_decay},
            {"params": [p for p in rest if p.dim() < 2], "weight_decay": 0.0},
            {"params": tables, "lr": cfg.ve_lr, "weight_decay": cfg.weight_decay},
            {"params": scalars, "lr": cfg.scalar_lr, "weight_decay": 0.0},
        ]
        optimizers = [torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, cfg.beta2), fused=device.type == "cuda")]
        return optimizers + [Muon(hidden, lr=cfg.muon_lr, weight_decay=cfg.weight_decay)]

    def forward(self, idx: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """idx (B, T) -> logits (B, T, V); with a `cache` (generation), idx continues its tokens."""
        cfg, L = self.cfg, len(self.blocks)
        x = self.drop(self.wte(idx))  # (B, T, C): no position embedding, ALiBi acts inside attention
        x0, v1, outs = qk_rms(x), None, []  # x0: the embedding at unit RMS, what every block may re-read
        for i, block in enumerate(self.blocks):
            x = x if self.x0_mix is None else self.x0_mix[i, 0] * x + self.x0_mix[i, 1] * x0
            if self.skip_w is not None and i >= L - L // 2:  # second half: the mirrored block's output
                x = x + self.skip_w[L - 1 - i] * outs[L - 1 - i]
            ve = self.ve[j](idx) if (j := min(i, L - 1 - i)) < len(self.ve) else None  # table j: blocks j, L-1-j
            x, values = block(x, None if cache is None else cache.layer(i), v1 if cfg.value_residual else None, ve)
            v1, outs = values if i == 0 else v1, outs + [x]
        logits = self.head(self.ln_f(x))  # (B, T, V)
        return cfg.softcap * torch.tanh(logits / cfg.softcap) if cfg.softcap else logits


def main(argv=None):
    return run_rung(Config, Model, __file__, __doc__, argv)


if __name__ == "__main__":
    run_cli(main)
