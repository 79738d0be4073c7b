"""The wandb dashboard shows what the ladder's table shows (issue 32): an offline run's `.wandb`
file, read back as `wandb sync` would upload it, has the same full-split val/* and test/* in its
summary as the run's summary.json, and its curves are declared against bytes of text seen.
Run: pytest tests/test_tracking.py"""

import json

import pytest
import wandb

from tests import wandb_records
from tests.conftest import rung_module, tiny_argv

v1 = rung_module("v1_transformer")


@pytest.fixture(scope="module")
def offline_run(tmp_path_factory):
    """One short offline run of v1 (evaluations at steps 2, 4, 6): its summary, summary.json, .wandb file."""
    tmp = tmp_path_factory.mktemp("offline")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WANDB_DIR", str(tmp))
        env.delenv("WANDB_MODE", raising=False)  # --wandb offline decides, not CI's environment
        wandb.teardown()  # subtle: wandb reads WANDB_DIR once per process, at its first run
        summary = v1.main(tiny_argv(v1, tmp, name="w", wandb="offline", eval_interval=2))
        wandb.teardown()
    (path,) = tmp.glob("wandb/offline-run-*/run-*.wandb")
    return summary, json.loads((tmp / "runs" / "w" / "summary.json").read_text()), path


def test_the_dashboard_summary_equals_summary_json(offline_run):
    returned, saved, path = offline_run
    dashboard = wandb_records.summary(path)
    full_split = [k for k in saved if k.startswith(("val/", "test/"))]
    assert {"val/bpb", "val/loss", "val/ppl", "test/bpb"} <= set(full_split)
    for key in full_split:
        assert dashboard[key] == saved[key] == returned[key], key  # to the last digit
    # the periodic estimate on the validation prefix is a different measurement, with its own name
    prefix = [row for row in wandb_records.history(path) if "val_prefix/bpb" in row]
    assert [row["_step"] for row in prefix] == [2, 4, 6]
    assert dashboard["val_prefix/bpb"] == prefix[-1]["val_prefix/bpb"] != saved["val/bpb"]
    assert not any(k.startswith(("val/", "test/")) for row in wandb_records.history(path) for k in row)


def test_curves_are_declared_against_bytes_seen(offline_run):
    _, saved, path = offline_run
    defined = wandb_records.metric_definitions(path)
    assert {"bytes", "tokens"} <= set(defined)
    assert defined["train/*"] == defined["val_prefix/*"] == "bytes"
    # every row that carries a curve carries its x-axis too
    for row in wandb_records.history(path):
        if any(k.startswith(("train/", "val_prefix/")) for k in row):
            assert "bytes" in row and "tokens" in row, row
    assert wandb_records.history(path)[-1]["bytes"] == saved["bytes"]
