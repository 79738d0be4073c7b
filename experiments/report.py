"""Rebuild results/LADDER.md and results/plots/ from the run folders, and nothing else.

Every number in LADDER.md comes from a run folder (config.json, metrics.jsonl, summary.json), so the
table can be regenerated at any time and a rerun on the same runs gives byte-identical output (no
timestamps). Runs are grouped by name:

- reference runs, one row per rung: `ladder-*` runs of that rung if any finished, else `<rung>-default-*`
- sweep runs: `<sweep>-*`, where <sweep> is the `name` of a sweep file in experiments/ (or, for a sweep
  whose file is gone, the part of the name before the first "-" when that is not a rung)
- unfinished runs (no summary.json): listed, never averaged

Spread is the sample standard deviation over seeds; with one seed the table says n=1 and shows no ±.

    python experiments/report.py                       # results/runs -> results/LADDER.md, results/plots/
    python experiments/report.py --runs my/runs --out my/results
"""

import argparse
import ast
import itertools
import json
import math
import os
import re
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.config import ArgParser  # noqa: E402
from common.errors import LadderError, run_cli  # noqa: E402

MULTS = (1, 2, 4, 8)  # val bpb at these multiples of the training context (summary keys val/bpb@Nx)
# config keys that never count as a "setting that varies" in a sweep table: bookkeeping, or a
# consequence of other settings (params follows the model, vocab_size follows vocab)
BOOKKEEPING = {"name", "seed", "git_commit", "out_dir", "ckpt_dir", "cache_dir", "data_dir", "resume", "wandb"}
BOOKKEEPING |= {"device", "world_size", "params", "vocab_size", "compile", "fused"}


# --- reading run folders


@dataclass
class Run:
    name: str
    config: dict
    summary: dict | None  # None: the run has not finished
    metrics: list[dict] = field(default_factory=list)

    @property
    def rung(self) -> str:
        return self.config["rung"]


def read_json(path: Path) -> dict:
    try:
        obj = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path.name} is not valid JSON ({e})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{path.name} is not a JSON object")
    return obj


def read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    text = path.read_text()
    lines = text.splitlines()
    if lines and not text.endswith("\n"):
        # subtle: a run that is still writing may leave half a line at the end; that is not corruption
        try:
            json.loads(lines[-1])
        except json.JSONDecodeError:
            lines.pop()
    records = []
    for k, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            raise ValueError(f"{path.name} line {k} is not valid JSON") from None
        if not isinstance(rec, dict) or "step" not in rec:
            raise ValueError(f"{path.name} line {k} has no step")
        records.append(rec)
    return records


def load_run(folder: Path) -> Run:
    """One run folder; ValueError (with the reason) when it is corrupt."""
    if not (folder / "config.json").is_file():
        raise ValueError("no config.json")
    config = read_json(folder / "config.json")
    if not isinstance(config.get("rung"), str):
        raise ValueError("config.json has no rung")
    summary = read_json(folder / "summary.json") if (folder / "summary.json").is_file() else None
    if summary is not None:
        for key in ("val/bpb", "test/bpb", "params", "steps", "tokens", "bytes"):
            if not isinstance(summary.get(key), int | float):
                raise ValueError(f"summary.json has no number for {key}")
    return Run(folder.name, config, summary, read_jsonl(folder / "metrics.jsonl"))


