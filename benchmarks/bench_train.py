"""Training and generation speed of the ladder on this machine: figures and ratios, no assertions.

Sections (all by default, or pick with --only):
  peak      fp32 matmul FLOP/s measured here, the denominator of model FLOPs utilisation (MFU)
  train     the ladder's training loop (common/train.py) for each rung's default shape and for v1 at
            nanoGPT's documented CPU shape (4 layers, 4 heads, 128 wide, context 64, batch 12,
            vocab 65 = Tiny Shakespeare's characters): tokens/s and MFU
  overhead  the ladder's loop (logging, progress bar, periodic eval + sample + checkpoint at the
            default interval) against a bare loop of the same model on the same batches
  generate  sampling speed with and without the key/value cache at 128, 256, 512 new tokens
  ddp       tokens/s with 1 and 2 processes (torchrun, gloo)
  numpy     v1_numpy (no torch) against v1 (fused and written-out attention) at v1's default shape,
            each in its own process: tokens/s, MFU, peak memory (the process's max RSS)

Model FLOPs per token follow nanoGPT's estimate_mfu: 6 * (weights of every nn.Linear: an untied
embedding table is a lookup and does not count) plus 12 * layers * context * width for attention
scores; the same function as benchmarks/model_size.py. Timings are best-effort on a shared machine:
`load` in the output tells how busy it was.

Run:  python benchmarks/bench_train.py --out results/bench/train.md
"""

import argparse
import contextlib
import importlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

import torch
import torch.nn.functional as F

# run as a file (`python benchmarks/x.py`), Python puts only benchmarks/ on sys.path: add the repo root
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.model_size import flops_per_token
from benchmarks.reports import header, rungs
from benchmarks.reports import machine as cpu_line
from common.config import ArgParser
from common.errors import run_cli
from common.files import atomic_write, writable_file
from common.generate import generate

ROOT = Path(__file__).resolve().parents[1]
# v1_numpy (no torch): its own section
RUNGS = rungs(ROOT)
NANOGPT_CPU = dict(
    n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12, tokenizer="char", data="tinyshakespeare"
)


def machine() -> str:
    """The CPU line (benchmarks/reports.py), plus what the training figures depend on."""
    return f"{cpu_line()}, torch {torch.__version__} ({torch.get_num_threads()} threads), load {os.getloadavg()[0]:.1f}"


def matmul_peak(n=1024, seconds=3.0, device="cpu", dtype=torch.float32) -> float:
    """Best matmul FLOP/s over a few seconds (2 n^3 FLOPs per product); fp32 on the CPU by default."""
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    sync = torch.cuda.synchronize if device == "cuda" else lambda: None  # GPU kernels run asynchronously
    best, t_end = 0.0, time.time() + seconds
    while time.time() < t_end:
        sync()
        t0 = time.perf_counter()
        for _ in range(10):
            a @ b
        sync()
        best = max(best, 10 * 2 * n**3 / (time.perf_counter() - t0))
    return best


def run_ladder(rung: str, steps: int, tmp: Path, **settings) -> dict:
    """Train with the ladder's own loop (quietly) and return its summary."""
    module = importlib.import_module(rung)
    names = {f.name for f in fields(module.Config)}
    args = dict(data="tinyshakespeare", max_steps=steps, eval_interval=10**9, wandb="disabled", warmup_steps=10)
    args.update(settings)
    args.update(cache_dir=ROOT / ".cache", out_dir=tmp / "runs", ckpt_dir=tmp / "ckpt", name=f"{rung}-{time.time_ns()}")
    argv = [f"--{k}={v}" for k, v in args.items() if k in names]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return module.main(argv)


def section_train(peak: float, steps: int, tmp: Path):
    rows = []
    # v6 with AdamW in place of Muon: a Muon step must buy more than it costs (issue 18)
    adamw_v6 = [("v6_muon", {"muon": False})] if "v6_muon" in RUNGS else []
    shapes = [(r, {}) for r in RUNGS] + adamw_v6 + [("v1_transformer", NANOGPT_CPU)]
    for rung, shape in shapes:
        s = run_ladder(rung, steps, tmp, **shape)
        module = importlib.import_module(rung)
        names = {f.name for f in fields(module.Config)}
        cfg = module.Config(**{k: v for k, v in shape.items() if k in names})
        model = module.Model(cfg, s["vocab_size"])
        fpt = flops_per_token(model, cfg) if rung != "v0_bigram" else 0.0
        label = rung + (
            " --muon false" if shape == {"muon": False} else " @ nanoGPT CPU shape" if shape else " (default)"
        )
        mfu = f"{fpt * s['tokens_per_s'] / peak:.1%}" if fpt else "n/a (a lookup table)"
        rows.append((label, s["params"], s["vocab_size"], s["tokens_per_s"], mfu))
        print(f"  {label:42s} {s['tokens_per_s']:>10,.0f} tok/s   MFU {mfu}", flush=True)
    return rows


