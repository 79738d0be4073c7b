"""experiments/report.py: LADDER.md and plots from fake run folders with known numbers.

Checks the mean ± sample sd in the tables, that unfinished runs are listed and never averaged, that a
corrupt run folder is skipped with a warning, that plots exist where there is data and are skipped
where there is none, that a rerun is byte-identical, and that each shape of sweep is reported from
its sweep file's `#|` lines alone: a ladder (by minutes, with a fallback; by steps, with a
calibration), a settings table with paired comparisons, an ablation against a baseline variant, and
a learning-rate sweep over several lr flags. Everything lives in tmp_path.

    python -m pytest -q tests/test_report.py
"""

import json
import re
import statistics

import matplotlib.axes
import pytest
import yaml

from experiments import report, report_plots
from tests.conftest import ROOT, one_line_error

HEAD = "program: experiments/rung.py\nmethod: grid\n"
POSITIONS_YAML = f"""name: positions
{HEAD}parameters:
  rung: {{values: [v1_transformer, v2_bpe_rope]}}
  tokenizer: {{value: bpe}}
  seed: {{values: [1, 2]}}
#| columns: [context]
#| compare: rung
#| plots:
#|   - {{file: bpb_vs_context.png, kind: context}}
"""
LADDER_YAML = f"""name: ladder
{HEAD}parameters:
  seed: {{values: [1, 2]}}
  rung: {{values: [v0_bigram, v1_transformer, v2_bpe_rope]}}
#| title: The ladder
#| table: ladder
#| fallback: default
#| plots:
#|   - {{file: bpb_vs_bytes.png, kind: bytes}}
"""
VOCAB_YAML = f"""name: vocab
{HEAD}parameters:
  rung: {{values: [v2_bpe_rope, v3_alibi]}}
  vocab: {{values: [500, 2000]}}
#| plots:
#|   - {{file: bpb_vs_vocab.png, kind: line, x: vocab_size, lines: [rung]}}
"""


def sweeps_dir(tmp_path, **files):
    d = tmp_path / "sweeps"
    d.mkdir(exist_ok=True)
    for name, text in files.items():
        (d / f"{name}.yaml").write_text(text)
    return d


def make_run(runs, name, rung, seed, val=None, test=None, extra=None, steps=(100, 200), partial_tail=False):
    """A run folder; `val=None` leaves it unfinished (no summary.json)."""
    d = runs / name
    d.mkdir(parents=True)
    config = {"rung": rung, "name": name, "seed": seed, "tokenizer": "char", "vocab_size": 284, "lr": 0.001}
    config.update({"data": "wikitext-2", "block_size": 16, "max_steps": steps[-1], "git_commit": "abcdef1234"})
    config.update(extra or {})
    (d / "config.json").write_text(json.dumps(config))
    lines = []
    for k, step in enumerate(steps, 1):
        lines.append({"step": step, "train/loss": 1.0, "bytes": 1000.0 * step})
        lines.append({"step": step, "val/bpb": 4.0 - k * 0.1 - seed * 0.01})
    text = "".join(json.dumps(m) + "\n" for m in lines)
    (d / "metrics.jsonl").write_text(text + ('{"step": 3' if partial_tail else ""))
    if val is not None:
        summary = {"rung": rung, "name": name, "tokenizer": "char", "vocab_size": 284, "params": 1000}
        summary.update({"steps": steps[-1], "tokens": 6400, "bytes": 6500.0, "wall_time_s": 10.0})
        summary.update({"tokens_per_s": 640.0, "val/bpb": val, "test/bpb": test, "val/word_ppl": 100.0})
        summary.update({"val/bpb@1x": val, "val/bpb@2x": None if rung == "v1_transformer" else val + 0.1})
        summary.update({"val/bpb@4x": None, "val/bpb@8x": None})
        (d / "summary.json").write_text(json.dumps(summary))
    return d


def section(text: str, heading: str) -> str:
    return text.split(f"## {heading}\n")[1].split("\n## ")[0]


def row(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(start))


