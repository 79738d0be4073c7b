"""experiments/sweep.py: wandb sweep files expanded and run locally, finished runs skipped,
interrupted runs resumed, one-line errors. Run: pytest tests/test_experiments.py"""

import json
import subprocess
import sys
from statistics import mean

import pytest
import yaml

from common.errors import LadderError
from experiments import rung as rung_launcher
from experiments import sweep
from tests.conftest import ROOT


def test_every_shipped_sweep_file_is_a_valid_wandb_sweep():
    files = sorted((ROOT / "experiments").glob("*.yaml"))
    assert files
    for path in files:
        s = sweep.load_sweep(path)
        assert s["metric"] == {"name": "val/bpb", "goal": "minimize"}
        assert (ROOT / s["program"]).is_file() and s["command"][-1] == "${args}"
        configs = sweep.expand(s, count=3, seed=0)
        names = [sweep.run_name(s["name"], c, s["parameters"]) for c in configs]
        assert len(set(names)) == len(names), f"{path.name}: two runs would share a folder"


def test_grid_and_random_expansion():
    grid = {"method": "grid", "parameters": {"a": {"values": [1, 2]}, "b": {"value": "x"}, "c": {"values": [3, 4, 5]}}}
    assert len(sweep.expand(grid, None, 0)) == 6
    rnd = {
        "method": "random",
        "parameters": {"lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2}, "n": {"values": [1, 2]}},
    }
    a, b = sweep.expand(rnd, 5, 0), sweep.expand(rnd, 5, 0)
    assert a == b and len(a) == 5 and all(1e-4 <= c["lr"] <= 1e-2 for c in a)  # same draws on a rerun
    with pytest.raises(LadderError, match="--count"):
        sweep.expand(rnd, None, 0)


def test_run_names_show_only_what_varies():
    params = {"rung": {"values": ["v1_transformer"]}, "seed": {"values": [1, 2]}, "vocab": {"value": 500}}
    assert sweep.run_name("pos", {"rung": "v1_transformer", "seed": 2, "vocab": 500}, params) == "pos-v1_transformer-s2"


def run_sweep(path, *args):
    return subprocess.run(
        [sys.executable, "experiments/sweep.py", str(path), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow  # six subprocess runs (about 16 s); `.ci/run` runs it
def test_runs_skips_finished_and_resumes(tmp_path):
    spec = {
        "name": "t",
        "program": "experiments/rung.py",
        "method": "grid",
        "metric": {"name": "val/bpb", "goal": "minimize"},
        "parameters": {
            "rung": {"value": "v0_bigram"},
            "seed": {"values": [1, 2]},
            "data": {"value": "the-verdict"},
            "max_steps": {"value": 6},
            "eval_interval": {"value": 3},
            "block_size": {"value": 16},
            "batch_size": {"value": 4},
            "cache_dir": {"value": str(tmp_path / "cache")},
            "ckpt_dir": {"value": str(tmp_path / "ckpt")},
        },
    }
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(spec))
    out = ["--out_dir", str(tmp_path / "runs"), "--wandb", "disabled"]
    dry = run_sweep(path, "--dry-run", *out)
    assert dry.returncode == 0 and "2 to run" in dry.stdout and dry.stdout.count("experiments/rung.py") == 2
    r = run_sweep(path, *out)
    assert r.returncode == 0, r.stderr[-2000:]
    for seed in (1, 2):
        assert json.loads((tmp_path / "runs" / f"t-v0_bigram-s{seed}" / "summary.json").read_text())["steps"] == 6
    (tmp_path / "runs" / "t-v0_bigram-s2" / "summary.json").unlink()  # as if killed after its last checkpoint
    again = run_sweep(path, "--dry-run", *out)
    assert "1 finished, 1 to run" in again.stdout and "--resume=auto" in again.stdout


@pytest.mark.parametrize(
    "content, needle",
    [
        (None, "does not exist"),
        ("a: [", "not valid YAML"),
        ("a: 1", "not a wandb sweep file"),
        ("program: v0_bigram.py\nparameters: [1, 2]", "a mapping of settings"),
        ("program: v0_bigram.py\nparameters: {seed: {values: [1]}, lr: {min: 1}}", "parameter 'lr' needs"),
    ],
)
def test_bad_sweep_files_get_one_line(tmp_path, content, needle):
    path = tmp_path / "s.yaml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(LadderError, match=needle):
        sweep.main([str(path)])


def test_shards_split_a_sweep_without_overlap(tmp_path, capsys):
    out = ("--out_dir", str(tmp_path / "runs"))
    path = ROOT / "experiments" / "positions.yaml"

    def names(*args):
        capsys.readouterr()
        sweep.main([str(path), "--dry-run", *out, *args])
        return [w for line in capsys.readouterr().out.splitlines() for w in line.split() if w.startswith("--name=")]

    everything, first, second = names(), names("--shard", "1/2"), names("--shard", "2/2")
    assert len(everything) == 12 and len(first) == 6 and len(second) == 6  # 4 rows x 3 seeds
    assert sorted(first + second) == sorted(everything)
    with pytest.raises(LadderError, match="--shard '3/2'"):
        sweep.main([str(path), "--dry-run", "--shard", "3/2"])


def test_rung_launcher_help_and_bad_rung(capsys):
    rung_launcher.main(["--help"])
    out = capsys.readouterr().out
    assert "--rung v3_alibi" in out and "v4_scaffold_bpe" in out
    with pytest.raises(LadderError, match="--rung must be one of v0_bigram"):
        rung_launcher.main(["--rung", "v9_nope", "--seed", "1"])


def test_calibration_files_first_that_has_the_rung_wins(tmp_path, monkeypatch):
    monkeypatch.setattr(rung_launcher, "ROOT", tmp_path)
    (tmp_path / "a.json").write_text(
        json.dumps({"rungs": {"v6_muon": {"steps": 1388}, "v1_transformer": {"steps": 3058}}})
    )
    (tmp_path / "b.json").write_text(json.dumps({"rungs": {"v6_muon": {"steps": 9}, "v7_shortcuts": {"steps": 1391}}}))
    assert rung_launcher.calibrated_steps("a.json,b.json", "v6_muon") == 1388  # the first file's figure
    assert rung_launcher.calibrated_steps("a.json,b.json", "v7_shortcuts") == 1391  # only the later sitting has it
    assert rung_launcher.calibrated_steps("a.json,b.json", "v1_numpy") == 3058  # a side rung: its parent's steps
    with pytest.raises(LadderError, match="has no figure for v8_x; time it with benchmarks/calibrate.py --only"):
        rung_launcher.calibrated_steps("a.json,b.json", "v8_x")
    with pytest.raises(LadderError, match="--calibration c.json does not exist"):
        rung_launcher.calibrated_steps("a.json,c.json", "v8_x")
    with pytest.raises(LadderError, match="--calibration . is not a calibration file"):
        rung_launcher.calibrated_steps(".", "v8_x")  # a folder


def test_a_later_calibration_sitting_is_expressed_in_the_first_ones_time(tmp_path):
    from benchmarks import calibrate

    reference = {"date": "2026-12-02", "rungs": {"v6_muon": {"s_per_step": 0.432}}}
    # here v6 took 0.5 s a step: this sitting ran slower, so every figure scales by 0.432 / 0.5
    scale, shared = calibrate.reference_scale(reference, {"v6_muon": [0.5, 0.5, 0.6], "v7_shortcuts": [0.55]})
    assert shared == ["v6_muon"] and scale == pytest.approx(0.864)
    ref = tmp_path / "cal.json"
    ref.write_text(json.dumps(reference))
    with pytest.raises(LadderError, match="times none of the rows timed here"):
        calibrate.read_reference(ref, {"v7_shortcuts": ("v7_shortcuts", {})})
    with pytest.raises(LadderError, match="is not a calibration .json"):
        calibrate.read_reference(tmp_path, {})
    with pytest.raises(LadderError, match="--only: unknown row 'v9_nope'; rows: v0_bigram"):
        calibrate.main(["--only", "v6_muon,v9_nope"])  # before any timing


def test_passes_over_the_training_split(tmp_path):
    from experiments import passes

    records = [{"step": s, "train/loss": 5.0 - s / 100, "bytes": 1000.0 * s} for s in range(10, 301, 10)]
    records += [{"step": 100, "val_prefix/loss": 4.5, "val_prefix/bpb": 1.9}, {"step": 300, "val/loss": 3.0}]
    rows = passes.rows_of(records, split_bytes=100_000)
    step, p, val, bpb, train, gap = rows[0]
    assert (step, p, val, bpb) == (100, 1.0, 4.5, 1.9)  # 100,000 bytes read: one pass
    assert train == pytest.approx(mean(5.0 - s / 100 for s in range(10, 101, 10)))  # steps 10..100
    assert gap == pytest.approx(val - train)
    assert rows[1][:2] == (300, 3.0) and rows[1][3] != rows[1][3]  # older runs' val/loss; no bpb: nan
    with pytest.raises(LadderError, match="is not a run folder"):
        passes.main([str(tmp_path)])