def section_overhead(steps: int, tmp: Path):
    """Same model, same batches, same steps: the bare loop vs train()."""
    import v1_transformer as v1
    from common.data import Batcher, load_dataset
    from common.train import make_optimizers

    cfg = v1.Config(data="tinyshakespeare", cache_dir=str(ROOT / ".cache"), max_steps=steps)
    data = load_dataset(cfg)
    torch.manual_seed(cfg.seed)
    model = v1.Model(cfg, data.tokenizer.vocab_size)
    (opt,) = make_optimizers(model, cfg, torch.device("cpu"))
    batcher = Batcher(data.train.ids, cfg.block_size, cfg.batch_size, cfg.seed, torch.device("cpu"))
    t0 = time.perf_counter()
    for _ in range(steps):
        x, y = batcher.next()
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
    bare = time.perf_counter() - t0
    s = run_ladder("v1_transformer", steps, tmp, eval_interval=cfg.eval_interval)
    ladder = s["wall_time_s"]
    print(f"  bare loop {bare:.1f} s, ladder loop {ladder:.1f} s for {steps} steps: overhead {ladder / bare - 1:+.1%}")
    return bare, ladder


def section_generate():
    """Greedy generation, batch 1, from one token: uncached (the model reruns the last `block_size`
    tokens every step) against cached (one token per step), both with torch's default thread
    count; then cached again on one thread, which suits one-token steps (no thread hand-offs)."""

    def timed(model, cfg, n, use_cache):
        start = torch.zeros(1, 1, dtype=torch.long)
        generate(model, start, 8, cfg.block_size, temperature=0, use_cache=use_cache)  # warm-up
        best = float("inf")
        for _ in range(3):  # best of 3: the least disturbed by other work on the machine
            t0 = time.perf_counter()
            generate(model, start, n, cfg.block_size, temperature=0, use_cache=use_cache)
            best = min(best, time.perf_counter() - t0)
        return n / best

    rows, threads = [], torch.get_num_threads()
    for rung in RUNGS[1:]:
        module = importlib.import_module(rung)
        cfg = module.Config()
        torch.manual_seed(0)
        model = module.Model(cfg, 2000).eval()
        for n in (128, 256, 512):
            uncached, cached = timed(model, cfg, n, False), timed(model, cfg, n, True)
            torch.set_num_threads(1)
            one = timed(model, cfg, n, True)
            torch.set_num_threads(threads)
            rows.append((rung, n, uncached, cached, cached / uncached, one))
            print(
                f"  {rung:16s} {n:4d} new tokens: {uncached:6.0f} tok/s uncached, {cached:6.0f} cached "
                f"({cached / uncached:.1f}x), {one:6.0f} cached on 1 thread",
                flush=True,
            )
    return rows


def section_ddp(steps: int, tmp: Path):
    out = {}
    for nproc in (1, 2):
        name = f"ddp{nproc}-{time.time_ns()}"
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={nproc}",
            "v2_bpe_rope.py",
            "--data=tinyshakespeare",
            f"--max_steps={steps}",
            "--eval_interval=1000000000",
            "--wandb=disabled",
            f"--out_dir={tmp}/runs",
            f"--ckpt_dir={tmp}/ckpt",
            f"--name={name}",
            "--warmup_steps=10",
        ]
        subprocess.run(cmd, cwd=ROOT, capture_output=True, check=True)
        out[nproc] = json.loads((tmp / "runs" / name / "summary.json").read_text())["tokens_per_s"]
        print(f"  {nproc} process(es): {out[nproc]:,.0f} tok/s", flush=True)
    print(f"  scaling 1 -> 2 processes: {out[2] / out[1]:.2f}x")
    return out


