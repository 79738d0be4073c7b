"""A torchrun group: this rank's Process, whose collectives reach every rank (gloo on CPU, NCCL
on GPUs). Imported only when torchrun started the process (WORLD_SIZE > 1): common/device.py's
setup_process hands over to `join_group`. The model code stays single-device: DDP wraps it from
outside (Rank.wrap), and the loop meets the other ranks only through Rank's methods.
"""

import contextlib
import os
import re

import torch
import torch.distributed as dist

from common.device import Process, autocast_for
from common.errors import LadderError


def join_group(device: torch.device, world: int) -> "Rank":
    """This rank of the group, on its own GPU (LOCAL_RANK) where there are GPUs."""
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Rank(rank, world, device, autocast_for(device))


class Rank(Process):
    """One rank of a torchrun group: every rank must call each of these methods (collectives)."""

    @property
    def _comm_device(self) -> torch.device:  # NCCL reduces GPU tensors only, gloo CPU ones
        return self.device if self.device.type == "cuda" else torch.device("cpu")

    def gather(self, obj) -> list:
        out = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def any(self, flag: bool) -> bool:
        t = torch.tensor([float(flag)], device=self._comm_device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def sum(self, x: float) -> float:
        t = torch.tensor([x], dtype=torch.float64, device=self._comm_device)
        dist.all_reduce(t)
        return t.item()

    def wrap(self, model):
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)

    @contextlib.contextmanager
    def watch_peers(self, ckpt_path, resumed_from):
        """A rank that dies (kill -9, out of memory) breaks the next collective of the others: gloo
        raises at once ("Connection reset by peer"); NCCL after its timeout. The survivors then stop
        with one line and write nothing: the last checkpoint stays the good one."""
        try:
            yield
        except RuntimeError as e:
            if not (isinstance(e, dist.DistError) or "gloo" in str(e) or "NCCL" in str(e)):
                raise
            from common.resume import last_good

            where = last_good(ckpt_path, resumed_from)
            cause = re.sub(r"^\[[^\]]*\]\s*", "", str(e).splitlines()[0]).split(". ")[0]  # drop gloo's source path
            raise LadderError(
                f"rank {self.rank}: another process of this run stopped ({cause}); "
                f"nothing was saved ({where}); rerun the same torchrun command with --resume auto"
            ) from None

    def barrier(self) -> None:
        dist.barrier()
