"""What guards a run from the world outside it, with no torch (v1_numpy.py uses it too).

`own_folder`: an OS lock on the run's folders, so two live runs with one --name cannot interleave
their records or overwrite each other's checkpoints. `stop_signals`: Ctrl-C or a scheduler's
SIGTERM asks the loop to stop after the current step and checkpoint, instead of killing it.
"""

import contextlib
import fcntl
import os
import signal
import socket
import types
from pathlib import Path

from tqdm import tqdm

from common.errors import LadderError, Stopped
from common.files import disk_errors

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def stop_signals(master: bool):
    """Ctrl-C (SIGINT) or SIGTERM sets `.requested`: the loop stops after this step and checkpoints.

    SIGTERM is what a scheduler (SLURM, Kubernetes, a preemptible cloud machine) sends before it
    kills a job: with SLURM, `sbatch --signal=TERM@120` sends it 120 s ahead of the time limit.
    A second signal aborts at once, even in the middle of writing the checkpoint; the write is
    atomic (common/files.py), so the previous checkpoint is then still the one on disk.
    """
    stop = types.SimpleNamespace(requested=False, signum=None)

    def on_signal(signum, frame):
        if stop.requested:
            raise Stopped(signum)
        stop.requested, stop.signum = True, signum
        if master:
            name = signal.Signals(signum).name
            tqdm.write(f"{name}: stopping after this step and saving a checkpoint (send it again to abort)")

    old = {s: signal.signal(s, on_signal) for s in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def own_folder(folder: Path, name: str):
    """Hold an OS lock on `folder` while the run lives: two live runs with one --name would
    interleave their records and overwrite each other's checkpoints. The kernel drops the lock when
    the process dies, even by kill -9, so no stale marker can block the next run."""
    with disk_errors(folder.parent, folder.name, "--out_dir / --ckpt_dir"):
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / ".lock", "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        owner = lock.read().strip() or "another process"
        lock.close()
        raise LadderError(
            f"run {name} is in use by {owner} ({folder}); give this run another --name, or wait for that one to end"
        ) from None
    try:
        lock.seek(0)
        lock.truncate()
        lock.write(f"process {os.getpid()} on {socket.gethostname()}\n")
        lock.flush()
        yield
    finally:
        lock.close()  # closing releases the lock