def load_runs(runs_dir: Path) -> list[Run]:
    if not runs_dir.is_dir():
        raise LadderError(f"runs folder {runs_dir} does not exist; train a rung first or pass --runs DIR")
    folders = sorted(p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    runs = []
    for folder in folders:
        try:
            runs.append(load_run(folder))
        except (ValueError, OSError) as e:
            print(f"warning: skipping corrupt run folder {folder.name}: {e}", file=sys.stderr)
    if not runs:
        raise LadderError(f"no readable run folders in {runs_dir}; train a rung first or pass --runs DIR")
    return runs


def load_sweeps(sweeps_dir: Path) -> dict[str, dict]:
    """Sweep name -> {"params": its parameter names, "file": its path}, from the sweep files in sweeps_dir."""
    sweeps = {}
    for path in sorted(sweeps_dir.glob("*.yaml")) if sweeps_dir.is_dir() else []:
        try:
            spec = yaml.safe_load(path.read_text())
        except yaml.YAMLError as e:
            raise LadderError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
        if isinstance(spec, dict) and isinstance(spec.get("parameters"), dict):
            shown = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path.name
            sweeps[str(spec.get("name", path.stem))] = {"params": list(spec["parameters"]), "file": str(shown)}
    return sweeps


def rung_idea(rung: str) -> str:
    """'a character bigram, ...' from v0_bigram.py's docstring 'v0: a character bigram, ...' (no import)."""
    path = ROOT / f"{rung}.py"
    if not path.is_file():
        return "—"
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    first = doc.strip().splitlines()[0] if doc.strip() else "—"
    return re.sub(r"^v\d+:\s*", "", first).rstrip(".")


def natural(v) -> tuple:
    """Sort key that puts v2 before v10 and numbers in numeric order."""
    if isinstance(v, int | float) and not isinstance(v, bool):
        return (0, v)
    return (1, tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(v))))


# --- grouping


def params_of(sweeps: dict, name: str) -> list[str] | None:
    return sweeps[name]["params"] if name in sweeps else None


def classify(run: Run, sweeps: dict) -> str:
    """'ladder', 'default', a sweep name, or 'other'."""
    if run.name.startswith("ladder-"):
        return "ladder"
    for name in sorted(sweeps, key=len, reverse=True):  # longest first: "lr-long" before "lr"
        if run.name.startswith(name + "-"):
            return name
    if run.name == f"{run.rung}-default" or run.name.startswith(f"{run.rung}-default-"):
        return "default"
    prefix = run.name.split("-")[0]
    if "-" in run.name and not re.match(r"v\d+_", prefix):
        return prefix  # a sweep whose file is not (or no longer) in the sweeps folder
    return "other"


def reference_runs(finished: list[Run], kinds: dict) -> dict[str, list[Run]]:
    """rung -> its finished reference runs: ladder-* where that rung has some, else <rung>-default-*."""
    refs = {}
    for rung in sorted({r.rung for r in finished}, key=natural):
        for kind in ("ladder", "default"):
            runs = [r for r in finished if r.rung == rung and kinds[r.name] == kind]
            if runs:
                refs[rung] = runs
                break
    return refs


def sweep_groups(runs: list[Run], params: list[str] | None) -> tuple[list[str], list[tuple[tuple, list[Run]]]]:
    """The settings that vary across a sweep's runs (seed aside), and the runs grouped by them."""
    if params is None:  # no sweep file: every config key that all runs share is a candidate
        params = [k for k in runs[0].config if all(k in r.config for r in runs)]
    keys = [k for k in params if k not in BOOKKEEPING and len({json.dumps(r.config.get(k)) for r in runs}) > 1]
    groups: dict[tuple, list[Run]] = {}
    for r in runs:
        groups.setdefault(tuple(r.config.get(k) for k in keys), []).append(r)
    order = sorted(groups, key=lambda g: tuple(natural(v) for v in g))
    return keys, [(g, groups[g]) for g in order]


# --- numbers and their text


def values(runs: list[Run], key: str) -> list[float]:
    return [r.summary[key] for r in runs if isinstance(r.summary.get(key), int | float)]


def mean_sd(xs: list[float]) -> tuple[float, float | None]:
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else None)


def fmt_spread(xs: list[float], digits: int = 4, n: bool = True) -> str:
    """'3.1000 ± 0.1414 (n=2)', '3.1000 (n=1)', or 'n/a'."""
    if not xs:
        return "n/a"
    m, sd = mean_sd(xs)
    text = f"{m:.{digits}f}" + (f" ± {sd:.{digits}f}" if sd is not None else "")
    return text + (f" (n={len(xs)})" if n else "")


