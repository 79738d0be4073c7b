"""Calibrate a wall-clock budget into steps: every rung's time per training step, side by side.

A budget that must mean the same on every machine is a step count (DESIGN.md, "Budgets and
records"). This script times every rung's training step with the ladder's own loop, on WikiText-2
at each rung's default settings, in interleaved rounds (v0, v1, ..., v6, then again), so a machine
that slows down or speeds up during the sitting affects every rung alike. It then converts a budget
of minutes into a step count per rung: steps = minutes * 60 / (seconds per step). The ladder sweep
(experiments/ladder_steps.yaml) runs by those steps on any machine; the table names this file.

Only training steps are timed (periodic evaluation, sampling and checkpoints are switched off):
at the default eval interval they add about 3% (results/bench/train.md, "Loop overhead"), so a
calibrated "10 minutes" is 10 minutes of training steps. Extra rows time variants that a result
needs (v6 with AdamW instead of Muon: what a Muon step costs). Run it on a quiet machine:

    python benchmarks/calibrate.py --minutes 10 --out results/bench/calibration   # ~25 minutes

A rung added after that sitting is timed in a short later sitting beside a rung of the first one,
and its figures are expressed in the first sitting's time: `--reference FILE` scales every figure
by how much faster or slower the shared rungs ran then (the median of their ratios; the file keeps
this sitting's own as s_per_step_here), so the new rung's "10 minutes" is the same 10 minutes as
its neighbours' in the ladder, and its record times compare with theirs. rung.py's `--calibration`
takes both files, the first that has a rung wins:

    python benchmarks/calibrate.py --only v6_muon,v7_shortcuts --reference results/bench/calibration.json \
        --out results/bench/calibration_v7
"""

import argparse
import contextlib
import importlib
import io
import json
import sys
import tempfile
import time
from dataclasses import fields
from datetime import date
from pathlib import Path
from statistics import median, quantiles

# run as a file (`python benchmarks/x.py`), Python puts only benchmarks/ on sys.path: add the repo root
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_train import machine
from benchmarks.reports import command, header, rungs
from common.config import ArgParser
from common.errors import LadderError, run_cli
from common.files import atomic_write, writable_file

ROOT = Path(__file__).resolve().parents[1]

# v1_numpy, v1 without PyTorch, trains for v1's steps (experiments/rung.py)
RUNGS = rungs(ROOT)
EXTRA = {  # label -> (rung, flags)
    "v6_muon --muon false": ("v6_muon", {"muon": "false"}),
    "v7_shortcuts --value_residual true": ("v7_shortcuts", {"value_residual": "true"}),
}
WINDOW = 10  # steps per timed window (the loop's --log_interval)


def time_steps(rung: str, flags: dict, steps: int, tmp: Path) -> list[float]:
    """Seconds per step of `rung` in the ladder's loop, one figure per window of WINDOW steps;
    the first window (start-up, first allocations) is dropped."""
    module = importlib.import_module(rung)
    names = {f.name for f in fields(module.Config)}
    name = f"cal-{rung}-{time.time_ns()}"
    args = (
        dict(
            max_steps=steps + WINDOW,
            eval_interval=10**9,
            sample_tokens=0,
            eval_sliding="false",  # the final evaluation is not timed; the sliding pass only lengthens the sitting
            log_interval=WINDOW,
            wandb="disabled",
            out_dir=tmp / "runs",
            ckpt_dir=tmp / "ckpt",
            name=name,
            cache_dir=ROOT / ".cache",
        )
        | flags
    )
    argv = [f"--{k}={v}" for k, v in args.items() if k in names]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        module.main(argv)
    cfg = module.Config()  # the default shape, which every timed run keeps
    tokens_per_step = cfg.batch_size * cfg.block_size * cfg.grad_accum
    records = [json.loads(line) for line in (tmp / "runs" / name / "metrics.jsonl").read_text().splitlines()]
    tps = [r["tokens_per_s"] for r in records if "tokens_per_s" in r and r["step"] > WINDOW]
    return [tokens_per_step / t for t in tps]


def read_reference(path: Path, configs: dict) -> dict:
    """An earlier calibration that shares at least one timed row with this one."""
    try:
        ref = json.loads(path.read_text())
        rows = ref["rungs"]
    except FileNotFoundError:
        raise LadderError(f"--reference {path} does not exist") from None
    except (OSError, ValueError, KeyError, TypeError):  # a folder, unreadable, not JSON, not a calibration
        raise LadderError(f"--reference {path} is not a calibration .json (benchmarks/calibrate.py --out)") from None
    if not set(rows) & set(configs):
        raise LadderError(f"--reference {path} times none of the rows timed here; add one of its rungs to --only")
    return ref


