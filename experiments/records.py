"""Build results/RECORDS.md: the CPU speedrun table, "time to reach a target val bpb on WikiText-2
on a 2-core CPU", one row per record, in the style of the modded-nanogpt world-record table.

A record is a sweep (experiments/record_*.yaml) of one recipe at >= 3 seeds, every run trained with
`--target_bpb T`: the loop checks the validation prefix at each periodic evaluation and, once it is
within common.config.TARGET_MARGIN of T, the full validation split; the run stops at the first
step where the full split is at or below T (summary.json: `target_step`, and the final full-split `val/bpb` <= T).
results/records.yaml lists the records in order:

    target_bpb: 1.556
    records:
      - sweep: record_v4                            # run folders results/runs/record_v4-*
        date: 2026-12-03
        calibration: results/bench/calibration.json  # benchmarks/calibrate.py: s/step of every rung
        change: v4 at its defaults (the best 10-minute rung before v5)

Steps to target, two ways. The confirmed step is the evaluation that stopped the run (every 50 steps
in the record sweeps), so seeds of one recipe often share it and their spread is zero, which leaves
a t-test nothing to work with. The crossing step places the crossing between that evaluation and the
one before it by linear interpolation of the two full-split bpb values (both measured; the curve is
nearly straight over 50 steps); a run whose first full-split evaluation already confirmed T keeps
its confirmed step. Time and the t-test use the crossing step; both columns are in the table.

Time to target = crossing step x seconds per step, the seconds from a calibration that timed this
record's rung and the previous record's side by side in one sitting (a time measured on another
machine is not comparable). A row is a record only if every seed reached the target and its times
beat the previous record's (recomputed with the same calibration) with a one-sided Welch t-test at
p < 0.05; otherwise the row stays in the table, marked, as a negative result.

    python experiments/records.py              # writes results/RECORDS.md
"""

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

from scipy import stats

# run as a file (`python experiments/x.py`), Python puts only experiments/ on sys.path: add the repo root
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.config import ArgParser
from common.errors import LadderError, run_cli
from common.files import atomic_write
from experiments.report_runs import load_runs
from experiments.sweep import read_yaml

ROOT = Path(__file__).resolve().parents[1]
P_VALUE = 0.05
MIN_SEEDS = 3


def load_records(path: Path) -> dict:
    spec = read_yaml(path, f"{path} does not exist; see the docstring of experiments/records.py")
    if not isinstance(spec, dict) or not isinstance(spec.get("target_bpb"), float | int):
        raise LadderError(f"{path} needs `target_bpb: <number>` and a `records:` list")
    for k, rec in enumerate(spec.get("records") or [], 1):
        missing = [key for key in ("sweep", "date", "calibration", "change") if key not in rec]
        if missing:
            raise LadderError(f"{path}: record {k} lacks {', '.join(missing)}")
    return spec


def seconds_per_step(calibration: str, rung: str) -> float:
    try:
        rows = json.loads((ROOT / calibration).read_text())["rungs"]
        return rows[rung]["s_per_step"]
    except FileNotFoundError:
        raise LadderError(f"calibration {calibration} does not exist; run benchmarks/calibrate.py --out") from None
    except (KeyError, ValueError, TypeError):
        raise LadderError(
            f"calibration {calibration} has no s_per_step for {rung}; rerun benchmarks/calibrate.py"
        ) from None


def crossing(run, target: float) -> float:
    """The step where the run's full-split bpb crosses `target`: linear between the last full-split
    evaluation above it and the first at or below it (the confirmed step); the confirmed step when
    no evaluation above it was made."""
    points = [(m["step"], m["val/full_bpb"]) for m in run.metrics if "val/full_bpb" in m]
    confirmed = run.summary["target_step"]
    before = [(s, b) for s, b in points if s < confirmed and b > target]
    at = [b for s, b in points if s == confirmed]
    if not before or not at or at[0] > target:
        return float(confirmed)
    s0, b0 = before[-1]
    return s0 + (confirmed - s0) * (b0 - target) / (b0 - at[0])


def attempt(runs: list, rec: dict, target: float) -> dict:
    """One record attempt from its finished runs: steps to target per seed, and whether each
    seed's full validation split confirmed the target."""
    mine = [r for r in runs if r.name.startswith(rec["sweep"] + "-") and r.summary is not None]
    if not mine:
        raise LadderError(f"record {rec['sweep']}: no finished run folders results/runs/{rec['sweep']}-*")
    rungs = {r.rung for r in mine}
    if len(rungs) != 1:
        raise LadderError(f"record {rec['sweep']}: its runs mix rungs {sorted(rungs)}")
    steps, crossings, failed = [], [], []
    for r in sorted(mine, key=lambda r: r.config["seed"]):
        reached = r.summary.get("target_step")
        if reached is None or r.summary["val/bpb"] > target:
            failed.append(r.config["seed"])
        else:
            steps.append(reached)
            crossings.append(crossing(r, target))
    commits = sorted({r.config.get("git_commit", "?")[:7] for r in mine})
    return {
        "rung": rungs.pop(),
        "steps": steps,
        "crossings": crossings,
        "failed": failed,
        "val_bpb": statistics.fmean(r.summary["val/bpb"] for r in mine),
        "commits": commits,
        "runs": [r.name for r in mine],
    }