def human(x: float) -> str:
    """12288000 -> '12.3M'."""
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def fmt_time(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min" if s < 7200 else f"{s / 3600:.1f} h"


def fmt_setting(v) -> str:
    return "—" if v is None else f"{v:.3g}" if isinstance(v, float) else str(v)


def distinct(runs: list[Run], get) -> str:
    return " / ".join(sorted({str(get(r)) for r in runs}, key=natural))


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


# --- LADDER.md


def ladder_section(refs: dict[str, list[Run]], kinds: dict, all_rungs: list[str]) -> list[str]:
    out = ["## The ladder", ""]
    out += [
        "One row per rung: its reference runs (`ladder-*` where that rung has finished ones, else "
        "`<rung>-default-*`). val/test bpb: full splits, mean ± sample sd over seeds. Word perplexity "
        "follows the WikiText convention; tokens/s and wall time are means over seeds. "
        f"@{MULTS[-1]}x ctx: the validation split read in windows of {MULTS[-1]} times the training "
        "context (n/a where the model cannot run that long).",
        "",
    ]
    rows = []
    for rung, runs in refs.items():
        s = [r.summary for r in runs]
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
                fmt_spread(values(runs, "test/bpb"), n=False),
                fmt_spread(values(runs, f"val/bpb@{MULTS[-1]}x"), n=False),
                fmt_spread(values(runs, "val/word_ppl"), digits=0, n=False),
                human(statistics.fmean(values(runs, "tokens_per_s") or [math.nan])),
                fmt_time(statistics.fmean(values(runs, "wall_time_s") or [math.nan])),
                "`ladder-*`" if kinds[runs[0].name] == "ladder" else f"`{rung}-default-*`",
                distinct(runs, lambda r: str(r.config.get("git_commit", "?"))[:7]),
            ]
        )
    header = ["rung", "idea", "params", "tokenizer", "vocab", "steps", "tokens", "bytes", "val bpb"]
    header += ["test bpb", f"val bpb @{MULTS[-1]}x ctx", "val word ppl", "tokens/s", "wall time", "runs", "commit"]
    out += table(header, rows) if rows else ["No rung has a finished reference run yet."]
    missing = [r for r in all_rungs if r not in refs]
    if missing and rows:
        out += ["", "No finished reference run yet: " + ", ".join(f"`{r}`" for r in missing) + "."]
    return out + [""]


def sweep_section(name: str, runs: list[Run], sweep: dict | None) -> list[str]:
    keys, groups = sweep_groups(runs, sweep and sweep["params"])
    out = [f"## Sweep `{name}`", ""]
    source = (
        f"`python experiments/sweep.py {sweep['file']}`" if sweep else "a sweep whose file is not in the sweeps folder"
    )
    out += [
        f"{len(runs)} finished run{'s' if len(runs) != 1 else ''} of {source}; one row per setting, seeds pooled.",
        "",
    ]
    out += ["train bytes/token: bytes per token over the training batches (mean over seeds).", ""]
    # one setting (a single long run, say): name its rung, the text it read, and how it reads longer windows
    single = not keys
    header = keys or ["rung"]
    header = (
        header + ["params", "steps"] + (["bytes seen"] if single else []) + ["train bytes/token", "val bpb", "test bpb"]
    )
    ctx = name == "positions" or single
    if ctx:
        header += [f"val bpb @{m}x ctx" for m in MULTS]
    rows = []
    for g, rs in groups:
        row = [fmt_setting(v) for v in g] or [distinct(rs, lambda r: r.rung)]
        row += [distinct(rs, lambda r: f"{r.summary['params']:,}")]
        row += [distinct(rs, lambda r: r.summary["steps"])]  # what a minutes budget reached
        if single:
            row += [human(mean_sd([r.summary["bytes"] for r in rs])[0])]
        row += [f"{mean_sd([r.summary['bytes'] / r.summary['tokens'] for r in rs])[0]:.3f}"]  # of the batches seen
        row += [fmt_spread(values(rs, "val/bpb"))]
        row += [fmt_spread(values(rs, "test/bpb"), n=False)]
        if ctx:
            row += [fmt_spread(values(rs, f"val/bpb@{m}x"), n=False) for m in MULTS]
        rows.append(row)
    out += table(header, rows)
    if ctx:
        note = "@Nx: the full validation split read in windows of N times the training context; n/a where"
        out += ["", note + " the model cannot run that long (v1's learned position table)."]
    return out + [""] + paired_section(runs, keys)


