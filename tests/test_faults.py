"""Faults of issue 16 and their kin: a broken setting, file or disk gets one line (a LadderError,
exit status 2 from the command line), and no good checkpoint, run folder or cache is lost.
Everything runs in-process on a tiny config. Run: pytest tests/test_faults.py"""

import errno
import os
from pathlib import Path

import pytest

import common.files
import visualize
from common.errors import LadderError, run_cli
from common.files import atomic_write, writable_folder
from tests.conftest import rung_module, tiny_argv

v0 = rung_module("v0_bigram")
v1 = rung_module("v1_transformer")


def run_v1(tmp_path, **overrides):
    return v1.main(tiny_argv(v1, tmp_path, **overrides))


def ckpt_of(tmp_path, name="r") -> Path:
    return tmp_path / "ckpt" / name / "ckpt.pt"


def one_line(main, argv, capsys) -> str:
    """`main(argv)` as the command line runs it: exit status 2 and one line on stderr."""
    capsys.readouterr()  # drop what came before (a training run's progress bar)
    with pytest.raises(SystemExit) as e:
        run_cli(main, argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    return err


# --- 16.2 / 16.9: full disk, read-only folders; one atomic write --------------------------------


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
    assert not list(ckpt.parent.glob("*.tmp"))


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


def test_visualize_out_read_only(tmp_path, read_only, capsys):
    run_v1(tmp_path, name="r")
    assert "cannot write in" in one_line(visualize.main, [str(ckpt_of(tmp_path)), "--out", str(read_only)], capsys)


def test_atomic_write_leaves_old_content_and_no_temp_on_any_failure(tmp_path):
    path = tmp_path / "f.txt"
    atomic_write(path, "old")

    def fail(f):
        f.write(b"half")
        raise KeyboardInterrupt  # Ctrl-C in mid-write

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, fail)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]


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