def build(tmp_path, runs, sweeps) -> str:
    out = tmp_path / "out"
    report.main(["--runs", str(runs), "--out", str(out), "--sweeps", str(sweeps)])
    return (out / "LADDER.md").read_text()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    runs = tmp / "runs"
    sweeps = sweeps_dir(tmp, positions=POSITIONS_YAML, ladder=LADDER_YAML, vocab=VOCAB_YAML)
    make_run(runs, "v0_bigram-default-s1", "v0_bigram", 1, val=3.0, test=2.9)
    make_run(runs, "v0_bigram-default-s2", "v0_bigram", 2, val=3.2, test=3.1)
    make_run(runs, "v1_transformer-default-s1", "v1_transformer", 1, val=2.0, test=2.1)
    make_run(runs, "v1_transformer-default-s2", "v1_transformer", 2, val=2.4, test=2.5)
    make_run(runs, "ladder-v1_transformer-s1", "v1_transformer", 1, val=1.9, test=1.9)  # replaces v1's default runs
    make_run(runs, "v2_bpe_rope-default-s1", "v2_bpe_rope", 1, partial_tail=True)  # still running
    (runs / "broken").mkdir()
    (runs / "broken" / "config.json").write_text("{not json")
    make_run(runs, "positions-v1_transformer-bpe-s1", "v1_transformer", 1, val=1.5, test=1.5)
    make_run(runs, "positions-v2_bpe_rope-bpe-s1", "v2_bpe_rope", 1, val=1.4, test=1.4)
    make_run(runs, "positions-v2_bpe_rope-bpe-s2", "v2_bpe_rope", 2, val=1.6, test=1.6)
    out = tmp / "out"
    argv = ["--runs", str(runs), "--out", str(out), "--sweeps", str(sweeps)]
    return argv, out


def run_report(argv, capsys):
    report.main(argv)
    return capsys.readouterr()


def test_tables_have_mean_and_sample_sd(built, capsys):
    argv, out = built
    captured = run_report(argv, capsys)
    text = (out / "LADDER.md").read_text()
    assert "Generated by `python experiments/report.py`" in text
    assert text.index("## The ladder") < text.index("## Sweep `positions`")  # ladders first
    ladder = section(text, "The ladder")
    sd = statistics.stdev([3.0, 3.2])
    v0 = row(ladder, "| `v0_bigram`")
    assert f"3.1000 ± {sd:.4f} (n=2)" in v0 and f"3.0000 ± {sd:.4f}" in v0 and "`v0_bigram-default-*`" in v0
    assert "a character bigram, a table of next-character logits" in v0  # the idea, from the docstring
    v1 = row(ladder, "| `v1_transformer`")  # a ladder run replaces the default runs, not averaged with them
    assert "1.9000 (n=1)" in v1 and "`ladder-*`" in v1
    # its step over the rung below, paired by seed: only seed 1 has both (1.9 - 3.0); v0 has none below it
    assert "| 1.9000 (n=1) | -1.1000 |" in v1 and f"(n=2) |  | 3.0000 ± {sd:.4f}" in v0
    # the positions sweep: one row per rung, seeds pooled, n/a where the model cannot run longer
    sweep = section(text, "Sweep `positions`")
    v1_row = row(sweep, "| v1_transformer")
    assert "1.5000 (n=1)" in v1_row and "±" not in v1_row and "n/a" in v1_row
    v2_row = row(sweep, "| v2_bpe_rope")
    assert f"1.5000 ± {statistics.stdev([1.4, 1.6]):.4f} (n=2)" in v2_row and "1.6000 ±" in v2_row  # @2x
    # rung against rung, paired by seed: only seed 1 has both (v2 1.4 - v1 1.5)
    assert "| v2_bpe_rope − v1_transformer | -0.1000 | 1 |" in sweep.split("Paired by seed")[1]
    # unfinished: listed with its progress, never averaged; the half-written last line is tolerated
    assert "- `v2_bpe_rope-default-s1` (v2_bpe_rope): step 200 of 200" in text
    assert "`v2_bpe_rope`" in ladder.split("No finished reference run yet:")[1]  # a rung of ladder.yaml
    assert "broken" in captured.err and "skipping corrupt run folder" in captured.err
    assert "broken" not in text


