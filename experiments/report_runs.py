"""The report's inputs and numbers: run folders read and checked, runs grouped by the settings that
vary, and the statistics and number formats that the tables (report_tables.py) and the plots
(report_plots.py) share. Nothing here knows a sweep by name.

Spread is the sample standard deviation over seeds; with one seed there is no spread (None).
"""

import ast
import json
import re
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import LadderError

ROOT = Path(__file__).resolve().parent.parent
MULTS = (1, 2, 4, 8)  # val bpb at these multiples of the training context (summary keys val/bpb@Nx)
# config keys that never count as a "setting that varies" in a sweep: bookkeeping, or a consequence
# of other settings (params follows the model, vocab_size follows vocab)
BOOKKEEPING = {"name", "seed", "git_commit", "out_dir", "ckpt_dir", "cache_dir", "data_dir", "resume", "wandb"}
BOOKKEEPING |= {"device", "world_size", "params", "vocab_size", "compile", "fused", "log_interval"}
BUDGETS = {"max_steps": "{} steps", "max_minutes": "{} min"}  # how a budget setting reads in a label


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


# Runs before 2026-12-04 logged the periodic estimate on the validation prefix as val/*, the key the
# final full-split evaluation also used (issue 32); they are read as val_prefix/* like newer runs.
OLD_PREFIX_KEYS = ("val/loss", "val/ppl", "val/bpb", "val/unk_rate", "val/best_bpb")


def prefix_keys(record: dict) -> dict:
    """A metrics.jsonl record of either era with the periodic estimate under val_prefix/*."""
    return {("val_prefix/" + k[4:] if k in OLD_PREFIX_KEYS else k): v for k, v in record.items()}


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
    if summary is not None and "val/best_bpb" in summary:  # an older run's name for the prefix's best
        summary["val_prefix/best_bpb"] = summary.pop("val/best_bpb")
    return Run(folder.name, config, summary, [prefix_keys(m) for m in read_jsonl(folder / "metrics.jsonl")])


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


def rung_idea(rung: str) -> str:
    """'a character bigram, ...' from v0_bigram.py's docstring 'v0: a character bigram, ...' (no import)."""
    path = ROOT / f"{rung}.py"
    if not path.is_file():
        return "—"
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    first = doc.strip().splitlines()[0] if doc.strip() else "—"
    return re.sub(r"^v\d+:\s*", "", first).rstrip(".")


def rungs_on_disk() -> list[str]:
    return sorted((p.stem for p in ROOT.glob("v[0-9]*_*.py")), key=natural)


# --- grouping


def natural(v) -> tuple:
    """Sort key that puts v2 before v10 and numbers in numeric order."""
    if isinstance(v, int | float) and not isinstance(v, bool):
        return (0, v)
    return (1, tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(v))))


def natural_tuple(g: tuple) -> tuple:
    return tuple(natural(v) for v in g)


def classify(run: Run, names: list[str]) -> str:
    """The sweep a run belongs to (by its name prefix), 'default' for <rung>-default-*, or 'other'."""
    for name in sorted(names, key=len, reverse=True):  # longest first: "lr-long" before "lr"
        if run.name.startswith(name + "-"):
            return name
    if run.name == f"{run.rung}-default" or run.name.startswith(f"{run.rung}-default-"):
        return "default"
    prefix = run.name.split("-")[0]
    if "-" in run.name and not re.match(r"v\d+_", prefix):
        return prefix  # a sweep whose file is not (or no longer) in the sweeps folder
    return "other"


def varying(runs: list[Run], candidates: list[str] | None) -> list[str]:
    """The candidate settings (all shared config keys when None) that differ between runs, seed aside."""
    if candidates is None:
        candidates = [k for k in runs[0].config if all(k in r.config for r in runs)]
    return [k for k in candidates if k not in BOOKKEEPING and len({json.dumps(r.config.get(k)) for r in runs}) > 1]


def group(runs: list[Run], keys: list[str]) -> list[tuple[tuple, list[Run]]]:
    """Runs grouped by their values of `keys` (seeds pooled), groups in natural order."""
    groups: dict[tuple, list[Run]] = {}
    for r in runs:
        groups.setdefault(tuple(r.config.get(k) for k in keys), []).append(r)
    return [(g, groups[g]) for g in sorted(groups, key=natural_tuple)]


def paired_diffs(runs: list[Run], base: list[Run], key: str = "val/bpb") -> list[float]:
    """runs minus base at each seed both have: the same seed means the same batches, so the per-seed
    difference has less noise than the difference of two means."""
    by_seed = {r.config.get("seed"): r.summary[key] for r in base}
    return [r.summary[key] - by_seed[r.config.get("seed")] for r in runs if r.config.get("seed") in by_seed]


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


def fmt_diff(xs: list[float]) -> str:
    """'+0.0123 ± 0.0040', '-0.1000', or 'n/a': a signed difference, so a better (lower) bpb reads negative."""
    if not xs:
        return "n/a"
    m, sd = mean_sd(xs)
    return f"{m:+.4f}" + (f" ± {sd:.4f}" if sd is not None else "")


def human(x: float) -> str:
    """12288000 -> '12.3M'."""
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def fmt_time(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min" if s < 7200 else f"{s / 3600:.1f} h"


def fmt_setting(v) -> str:
    """A setting's value as its flag is typed: 0.003, true, v2_bpe_rope; '—' when absent."""
    if isinstance(v, bool):
        return str(v).lower()
    return "—" if v is None else f"{v:.3g}" if isinstance(v, float) else str(v)


def show(key: str, v) -> str:
    """A setting in a label: a rung names itself, a budget reads '1000 steps', the rest 'key=value'."""
    if key == "rung":
        return fmt_setting(v)
    if key in BUDGETS:
        return BUDGETS[key].format(fmt_setting(v))
    return f"{key}={fmt_setting(v)}"


def distinct(runs: list[Run], get) -> str:
    return " / ".join(sorted({str(get(r)) for r in runs}, key=natural))


def budget_of(runs: list[Run]) -> str:
    """What each run was given: "5 min of wall clock each" under a time budget, else "3000 steps each"."""
    minutes = sorted({r.config.get("max_minutes") or 0 for r in runs})
    if minutes != [0]:
        return f"{' / '.join(f'{m:g}' for m in minutes if m)} min of wall clock each"
    return f"{' / '.join(str(s) for s in sorted({r.summary['steps'] for r in runs}))} steps each"
