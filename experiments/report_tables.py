"""The sections of LADDER.md, one function per table kind a sweep file can ask for (`#| table:`):

- ladder:   one row per rung, the ladder's full set of columns
- settings: one row per combination of the settings that vary, seeds pooled (the default); with
            `#| compare: SETTING`, a second table of paired-by-seed differences between its values
- ablation: one row per variant, each with its paired-by-seed difference to the named baseline

Each takes the sweep (report.Sweep: its name, title, file and `#|` block) and its finished runs, and
returns Markdown lines. The numbers come from report_runs.py.
"""

import itertools
import math
import statistics
from pathlib import Path

from common.errors import LadderError
from experiments.report_runs import (
    MULTS,
    ROOT,
    Run,
    distinct,
    fmt_diff,
    fmt_setting,
    fmt_spread,
    fmt_time,
    group,
    human,
    mean_sd,
    natural,
    natural_tuple,
    paired_diffs,
    rung_idea,
    show,
    values,
    varying,
)
from experiments.rung import PARENT  # a side rung and the rung it reproduces

CTX_NOTE = "@Nx: the full validation split read in windows of N times the training context; n/a where"
CTX_NOTE += " the model cannot run that long (v1's learned position table)."


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def intro(sweep, runs: list[Run], rows_are: str) -> list[str]:
    """'12 finished runs of `python experiments/sweep.py experiments/x.yaml`; one row per ...'."""
    s = "s" if len(runs) != 1 else ""
    if sweep.file is None:
        return [f"{len(runs)} finished run{s} of a sweep whose file is not in the sweeps folder; {rows_are}.", ""]
    # a file whose `name` differs from its stem names its runs by the name: say so, or they cannot be found
    prefix = f" (`{sweep.name}-*`)" if sweep.name != Path(sweep.file).stem else ""
    return [f"{len(runs)} finished run{s}{prefix} of `python experiments/sweep.py {sweep.file}`; {rows_are}.", ""]


# --- ladder


def ladder_section(sweep, runs: list[Run]) -> list[str]:
    """runs: the reference runs, this sweep's or (where `#| fallback: default`) a rung's <rung>-default-*."""
    refs = {rung: [r for r in runs if r.rung == rung] for rung in sorted({r.rung for r in runs}, key=natural)}
    out = [f"## {sweep.title}", ""]
    source = f"`{sweep.name}-*`"
    if sweep.report.get("fallback"):
        source += " where that rung has finished ones, else `<rung>-default-*`"
    out += [
        f"One row per rung: its reference runs ({source}). val/test bpb: full splits, mean ± sample sd over "
        "seeds. Word perplexity follows the WikiText convention; tokens/s and wall time are means over seeds. "
        f"@{MULTS[-1]}x ctx: the validation split read in windows of {MULTS[-1]} times the training "
        "context (n/a where the model cannot run that long). Δ vs rung below: this rung's val bpb minus "
        "the previous rung's (the row above) at the same seed, mean ± sd over the seeds both have; negative = better.",
        "",
    ]
    if calibration := sweep.report.get("calibration"):  # several: a later rung timed in a later sitting
        files = [f"`{c}`" + ("" if (ROOT / c).is_file() else " (that file is missing)") for c in calibration.split(",")]
        out += [
            "Budget: each rung trained for its own number of steps (the steps column), converted from "
            f"wall-clock time by the calibration run {' and '.join(files)}"
            + (" (a later sitting, in the first one's time)." if len(files) > 1 else "."),
            "",
        ]
    # the sliding-window column (common/evaluate.py) only where some run measured it (runs before 2026-12-04 did not)
    sliding = any(values(rs, "val/bpb_sliding") for rs in refs.values())
    rows, below = [], None
    # a side rung (experiments/rung.py PARENT) sits under the rung it reproduces and is compared with it
    for rung in sorted(refs, key=lambda r: (natural(PARENT.get(r, r)), r in PARENT)):
        runs = refs[rung]
        s = [r.summary for r in runs]
        # the rung's step over the one below it, paired by seed (each seed's difference, then mean ± sd)
        base = refs.get(PARENT[rung]) if rung in PARENT else below
        step = fmt_diff(paired_diffs(runs, base)) if base else ""
        below = below if rung in PARENT else runs
        ours = runs[0].name.startswith(sweep.name + "-")
        rows.append(
            [
                f"`{rung}`",
                rung_idea(rung),
                distinct(runs, lambda r: f"{r.summary['params']:,}"),
                distinct(runs, lambda r: r.summary.get("tokenizer", r.config.get("tokenizer"))),
                distinct(runs, lambda r: r.summary.get("vocab_size", r.config.get("vocab_size"))),
                distinct(runs, lambda r: r.summary["steps"]),
                human(statistics.fmean(x["tokens"] for x in s)),
                human(statistics.fmean(x["bytes"] for x in s)),
                fmt_spread(values(runs, "val/bpb")),
                step,
                fmt_spread(values(runs, "test/bpb"), n=False),
                fmt_spread(values(runs, f"val/bpb@{MULTS[-1]}x"), n=False),
                *([fmt_spread(values(runs, "val/bpb_sliding"), n=False)] if sliding else []),
                fmt_spread(values(runs, "val/word_ppl"), digits=0, n=False),
                human(statistics.fmean(values(runs, "tokens_per_s") or [math.nan])),
                fmt_time(statistics.fmean(values(runs, "wall_time_s") or [math.nan])),
                source.split(" ")[0] if ours else f"`{rung}-default-*`",
                distinct(runs, lambda r: str(r.config.get("git_commit", "?"))[:7]),
            ]
        )
    header = ["rung", "idea", "params", "tokenizer", "vocab", "steps", "tokens", "bytes", "val bpb"]
    header += [
        "Δ val bpb vs rung below (paired)",
        "test bpb",
        f"val bpb @{MULTS[-1]}x ctx",
        *(["val bpb, sliding (stride T/2)"] if sliding else []),
        "val word ppl",
        "tokens/s",
        "wall time",
        "runs",
        "commit",
    ]
    out += table(header, rows) if rows else ["No rung has a finished reference run yet."]
    missing = [r for r in sweep.rungs if r not in refs]
    if missing and rows:
        out += ["", "No finished reference run yet: " + ", ".join(f"`{r}`" for r in missing) + "."]
    return out + [""]


