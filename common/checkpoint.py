"""Checkpoints: what one holds, and the one function that writes it.

A checkpoint is one dict of tensors and plain values, written atomically (common/files.py) and
read with weights_only=True (nothing read can run code):

    format, rung, config, tokenizer (JSON text)    what sample.py and visualize.py need
    model, optimizer (a list, one state per optimizer; a dict in older checkpoints)
    step, elapsed, tokens, bytes, best_val_bpb, wandb_id, finished
    sampler_rng, cuda_rng (one per rank), torch_rng  every stream exact resume continues

`TrainState` is the part that changes while training; `save_state` writes it. Reading one back
(--resume, sample.py, visualize.py) is common/resume.py, which a fresh run never imports.
"""

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from common.data import Batcher
from common.device import Process
from common.files import atomic_write

FORMAT = 1


@dataclass
class TrainState:
    """Everything that changes while training and that exact resume must restore."""

    model: torch.nn.Module  # the plain model (not compiled, not DDP-wrapped)
    optimizers: list
    batcher: Batcher  # its generator is this rank's batch stream
    step: int = 0
    elapsed: float = 0.0  # seconds of training so far: a time budget continues from here
    tokens: int = 0  # tokens trained on, all ranks
    bytes: float = 0.0  # UTF-8 bytes those tokens stand for, all ranks
    best_val_bpb: float = math.inf
    wandb_id: str | None = None
    target_step: int | None = None  # the step where --target_bpb was reached (the run stops there)
    header: dict = field(default_factory=dict)  # rung, config, tokenizer: what the run is, fixed

    def finite(self) -> bool:
        """No NaN or inf in the weights or the optimizer state (a blown-up update shows here first)."""
        tensors = list(self.model.parameters())
        for opt in self.optimizers:
            tensors += [t for s in opt.state.values() for t in s.values() if torch.is_tensor(t)]
        return all(bool(t.isfinite().all()) for t in tensors)


def save_state(path: Path, state: TrainState, proc: Process, finished: bool = False) -> None:
    """Write `state` to `path` (rank 0 writes; every rank must call it: each sends its RNG streams)."""
    device = proc.device
    mine = (state.batcher.generator.get_state(), torch.cuda.get_rng_state(device) if device.type == "cuda" else None)
    streams = proc.gather(mine)  # every rank's streams, so each continues its own
    if not proc.master:
        return
    checkpoint = {
        "format": FORMAT,
        **state.header,
        "model": state.model.state_dict(),
        "optimizer": [opt.state_dict() for opt in state.optimizers],
        "step": state.step,
        "elapsed": state.elapsed,
        "tokens": state.tokens,
        "bytes": state.bytes,
        "best_val_bpb": state.best_val_bpb,
        "wandb_id": state.wandb_id,
        "finished": finished,
        "sampler_rng": [s[0] for s in streams],
        "cuda_rng": [s[1] for s in streams],
        "torch_rng": torch.get_rng_state(),
    }
    atomic_write(path, lambda f: torch.save(checkpoint, f), flag="--ckpt_dir")