def section_numpy(peak: float, steps: int, tmp: Path):
    """v1_numpy against v1 at v1's default shape, the same steps, each run in a fresh process."""
    import v1_transformer as v1

    fpt = flops_per_token(v1.Model(v1.Config(), 65), v1.Config())  # the same model, so the same FLOPs
    code = (  # run a script, then report the process's peak memory (KiB on Linux)
        "import resource, runpy, sys\nsys.argv = sys.argv[1:]\nrunpy.run_path(sys.argv[0], run_name='__main__')\n"
        "print('maxrss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    rows = []
    for label, script, extra in (
        ("v1_transformer (fused attention)", "v1_transformer.py", []),
        ("v1_transformer --fused false", "v1_transformer.py", ["--fused=false"]),
        ("v1_numpy", "v1_numpy.py", []),
    ):
        name = f"numpy-{time.time_ns()}"
        args = ["--data=tinyshakespeare", f"--max_steps={steps}", "--eval_interval=1000000000", "--wandb=disabled"]
        args += [f"--cache_dir={ROOT / '.cache'}", f"--out_dir={tmp}/runs", f"--ckpt_dir={tmp}/ckpt", f"--name={name}"]
        out = subprocess.run(
            [sys.executable, "-c", code, script, *args, "--warmup_steps=10", *extra],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        rss_mb = int(out.stdout.split("maxrss")[-1]) / 1024
        tps = json.loads((tmp / "runs" / name / "summary.json").read_text())["tokens_per_s"]
        rows.append((label, tps, f"{fpt * tps / peak:.1%}", rss_mb))
        print(f"  {label:34s} {tps:>8,.0f} tok/s   MFU {rows[-1][2]}   peak memory {rss_mb:,.0f} MB", flush=True)
    return rows


def main(argv=None):
    ap = ArgParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    ap.add_argument("--only", default="peak,train,overhead,generate,ddp,numpy", help="comma-separated sections")
    ap.add_argument("--steps", type=int, default=100, help="training steps per throughput measurement")
    ap.add_argument("--overhead_steps", type=int, default=1000, help="steps for the overhead comparison")
    ap.add_argument("--out", type=Path, help="also write the figures as markdown here")
    args = ap.parse_args(argv)
    if args.out:
        writable_file(args.out, "--out")  # before the work: a bad --out must not lose it
    only = set(args.only.split(","))
    lines = [*header("Training and generation speed", __file__, argv, machine()), ""]
    print("\n".join(lines))
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        peak = matmul_peak()
        print(f"matmul peak (fp32): {peak / 1e9:.1f} GFLOP/s")
        lines.append(f"fp32 matmul peak measured in this run: **{peak / 1e9:.1f} GFLOP/s**\n")
        if "train" in only:
            print("training throughput (the ladder's loop):")
            rows = section_train(peak, args.steps, tmp)
            lines.append(
                f"## Training throughput ({args.steps} steps each, Tiny Shakespeare)\n\n| configuration | params | vocab | tokens/s | MFU |\n|---|---:|---:|---:|---:|"
            )
            lines += [f"| {a} | {b:,} | {c} | {d:,.0f} | {e} |" for a, b, c, d, e in rows]
            lines.append(
                "\nReference (issue 6): nanoGPT's own loop reaches about 47% of the matmul peak at its CPU shape on this kind of machine.\n"
            )
        if "overhead" in only:
            print("overhead of the ladder's loop:")
            bare, ladder = section_overhead(args.overhead_steps, tmp)
            lines.append(
                f"## Loop overhead (v1 default shape, {args.overhead_steps} steps, default eval interval)\n\nbare loop {bare:.1f} s, ladder loop {ladder:.1f} s: **{ladder / bare - 1:+.1%}**\n"
            )
        if "generate" in only:
            print("generation (greedy, batch 1, untrained weights, vocab 2000):")
            rows = section_generate()
            lines.append(
                f"## Generation with and without the key/value cache (greedy, batch 1, best of 3, {torch.get_num_threads()} threads)\n\n"
                "| rung | new tokens | uncached tok/s | cached tok/s | speed-up | cached, 1 thread |\n|---|---:|---:|---:|---:|---:|"
            )
            lines += [f"| {a} | {b} | {c:,.0f} | {d:,.0f} | {e:.1f}x | {f:,.0f} |" for a, b, c, d, e, f in rows]
            lines.append(
                "\nv1's learned position table stops at its training context (128), so past it the cache is rebuilt every step: no gain beyond 128 tokens, by design.\n"
            )
        if "ddp" in only:
            print("data parallel on CPU (v2 default shape):")
            out = section_ddp(args.steps, tmp)
            lines.append(
                f"## Data parallel (torchrun, gloo, v2 default shape)\n\n1 process: {out[1]:,.0f} tok/s; 2 processes: {out[2]:,.0f} tok/s; **{out[2] / out[1]:.2f}x**. On 2 cores one process already uses both (2 threads); two processes get one thread each and add an all-reduce per step.\n"
            )
        if "numpy" in only:
            print(f"v1 without PyTorch (v1_numpy) against v1, default shape, {args.steps} steps:")
            rows = section_numpy(peak, args.steps, tmp)
            lines.append(
                f"## v1 without PyTorch (v1_numpy) against v1 (default shape, Tiny Shakespeare, {args.steps} steps)\n\n"
                "| configuration | tokens/s | vs fused v1 | MFU | peak memory (max RSS) |\n|---|---:|---:|---:|---:|"
            )
            lines += [f"| {a} | {b:,.0f} | {b / rows[0][1]:.2f}x | {c} | {d:,.0f} MB |" for a, b, c, d in rows]
            lines.append("\nPeak memory is the whole process's: PyTorch's import alone is a few hundred MB.\n")
    if args.out:
        atomic_write(args.out, "\n".join(lines) + "\n", flag="--out")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    run_cli(main)