def reference_scale(reference: dict, per_step: dict) -> tuple[float, list[str]]:
    """How many times as long a step took in the reference sitting: the median over shared rows."""
    shared = [k for k in per_step if k in reference["rungs"]]
    return median(reference["rungs"][k]["s_per_step"] / median(per_step[k]) for k in shared), shared


def main(argv=None):
    ap = ArgParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    ap.add_argument("--minutes", type=float, default=10.0, help="the budget to convert into steps per rung")
    ap.add_argument("--steps", type=int, default=50, help="timed steps per rung per round (after a warm-up window)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds over all rungs")
    ap.add_argument("--out", type=Path, help="write OUT.md and OUT.json")
    ap.add_argument("--only", help="time only these rows (comma-separated labels: rung names, or an extra row's label)")
    ap.add_argument("--reference", type=Path, help="an earlier calibration .json: express steps in its sitting's time")
    args = ap.parse_args(argv)
    if args.out:  # before the work: a bad --out must not lose it
        writable_file(args.out.with_suffix(".md"), "--out")
        writable_file(args.out.with_suffix(".json"), "--out")
    if args.steps < WINDOW or args.rounds < 1 or args.minutes <= 0:
        raise LadderError(f"--steps must be >= {WINDOW}, --rounds >= 1 and --minutes > 0")
    configs = {r: (r, {}) for r in RUNGS} | EXTRA
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        if unknown := [w for w in wanted if w not in configs]:
            raise LadderError(f"--only: unknown row {unknown[0]!r}; rows: {', '.join(configs)}")
        configs = {w: configs[w] for w in wanted}
    reference = read_reference(args.reference, configs) if args.reference else None
    per_step = {label: [] for label in configs}
    print(f"Machine: {machine()}")
    t0 = time.time()
    with tempfile.TemporaryDirectory() as d:
        for k in range(args.rounds):
            for label, (rung, flags) in configs.items():
                per_step[label] += time_steps(rung, flags, args.steps, Path(d))
                print(f"  round {k + 1}: {label:24s} {median(per_step[label]) * 1000:7.1f} ms/step so far", flush=True)
    scale, shared = (1.0, []) if reference is None else reference_scale(reference, per_step)
    rows = {}
    for label, xs in per_step.items():
        # the median window: a window slowed by something else on a shared machine (a burst of
        # another process, a noisy neighbour of the VM) moves the mean a lot and the median little
        s = median(xs)
        q1, _, q3 = quantiles(xs, n=4) if len(xs) > 1 else (s, s, s)
        # with --reference, seconds in the reference sitting's time: records and steps read them alike
        rows[label] = {"s_per_step": s * scale, "q1": q1 * scale, "q3": q3 * scale, "windows_s_per_step": xs}
        if reference is not None:
            rows[label]["s_per_step_here"] = s
        rows[label]["steps"] = int(args.minutes * 60 / (s * scale))
    info = {
        "date": date.today().isoformat(),
        "machine": machine(),
        "command": command(__file__, argv),
        "minutes": args.minutes,
        "duration_min": (time.time() - t0) / 60,
        "rungs": rows,
    }
    if reference is not None:
        info["reference"] = {"file": str(args.reference), "shared": shared, "scale": scale}
    lines = [
        *header(f"Calibration: {args.minutes:g} minutes of training steps per rung", __file__, argv, info["machine"]),
        f"{args.rounds} interleaved rounds, {len(next(iter(per_step.values())))} windows of {WINDOW} steps per rung "
        "(a window's time per step; the median window counts), "
        f"{info['duration_min']:.1f} minutes in all; WikiText-2, each rung's default settings.\n",
        f"| rung | ms per step, median window (quartiles) | steps in {args.minutes:g} min |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {k} | {v['s_per_step'] * 1000:.1f} ({v['q1'] * 1000:.1f}-{v['q3'] * 1000:.1f}) | {v['steps']:,} |"
        for k, v in rows.items()
    ]
    if reference is not None:
        lines.append(
            f"\nSteps are in the time of the sitting of {args.reference} ({reference['date']}): "
            f"{', '.join(shared)} ran {scale:.3f}x as long per step there as here, so every figure above "
            f"is the time here x {scale:.3f}, and steps = {args.minutes:g} min / that."
        )
    if "v6_muon" in rows and "v6_muon --muon false" in rows:
        ratio = rows["v6_muon"]["s_per_step"] / rows["v6_muon --muon false"]["s_per_step"]
        lines.append(f"\nA Muon step costs {ratio:.3f}x an AdamW step of the same model (v6 with `--muon false`).")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        atomic_write(args.out.with_suffix(".md"), text, "--out")
        atomic_write(args.out.with_suffix(".json"), json.dumps(info, indent=1) + "\n", "--out")
        print(f"wrote {args.out.with_suffix('.md')} and .json")


if __name__ == "__main__":
    run_cli(main)