def test_plots_where_data_exists(built, capsys):
    argv, out = built
    captured = run_report(argv, capsys)
    for name in ("bpb_vs_bytes.png", "bpb_vs_context.png"):
        data = (out / "plots" / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 1000
    assert not (out / "plots" / "bpb_vs_vocab.png").exists()  # declared by vocab.yaml, which has no runs
    assert "skipped bpb_vs_vocab.png: no data yet" in captured.out
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["bpb_vs_bytes.png", "bpb_vs_context.png"]


def test_rerun_is_byte_identical(built, capsys):
    argv, out = built
    run_report(argv, capsys)
    first = {p.name: p.read_bytes() for p in [out / "LADDER.md", *sorted((out / "plots").iterdir())]}
    run_report(argv, capsys)
    second = {p.name: p.read_bytes() for p in [out / "LADDER.md", *sorted((out / "plots").iterdir())]}
    assert first == second


def test_sweeps_without_a_file_and_a_sweep_whose_name_is_not_its_file(tmp_path):
    runs = tmp_path / "runs"
    for lr, seed, val in [(0.01, 1, 2.0), (0.01, 2, 2.2), (0.1, 1, 1.8)]:
        make_run(runs, f"lr-v0_bigram-lr={lr}-s{seed}", "v0_bigram", seed, val=val, test=val, extra={"lr": lr})
    for lr in (0.01, 0.1):
        make_run(runs, f"lr3000-v0_bigram-lr={lr}", "v0_bigram", 1, val=2.0, test=2.0, extra={"lr": lr})
    long_yaml = f"name: long\n{HEAD}parameters:\n  rung: {{value: v4_scaffold_bpe}}\n#| columns: [bytes, context]\n"
    confirm_yaml = f"name: lr3000\n{HEAD}parameters:\n  lr: {{values: [0.01, 0.1]}}\n"
    make_run(runs, "long-v4_scaffold_bpe", "v4_scaffold_bpe", 1, val=1.25, test=1.2)  # one setting
    text = build(tmp_path, runs, sweeps_dir(tmp_path, long=long_yaml, lr_confirm=confirm_yaml))
    long = section(text, "Sweep `long`")
    assert "| rung | params | steps | bytes seen |" in long and "@8x ctx |" in long
    assert "| v4_scaffold_bpe | 1,000 | 200 | 6.5k |" in long and "| 1.2500 (n=1) | 1.2000 | 1.2500 | 1.3500 |" in long
    # no sweep file: the sweep is found by its name prefix and the varying setting from the configs
    sweep = section(text, "Sweep `lr`")
    assert "a sweep whose file is not in the sweeps folder" in sweep
    assert "| lr |" in sweep and "| 0.01 |" in sweep and f"2.1000 ± {statistics.stdev([2.0, 2.2]):.4f} (n=2)" in sweep
    # lr_confirm.yaml names its runs lr3000-*: the heading is the file, and the text says the prefix
    confirm = section(text, "Sweep `lr_confirm`")
    assert "2 finished runs (`lr3000-*`) of `python experiments/sweep.py" in confirm and "lr_confirm.yaml`" in confirm
    assert "## Sweep `lr3000`" not in text


@pytest.mark.parametrize("key", ["val_prefix/bpb", "val/bpb"])  # val/bpb: the prefix's name before 2026-12-04
def test_bytes_come_from_the_last_train_record_at_or_before_the_eval(tmp_path, key):
    d = make_run(tmp_path, "r", "v0_bigram", 1, val=3.0, test=3.0, steps=(10, 20))
    records = [{"step": 0, key: 5.0}, {"step": 10, "bytes": 100.0}, {"step": 15, key: 4.0}]
    records += [{"step": 20, "bytes": 200.0}, {"step": 20, key: 3.0}]
    (d / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in records))
    run = report.load_runs(tmp_path)[0]
    assert report_plots.bpb_curve(run) == [(0, 0.0, 5.0), (15, 100.0, 4.0), (20, 200.0, 3.0)]
    alone = tmp_path / "alone.png"  # dashed runs are drawn even with no reference run
    assert report_plots.plot_bytes([], alone, [run]) and alone.read_bytes()[:4] == b"\x89PNG"


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    err = one_line_error(report.main, ["--runs", str(tmp_path / "missing"), "--out", str(tmp_path)], capsys)
    assert err.startswith("error: runs folder")
    (tmp_path / "runs" / "bad").mkdir(parents=True)
    (tmp_path / "runs" / "bad" / "config.json").write_text("[1, 2")
    with pytest.raises(report.LadderError, match="no readable run folders"):
        report.main(["--runs", str(tmp_path / "runs"), "--out", str(tmp_path)])
    with pytest.raises(report.LadderError, match="--bogus"):
        report.main(["--bogus"])


