"""Rebuild results/LADDER.md and results/plots/ from the run folders, and nothing else.

Every number in LADDER.md comes from a run folder (config.json, metrics.jsonl, summary.json), so the
table can be regenerated at any time and a rerun on the same runs gives byte-identical output (no
timestamps). Runs are grouped by name:

- sweep runs: `<name>-*`, where <name> is the `name` of a sweep file in experiments/ (or, for a sweep
  whose file is gone, the part of the name before the first "-" when that is not a rung)
- default runs: `<rung>-default-*`, a rung trained with its defaults; a ladder may fall back on them
  and a plot may take them as its baseline
- anything else: "Other finished runs"; unfinished runs (no summary.json): listed, never averaged

What a sweep's section and plots show is declared in its own sweep file, so a new sweep needs no code.
The declaration is the file's comment lines that start with `#|`, read together as one YAML mapping.
They are comments because wandb's sweep schema allows no top-level key it does not know (wandb/sweeps,
config/schema.json: `additionalProperties: false`): `wandb sweep` would warn "Malformed sweep config"
and the local controller would refuse the file. Every key is optional:

    #| table: settings          settings: one row per combination of the settings that vary (default)
    #|                          ladder: one row per rung; ablation: one row per variant with its
    #|                          paired-by-seed difference to the baseline
    #| title: The ladder        section heading (default: Sweep `<file stem>`)
    #| settings: [rung, lr]     the settings that tell rows apart (default: the sweep's parameters
    #|                          that vary; for an ablation, every config key that varies)
    #| columns: [bytes, context]      extra columns: bytes seen; val bpb at 1x-8x the context
    #| compare: rung            settings table: paired-by-seed differences between this setting's values
    #| baseline: {mlp: relu2}   ablation (required): the settings that pick the baseline variant
    #| baseline_from: ladder_steps   ablation: the baseline's runs are that sweep's runs of this sweep's
    #|                          rungs at this sweep's max_steps (a variant checked against runs already made)
    #| variants_from: [regularise_v7]   ablation: those sweeps' runs of this sweep's rungs at its max_steps
    #|                          whose settings match a variant of this table join that row (a seed made
    #|                          earlier, under another sweep, counts with this sweep's seeds)
    #| fallback: default        ladder: a rung with no finished run here shows its <rung>-default-* runs
    #| calibration: results/bench/ladder_steps.md   ladder by steps: where its step counts came from
    #| plots:                   the files under results/plots/ that this sweep's runs are drawn in
    #|   - {file: lr_sweep.png, kind: line, x: lr}

Plot keys (kinds: see report_plots.py): file and kind (required); for kind line: x (the setting on the
x axis, required), title, xlabel, lines (the settings that split lines; default the rung and every other
setting that varies), baseline_runs: default (<rung>-default-* runs join a line that lacks their point);
for kind bytes: dashed: true (each run of this sweep dashed, not averaged per rung). Sweeps that name
the same file share one plot: their runs are pooled, and their plot keys must agree.

    python experiments/report.py                       # results/runs -> results/LADDER.md, results/plots/
    python experiments/report.py --runs my/runs --out my/results
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

# run as a file (`python experiments/x.py`), Python puts only experiments/ on sys.path: add the repo root
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.config import ArgParser
from common.errors import LadderError, run_cli
from common.files import atomic_write, disk_errors
from experiments import report_plots as plots
from experiments import report_tables as tables
from experiments.report_runs import Run, classify, distinct, load_runs, natural, rungs_on_disk

ROOT = Path(__file__).resolve().parents[1]

TABLES = {"settings": tables.settings_section, "ladder": tables.ladder_section, "ablation": tables.ablation_section}


def names(v) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


REPORT_KEYS = {  # the `#|` keys and what each accepts (see the module docstring)
    "table": lambda v: v in ("settings", "ladder", "ablation"),
    "title": lambda v: isinstance(v, str),
    "settings": names,
    "columns": lambda v: names(v) and set(v) <= {"bytes", "context"},
    "compare": lambda v: isinstance(v, str),
    "baseline": lambda v: isinstance(v, dict) and bool(v),
    "baseline_from": lambda v: isinstance(v, str),
    "variants_from": names,
    "fallback": lambda v: v == "default",
    "calibration": lambda v: isinstance(v, str),
    "plots": lambda v: isinstance(v, list) and all(isinstance(p, dict) for p in v),
}
PLOT_KEYS = {
    "file": lambda v: isinstance(v, str) and v.endswith(".png") and "/" not in v,
    "kind": lambda v: v in ("bytes", "context", "line"),
    "x": lambda v: isinstance(v, str),
    "title": lambda v: isinstance(v, str),
    "xlabel": lambda v: isinstance(v, str),
    "lines": names,
    "baseline_runs": lambda v: v == "default",
    "dashed": lambda v: isinstance(v, bool),  # this sweep's own runs only, not the whole plot
}


# --- sweep files


@dataclass
class Sweep:
    name: str  # its runs are named <name>-*
    title: str  # section heading
    file: str | None  # None: a sweep whose file is gone
    params: list[str] | None  # its parameter names
    rungs: list[str]  # the rungs it should have: its `rung` values, else every rung on disk
    report: dict  # the `#|` block, checked


def report_block(path: Path, text: str) -> dict:
    """The `#|` comment lines of a sweep file as one mapping, every key and value checked."""
    lines = [line[3:] if line.startswith("#| ") else line[2:] for line in text.splitlines() if line.startswith("#|")]
    try:
        block = yaml.safe_load("\n".join(lines)) or {}
    except yaml.YAMLError as e:
        raise LadderError(f"{path}: its `#|` report lines are not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(block, dict):
        raise LadderError(f"{path}: its `#|` report lines must form a mapping (key: value)")
    for key, value in block.items():
        if key not in REPORT_KEYS or not REPORT_KEYS[key](value):
            raise LadderError(f"{path}: `#| {key}: {value}` is not a valid report setting (see experiments/report.py)")
    for plot in block.get("plots", []):
        for key, value in plot.items():
            if key not in PLOT_KEYS or not PLOT_KEYS[key](value):
                raise LadderError(f"{path}: plot setting `{key}: {value}` is not valid (see experiments/report.py)")
        if "file" not in plot or "kind" not in plot:
            raise LadderError(f"{path}: every plot needs a `file` (NAME.png) and a `kind` (bytes, context, line)")
    if block.get("table") == "ablation" and "baseline" not in block:
        raise LadderError(f"{path}: an ablation needs `#| baseline: {{setting: value}}`, the variant to compare with")
    return block


def load_sweeps(sweeps_dir: Path) -> dict[str, Sweep]:
    """Sweep name -> Sweep, from the sweep files (wandb sweep YAML) in sweeps_dir."""
    sweeps = {}
    for path in sorted(sweeps_dir.glob("*.yaml")) if sweeps_dir.is_dir() else []:
        text = path.read_text()
        try:
            spec = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise LadderError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
        if not isinstance(spec, dict) or not isinstance(spec.get("parameters"), dict):
            continue
        shown = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path.name
        block = report_block(path, text)
        rung = spec["parameters"].get("rung") or {}
        rungs = rung.get("values", [rung["value"]] if "value" in rung else rungs_on_disk())
        name = str(spec.get("name", path.stem))
        title = block.get("title", f"Sweep `{path.stem}`")
        if name in sweeps:
            raise LadderError(f"{sweeps[name].file} and {shown} both name their runs {name}-*; give one another name")
        sweeps[name] = Sweep(name, title, str(shown), list(spec["parameters"]), list(rungs), block)
    return sweeps


def fileless(name: str) -> Sweep:
    return Sweep(name, f"Sweep `{name}`", None, None, rungs_on_disk(), {})


# --- LADDER.md


def reference_runs(sweep: Sweep, finished: list[Run], kinds: dict) -> dict[str, list[Run]]:
    """rung -> a ladder's runs of that rung, else (with `fallback: default`) its <rung>-default-* runs."""
    refs = {}
    for rung in sorted({r.rung for r in finished}, key=natural):
        for kind in (sweep.name, sweep.report.get("fallback")):
            if runs := [r for r in finished if r.rung == rung and kinds[r.name] == kind]:
                refs[rung] = runs
                break
    return refs


