"""The plots of results/plots/, one function per plot kind a sweep file can ask for (`#| plots:`):

- bytes:   val bpb (periodic evals) against bytes of training text seen; per rung the seeds thin and
           their mean thick, and the runs of a contribution marked `dashed: true` each as a dashed line
- context: val bpb at 1x-8x the training context, one line per rung (and other varying setting)
- line:    val bpb against a numeric setting `x` on a log axis; one colour per rung, one line style per
           value of the other settings that split lines (a budget reads "1000 steps")

Several sweeps may draw into one file: their runs are pooled. Each function returns False when it has
nothing to draw. Files carry no version stamp, so a rerun on the same runs gives identical bytes.
"""

import statistics
from pathlib import Path

from experiments.report_runs import (
    BUDGETS,
    MULTS,
    Run,
    budget_of,
    distinct,
    fmt_setting,
    mean_sd,
    natural,
    natural_tuple,
    show,
    values,
    varying,
)

STYLES = ["-", "--", ":", "-."]


def draw(path: Path, spec: dict, runs: list[Run], dashed: list[Run], params, baseline_runs: list[Run]) -> bool:
    """One plot file of kind spec["kind"] from the runs of every sweep that draws in it."""
    if spec["kind"] == "bytes":
        return plot_bytes(runs, path, dashed)
    if spec["kind"] == "context":
        return plot_context(runs + dashed, params, path, spec.get("lines"))
    return plot_line(runs + dashed, params, path, spec, baseline_runs)


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


def log_x(ax, xs: list[float]):
    ax.set_xscale("log")
    if len(xs) <= 8:  # label the values themselves ("500", "0.001", "2x"), not powers of ten
        ax.set_xticks(xs, [f"{x:g}" for x in xs])
        ax.minorticks_off()


def lines_of(runs: list[Run], params, keys: list[str] | None, exclude: set) -> tuple[list[str], list]:
    """The settings that split runs into lines (the rung, then every other one that varies, unless `keys`
    names them) and the runs of each line, seeds pooled, in natural order."""
    if keys is None:
        keys = ["rung"] + [k for k in varying(runs, params) if k not in exclude | {"rung"}]
    lines: dict[tuple, list[Run]] = {}
    for r in runs:
        lines.setdefault(tuple(r.config.get(k) for k in keys), []).append(r)
    return keys, [(g, lines[g]) for g in sorted(lines, key=natural_tuple)]


# --- val bpb against bytes seen


def bpb_curve(run: Run) -> list[tuple[int, float, float]]:
    """(step, bytes seen, val-prefix bpb) for each eval record; bytes from the last train record at or before it."""
    by_step = {}  # subtle: a resumed run can log a step twice; the later record wins
    for m in run.metrics:
        by_step.setdefault(m["step"], {}).update(m)
    train = sorted((s, m["bytes"]) for s, m in by_step.items() if "bytes" in m)
    curve, k, seen = [], 0, 0.0
    for step in sorted(s for s, m in by_step.items() if "val_prefix/bpb" in m):
        while k < len(train) and train[k][0] <= step:
            seen = train[k][1]
            k += 1
        curve.append((step, seen, by_step[step]["val_prefix/bpb"]))
    return curve


def plot_bytes(runs: list[Run], path: Path, dashed: list[Run] = ()) -> bool:
    """Per rung its runs (seeds thin, mean thick), plus `dashed` runs each as a dashed line in its rung's colour."""
    rungs = sorted({r.rung for r in runs}, key=natural)
    curves = {rung: [c for c in (bpb_curve(r) for r in runs if r.rung == rung) if c] for rung in rungs}
    curves = {k: v for k, v in curves.items() if v}
    dashed = [(r, c) for r in dashed if (c := bpb_curve(r))]
    if not curves and not dashed:
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
    for k, (r, c) in enumerate(dashed):
        color = colors.get(r.rung, f"C{len(curves) + k}")
        minutes = f", {r.summary['wall_time_s'] / 60:.0f} min" if r.summary.get("wall_time_s") else ""
        pts = [(b, y) for _, b, y in c if b > 0]
        ax.plot(*zip(*pts), color=color, lw=1.5, ls="--", label=f"{r.name} ({r.summary['steps']} steps{minutes})")
    ax.set_xscale("log")
    save(fig, path)
    return True


# --- val bpb against evaluation context


