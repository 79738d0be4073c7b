"""Device, precision and processes: which device, which autocast, which rank of how many.

Used by the training loop and by anything that only runs a model (sample.py, visualize.py), so
those never import the loop. Multi-process runs come from torchrun (RANK, WORLD_SIZE, LOCAL_RANK):
common/distributed.py, imported only then; the model code stays single-device either way.
"""

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass

import torch

from common.errors import LadderError

DEVICES = "auto, cpu, cuda, cuda:N or mps"


def pick_device(name: str) -> torch.device:
    """auto = CUDA, then MPS, then CPU; anything named must exist here, or one line says why not."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda", "mps"):
        raise LadderError(f"--device {name!r} is not a device this ladder runs on; use {DEVICES}")
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            built = "" if torch.version.cuda else " (this PyTorch is built without CUDA)"
            raise LadderError(f"--device {name} but no CUDA GPU is visible{built}; use --device cpu or auto")
        if device.index is not None and device.index >= count:
            raise LadderError(f"--device {name} but only {count} CUDA GPU(s) are visible (cuda:0 .. cuda:{count - 1})")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise LadderError(f"--device {name} but MPS is not available here; use --device cpu or auto")
    return device


def autocast_for(device: torch.device):
    """bf16 autocast on CUDA GPUs that support it; full precision elsewhere."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext


@dataclass(frozen=True)
class Process:
    """This process's place in the run: rank of world, its device and autocast. Alone here; in a
    torchrun group it is common/distributed.py's Rank, whose methods below reach every rank."""

    rank: int
    world: int
    device: torch.device
    autocast: Callable  # `with proc.autocast():` around a forward pass

    @property
    def master(self) -> bool:  # rank 0 evaluates, tracks and writes
        return self.rank == 0

    def gather(self, obj) -> list:
        """`obj` of every rank, in rank order (a collective: every rank must call it)."""
        return [obj]

    def any(self, flag: bool) -> bool:
        """True on every rank when it is True on any (so all ranks stop at the same step)."""
        return flag

    def sum(self, x: float) -> float:
        """The sum of `x` over ranks (float64, so byte counts stay exact)."""
        return x

    def wrap(self, model):
        """The model as the training step calls it (a group wraps it in DDP)."""
        return model

    def watch_peers(self, ckpt_path, resumed_from):
        """Around the loop: one line when another rank dies (a group only; see Rank)."""
        return contextlib.nullcontext()

    def barrier(self) -> None:
        """Wait until every rank gets here."""


def setup_process(device_name: str) -> Process:
    """One process, or this rank of a torchrun group (common/distributed.py)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = pick_device(device_name)
    if device.type == "cuda":  # TF32 matmuls: ~free speed, and bf16 autocast rounds harder anyway
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if world == 1:
        return Process(0, 1, device, autocast_for(device))
    from common.distributed import join_group  # torchrun started this process

    return join_group(device, world)