def borrowed(sweep: Sweep, sweeps: dict[str, Sweep], finished: list[Run], kinds: dict, ours: list[Run]) -> list[Run]:
    """The runs an ablation takes from other sweeps, each at one of its rungs and its step budget:
    `#| baseline_from:` that sweep's runs whose settings match `#| baseline:` (its other variants are
    its own rows, not this table's); `#| variants_from:` those sweeps' runs whose `#| settings:` are
    those of one of this table's rows (the baseline's included)."""
    steps = {r.config.get("max_steps") for r in ours}

    def runs_of(source: str, key: str) -> list[Run]:
        if source not in sweeps:
            raise LadderError(f"{sweep.file}: `#| {key}: {source}` names no sweep file's runs")
        return [
            r
            for r in finished
            if kinds[r.name] == source and r.rung in sweep.rungs and r.config.get("max_steps") in steps
        ]

    base, taken = sweep.report.get("baseline", {}), []
    if source := sweep.report.get("baseline_from"):
        taken += [r for r in runs_of(source, "baseline_from") if tables.has_settings(r, base)]
    if sources := sweep.report.get("variants_from"):
        if not (keys := sweep.report.get("settings")):
            raise LadderError(f"{sweep.file}: `#| variants_from:` needs `#| settings:` to match its runs to rows")

        def row(config: dict) -> tuple:
            return tuple(config.get(k) for k in keys)

        rows = {row(r.config) for r in ours} | {row(base)}
        for source in sources:
            taken += [r for r in runs_of(source, "variants_from") if row(r.config) in rows and r not in taken]
    return taken