# --- settings


def settings_section(sweep, runs: list[Run]) -> list[str]:
    keys = sweep.report.get("settings") or varying(runs, sweep.params)
    columns = sweep.report.get("columns", [])
    out = [f"## {sweep.title}", ""] + intro(sweep, runs, "one row per setting, seeds pooled")
    out += ["train bytes/token: bytes per token over the training batches (mean over seeds).", ""]
    header = (keys or ["rung"]) + ["params", "steps"] + (["bytes seen"] if "bytes" in columns else [])
    header += ["train bytes/token", "val bpb", "test bpb"]
    header += [f"val bpb @{m}x ctx" for m in MULTS] if "context" in columns else []
    rows = []
    for g, rs in group(runs, keys):
        row = [fmt_setting(v) for v in g] or [distinct(rs, lambda r: r.rung)]  # one setting: name its rung
        row += [distinct(rs, lambda r: f"{r.summary['params']:,}")]
        row += [distinct(rs, lambda r: r.summary["steps"])]  # what a minutes budget reached
        if "bytes" in columns:
            row += [human(mean_sd([r.summary["bytes"] for r in rs])[0])]
        row += [f"{mean_sd([r.summary['bytes'] / r.summary['tokens'] for r in rs])[0]:.3f}"]  # of the batches seen
        row += [fmt_spread(values(rs, "val/bpb")), fmt_spread(values(rs, "test/bpb"), n=False)]
        if "context" in columns:
            row += [fmt_spread(values(rs, f"val/bpb@{m}x"), n=False) for m in MULTS]
        rows.append(row)
    out += table(header, rows)
    if "context" in columns:
        out += ["", CTX_NOTE]
    return out + [""] + paired_section(runs, keys, sweep.report.get("compare"))


def paired_section(runs: list[Run], keys: list[str], key: str | None) -> list[str]:
    """Every pair of values of setting `key` at equal other settings, paired by seed."""
    if key not in keys or len({r.config.get("seed") for r in runs}) < 2:
        return []
    other = [k for k in keys if k != key]
    rows = []
    for g, rs in group(runs, other):
        arms = {
            v: [r for r in rs if r.config.get(key) == v] for v in sorted({r.config.get(key) for r in rs}, key=natural)
        }
        for base, arm in itertools.combinations(arms, 2):
            if diffs := paired_diffs(arms[arm], arms[base]):
                label = f"{show(key, arm)} − {show(key, base)}"
                rows.append([*(fmt_setting(v) for v in g), label, fmt_diff(diffs), str(len(diffs))])
    if not rows:
        return []
    out = [f"Paired by seed (same seed, same batches): val bpb of one {key} minus the other; negative = better.", ""]
    return out + table([*other, "comparison", "Δ val bpb", "seeds"], rows) + [""]


