"""experiments/records.py: the record table from invented run folders (tmp_path): steps to target,
time from the calibration, the one-sided t-test against the previous record, and the rows that are
not records (a seed that missed, too few seeds, no significant gain). Run: pytest tests/test_records.py"""

import json

import pytest
from scipy import stats

from common.errors import LadderError
from experiments import records

TARGET = 1.556


def make_run(runs, name, rung, seed, target_step, val_bpb=1.55, full=()):
    """`full`: (step, full-split bpb) evaluations written to metrics.jsonl."""
    folder = runs / name
    folder.mkdir(parents=True)
    (folder / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "val/full_bpb": b}) + "\n" for s, b in full))
    (folder / "config.json").write_text(json.dumps({"rung": rung, "seed": seed, "git_commit": "abcdef123"}))
    summary = {"val/bpb": val_bpb, "test/bpb": val_bpb, "params": 1, "steps": target_step or 9, "tokens": 1, "bytes": 1}
    summary["target_step"] = target_step
    (folder / "summary.json").write_text(json.dumps(summary))


@pytest.fixture
def setup(tmp_path, monkeypatch):
    monkeypatch.setattr(records, "ROOT", tmp_path)
    runs = tmp_path / "runs"
    cal = {"rungs": {"v4": {"s_per_step": 0.4}, "v6": {"s_per_step": 0.5}}}
    (tmp_path / "cal.json").write_text(json.dumps(cal))
    for seed, steps in zip((1, 2, 3), (1600, 1650, 1700)):
        make_run(runs, f"rec_v4-s{seed}", "v4", seed, steps)
    return tmp_path, runs


def rec(sweep, change="x"):
    return {"sweep": sweep, "date": "2026-12-03", "calibration": "cal.json", "change": change}


def rows(text):
    return [line for line in text.splitlines() if line.startswith("| 1 ") or line.startswith("| 2 ")]


def test_a_faster_recipe_is_a_record_with_the_t_test_p_value(setup):
    tmp, runs = setup
    for seed, steps in zip((1, 2, 3), (900, 950, 1000)):
        make_run(runs, f"rec_v6-s{seed}", "v6", seed, steps)
    text = records.build({"target_bpb": TARGET, "records": [rec("rec_v4"), rec("rec_v6")]}, records.load_runs(runs))
    first, second = rows(text)
    assert "1650 ± 50 (n=3)" in first and "11.00 ± 0.33 min" in first and "baseline" in first
    p = stats.ttest_ind([450, 475, 500], [640, 660, 680], equal_var=False, alternative="less").pvalue
    assert f"{p:.3g}" in second and "**yes**" in second and "7.92 ± 0.42 min" in second


def test_a_seed_that_missed_the_target_is_no_record(setup):
    tmp, runs = setup
    make_run(runs, "rec_v6-s1", "v6", 1, 900)
    make_run(runs, "rec_v6-s2", "v6", 2, 900)
    make_run(runs, "rec_v6-s3", "v6", 3, None, val_bpb=1.60)  # never confirmed
    text = records.build({"target_bpb": TARGET, "records": [rec("rec_v4"), rec("rec_v6")]}, records.load_runs(runs))
    assert "no: seed 3 missed the target" in rows(text)[1]


def test_a_gain_within_noise_is_kept_as_a_negative_result(setup):
    tmp, runs = setup
    for seed, steps in zip((1, 2, 3), (1250, 1400, 1300)):  # 0.5 s/step: about as slow as v4
        make_run(runs, f"rec_v6-s{seed}", "v6", seed, steps)
    text = records.build({"target_bpb": TARGET, "records": [rec("rec_v4"), rec("rec_v6")]}, records.load_runs(runs))
    assert "no: not significant" in rows(text)[1]


def test_bad_record_files_are_one_line(setup, tmp_path):
    tmp, runs = setup
    bad = tmp / "bad.yaml"
    bad.write_text("records: []\n")
    with pytest.raises(LadderError, match="target_bpb"):
        records.load_records(bad)
    with pytest.raises(LadderError, match="does not exist"):
        records.load_records(tmp / "nope.yaml")
    text = records.build(
        {"target_bpb": TARGET, "records": [rec("rec_v4"), rec("missing", "later")]}, records.load_runs(runs)
    )
    assert "Pending (2026-12-03): later; no finished runs yet (`experiments/missing.yaml`)" in text


def test_the_crossing_is_interpolated_between_the_full_split_evaluations(setup):
    tmp, runs = setup
    # seeds that stop at the same evaluation still differ in where they crossed: the t-test needs that
    for seed, before in zip((1, 2, 3), (1.566, 1.561, 1.558)):
        make_run(runs, f"rec_v6-s{seed}", "v6", seed, 850, full=[(750, 1.58), (800, before), (850, 1.546)])
    text = records.build({"target_bpb": TARGET, "records": [rec("rec_v4"), rec("rec_v6")]}, records.load_runs(runs))
    second = rows(text)[1]
    crossings = [800 + 50 * (b - TARGET) / (b - 1.546) for b in (1.566, 1.561, 1.558)]  # 825, 816.7, 808.3
    assert "850 ± 0 (n=3)" in second and "817 ± 8" in second  # confirmed step, then the crossing
    times = [c * 0.5 for c in crossings]
    p = stats.ttest_ind(times, [640, 660, 680], equal_var=False, alternative="less").pvalue
    assert f"{p:.3g}" in second and "**yes**" in second


def test_a_run_confirmed_at_its_first_full_split_evaluation_keeps_that_step(setup):
    tmp, runs = setup
    make_run(runs, "rec_v6-s1", "v6", 1, 850, full=[(850, 1.546)])  # no evaluation above the target
    run = next(r for r in records.load_runs(runs) if r.name == "rec_v6-s1")
    assert records.crossing(run, TARGET) == 850


def test_links_are_relative_to_where_the_table_is_written(setup, capsys):
    tmp, runs = setup
    spec = tmp / "records.yaml"
    spec.write_text(json.dumps({"target_bpb": TARGET, "records": [rec("rec_v4")]}))
    out = tmp / "results" / "new" / "RECORDS.md"  # a folder that does not exist yet
    records.main(["--records", str(spec), "--runs", str(runs), "--out", str(out)])
    first = rows(out.read_text())[0]
    assert "| v4 | [rec_v4.yaml](../../experiments/rec_v4.yaml) |" in first and "([cal](../../cal.json))" in first
    with pytest.raises(LadderError, match="unrecognized arguments: --bogus"):
        records.main(["--bogus"])  # one line through run_cli, not argparse's usage block