def sections(runs: list[Run], sweeps: dict[str, Sweep]) -> list[tuple[Sweep, list[Run]]]:
    """(sweep, its finished runs) in the order of LADDER.md: ladders first, then by file name. A ladder's
    runs are its reference runs (fallback included); a ladder appears even before it has any."""
    kinds = {r.name: classify(r, list(sweeps)) for r in runs}
    finished = [r for r in runs if r.summary is not None]
    found = {kinds[r.name] for r in finished} - set(sweeps) - {"default", "other"}
    every = list(sweeps.values()) + [fileless(name) for name in found]
    out = []
    for sweep in sorted(every, key=lambda s: (s.report.get("table") != "ladder", natural(Path(s.file or s.name).stem))):
        if sweep.report.get("table") == "ladder":
            out.append((sweep, [r for rs in reference_runs(sweep, finished, kinds).values() for r in rs]))
        elif members := [r for r in finished if kinds[r.name] == sweep.name]:
            members += borrowed(sweep, sweeps, finished, kinds, members)
            out.append((sweep, members))
    return out


def render(parts: list[tuple[Sweep, list[Run]]], runs: list[Run], sweeps: dict[str, Sweep], runs_label: str) -> str:
    kinds = {r.name: classify(r, list(sweeps)) for r in runs}
    finished = [r for r in runs if r.summary is not None]
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
    for sweep, members in parts:
        out += TABLES[sweep.report.get("table", "settings")](sweep, members)
    out += tables.other_section([r for r in finished if kinds[r.name] == "other"])
    out += tables.unfinished_section([r for r in runs if r.summary is None])
    return "\n".join(out).rstrip("\n") + "\n"


# --- plots


def plot_jobs(parts: list[tuple[Sweep, list[Run]]], runs: list[Run], sweeps: dict[str, Sweep]) -> dict[str, dict]:
    """file name -> what report_plots.draw needs for it, from every sweep's `#| plots:`."""
    declared: dict[str, list[tuple[Sweep, dict]]] = {}
    for sweep in sweeps.values():
        for plot in sweep.report.get("plots", []):
            declared.setdefault(plot["file"], []).append((sweep, plot))
    members = {sweep.name: rs for sweep, rs in parts}
    default = [r for r in runs if r.summary is not None and classify(r, list(sweeps)) == "default"]
    jobs = {}
    for fname, decls in sorted(declared.items()):
        spec = merged(fname, decls)
        jobs[fname] = dict(
            spec=spec,
            runs=[r for s, plot in decls if not plot.get("dashed") for r in members.get(s.name, [])],
            dashed=[r for s, plot in decls if plot.get("dashed") for r in members.get(s.name, [])],
            params=pooled_params([s for s, _ in decls]),
            baseline_runs=default if spec.get("baseline_runs") else [],
        )
    return jobs


def merged(fname: str, decls: list[tuple[Sweep, dict]]) -> dict:
    """One plot's keys from every sweep that draws in it; two sweeps that disagree on a key are an error."""
    spec, by = {}, {}
    for sweep, plot in decls:
        for key, value in plot.items():
            if key != "dashed" and spec.setdefault(key, value) != value:
                raise LadderError(
                    f"plot {fname}: {by[key]} and {sweep.file} disagree on `{key}` ({spec[key]} vs {value})"
                )
            by.setdefault(key, sweep.file)
    if spec["kind"] == "line" and "x" not in spec:
        raise LadderError(f"plot {fname}: a line plot needs `x`, the setting on its x axis ({by['kind']})")
    return spec


def pooled_params(parts: list[Sweep]) -> list[str] | None:
    if any(s.params is None for s in parts):
        return None
    return list(dict.fromkeys(p for s in parts for p in s.params))


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
    parts = sections(runs, sweeps)
    text = render(parts, runs, sweeps, label)
    jobs = plot_jobs(parts, runs, sweeps)  # before writing anything: a plot declared wrongly stops the report

    ladder = args.out / "LADDER.md"
    atomic_write(ladder, text, "--out")  # a crash never leaves half a table behind; a bad --out is one line
    finished = sum(r.summary is not None for r in runs)
    shown = ", ".join(f"{Path(s.file or s.name).stem} ({len(rs)} runs)" for s, rs in parts)
    print(f"wrote {ladder}: {shown or 'no sections'}; {finished} finished and {len(runs) - finished} unfinished runs")

    plot_dir = args.out / "plots"
    with disk_errors(args.out, "plots/", "--out"):
        plot_dir.mkdir(exist_ok=True)
    for fname, job in jobs.items():
        path = plot_dir / fname
        if plots.draw(path, **job):
            print(f"wrote {path}")
        else:
            note = "no data yet"
            if path.exists():  # a plot of data that is gone would mislead; the report owns these files
                path.unlink()
                note += "; removed the old file"
            print(f"skipped {fname}: {note}")


if __name__ == "__main__":
    run_cli(main)
