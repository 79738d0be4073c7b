"""Faults of issue 16 and their kin: a broken setting, file or disk gets one line (a LadderError,
exit status 2 from the command line), and no good checkpoint, run folder or cache is lost.
Everything runs in-process on a tiny config. Run: pytest tests/test_faults.py"""

import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import common.files
import sample
import visualize
from common.config import out_of_bounds
from common.errors import LadderError, run_cli
from common.files import atomic_write, writable_folder
from common.generate import sample_next
from common.resume import find_resumable, load_checkpoint_state
from tests.conftest import ROOT, one_line_error, read_fifo, rung_module, tiny_argv

v0 = rung_module("v0_bigram")
v1 = rung_module("v1_transformer")


def run_v1(tmp_path, **overrides):
    return v1.main(tiny_argv(v1, tmp_path, **overrides))


def ckpt_of(tmp_path, name="r") -> Path:
    return tmp_path / "ckpt" / name / "ckpt.pt"


def finite(path) -> bool:
    state = torch.load(path, weights_only=True)
    return all(t.isfinite().all() for t in state["model"].values())


# --- 16.1: a model that blows up is never saved over a good checkpoint --------------------------


def blow_up_at(monkeypatch, k: int, how: str) -> None:
    """Make the run blow up at step `k`, the same way on every CPU (issue 31).

    A huge learning rate makes the weights overflow at a step that depends on the CPU's float
    kernels (lr 1e3 overflowed at step 2 on AMD EPYC, at step 4 on an Intel AVX-512 Xeon), so the
    step is chosen here instead: "weights" writes inf into one weight after step k's update;
    "val_loss" keeps the weights finite and makes the model's evaluation logits NaN from step k on.
    """
    import common.train

    real_step = common.train.train_step
    armed = {"eval": False}

    def poisoned_step(run, state, model):
        loss = real_step(run, state, model)  # state.step + 1 is the step this call trained
        if state.step + 1 == k:
            if how == "weights":
                with torch.no_grad():
                    next(state.model.parameters()).view(-1)[0] = float("inf")
            else:
                armed["eval"] = True
                state.model.register_forward_hook(
                    lambda module, args, out: out * float("nan") if armed["eval"] and not module.training else None
                )
        return loss

    monkeypatch.setattr(common.train, "train_step", poisoned_step)


@pytest.mark.parametrize(
    "how, says", [("weights", "the weights became NaN or inf"), ("val_loss", "the validation loss became nan")]
)
@pytest.mark.parametrize("k", [2, 4])
def test_blown_up_weights_are_not_saved_and_the_good_checkpoint_is_named(tmp_path, monkeypatch, k, how, says):
    # every step is evaluated and checkpointed: the blow-up at step k must leave step k - 1's checkpoint
    blow_up_at(monkeypatch, k, how)
    with pytest.raises(LadderError) as e:
        run_v1(tmp_path, name="r", max_steps=8, eval_interval=1, sample_tokens=0)
    assert re.fullmatch(
        rf"{says} (by|at) step {k}; stopped without saving \(the last good checkpoint is \S*ckpt.pt "
        rf"\(step {k - 1}\)\); try a lower --lr",
        str(e.value),
    ), str(e.value)
    state = load_checkpoint_state(ckpt_of(tmp_path))
    assert state["step"] == k - 1 and finite(ckpt_of(tmp_path))
    assert not (tmp_path / "runs" / "r" / "summary.json").exists()


@pytest.mark.parametrize("how", ["weights", "val_loss"])
def test_a_blow_up_before_any_checkpoint_says_there_is_none(tmp_path, monkeypatch, how):
    blow_up_at(monkeypatch, 1, how)
    with pytest.raises(
        LadderError, match=r"(NaN or inf by|validation loss became nan at) step 1;.*no checkpoint was saved yet"
    ):
        run_v1(tmp_path, name="r", eval_interval=1)
    assert not ckpt_of(tmp_path).exists()


def test_a_huge_learning_rate_stops_the_run_with_one_line_and_a_finite_checkpoint(tmp_path):
    # the real thing, with no step pinned: where lr 1e3 overflows depends on the CPU
    with pytest.raises(
        LadderError, match=r"(NaN or inf by|validation loss became (nan|inf) at|loss became (nan|inf) at) step (\d+)"
    ):
        run_v1(tmp_path, name="r", lr=1e3, max_steps=40, eval_interval=1, sample_tokens=0)
    if ckpt_of(tmp_path).exists():
        assert finite(ckpt_of(tmp_path))