def paired_section(runs: list[Run], keys: list[str]) -> list[str]:
    """Every pair of rungs at equal other settings, paired by seed: the same
    seed means the same batches, so the per-seed difference has less noise than two means."""
    if "rung" not in keys or len({r.config.get("seed") for r in runs}) < 2:
        return []
    other = [k for k in keys if k != "rung"]
    by: dict[tuple, dict[str, dict]] = {}  # other settings -> rung -> seed -> run
    for r in runs:
        by.setdefault(tuple(r.config.get(k) for k in other), {}).setdefault(r.rung, {})[r.config.get("seed")] = r
    rows = []
    for g in sorted(by, key=lambda g: tuple(natural(v) for v in g)):
        rungs = sorted(by[g], key=natural)
        for base, rung in itertools.combinations(rungs, 2):
            seeds = sorted(set(by[g][base]) & set(by[g][rung]))
            diffs = [by[g][rung][s].summary["val/bpb"] - by[g][base][s].summary["val/bpb"] for s in seeds]
            if diffs:
                m, sd = mean_sd(diffs)
                spread = f"{m:+.4f}" + (f" ± {sd:.4f}" if sd is not None else "")
                rows.append([*(fmt_setting(v) for v in g), f"{rung} − {base}", spread, str(len(diffs))])
    if not rows:
        return []
    out = ["Paired by seed (same seed, same batches): val bpb of one rung minus the other; negative = better.", ""]
    return out + table([*other, "comparison", "Δ val bpb", "seeds"], rows) + [""]


def unfinished_section(runs: list[Run]) -> list[str]:
    out = ["## Unfinished runs", ""]
    if not runs:
        return out + ["None.", ""]
    out += ["No summary.json yet (still running, stopped, or failed); not counted in any table above.", ""]
    for r in runs:
        steps = [m["step"] for m in r.metrics]
        evals = [m for m in r.metrics if "val/bpb" in m]
        progress = f"step {max(steps)} of {r.config.get('max_steps', '?')}" if steps else "no metrics yet"
        last = f", last val-prefix bpb {evals[-1]['val/bpb']:.4f}" if evals else ""
        out.append(f"- `{r.name}` ({r.rung}): {progress}{last}")
    return out + [""]


def render(runs: list[Run], sweeps: dict, runs_label: str) -> str:
    kinds = {r.name: classify(r, sweeps) for r in runs}
    finished = [r for r in runs if r.summary is not None]
    all_rungs = sorted({p.stem for p in ROOT.glob("v[0-9]*_*.py")} | {r.rung for r in runs}, key=natural)
    data = distinct(finished, lambda r: r.config.get("data", "?")) if finished else "?"
    out = [
        "# The ladder: measured results",
        "",
        f"_Generated by `python experiments/report.py` from the run folders in `{runs_label}`; "
        "do not edit by hand, rerun it._",
        "",
        f"Corpus: {data}. bpb = bits per byte (lower is better; comparable across tokenizers).",
        "",
    ]
    out += ladder_section(reference_runs(finished, kinds), kinds, all_rungs)
    for name in sorted({k for k in kinds.values() if k not in ("ladder", "default", "other")}, key=natural):
        members = [r for r in finished if kinds[r.name] == name]
        if members:
            out += sweep_section(name, members, sweeps.get(name))
    others = [r for r in finished if kinds[r.name] == "other"]
    if others:
        out += ["## Other finished runs", ""]
        rows = [
            [f"`{r.name}`", r.rung, fmt_spread([r.summary["val/bpb"]]), f"{r.summary['test/bpb']:.4f}"] for r in others
        ]
        out += table(["run", "rung", "val bpb", "test bpb"], rows) + [""]
    out += unfinished_section([r for r in runs if r.summary is None])
    return "\n".join(out).rstrip("\n") + "\n"


# --- plots