def spread(xs: list, fmt: str) -> str:
    """mean ± sample sd, or the one value, or n/a."""
    if not xs:
        return "n/a"
    if len(xs) == 1:
        return format(xs[0], fmt)
    return f"{statistics.fmean(xs):{fmt}} ± {statistics.stdev(xs):{fmt}}"


def build(spec: dict, runs: list, here: Path | None = None) -> str:
    """The Markdown of the table; `here`: the folder it will live in (its links are relative to it;
    default results/)."""
    target = spec["target_bpb"]
    here = here or ROOT / "results"

    def link(path: str) -> str:
        return Path(os.path.relpath(ROOT / path, here)).as_posix()

    lines = [
        f"# Records: time to val bpb {target} on WikiText-2, 2-core CPU\n",
        "Built by `python experiments/records.py` from `results/records.yaml` and the run folders; "
        "see its docstring for the rules. Confirmed step: the evaluation (every 50 steps) whose full validation "
        "split reached the target and stopped the run. Crossing step: where the full-split bpb crosses the target, "
        "linear between that evaluation and the one before. Time = crossing step x seconds per step from the row's "
        "calibration (all rungs timed side by side in one sitting). A new record must beat the previous one with a "
        f"one-sided Welch t-test over seeds on those times, p < {P_VALUE}, every seed reaching the target on the full "
        "validation split.\n",
        "| # | date | change | rung | sweep | confirmed step | crossing step | s/step | time to target | val bpb at stop "
        "| p vs previous | record? | commit | runs |",
        "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    previous = None  # (rung, crossing steps) of the standing record
    pending = []
    for k, rec in enumerate(spec.get("records") or [], 1):
        if not any(r.name.startswith(rec["sweep"] + "-") and r.summary is not None for r in runs):
            pending.append(rec)  # listed below the table: a row needs finished runs
            continue
        a = attempt(runs, rec, target)
        sps = seconds_per_step(rec["calibration"], a["rung"])
        times = [s * sps for s in a["crossings"]]
        p, verdict = None, "baseline" if previous is None else "no"
        if a["failed"]:
            verdict = f"no: seed {', '.join(map(str, a['failed']))} missed the target"
        elif len(a["steps"]) < MIN_SEEDS:
            verdict = f"no: {len(a['steps'])} seeds, {MIN_SEEDS} needed"
        elif previous is not None:
            before = [s * seconds_per_step(rec["calibration"], previous[0]) for s in previous[1]]
            p = stats.ttest_ind(times, before, equal_var=False, alternative="less").pvalue
            verdict = "**yes**" if p < P_VALUE else "no: not significant"
        if verdict in ("baseline", "**yes**"):
            previous = (a["rung"], a["crossings"])
        lines.append(
            f"| {k} | {rec['date']} | {rec['change']} | {a['rung']} "
            f"| [{rec['sweep']}.yaml]({link('experiments/' + rec['sweep'] + '.yaml')}) "
            f"| {spread(a['steps'], '.0f')} (n={len(a['steps'])}) "
            f"| {spread(a['crossings'], '.0f')} | {sps:.3f} ([cal]({link(rec['calibration'])})) "
            f"| {spread([t / 60 for t in times], '.2f')} min | {a['val_bpb']:.4f} | {'' if p is None else f'{p:.3g}'} "
            f"| {verdict} | {', '.join(a['commits'])} | `results/runs/{rec['sweep']}-*` ({len(a['runs'])}) |"
        )
    for rec in pending:
        lines.append(
            f"\nPending ({rec['date']}): {rec['change']}; no finished runs yet (`experiments/{rec['sweep']}.yaml`)."
        )
    lines.append("\nRerun a row: `python experiments/sweep.py experiments/<sweep>.yaml`, then this script.")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = ArgParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    ap.add_argument("--records", type=Path, default=ROOT / "results" / "records.yaml")
    ap.add_argument("--runs", type=Path, default=ROOT / "results" / "runs")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "RECORDS.md")
    args = ap.parse_args(argv)
    text = build(load_records(args.records), load_runs(args.runs), args.out.resolve().parent)
    atomic_write(args.out, text, "--out")
    print(text + f"wrote {args.out}")


if __name__ == "__main__":
    run_cli(main)
