"""Shared fixtures. Tests are hermetic: data comes from LADDER_DATA_DIR (default ../shared/data
beside the repo), every file goes to pytest's tmp_path, wandb never touches the network."""

import importlib
import os
import stat
import sys
import threading
from dataclasses import fields
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LADDER_DATA_DIR", str(ROOT.parent / "shared" / "data"))
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("WANDB_SILENT", "true")
# Tests run tiny models, whose ops are too small to share between threads: one thread per process
# is faster, and it keeps a busy machine (a sweep in the background) from slowing the suite by
# oversubscription. Set before torch is imported, so subprocesses inherit it too.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# side rungs reproduce a rung without PyTorch (v1_numpy.py): tests/test_numpy_rung.py checks them instead
SIDE_RUNGS = ["v1_numpy"]
RUNGS = sorted(  # ladder order: v2 before v10
    (p.stem for p in ROOT.glob("v[0-9]*_*.py") if p.stem not in SIDE_RUNGS), key=lambda s: int(s[1:].split("_")[0])
)

# the smallest model and run that still exercises every code path
TINY = dict(
    n_layer=1,
    n_head=2,
    n_embd=16,
    block_size=16,
    batch_size=4,
    max_steps=6,
    eval_interval=3,
    eval_tokens=64,
    sample_tokens=8,
    warmup_steps=2,
    vocab=300,
    wandb="disabled",
)


def rung_module(name):
    return importlib.import_module(name)


def tiny_argv(module, tmp_path, **overrides):
    """argv for `module.main` with TINY settings (only the fields this rung has) in tmp_path."""
    names = {f.name for f in fields(module.Config)}
    settings = {k: v for k, v in TINY.items() if k in names}
    settings.update(
        data="the-verdict", cache_dir=tmp_path / "cache", out_dir=tmp_path / "runs", ckpt_dir=tmp_path / "ckpt"
    )
    settings.update(overrides)
    return [f"--{k}={v}" for k, v in settings.items()]


@pytest.fixture(params=RUNGS)
def rung(request):
    return rung_module(request.param)


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory):
    """A token and tokenizer cache shared by tests that only need some trained checkpoint: each
    tokenizer kind is trained once per session, not once per test (entries are keyed by content)."""
    return tmp_path_factory.mktemp("shared-cache")


def read_fifo(tmp_path, write) -> tuple[bytes, bool]:
    """Call write(fifo) with a reader on the other end; (what it read, whether the path is still a FIFO)."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    write(fifo)
    reader.join(timeout=10)
    return (got[0] if got else None), stat.S_ISFIFO(fifo.stat().st_mode)


def one_line_error(main, argv, capsys) -> str:
    """Run `main(argv)` as the command line does (run_cli): exit status 2 and one line on stderr,
    `error: ...`, never a traceback. Returns that line."""
    from common.errors import run_cli

    capsys.readouterr()  # drop what came before (a training run's progress bar)
    with pytest.raises(SystemExit) as e:
        run_cli(main, argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and err.startswith("error: "), err
    return err