def bpb_curve(run: Run) -> list[tuple[int, float, float]]:
    """(step, bytes seen, val-prefix bpb) for each eval record; bytes from the last train record at or before it."""
    by_step = {}  # subtle: a resumed run can log a step twice; the later record wins
    for m in run.metrics:
        by_step.setdefault(m["step"], {}).update(m)
    train = sorted((s, m["bytes"]) for s, m in by_step.items() if "bytes" in m)
    curve, k, seen = [], 0, 0.0
    for step in sorted(s for s, m in by_step.items() if "val/bpb" in m):
        while k < len(train) and train[k][0] <= step:
            seen = train[k][1]
            k += 1
        curve.append((step, seen, by_step[step]["val/bpb"]))
    return curve


def new_figure(title: str, xlabel: str, ylabel: str = "val bits per byte (lower is better)"):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3, which="both")
    return fig, ax


def save(fig, path: Path):
    import matplotlib.pyplot as plt

    fig.axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})  # no version stamp: reruns give identical files
    plt.close(fig)


def plot_bpb_vs_bytes(refs: dict[str, list[Run]], path: Path, longer: list[Run] = ()) -> bool:
    """The reference runs per rung, plus `longer` runs (the long sweep) dashed in their rung's colour."""
    curves = {rung: [c for c in (bpb_curve(r) for r in runs) if c] for rung, runs in refs.items()}
    curves = {k: v for k, v in curves.items() if v}
    longer = [(r, c) for r in longer if (c := bpb_curve(r))]
    if not curves and not longer:
        return False
    fig, ax = new_figure(
        "Validation bits per byte vs training text seen\n(periodic evals on a validation prefix; lower is better)",
        "bytes of training text seen (log scale)",
        "val bits per byte",
    )
    colors = {rung: f"C{k}" for k, rung in enumerate(curves)}
    for rung, cs in curves.items():
        color = colors[rung]
        if len(cs) > 1:
            for c in cs:  # each seed thin, their mean thick
                ax.plot([b for _, b, _ in c if b > 0], [y for _, b, y in c if b > 0], color=color, lw=0.7, alpha=0.4)
        common = sorted(set.intersection(*({s for s, _, _ in c} for c in cs)))
        pts = [[p for p in c if p[0] in common] for c in cs]
        xs = [statistics.fmean(p[i][1] for p in pts) for i in range(len(common))]
        ys = [statistics.fmean(p[i][2] for p in pts) for i in range(len(common))]
        keep = [i for i, x in enumerate(xs) if x > 0]  # an eval before the first step saw 0 bytes: off a log axis
        label = f"{rung} (mean of {len(cs)} seeds)" if len(cs) > 1 else f"{rung} (1 seed)"
        ax.plot([xs[i] for i in keep], [ys[i] for i in keep], color=color, lw=2, marker=".", label=label)
    for k, (r, c) in enumerate(longer):
        color = colors.get(r.rung, f"C{len(curves) + k}")
        minutes = f", {r.summary['wall_time_s'] / 60:.0f} min" if r.summary.get("wall_time_s") else ""
        pts = [(b, y) for _, b, y in c if b > 0]
        ax.plot(*zip(*pts), color=color, lw=1.5, ls="--", label=f"{r.name} ({r.summary['steps']} steps{minutes})")
    ax.set_xscale("log")
    save(fig, path)
    return True


def plot_lines(runs: list[Run], params, exclude: set) -> list[tuple[str, list[Run]]]:
    """Runs split into plot lines, seeds pooled: one per rung and per other setting that varies."""
    if not runs:
        return []
    keys, _ = sweep_groups(runs, params)
    other = [k for k in keys if k not in exclude | {"rung"}]
    lines: dict[tuple, list[Run]] = {}
    for r in runs:
        lines.setdefault((r.rung, *(r.config.get(k) for k in other)), []).append(r)
    order = sorted(lines, key=lambda g: tuple(natural(v) for v in g))
    return [(", ".join(fmt_setting(v) for v in g), lines[g]) for g in order]


