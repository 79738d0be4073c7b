"""What a model of a given shape costs, computed, not measured: parameters, training FLOPs per
token, memory for weights + optimizer + activations at a batch size, and the tokens/s a GPU would
give at an assumed model FLOPs utilisation. Every figure is an ESTIMATE until a run measures it.

    python benchmarks/model_size.py v2_bpe_rope                                   # the ladder default
    python benchmarks/model_size.py v5_modern --n_layer 12 --n_head 12 --n_embd 768 \\
        --block_size 1024 --vocab 32000 --batch_size 16 --gpu h100                # GPT-2-small shape

Any rung flag sets the shape (the same flags as training). The formulas:
- training FLOPs per token = 6 x (weights that multiply: every nn.Linear, the head included) +
  12 x layers x context x width for the attention scores (forward + backward; nanoGPT's
  estimate_mfu, after Kaplan et al. 2020 and Chinchilla appendix F);
- weights + gradients + AdamW moments: 16 bytes per parameter (fp32 master weights; Muon keeps one
  moment instead of two for its matrices, which this ignores);
- activations: 34 x width bytes per token per layer in bf16 with a fused attention kernel that
  keeps no T x T scores (Korthikanti et al. 2022, arXiv 2205.05198, section 4.1, without its
  5 x heads x context term), plus the logits: bf16 output, their fp32 copy for the loss and its
  gradient, 10 bytes per token per vocabulary entry.
"""

import argparse
import importlib
import sys
from pathlib import Path

import torch
import torch.nn as nn

# run as a file (`python benchmarks/x.py`), Python puts only benchmarks/ on sys.path: add the repo root
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.reports import rungs
from common.config import ArgParser, build_model, parse_config
from common.errors import LadderError, run_cli

ROOT = Path(__file__).resolve().parents[1]

# dense bf16 tensor-core peaks from the vendors' data sheets (no sparsity), FLOP/s
GPU_PEAK = {"h100": 989e12, "h200": 989e12, "a100": 312e12, "l4": 121e12, "rtx4090": 165e12}
# v1_numpy is v1 without PyTorch: v1's size
RUNGS = rungs(ROOT)


def flops_per_token(model, cfg) -> float:
    """Training FLOPs per token: 6 x matmul weights (every nn.Linear) + 12 x layers x context x width."""
    matmul = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Linear))
    return 6 * matmul + 12 * getattr(cfg, "n_layer", 0) * cfg.block_size * getattr(cfg, "n_embd", 0)


def estimate(rung: str, argv: list[str], gpu: str, mfu: float, world: int) -> dict:
    module = importlib.import_module(rung)
    cfg, _ = parse_config(module.Config, argv, prog=f"model_size.py {rung}")
    vocab = cfg.vocab or 256  # char rungs: the alphabet comes from the data; 256 stands in for it
    with torch.device("meta"):  # shapes only: a GPT-2-sized model allocates nothing here
        model = build_model(module.Model, cfg, vocab, rung)  # settings that do not fit: one line
    params = sum(p.numel() for p in model.parameters())
    matmul = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Linear))
    L, C, T = getattr(cfg, "n_layer", 0), getattr(cfg, "n_embd", 0), cfg.block_size
    flops = flops_per_token(model, cfg)
    tokens = cfg.batch_size * T  # per micro-batch, per process
    act = tokens * (34 * C * L + 10 * vocab)
    state = 16 * params
    tps = mfu * GPU_PEAK[gpu] / flops * world if flops else float("nan")
    return dict(
        rung=rung, cfg=cfg, vocab=vocab, params=params, matmul=matmul, flops=flops, act=act, state=state, tps=tps
    )


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    ap = ArgParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    ap.add_argument("rung", choices=RUNGS)
    ap.add_argument("--gpu", default="h100", choices=sorted(GPU_PEAK), help="whose bf16 peak to assume")
    ap.add_argument("--mfu", type=float, default=0.4, help="assumed model FLOPs utilisation (0.4: a guess)")
    ap.add_argument("--gpus", type=int, default=1, help="data-parallel processes (tokens/s scale with them)")
    args, rest = ap.parse_known_args(argv)
    if not 0 < args.mfu <= 1 or args.gpus < 1:
        raise LadderError("--mfu must be in (0, 1] and --gpus >= 1")
    e = estimate(args.rung, rest, args.gpu, args.mfu, args.gpus)
    cfg, gib = e["cfg"], 2**30
    print(
        f"{e['rung']}: {getattr(cfg, 'n_layer', 0)} layers, width {getattr(cfg, 'n_embd', 0)}, "
        f"context {cfg.block_size}, vocab {e['vocab']}, batch {cfg.batch_size} x {args.gpus} process(es)"
    )
    print(f"  parameters            {e['params']:>16,}  ({e['matmul']:,} in matmuls)")
    print(f"  training FLOPs/token  {e['flops']:>16,.0f}")
    print(f"  weights+grads+AdamW   {e['state'] / gib:>13.2f} GiB  (estimate)")
    print(f"  activations, batch    {e['act'] / gib:>13.2f} GiB  (estimate, bf16, fused attention)")
    print(
        f"  tokens/s              {e['tps']:>16,.0f}  (estimate: {args.mfu:.0%} of {args.gpu}'s bf16 peak x {args.gpus})"
    )


if __name__ == "__main__":
    run_cli(main)
