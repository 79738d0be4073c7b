"""Multi-process data parallel on CPU: `torchrun --nproc_per_node=2` trains a rung with gloo,
only rank 0 writes, each rank draws its own batches, and the run resumes with 2 processes.
Run: pytest tests/test_ddp.py"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from common.config import parse_config
from common.data import Batcher, load_dataset, rank_seed
from tests.conftest import ROOT, rung_module, tiny_argv

v2 = rung_module("v2_bpe_rope")


def torchrun(args, tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "v2_bpe_rope.py", *args]
    return subprocess.run(
        cmd,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


@pytest.mark.slow  # two processes end to end (about 20 s); run with `pytest -m slow`
def test_two_processes_train_resume_and_write_once(tmp_path):
    argv = tiny_argv(v2, tmp_path, name="ddp", max_steps=6, eval_interval=3)
    r = torchrun(argv, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count("final: val loss") == 1  # only rank 0 evaluates and prints
    config = json.loads((tmp_path / "runs" / "ddp" / "config.json").read_text())
    assert config["world_size"] == 2
    summary = json.loads((tmp_path / "runs" / "ddp" / "summary.json").read_text())
    # tokens and bytes count every rank's batches: redraw both ranks' batches and sum their bytes
    assert summary["tokens"] == 6 * 2 * config["batch_size"] * config["block_size"]
    cfg, _ = parse_config(v2.Config, argv)
    data = load_dataset(cfg)
    expected = 0.0
    for rank in (0, 1):
        batcher = Batcher(
            data.train.ids, cfg.block_size, cfg.batch_size, rank_seed(cfg.seed, rank), torch.device("cpu")
        )
        expected += sum(float(data.byte_lut["train"][batcher.next()[1].numpy()].sum()) for _ in range(6))
    assert summary["bytes"] == pytest.approx(expected)
    state = torch.load(tmp_path / "ckpt" / "ddp" / "ckpt.pt", weights_only=True)
    a, b = state["sampler_rng"]  # one batch-sampler state per rank, and they differ
    assert not torch.equal(a, b)

    r = torchrun([*argv, "--resume=auto", "--max_steps=9"], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "resuming ddp" in r.stdout and "at step 6" in r.stdout
    assert json.loads((tmp_path / "runs" / "ddp" / "summary.json").read_text())["steps"] == 9


def rank_pid(rank: int, script: str) -> int | None:
    """The pid of torchrun's worker of `rank` (its environment says RANK=<rank>)."""
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            env = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if script.encode() in cmd and b"torch.distributed.run" not in cmd and f"RANK={rank}".encode() in env:
            return int(proc.name)
    return None


@pytest.mark.slow  # two processes, one killed (about 15 s)
def test_a_killed_rank_stops_the_other_with_one_line_and_a_good_checkpoint(tmp_path):
    argv = tiny_argv(v2, tmp_path, name="k", max_steps=100000, eval_interval=10, log_interval=1, sample_tokens=0)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "v2_bpe_rope.py"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([*cmd, *argv], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ckpt = tmp_path / "ckpt" / "k" / "ckpt.pt"
    deadline = time.time() + 240
    while not (ckpt.exists() and (victim := rank_pid(1, "v2_bpe_rope.py"))):
        assert proc.poll() is None and time.time() < deadline, proc.communicate()[1][-2000:]
        time.sleep(0.1)
    os.kill(victim, signal.SIGKILL)
    t0 = time.time()
    _, err = proc.communicate(timeout=120)  # no hang: the survivor notices at its next collective
    assert proc.returncode != 0 and time.time() - t0 < 60
    assert "error: rank 0: another process of this run stopped" in err and "[rank0]: Traceback" not in err, err[-3000:]
    state = torch.load(ckpt, weights_only=True)  # the last checkpoint is whole and finite
    assert state["step"] % 10 == 0 and all(t.isfinite().all() for t in state["model"].values())