def plot_bpb_vs_context(runs: list[Run], params, path: Path) -> bool:
    lines = []
    for label, rs in plot_lines(runs, params, set()):
        pts = [(m, *mean_sd(values(rs, f"val/bpb@{m}x"))) for m in MULTS if values(rs, f"val/bpb@{m}x")]
        if pts:
            lines.append((f"{label} (n={len(rs)})", pts))
    if not lines:
        return False
    fig, ax = new_figure("Length extrapolation: val bits per byte vs evaluation context (mean ± sd over seeds)", "")
    block = distinct(runs, lambda r: r.config.get("block_size", "?"))
    ax.set_xlabel(f"evaluation context (multiples of the training context, {block} tokens; log scale)")
    for label, pts in lines:
        xs, ys, sds = zip(*pts)
        ax.errorbar(xs, ys, yerr=[sd or 0.0 for sd in sds], marker="o", capsize=4, label=label)
    ax.set_xscale("log", base=2)
    ax.set_xticks(MULTS, [f"{m}x" for m in MULTS])
    ax.minorticks_off()
    save(fig, path)
    return True


def budget_of(runs: list[Run]) -> str:
    """What each run was given: "5 min of wall clock each" under a time budget, else "3000 steps each"."""
    minutes = sorted({r.config.get("max_minutes") or 0 for r in runs})
    if minutes != [0]:
        return f"{' / '.join(f'{m:g}' for m in minutes if m)} min of wall clock each"
    return f"{' / '.join(str(s) for s in sorted({r.summary['steps'] for r in runs}))} steps each"


def plot_sweep_line(runs: list[Run], params, xkey: str, xlabel: str, title: str, path: Path) -> bool:
    """val bpb (mean ± sd over seeds) against config[xkey] on a log axis, one line per rung."""
    runs = [r for r in runs if isinstance(r.config.get(xkey), int | float) and r.config[xkey] > 0]
    if not runs:
        return False
    fig, ax = new_figure(f"{title}\n({budget_of(runs)})", xlabel)
    exclude = {xkey, "vocab", "vocab_size"} if xkey == "vocab_size" else {xkey}
    for label, rs in plot_lines(runs, params, exclude):
        xs = sorted({r.config[xkey] for r in rs})
        at = [[r for r in rs if r.config[xkey] == x] for x in xs]
        ys, sds = zip(*(mean_sd(values(group, "val/bpb")) for group in at))
        n = sorted({len(group) for group in at})
        label += " (1 seed per point)" if n == [1] else f" (n={'/'.join(map(str, n))} seeds per point)"
        ax.errorbar(xs, ys, yerr=[sd or 0.0 for sd in sds], marker="o", capsize=4, label=label)
    ax.set_xscale("log")
    xs = sorted({r.config[xkey] for r in runs})
    if len(xs) <= 8:  # label the swept values themselves ("500", "0.001"), not powers of ten
        ax.set_xticks(xs, [f"{x:g}" for x in xs])
        ax.minorticks_off()
    save(fig, path)
    return True


def lr_lines(runs: list[Run], anchors: list[Run]) -> dict[tuple, list[Run]]:
    """(rung, max_steps) -> its runs of the learning-rate sweeps. `anchors` (the <rung>-default-* runs)
    join the line with the same rung, step budget and seed where their lr is not already on it, so the
    confirmation line (lr_confirm.yaml) is not missing its baseline at the default lr."""
    lines: dict[tuple, list[Run]] = {}
    for r in runs:
        if isinstance(r.config.get("lr"), int | float) and r.config["lr"] > 0:
            lines.setdefault((r.rung, r.config.get("max_steps")), []).append(r)
    for (rung, steps), rs in lines.items():
        seeds = {r.config.get("seed") for r in rs}
        have = {(r.config["lr"], r.config.get("seed")) for r in rs}
        for a in anchors:
            key = (a.config.get("lr"), a.config.get("seed"))
            if a.rung == rung and a.config.get("max_steps") == steps and key[1] in seeds and key not in have:
                rs.append(a)
                have.add(key)
    return lines