def test_blow_up_on_the_last_step_keeps_the_periodic_checkpoint(tmp_path, monkeypatch):
    # no eval on the last step (6): the final summary and final checkpoint must refuse the weights
    blow_up_at(monkeypatch, 6, "weights")
    with pytest.raises(LadderError, match=r"NaN or inf by step 6.*\(step 3\)"):
        run_v1(tmp_path, name="r")
    assert load_checkpoint_state(ckpt_of(tmp_path))["step"] == 3 and finite(ckpt_of(tmp_path))
    assert not (tmp_path / "runs" / "r" / "summary.json").exists()


# --- 16.2 / 16.9: full disk, read-only or blocked folders ----------------------------------------


def test_full_disk_under_the_checkpoint_keeps_the_old_one(tmp_path):
    """Issue 16.2's repro: the checkpoint's temporary file is /dev/full."""
    run_v1(tmp_path, name="r")
    ckpt = ckpt_of(tmp_path)
    before = ckpt.read_bytes()
    tmp = ckpt.with_name(f"ckpt.pt.{os.getpid()}.tmp")
    tmp.symlink_to("/dev/full")
    with pytest.raises(LadderError, match=r"no space left on the disk holding .*ckpt/r \(writing ckpt.pt\): free"):
        run_v1(tmp_path, name="r", max_steps=12, resume=ckpt)
    assert not tmp.exists() and not tmp.is_symlink()  # the temporary file is gone
    assert ckpt.read_bytes() == before
    assert sorted(p.name for p in ckpt.parent.iterdir()) == [".lock", "ckpt.pt"]  # .lock: the run's folder lock


def test_full_disk_under_the_run_folder_is_one_line(tmp_path):
    run_dir = tmp_path / "runs" / "r"
    run_dir.mkdir(parents=True)
    (run_dir / "samples.jsonl").symlink_to("/dev/full")  # the first eval's sample cannot be written
    with pytest.raises(LadderError, match=r"no space left on the disk holding .*runs/r \(writing samples.jsonl\)"):
        run_v1(tmp_path, name="r")


@pytest.fixture
def read_only(tmp_path):
    """A folder nobody may write in: chmod for a normal user; root ignores modes, so /sys then."""
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        yield folder / "sub"
        folder.chmod(0o755)
        return
    folder = Path("/sys/ladder-read-only-test")
    try:
        folder.mkdir()
    except OSError as e:
        if e.errno in (errno.EROFS, errno.EPERM, errno.EACCES):
            yield folder
            return
    folder.rmdir() if folder.is_dir() else None
    pytest.skip("no read-only folder to test with")


@pytest.mark.parametrize("flag", ["out_dir", "ckpt_dir", "cache_dir"])
def test_unwritable_output_folders_fail_before_any_work(tmp_path, read_only, flag):
    with pytest.raises(LadderError, match=f"cannot write in {read_only}.*--{flag}"):
        run_v1(tmp_path, name="r", **{flag: read_only})
    assert not (tmp_path / "cache").exists()  # failed before the data was even read


@pytest.mark.parametrize("flag", ["out_dir", "ckpt_dir", "cache_dir"])
def test_a_file_where_a_folder_should_be(tmp_path, flag):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(LadderError, match=f"cannot write in {blocker}/x: a file stands where a folder should be"):
        run_v1(tmp_path, name="r", **{flag: blocker / "x"})


def test_visualize_out_read_only(tmp_path, read_only, capsys):
    run_v1(tmp_path, name="r")
    assert "cannot write in" in one_line_error(
        visualize.main, [str(ckpt_of(tmp_path)), "--out", str(read_only)], capsys
    )


def test_atomic_write_leaves_old_content_and_no_temp_on_any_failure(tmp_path):
    path = tmp_path / "f.txt"
    atomic_write(path, "old")

    def fail(f):
        f.write(b"half")
        raise KeyboardInterrupt  # Ctrl-C in mid-write

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, fail)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
def test_atomic_write_writes_through_a_device_or_pipe_and_never_replaces_it(tmp_path):
    # `--out /dev/null` as root once renamed a regular file over /dev/null; a FIFO stands in for the device
    got, still_fifo = read_fifo(tmp_path, lambda p: atomic_write(p, "table\n", "--out"))
    assert got == b"table\n" and still_fifo
    assert [f.name for f in tmp_path.iterdir()] == ["pipe"]  # no temporary file beside it