# --- ablation


def has_settings(run: Run, settings: dict) -> bool:
    """Whether `run` was made with every setting in `settings` (an ablation's `#| baseline:`)."""
    return all(run.config.get(k) == v for k, v in settings.items())


def ablation_section(sweep, runs: list[Run]) -> list[str]:
    """One row per variant (a combination of the settings that vary; all config keys are candidates, since
    a variant may be any set of flag overrides), each with its paired difference to the baseline variant."""
    keys = sweep.report.get("settings") or varying(runs, None)
    baseline = sweep.report["baseline"]
    variants = group(runs, keys)
    bases = [(g, rs) for g, rs in variants if has_settings(rs[0], baseline)]
    if len(bases) > 1:
        raise LadderError(f"{sweep.file}: baseline {baseline} matches {len(bases)} variants; name more settings")
    base_g, base_runs = bases[0] if bases else (None, [])
    ours = [r for r in runs if r.name.startswith(sweep.name + "-")]
    out = [f"## {sweep.title}", ""] + intro(sweep, ours, "one row per variant, seeds pooled")
    if source := sweep.report.get("baseline_from"):
        out += [f"The baseline's runs are `{source}-*` at the same rung and steps (not rerun here).", ""]
    if sources := sweep.report.get("variants_from"):
        named = ", ".join(f"`{s}-*`" for s in sources)
        out += [f"Also in the table: the runs of {named} at the same rung, steps and settings (not rerun here).", ""]
    out += [
        "Δ: a variant's val bpb minus the baseline's at the same seed (the same batches), mean ± sample sd over "
        "the seeds both have; negative = better than the baseline. Every variant stays in the table.",
        "",
    ]
    if not bases:
        named = ", ".join(show(k, v) for k, v in baseline.items())
        out += [f"The baseline ({named}) has no finished run yet, so there is no Δ.", ""]
    sliding = any(values(rs, "val/bpb_sliding") for _, rs in variants)  # as in the ladder's table
    rows = []
    for g, rs in sorted(variants, key=lambda v: (v[0] != base_g, natural_tuple(v[0]))):
        settings = list(zip(keys, g))
        if g == base_g:
            label = "baseline" + (f" ({', '.join(show(k, v) for k, v in settings)})" if keys else "")
            diff, pairs = "—", "—"
        else:  # name a variant by what it changes (all its settings while there is no baseline to differ from)
            label = ", ".join(show(k, v) for (k, v), b in zip(settings, base_g or g) if base_g is None or v != b)
            diffs = paired_diffs(rs, base_runs)
            diff, pairs = fmt_diff(diffs), str(len(diffs))
        row = [label, distinct(rs, lambda r: f"{r.summary['params']:,}"), distinct(rs, lambda r: r.summary["steps"])]
        row += [fmt_spread(values(rs, "val/bpb")), diff, pairs, fmt_spread(values(rs, "test/bpb"), n=False)]
        rows.append(row + ([fmt_spread(values(rs, "val/bpb_sliding"), n=False)] if sliding else []))
    header = ["variant", "params", "steps", "val bpb", "Δ val bpb vs baseline (paired)", "seeds paired", "test bpb"]
    header += ["val bpb, sliding (stride T/2)"] if sliding else []
    return out + table(header, rows) + [""]


# --- runs outside every sweep


def other_section(runs: list[Run]) -> list[str]:
    if not runs:
        return []
    rows = [[f"`{r.name}`", r.rung, fmt_spread([r.summary["val/bpb"]]), f"{r.summary['test/bpb']:.4f}"] for r in runs]
    return ["## Other finished runs", ""] + table(["run", "rung", "val bpb", "test bpb"], rows) + [""]


def unfinished_section(runs: list[Run]) -> list[str]:
    out = ["## Unfinished runs", ""]
    if not runs:
        return out + ["None.", ""]
    out += ["No summary.json yet (still running, stopped, or failed); not counted in any table above.", ""]
    for r in runs:
        steps = [m["step"] for m in r.metrics]
        evals = [m for m in r.metrics if "val_prefix/bpb" in m]
        progress = f"step {max(steps)} of {r.config.get('max_steps', '?')}" if steps else "no metrics yet"
        last = f", last val-prefix bpb {evals[-1]['val_prefix/bpb']:.4f}" if evals else ""
        out.append(f"- `{r.name}` ({r.rung}): {progress}{last}")
    return out + [""]