def plot_context(runs: list[Run], params, path: Path, keys: list[str] | None = None) -> bool:
    """val bpb against evaluation context, one line per value of `keys` (default: the rung and every
    setting that varies); a setting a run does not have is left out of its label."""
    lines = []
    for g, rs in lines_of(runs, params, keys, set())[1]:
        pts = [(m, *mean_sd(values(rs, f"val/bpb@{m}x"))) for m in MULTS if values(rs, f"val/bpb@{m}x")]
        if pts:
            lines.append((f"{', '.join(fmt_setting(v) for v in g if v is not None)} (n={len(rs)})", pts))
    if not lines:
        return False
    fig, ax = new_figure("Length extrapolation: val bits per byte vs evaluation context (mean ± sd over seeds)", "")
    block = distinct(runs, lambda r: r.config.get("block_size", "?"))
    ax.set_xlabel(f"evaluation context (multiples of the training context, {block} tokens; log scale)")
    for i, (label, pts) in enumerate(lines):
        xs, ys, sds = zip(*pts)
        style = ("-", "--", ":")[i // 10 % 3]  # matplotlib cycles 10 colours: line 11 would repeat line 1's
        ax.errorbar(xs, ys, yerr=[sd or 0.0 for sd in sds], marker="o", capsize=4, label=label, linestyle=style)
    ax.set_xscale("log", base=2)
    ax.set_xticks(MULTS, [f"{m}x" for m in MULTS])
    ax.minorticks_off()
    save(fig, path)
    return True


# --- val bpb against a setting


def plot_line(runs: list[Run], params, path: Path, spec: dict, baseline_runs: list[Run] = ()) -> bool:
    """val bpb (mean over seeds, ± sd where a point has several) against config[spec["x"]].

    `baseline_runs` (e.g. the <rung>-default-* runs) join a line that has the same rung and other line
    settings and one of its seeds, at an x the line lacks: a confirmation sweep that leaves out the
    default learning rate still shows it."""
    x = spec["x"]
    runs = [r for r in runs if isinstance(r.config.get(x), int | float) and r.config[x] > 0]
    if not runs:
        return False
    keys, lines = lines_of(runs, params, spec.get("lines"), {x})
    for g, rs in lines:
        have = {(r.config[x], r.config.get("seed")) for r in rs}
        seeds = {seed for _, seed in have}
        for a in baseline_runs:
            at = (a.config.get(x), a.config.get("seed"))
            same = all(a.config.get(k) == v for k, v in zip(keys, g))
            if same and isinstance(at[0], int | float) and at[0] > 0 and at[1] in seeds and at not in have:
                rs.append(a)
                have.add(at)
    points = [[[r for r in rs if r.config[x] == v] for v in sorted({r.config[x] for r in rs})] for _, rs in lines]
    n = sorted({len(p) for ps in points for p in ps})
    note = ["1 seed per point" if n == [1] else f"n={'/'.join(map(str, n))} seeds per point"]
    if not set(keys) & set(BUDGETS):  # the budget splits no lines: it is the same everywhere, say it once
        note.insert(0, budget_of([r for _, rs in lines for r in rs]))
    fig, ax = new_figure(f"{spec.get('title', f'Validation bits per byte vs {x}')}\n({', '.join(note)})", "")
    ax.set_xlabel(spec.get("xlabel", f"{x} (log scale)"))
    rungs = sorted({r.rung for _, rs in lines for r in rs}, key=natural)  # one colour per rung

    def rest(g):  # the line's settings besides its rung: one line style each
        return tuple(v for k, v in zip(keys, g) if k != "rung")

    styles = sorted({rest(g) for g, _ in lines}, key=natural_tuple)
    for (g, rs), ps in zip(lines, points):
        xs = [p[0].config[x] for p in ps]
        ys, sds = zip(*(mean_sd(values(p, "val/bpb")) for p in ps))
        style = STYLES[(len(styles) - 1 - styles.index(rest(g))) % len(STYLES)]  # the last (longest budget) solid
        kw = dict(color=f"C{rungs.index(rs[0].rung)}", marker="o", label=", ".join(show(k, v) for k, v in zip(keys, g)))
        if any(sd is not None for sd in sds):
            ax.errorbar(xs, ys, yerr=[sd or 0.0 for sd in sds], ls=style, capsize=4, **kw)
        else:
            ax.plot(xs, ys, style, **kw)
    log_x(ax, sorted({r.config[x] for _, rs in lines for r in rs}))
    save(fig, path)
    return True