@pytest.mark.parametrize(
    "block, message",
    [
        ("#| tabel: ladder", "`#| tabel: ladder` is not a valid report setting"),
        ("#| columns: [bytes, speed]", "`#| columns: ['bytes', 'speed']` is not a valid"),
        ("#| table: ablation", "an ablation needs `#| baseline"),
        ("#| plots:\n#|   - {file: a.png}", "every plot needs a `file`"),
        ("#| plots:\n#|   - {file: a.png, kind: line}", "a line plot needs `x`"),
        ("#| plots: [{file: a.png, kind: pie}]", "plot setting `kind: pie` is not valid"),
        ("#| table: [ladder", "report lines are not valid YAML"),
    ],
)
def test_a_bad_report_block_is_one_clear_line(tmp_path, block, message):
    runs = tmp_path / "runs"
    make_run(runs, "x-v0_bigram", "v0_bigram", 1, val=3.0, test=3.0)
    sweeps = sweeps_dir(tmp_path, x=f"name: x\n{HEAD}parameters:\n  seed: {{value: 1}}\n{block}\n")
    with pytest.raises(report.LadderError, match=re.escape(message)) as e:
        build(tmp_path, runs, sweeps)
    assert "x.yaml" in str(e.value) or "a.png" in str(e.value)
    assert not (tmp_path / "out").exists()  # nothing written


def test_two_sweeps_in_one_plot_must_agree(tmp_path):
    runs = tmp_path / "runs"
    make_run(runs, "a-v0_bigram", "v0_bigram", 1, val=3.0, test=3.0)
    a = f"name: a\n{HEAD}parameters:\n  lr: {{value: 0.1}}\n#| plots: [{{file: p.png, kind: line, x: lr}}]\n"
    b = f"name: b\n{HEAD}parameters:\n  lr: {{value: 0.1}}\n#| plots: [{{file: p.png, kind: line, x: wd}}]\n"
    with pytest.raises(report.LadderError, match="disagree on `x`"):
        build(tmp_path, runs, sweeps_dir(tmp_path, a=a, b=b))


def test_committed_sweep_files_stay_valid_wandb_sweeps():
    """The report's settings live in `#|` comments because wandb's sweep schema (wandb/sweeps,
    config/schema.json) has `additionalProperties: false` at the top level: these are its keys."""
    wandb_keys = {"apiVersion", "kind", "controller", "description", "program", "job", "image_uri", "entity"}
    wandb_keys |= {"project", "method", "command", "name", "run_cap", "metric", "metrics", "scheduler"}
    wandb_keys |= {"early_terminate", "parameters"}
    files = sorted((ROOT / "experiments").glob("*.yaml"))
    for path in files:
        assert set(yaml.safe_load(path.read_text())) <= wandb_keys, path.name
    sweeps = report.load_sweeps(ROOT / "experiments")  # every `#|` block parses and checks
    assert len(sweeps) == len(files)


# --- the shapes issue 18 adds: a ladder by steps, an ablation, several lr flags


