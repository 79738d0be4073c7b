"""GPU smoke test: one rung for a few hundred steps on a CUDA GPU, bf16 autocast, torch.compile off
and on; prints tokens/s and model FLOPs utilisation against a bf16 matmul peak measured in the same
run. The CUDA paths of the ladder (bf16 autocast, TF32, fused AdamW, pinned memory) run here and
nowhere else in this project's CI, which has no GPU.

    python benchmarks/gpu_smoke.py --out results/bench/gpu_smoke.md            # on the GPU machine
    python benchmarks/gpu_smoke.py --device cpu --steps 20 --batch_size 8 --log_interval 5 \
        --compile off --rung v2_bpe_rope                                         # the same code on a CPU

Each configuration trains the rung's default model at a GPU-sized batch (--batch_size) on
WikiText-2 and reads the steady-state tokens/s from the loop's own records (the first --log_interval
window, with compilation and warm-up, is dropped); the final bpb is printed so a broken
precision path shows up as a bad loss, not only as a speed.
"""

import argparse
import contextlib
import importlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

# run as a file (`python benchmarks/x.py`), Python puts only benchmarks/ on sys.path: add the repo root
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_train import machine, matmul_peak
from benchmarks.model_size import flops_per_token
from benchmarks.reports import header
from common.config import ArgParser
from common.errors import LadderError, run_cli
from common.files import atomic_write, writable_file

ROOT = Path(__file__).resolve().parents[1]


def model_flops_per_token(module, cfg, vocab: int) -> float:
    with torch.device("meta"):  # shapes only
        return flops_per_token(module.Model(cfg, vocab), cfg)


def run(rung: str, device: str, compile_: bool, steps: int, batch: int, window: int, tmp: Path) -> dict:
    module = importlib.import_module(rung)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()  # the peak of this configuration, not of the process
    name = f"gpu-{rung}-{int(compile_)}-{time.time_ns()}"
    args = dict(
        device=device, compile=compile_, max_steps=steps, batch_size=batch, log_interval=window,
        eval_interval=10**9, sample_tokens=0, warmup_steps=min(100, steps // 4), wandb="disabled",
        out_dir=tmp / "runs", ckpt_dir=tmp / "ckpt", name=name, cache_dir=ROOT / ".cache",
    )  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        summary = module.main([f"--{k}={v}" for k, v in args.items()])
    records = [json.loads(x) for x in (tmp / "runs" / name / "metrics.jsonl").read_text().splitlines()]
    tps = [r["tokens_per_s"] for r in records if "tokens_per_s" in r and r["step"] > window]
    cfg = module.Config(batch_size=batch)
    return {
        "tokens_per_s": sum(tps) / len(tps) if tps else summary["tokens_per_s"],
        "flops_per_token": model_flops_per_token(module, cfg, summary["vocab_size"]),
        "val_bpb": summary["val/bpb"],
        "peak_mem_gib": torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None,
    }


def main(argv=None):
    ap = ArgParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    ap.add_argument("--rung", default="v5_modern")
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch_size", type=int, default=256, help="sequences per step (the ladder's default is 32)")
    ap.add_argument("--log_interval", type=int, default=50, help="steps per tokens/s window")
    ap.add_argument(
        "--compile",
        default="both",
        choices=("both", "off", "on"),
        help="torch.compile off, on, or both one after the other (on a CPU, compiling takes minutes)",
    )
    ap.add_argument("--out", type=Path, help="also write the figures as markdown here")
    args = ap.parse_args(argv)
    if args.out:
        writable_file(args.out, "--out")  # before the work: a bad --out must not lose it
    if args.device == "cuda" and not torch.cuda.is_available():
        raise LadderError("no CUDA GPU is visible; run this on a GPU machine, or pass --device cpu for a dry run")
    if args.batch_size < 1 or args.log_interval < 1:
        raise LadderError("--batch_size and --log_interval must be at least 1")
    if args.steps <= args.log_interval:
        raise LadderError("--steps must be larger than --log_interval (the first window is dropped)")
    dtype = torch.bfloat16 if args.device == "cuda" else torch.float32
    peak = matmul_peak(4096 if args.device == "cuda" else 1024, device=args.device, dtype=dtype)
    gpu = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    lines = [
        *header(
            f"GPU smoke test: {args.rung}, {args.steps} steps, batch {args.batch_size} x 128",
            __file__,
            argv,
            f"{machine()}; device {gpu}",
        ),
        f"{'bf16' if args.device == 'cuda' else 'fp32'} matmul peak measured in this run: {peak / 1e12:.1f} TFLOP/s\n",
        "| compile | tokens/s | MFU | val bpb | peak memory |",
        "|---|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as d:
        for compile_ in {"both": (False, True), "off": (False,), "on": (True,)}[args.compile]:
            r = run(args.rung, args.device, compile_, args.steps, args.batch_size, args.log_interval, Path(d))
            mfu = r["tokens_per_s"] * r["flops_per_token"] / peak
            mem = "n/a (not a GPU)" if r["peak_mem_gib"] is None else f"{r['peak_mem_gib']:.2f} GiB"
            lines.append(f"| {compile_} | {r['tokens_per_s']:,.0f} | {mfu:.1%} | {r['val_bpb']:.4f} | {mem} |")
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        atomic_write(args.out, text, "--out")


if __name__ == "__main__":
    run_cli(main)