def plot_lr(runs: list[Run], anchors: list[Run], path: Path) -> bool:
    """val bpb against peak lr: one colour per rung, one line style per step budget (see lr_lines)."""
    lines = lr_lines(runs, anchors)
    if not lines:
        return False
    fig, ax = new_figure(
        "Validation bits per byte vs peak learning rate (one seed per point)", "peak learning rate (log scale)"
    )
    rungs = sorted({rung for rung, _ in lines}, key=natural)
    budgets = sorted({steps for _, steps in lines}, key=natural)
    styles = ["--", "-", ":", "-."]
    for rung, steps in sorted(lines, key=lambda g: tuple(natural(v) for v in g)):
        rs = lines[(rung, steps)]
        xs = sorted({r.config["lr"] for r in rs})
        ys = [statistics.fmean(values([r for r in rs if r.config["lr"] == x], "val/bpb")) for x in xs]
        style = styles[budgets.index(steps) % len(styles)]
        ax.plot(xs, ys, style, color=f"C{rungs.index(rung)}", marker="o", label=f"{rung}, {steps} steps")
    ax.set_xscale("log")
    xs = sorted({r.config["lr"] for rs in lines.values() for r in rs})
    if len(xs) <= 8:
        ax.set_xticks(xs, [f"{x:g}" for x in xs])
        ax.minorticks_off()
    save(fig, path)
    return True


# ---


def main(argv=None):
    ap = ArgParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    ap.add_argument("--runs", type=Path, default=ROOT / "results" / "runs", help="folder of run folders")
    ap.add_argument("--out", type=Path, default=ROOT / "results", help="where LADDER.md and plots/ go")
    ap.add_argument("--sweeps", type=Path, default=ROOT / "experiments", help="folder of sweep YAML files")
    args = ap.parse_args(argv)

    runs = load_runs(args.runs)
    sweeps = load_sweeps(args.sweeps)
    runs_dir = args.runs.resolve()
    label = str(runs_dir.relative_to(ROOT)) if runs_dir.is_relative_to(ROOT) else runs_dir.name
    text = render(runs, sweeps, label)

    args.out.mkdir(parents=True, exist_ok=True)
    ladder = args.out / "LADDER.md"
    tmp = ladder.with_suffix(".md.tmp")
    tmp.write_text(text)
    os.replace(tmp, ladder)  # atomic: a crash never leaves half a table behind
    finished = [r for r in runs if r.summary is not None]
    kinds = {r.name: classify(r, sweeps) for r in runs}
    in_sweeps = sorted({kinds[r.name] for r in finished} - {"ladder", "default", "other"}, key=natural)
    print(
        f"wrote {ladder}: {len(reference_runs(finished, kinds))} rungs in the ladder, "
        f"sweeps: {', '.join(in_sweeps) or 'none'}; {len(finished)} finished and "
        f"{len(runs) - len(finished)} unfinished runs"
    )

    of = {
        name: [r for r in finished if kinds[r.name] == name] for name in ("positions", "vocab", "lr", "lr3000", "long")
    }
    plots = args.out / "plots"
    plots.mkdir(exist_ok=True)
    jobs = {
        "bpb_vs_bytes.png": lambda p: plot_bpb_vs_bytes(reference_runs(finished, kinds), p, of["long"]),
        "bpb_vs_context.png": lambda p: plot_bpb_vs_context(of["positions"], params_of(sweeps, "positions"), p),
        "bpb_vs_vocab.png": lambda p: plot_sweep_line(
            of["vocab"],
            params_of(sweeps, "vocab"),
            "vocab_size",
            "vocabulary size (tokens; log scale)",
            "Validation bits per byte vs vocabulary size",
            p,
        ),
        "lr_sweep.png": lambda p: plot_lr(
            of["lr"] + of["lr3000"], [r for r in finished if kinds[r.name] == "default"], p
        ),
    }
    for fname, job in jobs.items():
        path = plots / fname
        if job(path):
            print(f"wrote {path}")
        else:
            note = "no data yet"
            if path.exists():  # a plot of data that is gone would mislead; the report owns this folder
                path.unlink()
                note += "; removed the old file"
            print(f"skipped {fname}: {note}")


if __name__ == "__main__":
    run_cli(main)