def test_ladder_by_steps_names_its_calibration_and_any_rung(tmp_path, capsys):
    runs = tmp_path / "runs"
    steps = {"v0_bigram": 900, "v5_modern": 300, "v6_muon": 250, "v10_future": 100}
    for rung, n in steps.items():
        for seed in (1, 2):
            make_run(runs, f"steps-{rung}-s{seed}", rung, seed, val=2.0 + seed / 10, test=2.0, steps=(n // 2, n))
    calibration = "results/bench/not_there.md"
    steps_yaml = f"""name: steps
{HEAD}parameters:
  seed: {{values: [1, 2]}}
  rung: {{values: [v0_bigram, v5_modern, v6_muon, v7_next, v10_future]}}
#| title: The ladder by steps
#| table: ladder
#| calibration: {calibration}
#| plots: [{{file: steps_bytes.png, kind: bytes}}]
"""
    text = build(tmp_path, runs, sweeps_dir(tmp_path, steps=steps_yaml))
    ladder = section(text, "The ladder by steps")
    assert f"the calibration run `{calibration}` (that file is missing)" in ladder
    rows = [line for line in ladder.splitlines() if line.startswith("| `v")]
    assert [r.split(" | ")[0] for r in rows] == ["| `v0_bigram`", "| `v5_modern`", "| `v6_muon`", "| `v10_future`"]
    for r, (rung, n) in zip(rows, steps.items()):
        assert f"| {n} |" in r and "`steps-*`" in r, rung  # its own step count, its runs
    assert "No finished reference run yet: `v7_next`." in ladder  # a rung of the sweep file, not of the disk
    assert (tmp_path / "out" / "plots" / "steps_bytes.png").read_bytes().startswith(b"\x89PNG")
    capsys.readouterr()
    found = ROOT / "experiments" / "report.py"  # any file that exists: no missing-file note
    sweeps = sweeps_dir(tmp_path, steps=steps_yaml.replace(calibration, "experiments/report.py"))
    assert "(that file is missing)" not in build(tmp_path, runs, sweeps) and found.is_file()


ABLATION_YAML = f"""name: ablation
{HEAD}parameters:
  rung: {{value: v5_modern}}
  seed: {{values: [1, 2, 3]}}
  max_steps: {{value: 200}}
#| table: ablation
#| baseline: {{norm: rmsnorm, qk_norm: true, mlp: relu2, zero_init: true}}
"""


def test_ablation_pairs_each_variant_with_the_baseline_by_seed(tmp_path):
    runs = tmp_path / "runs"
    base = {"norm": "rmsnorm", "qk_norm": True, "mlp": "relu2", "zero_init": True, "tie_head": False}
    base_val = {1: 1.50, 2: 1.56, 3: 1.47}  # seed-to-seed spread much larger than the effects
    variants = {  # name: (flag overrides, val bpb minus the baseline's at each seed)
        "base": ({}, {1: 0.0, 2: 0.0, 3: 0.0}),
        "layernorm": ({"norm": "layernorm"}, {1: 0.011, 2: 0.014, 3: 0.012}),
        "no_qk_norm": ({"qk_norm": False}, {1: 0.020, 2: 0.025, 3: 0.018}),
        "gelu": ({"mlp": "gelu"}, {1: -0.004, 2: 0.001, 3: -0.006}),  # better: stays, reads negative
        "swiglu": ({"mlp": "swiglu"}, {1: 0.003, 3: 0.009}),  # seed 2 not finished: paired over 1 and 3
        "no_zero_init": ({"zero_init": False}, {1: 0.002, 2: 0.002, 3: 0.008}),
    }
    for name, (flags, deltas) in variants.items():
        for seed, d in deltas.items():
            val = base_val[seed] + d
            extra = base | flags | {"params": 1000}
            make_run(runs, f"ablation-v5_modern-{name}-s{seed}", "v5_modern", seed, val=val, test=val, extra=extra)
    table = section(build(tmp_path, runs, sweeps_dir(tmp_path, ablation=ABLATION_YAML)), "Sweep `ablation`")
    assert "| variant | params | steps | val bpb | Δ val bpb vs baseline (paired) | seeds paired | test bpb |" in table
    lines = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| variant")]
    assert lines[0].startswith("| baseline (norm=rmsnorm, qk_norm=true, mlp=relu2, zero_init=true) |")
    assert len(lines) == len(variants)  # every variant, better or worse
    labels = {"layernorm": "norm=layernorm", "no_qk_norm": "qk_norm=false", "gelu": "mlp=gelu"}
    labels |= {"swiglu": "mlp=swiglu", "no_zero_init": "zero_init=false"}
    for name, label in labels.items():
        deltas = variants[name][1]
        vals = [base_val[s] + d for s, d in deltas.items()]
        line = row(table, f"| {label} |")
        assert f"| {statistics.fmean(vals):.4f} ± {statistics.stdev(vals):.4f} (n={len(vals)}) |" in line
        paired = list(deltas.values())  # the paired difference is the effect itself, free of the seed spread
        sign = "+" if statistics.fmean(paired) >= 0 else "-"
        m = f"{sign}{abs(statistics.fmean(paired)):.4f} ± {statistics.stdev(paired):.4f}"
        assert f"| {m} | {len(paired)} |" in line, (name, line)
    assert "| -0.0030 ± 0.0036 | 3 |" in row(table, "| mlp=gelu |")  # by hand: mean(-4, 1, -6)e-3, sd 3.61e-3


def test_ablation_without_its_baseline_yet_says_so(tmp_path):
    runs = tmp_path / "runs"
    extra = {"norm": "layernorm", "qk_norm": True, "mlp": "relu2", "zero_init": True}
    make_run(runs, "ablation-v5_modern-layernorm-s1", "v5_modern", 1, val=1.6, test=1.6, extra=extra)
    make_run(
        runs,
        "ablation-v5_modern-gelu-s1",
        "v5_modern",
        1,
        val=1.6,
        test=1.6,
        extra=extra | {"norm": "rmsnorm", "mlp": "gelu"},
    )
    table = section(build(tmp_path, runs, sweeps_dir(tmp_path, ablation=ABLATION_YAML)), "Sweep `ablation`")
    assert "has no finished run yet, so there is no Δ" in table
    assert "| norm=layernorm, mlp=relu2 | 1,000 | 200 | 1.6000 (n=1) | n/a | 0 |" in table


def test_ablation_can_borrow_its_baseline_from_another_sweep(tmp_path):
    """`#| baseline_from: ladder`: a variant checked at the ladder's budget pairs with the ladder's runs of
    its rung at its steps that match the baseline (not the ladder's other rungs or variants, not runs at
    another budget), and counts only its own runs as the sweep's."""
    runs = tmp_path / "runs"
    for seed, val in ((1, 1.50), (2, 1.52)):
        make_run(runs, f"ladder-v5_modern-s{seed}", "v5_modern", seed, val=val, test=val, extra={"mlp": "swiglu"})
        make_run(runs, f"ladder-v4_scaffold_bpe-s{seed}", "v4_scaffold_bpe", seed, val=1.6, test=1.6)
        make_run(
            runs,
            f"confirm-v5_modern-s{seed}",
            "v5_modern",
            seed,
            val=val + 0.01 * seed,
            test=val,
            extra={"mlp": "relu2"},
        )
    make_run(runs, "ladder-v5_modern-s3", "v5_modern", 3, val=1.4, test=1.4, extra={"mlp": "swiglu"}, steps=(50, 100))
    # the other sweep's other variants at the same rung and steps are its rows, not this table's
    make_run(runs, "ladder-v5_modern-s1-mlp=gelu", "v5_modern", 1, val=1.7, test=1.7, extra={"mlp": "gelu"})
    confirm = f"""name: confirm
{HEAD}parameters:
  rung: {{value: v5_modern}}
  seed: {{values: [1, 2]}}
#| table: ablation
#| settings: [mlp]
#| baseline: {{mlp: swiglu}}
#| baseline_from: ladder
"""
    ladder = f"name: ladder\n{HEAD}parameters:\n  rung: {{values: [v4_scaffold_bpe, v5_modern]}}\n#| table: ladder\n"
    table = section(build(tmp_path, runs, sweeps_dir(tmp_path, confirm=confirm, ladder=ladder)), "Sweep `confirm`")
    assert "2 finished runs of `python experiments/sweep.py" in table and "`ladder-*`" in table
    assert "| baseline (mlp=swiglu) | 1,000 | 200 | 1.5100 ± 0.0141 (n=2) |" in table  # seed 3 ran 100 steps
    assert "| mlp=relu2 | 1,000 | 200 |" in table and "| +0.0150 ± 0.0071 | 2 |" in table
    assert "mlp=gelu" not in table
    with pytest.raises(report.LadderError, match="baseline_from: nothing"):
        build(tmp_path, runs, sweeps_dir(tmp_path, confirm=confirm.replace("from: ladder", "from: nothing")))


def test_ablation_can_take_a_seed_of_each_row_from_other_sweeps(tmp_path):
    """`#| variants_from: [single]` with `#| baseline_from: long`: a confirmation run at new seeds pairs
    with the earlier sweeps' seed-1 runs of the same rows (the baseline from one, the variant from the
    other), and leaves out their runs at other settings or another budget."""
    runs = tmp_path / "runs"
    off, on = {"dropout": 0.0}, {"dropout": 0.1}
    make_run(runs, "long-v7_shortcuts", "v7_shortcuts", 1, val=1.43, test=1.43, extra=off)
    make_run(runs, "single-v7_shortcuts", "v7_shortcuts", 1, val=1.41, test=1.41, extra=on)
    make_run(runs, "single-v7_shortcuts-dropout=0.3", "v7_shortcuts", 1, val=1.5, test=1.5, extra={"dropout": 0.3})
    make_run(runs, "single-v7_shortcuts-short", "v7_shortcuts", 2, val=1.6, test=1.6, extra=on, steps=(50, 100))
    for seed, val in ((2, 1.44), (3, 1.42)):
        make_run(runs, f"confirm-v7_shortcuts-s{seed}-base", "v7_shortcuts", seed, val=val, test=val, extra=off)
        make_run(runs, f"confirm-v7_shortcuts-s{seed}-drop", "v7_shortcuts", seed, val=val - 0.01, test=val, extra=on)
    one = f"{HEAD}parameters:\n  rung: {{value: v7_shortcuts}}\n"
    confirm = f"""name: confirm
{one}  seed: {{values: [2, 3]}}
#| table: ablation
#| settings: [dropout]
#| baseline: {{dropout: 0.0}}
#| baseline_from: long
#| variants_from: [single]
"""
    files = dict(confirm=confirm, long=f"name: long\n{one}", single=f"name: single\n{one}")
    table = section(build(tmp_path, runs, sweeps_dir(tmp_path, **files)), "Sweep `confirm`")
    assert "4 finished runs of `python experiments/sweep.py" in table and "`single-*`" in table
    assert "| baseline (dropout=0) | 1,000 | 200 | 1.4300 ± 0.0100 (n=3) |" in table
    assert "| dropout=0.1 | 1,000 | 200 | 1.4167 ± 0.0115 (n=3) | -0.0133 ± 0.0058 | 3 |" in table
    assert "dropout=0.3" not in table
    for line, instead in (("[single]", "[nothing]"), ("#| settings: [dropout]\n", "")):  # an unknown sweep; no settings
        with pytest.raises(report.LadderError, match="variants_from"):
            build(tmp_path, runs, sweeps_dir(tmp_path, **files | {"confirm": confirm.replace(line, instead)}))


def test_lr_sweep_over_several_lr_flags(tmp_path):
    runs = tmp_path / "runs"
    vals = {}
    for muon_lr in (0.01, 0.02, 0.04):
        for emb_lr in (0.01, 0.03):
            vals[muon_lr, emb_lr] = 1.5 + abs(muon_lr - 0.02) + emb_lr
            extra = {"lr": 0.003, "muon_lr": muon_lr, "emb_lr": emb_lr}
            name = f"lr_v6-v6_muon-muon_lr={muon_lr}-emb_lr={emb_lr}"
            make_run(runs, name, "v6_muon", 1, val=vals[muon_lr, emb_lr], test=1.5, extra=extra)
    lr_yaml = f"""name: lr_v6
{HEAD}parameters:
  rung: {{value: v6_muon}}
  lr: {{value: 0.003}}
  muon_lr: {{values: [0.01, 0.02, 0.04]}}
  emb_lr: {{values: [0.01, 0.03]}}
#| plots: [{{file: lr_v6.png, kind: line, x: muon_lr, title: val bpb vs Muon's learning rate}}]
"""
    text = build(tmp_path, runs, sweeps_dir(tmp_path, lr_v6=lr_yaml))
    table = section(text, "Sweep `lr_v6`")
    assert "| muon_lr | emb_lr | params |" in table  # the lr flags that vary, in the file's order; lr is fixed
    for (muon_lr, emb_lr), val in vals.items():
        assert f"| {muon_lr:g} | {emb_lr:g} | 1,000 | 200 | 1.016 | {val:.4f} (n=1) |" in table
    assert (tmp_path / "out" / "plots" / "lr_v6.png").read_bytes().startswith(b"\x89PNG")
    # one line per value of the other lr flag, labelled by its flag
    loaded = report.load_runs(runs)
    keys, lines = report_plots.lines_of(loaded, ["rung", "lr", "muon_lr", "emb_lr"], None, {"muon_lr"})
    assert keys == ["rung", "emb_lr"] and [g for g, _ in lines] == [("v6_muon", 0.01), ("v6_muon", 0.03)]
    assert [report_plots.show(k, v) for k, v in zip(keys, lines[1][0])] == ["v6_muon", "emb_lr=0.03"]


def test_line_plot_takes_default_runs_as_baseline_at_the_same_budget_and_seed(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    for lr, steps in [(0.003, 100), (0.01, 100), (0.003, 300), (0.01, 300)]:
        extra = {"lr": lr}
        make_run(runs, f"lr-v1_transformer-lr={lr}-{steps}", "v1_transformer", 1, 2.0, 2.0, extra, steps=(steps,))
    make_run(runs, "v1_transformer-default-s1", "v1_transformer", 1, val=2.5, test=2.5, steps=(300,))
    make_run(runs, "v1_transformer-default-s2", "v1_transformer", 2, val=2.5, test=2.5, steps=(300,))  # other seed
    make_run(runs, "v2_bpe_rope-default-s1", "v2_bpe_rope", 1, val=2.5, test=2.5, steps=(300,))  # other rung
    loaded = {r.name: r for r in report.load_runs(runs)}
    sweep = [r for name, r in loaded.items() if name.startswith("lr-")]
    anchors = [r for name, r in loaded.items() if "-default-" in name]
    drawn = {}
    plot = matplotlib.axes.Axes.plot

    def spy(ax, xs, ys, *args, label, **kw):  # records each line's x values by its legend label
        drawn[label] = list(xs)
        return plot(ax, xs, ys, *args, label=label, **kw)

    monkeypatch.setattr(matplotlib.axes.Axes, "plot", spy)
    spec = {"x": "lr", "title": "lr"}
    assert report_plots.plot_line(sweep, ["rung", "lr", "max_steps"], tmp_path / "lr.png", spec, anchors)
    # the 300-step line gains v1's default run (lr 1e-3, seed 1); the 100-step line has no baseline at its budget
    assert drawn == {"v1_transformer, 100 steps": [0.003, 0.01], "v1_transformer, 300 steps": [0.001, 0.003, 0.01]}
    assert (tmp_path / "lr.png").read_bytes().startswith(b"\x89PNG")


def test_the_sliding_window_column_appears_where_a_run_measured_it(tmp_path):
    steps_yaml = f"""name: steps
{HEAD}parameters:
  seed: {{values: [1, 2]}}
  rung: {{values: [v0_bigram, v6_muon]}}
#| title: The ladder by steps
#| table: ladder
"""
    runs = tmp_path / "runs"
    for seed in (1, 2):  # v0 from before the column existed, v6 with it
        make_run(runs, f"steps-v0_bigram-s{seed}", "v0_bigram", seed, val=3.0, test=3.0)
        make_run(runs, f"steps-v6_muon-s{seed}", "v6_muon", seed, val=1.5, test=1.5, extra={})
        summary = runs / f"steps-v6_muon-s{seed}" / "summary.json"
        summary.write_text(json.dumps(json.loads(summary.read_text()) | {"val/bpb_sliding": 1.4 + seed / 100}))
    ladder = section(build(tmp_path, runs, sweeps_dir(tmp_path, steps=steps_yaml)), "The ladder by steps")
    header = next(line for line in ladder.splitlines() if line.startswith("| rung"))
    col = header.split(" | ").index("val bpb, sliding (stride T/2)")
    rows = {line.split(" | ")[0]: line.split(" | ") for line in ladder.splitlines() if line.startswith("| `v")}
    assert rows["| `v6_muon`"][col] == "1.4150 ± 0.0071" and rows["| `v0_bigram`"][col] == "n/a"
    (tmp_path / "b").mkdir()  # no run measured it: no column
    for seed in (1, 2):
        make_run(tmp_path / "b" / "runs", f"steps-v0_bigram-s{seed}", "v0_bigram", seed, val=3.0, test=3.0)
    text = build(tmp_path / "b", tmp_path / "b" / "runs", sweeps_dir(tmp_path / "b", steps=steps_yaml))
    assert "sliding" not in section(text, "The ladder by steps")


def test_the_ablation_table_gains_the_sliding_column_where_a_run_measured_it(tmp_path):
    runs = tmp_path / "runs"
    base = {"norm": "rmsnorm", "qk_norm": True, "mlp": "relu2", "zero_init": True}
    for seed in (1, 2):
        make_run(runs, f"ablation-v5_modern-base-s{seed}", "v5_modern", seed, val=1.5, test=1.5, extra=base)
        d = make_run(
            runs, f"ablation-v5_modern-gelu-s{seed}", "v5_modern", seed, val=1.6, test=1.6, extra=base | {"mlp": "gelu"}
        )
        summary = json.loads((d / "summary.json").read_text()) | {"val/bpb_sliding": 1.5 + seed / 100}
        (d / "summary.json").write_text(json.dumps(summary))
    table = section(build(tmp_path, runs, sweeps_dir(tmp_path, ablation=ABLATION_YAML)), "Sweep `ablation`")
    header = next(line for line in table.splitlines() if line.startswith("| variant")).split(" | ")
    rows = [
        line.split(" | ") for line in table.splitlines() if line.startswith("| ") and not line.startswith("| variant")
    ]
    col = header.index("val bpb, sliding (stride T/2) |")  # the last column keeps the table's closing bar
    assert [r[col] for r in rows] == ["n/a |", "1.5150 ± 0.0071 |"]  # the baseline's runs predate it