def test_atomic_write_syncs_the_file_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(common.files.os, "fsync", lambda fd: calls.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(common.files.os, "replace", lambda a, b: calls.append("rename") or real_replace(a, b))
    atomic_write(tmp_path / "f", b"data")
    assert calls == ["fsync", "rename", "fsync"]  # data, then name, then the folder entry


def test_writable_folder_leaves_nothing_behind(tmp_path):
    assert writable_folder(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert list((tmp_path / "a" / "b").iterdir()) == []


# --- 16.3: one checkpoint file, no index beside it to disagree with it -----------------------------


def test_no_index_file_and_resume_auto_reads_the_checkpoints_themselves(tmp_path):
    run_v1(tmp_path, name="done")
    with pytest.raises(KeyboardInterrupt):  # an unfinished run: Ctrl-C at step 2
        import signal

        import common.train

        real = common.train.lr_at
        common.train.lr_at = lambda cfg, step, p: signal.raise_signal(signal.SIGINT) or real(cfg, step, p)
        try:
            run_v1(tmp_path, name="cut")
        finally:
            common.train.lr_at = real
    assert sorted(p.name for p in ckpt_of(tmp_path, "cut").parent.iterdir()) == [".lock", "ckpt.pt"]  # no index
    (ckpt_of(tmp_path, "done").parent / "meta.json").write_text('{"rung": "v1_transformer", "finished": false}')
    ckpt_of(tmp_path, "done").touch()  # newer, and a stale index would call it unfinished
    assert find_resumable(tmp_path / "ckpt", "v1_transformer") == ckpt_of(tmp_path, "cut")


# --- 16.4: non-finite flags, and sampling from a non-finite model ----------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_non_finite_numbers_are_refused_by_the_parser(tmp_path, value):
    with pytest.raises(LadderError, match="is not a finite number"):
        run_v1(tmp_path, lr=value)
    with pytest.raises(LadderError, match="is not a finite number"):
        sample.main(["x.pt", f"--temperature={value}"])


def test_sampling_non_finite_logits_is_one_line():
    logits = torch.tensor([[0.0, float("nan"), 1.0]])
    with pytest.raises(LadderError, match="probabilities are NaN or inf"):
        sample_next(logits, temperature=1.0)


@pytest.mark.parametrize(
    "flag, value, needle",
    [
        ("beta2", 1.5, "--beta2 must be in"),
        ("weight_decay", -1, "--weight_decay must be at least 0, got -1"),
        ("min_lr_ratio", 2, "--min_lr_ratio must be in"),
        ("name", "a/b", "plain folder name"),
    ],
)
def test_more_nonsense_settings(tmp_path, flag, value, needle):
    with pytest.raises(LadderError, match=needle):
        run_v1(tmp_path, **{flag: value})


# --- 16.5: devices that are not here ---------------------------------------------------------------


@pytest.mark.parametrize("device", ["tpu", "cuda:0", "cuda:7", "meta"])
def test_missing_devices_are_one_line(tmp_path, device):
    if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.device_count() > int(device[5:]):
        pytest.skip("this machine has that GPU")
    with pytest.raises(LadderError, match=f"--device '?{device}"):
        run_v1(tmp_path, device=device)


def test_sample_on_a_missing_device(tmp_path, capsys):
    run_v1(tmp_path, name="r")
    assert "--device 'tpu'" in one_line_error(sample.main, [str(ckpt_of(tmp_path)), "--device", "tpu"], capsys)


# --- 16.6: model settings that do not fit together ------------------------------------------------


def test_model_settings_that_do_not_fit_fail_before_any_work(tmp_path):
    with pytest.raises(LadderError, match="v1_transformer's model cannot be built with --n_layer"):
        run_v1(tmp_path, n_head=3, n_embd=16)
    assert not (tmp_path / "cache").exists()  # before the data was read, not after


def test_a_rung_that_overrides_only_a_default_keeps_its_bound(tmp_path):
    # v0 writes `lr: float = 0.1` with no setting(): the bound comes from TrainConfig's field
    module = rung_module("v0_bigram")
    with pytest.raises(LadderError, match="--lr must be greater than 0, got -1"):
        module.main(tiny_argv(module, tmp_path, lr=-1))
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(
    "value, meta, problem",
    [
        (0, {"above": 0}, "must be greater than 0"),
        (-1, {"at_least": 0}, "must be at least 0"),
        (1, {"at_least": 0, "below": 1}, "must be in [0, 1)"),
        (1.5, {"at_least": 0, "at_most": 1}, "must be in [0, 1]"),
        (2, {"at_most": 1}, "must be at most 1"),
        (1, {"below": 1}, "must be less than 1"),
        (0, {"at_least": 0, "below": 1}, None),
        (1, {"at_least": 0, "at_most": 1}, None),
        (5, {}, None),
    ],
)
def test_bounds_messages(value, meta, problem):
    assert out_of_bounds(value, meta) == problem


@pytest.mark.parametrize(
    "rung, flag, value, needle",
    [
        ("v1_transformer", "n_layer", 0, "--n_layer must be at least 1, got 0"),
        ("v1_transformer", "n_head", 0, "--n_head must be at least 1"),
        ("v1_transformer", "n_embd", -4, "--n_embd must be at least 1"),
        ("v2_bpe_rope", "rope_theta", 0, "--rope_theta must be greater than 0"),
        ("v6_muon", "muon_lr", -1, "--muon_lr must be greater than 0"),
        ("v6_muon", "emb_lr", -0.1, "--emb_lr must be at least 0"),
    ],
)
def test_a_rungs_own_settings_out_of_range_fail_before_any_work(tmp_path, rung, flag, value, needle):
    # a rung declares its bounds on its own settings (setting(above=, at_least=)); common/ checks them
    module = rung_module(rung)
    with pytest.raises(LadderError, match=needle):
        module.main(tiny_argv(module, tmp_path, **{flag: value}))
    assert not (tmp_path / "cache").exists()


# --- 16.7 / 16.8: checkpoints that do not fit, or are not a rung's ---------------------------------


def edited_checkpoint(tmp_path, edit) -> Path:
    run_v1(tmp_path, name="r")
    state = torch.load(ckpt_of(tmp_path), weights_only=True)
    edit(state)
    path = tmp_path / "x.pt"
    torch.save(state, path)
    return path


def rename_qkv(state):
    state["model"]["blocks.0.attn.c_attn.weight"] = state["model"].pop("blocks.0.attn.qkv.weight")


def reshape_wte(state):
    state["model"]["wte.weight"] = torch.zeros(5, 16)


@pytest.mark.parametrize("edit", [rename_qkv, reshape_wte], ids=["renamed", "reshaped"])
def test_weights_that_do_not_fit_the_model(tmp_path, capsys, edit):
    path = edited_checkpoint(tmp_path, edit)
    with pytest.raises(LadderError, match=r"x.pt does not fit v1_transformer.py's model"):
        run_v1(tmp_path, resume=path)
    assert "does not fit" in one_line_error(sample.main, [str(path)], capsys)  # the same check


def test_non_finite_weights_in_a_checkpoint(tmp_path, capsys):
    path = edited_checkpoint(tmp_path, lambda s: s["model"]["wte.weight"].fill_(float("nan")))
    assert "NaN or inf weights" in one_line_error(sample.main, [str(path)], capsys)
    with pytest.raises(LadderError, match="NaN or inf weights"):
        run_v1(tmp_path, resume=path)


def test_optimizer_state_that_does_not_fit(tmp_path):
    path = edited_checkpoint(tmp_path, lambda s: s.update(optimizer=[s["optimizer"][0]] * 2))
    with pytest.raises(LadderError, match="holds 2 optimizer state"):
        run_v1(tmp_path, resume=path)


def test_unreadable_tokenizer_in_a_checkpoint(tmp_path, capsys):
    path = edited_checkpoint(tmp_path, lambda s: s.update(tokenizer="{not json"))
    assert "tokenizer" in one_line_error(sample.main, [str(path)], capsys)


@pytest.mark.parametrize(
    "content, needle",
    [
        ({"format": 1, "model": {}}, "lacks rung, config, tokenizer"),
        ({"format": 1, "model": {}, "rung": None, "config": {}, "tokenizer": ""}, "names no rung"),
        ({"format": 1, "model": {}, "rung": "os", "config": {}, "tokenizer": ""}, "os.py is not in"),
    ],
)
def test_a_checkpoint_that_is_not_a_rungs(tmp_path, capsys, content, needle):
    path = tmp_path / "x.pt"
    torch.save(content, path)
    assert needle in one_line_error(sample.main, [str(path)], capsys)
    assert needle in one_line_error(visualize.main, [str(path), "--out", str(tmp_path / "png")], capsys)
    if "rung" not in content:  # --resume stops at the first missing key, never "python None.py"
        with pytest.raises(LadderError, match=needle):
            run_v1(tmp_path, resume=path)


def test_sample_num_samples_must_be_positive(tmp_path, capsys):
    run_v1(tmp_path, name="r")
    assert "--num_samples" in one_line_error(sample.main, [str(ckpt_of(tmp_path)), "--num_samples", "0"], capsys)


# --- records torn by a kill --------------------------------------------------------------------------


def test_resume_after_a_kill_in_mid_record(tmp_path):
    run_v1(tmp_path, name="r", max_steps=6)
    metrics = tmp_path / "runs" / "r" / "metrics.jsonl"
    (tmp_path / "runs" / "r" / "summary.json").unlink()
    with open(metrics, "a") as f:
        f.write('{"step": 7, "train/lo')  # killed while appending
    summary = run_v1(tmp_path, name="r", max_steps=9, resume=ckpt_of(tmp_path))
    assert summary["steps"] == 9 and '"train/lo\n' not in metrics.read_text()


def test_a_closed_pipe_is_not_a_traceback(monkeypatch):
    """`python sample.py CKPT | head -1`: the reader leaves, run_cli exits quietly."""
    import types

    import common.errors

    redirected = []
    monkeypatch.setattr(common.errors.os, "dup2", lambda fd, target: redirected.append(target))
    monkeypatch.setattr(common.errors.sys, "stdout", types.SimpleNamespace(fileno=lambda: 99))

    def main():
        raise BrokenPipeError

    with pytest.raises(SystemExit) as e:
        run_cli(main)
    assert e.value.code == 1 and redirected == [99]


# --- issue 33: SIGTERM, and two live runs with one name ------------------------------------------


def start_v1(tmp_path, *flags) -> subprocess.Popen:
    """v1 as a separate process, the way a scheduler or a second terminal starts it."""
    argv = tiny_argv(v1, tmp_path, max_steps=100000, eval_interval=50, log_interval=1, sample_tokens=0)
    return subprocess.Popen(
        [sys.executable, str(ROOT / "v1_transformer.py"), *argv, *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )


def wait_for_step(tmp_path, name: str, step: int, proc: subprocess.Popen) -> None:
    metrics = tmp_path / "runs" / name / "metrics.jsonl"
    deadline = time.time() + 120
    while not (metrics.is_file() and metrics.read_text().count('"train/loss"') >= step):
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.02)


@pytest.mark.slow  # a real process and a real signal (about 5 s); `.ci/run` runs it
def test_sigterm_saves_a_checkpoint_and_exits_143(tmp_path):
    proc = start_v1(tmp_path, "--name=r")
    wait_for_step(tmp_path, "r", 3, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err  # 128 + SIGTERM: stopped by a signal, resumable
    (line,) = [x for x in out.splitlines() if x.startswith("SIGTERM: stopped at step")]
    step = int(re.search(r"step (\d+)", line)[1])
    assert step >= 3 and f"--resume {ckpt_of(tmp_path)}" in line
    assert load_checkpoint_state(ckpt_of(tmp_path))["step"] == step and finite(ckpt_of(tmp_path))
    assert "Traceback" not in err


@pytest.mark.slow  # a second live process (about 6 s); `.ci/run` runs it
def test_a_second_run_with_a_live_name_stops_at_once(tmp_path):
    proc = start_v1(tmp_path, "--name=twin", "--seed=1")
    try:
        wait_for_step(tmp_path, "twin", 1, proc)
        for extra in ({"seed": 2}, {"resume": "auto"}):  # a new run, or --resume while the first still runs
            with pytest.raises(LadderError, match=rf"run twin is in use by process {proc.pid} on .*another --name"):
                run_v1(tmp_path, name="twin", **extra)
    finally:
        proc.kill()  # kill -9: the kernel drops its lock with it
        proc.communicate()
    assert json.loads((tmp_path / "runs" / "twin" / "config.json").read_text())["seed"] == 1  # untouched
    done = load_checkpoint_state(ckpt_of(tmp_path, "twin"))["step"] if ckpt_of(tmp_path, "twin").exists() else 0
    summary = run_v1(tmp_path, name="twin", seed=1, resume="auto", max_steps=done + 3)  # no stale lock left behind
    assert summary["steps"] == done + 3
