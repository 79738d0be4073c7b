"""Reading a checkpoint back: --resume (the settings, weights, optimizers and every RNG stream,
so the run continues exactly), and sample.py and visualize.py. A fresh run never imports this.
Anything wrong with a checkpoint is one LadderError line.

There is no separate index file: `--resume auto` reads the few plain values of each candidate
checkpoint itself (memory-mapped, so its tensors are not loaded), so the index can never disagree
with the checkpoint.
"""

import os
from dataclasses import fields
from pathlib import Path

import torch

from common.checkpoint import FORMAT, TrainState
from common.data import tokenizer_from_json
from common.device import Process
from common.errors import LadderError

# settings that may change when a run is resumed; any other explicit flag must match the checkpoint
RESUMABLE_CHANGES = {
    "max_steps",
    "max_minutes",
    "eval_interval",
    "wandb",
    "device",
    "compile",
    "resume",
    "sample_tokens",
    "log_interval",
    "eval_sliding",
}
NEEDED = ("rung", "config", "tokenizer", "model")  # enough to rebuild the model and sample from it
RESUME = ("optimizer", "step", "elapsed", "tokens", "bytes", "best_val_bpb", "sampler_rng", "torch_rng")


def resolve_resume(cfg, given: set, rung: str):
    """Returns (cfg, checkpoint or None, its path or None). The checkpoint's config wins, except
    for the settings in RESUMABLE_CHANGES given on the command line."""
    master = int(os.environ.get("RANK", "0")) == 0  # before setup_process: torchrun's variable
    if cfg.resume == "auto":
        path = find_resumable(cfg.ckpt_dir, rung, cfg.name)
        if path is None:
            if master:
                print(f"--resume auto: no unfinished {rung} checkpoint under {cfg.ckpt_dir}/; starting fresh")
            return cfg, None, None
    else:
        path = Path(cfg.resume)
    checkpoint = load_checkpoint_state(path, rung)
    saved, names = checkpoint["config"], [f.name for f in fields(cfg)]
    for name in [n for n in names if n in given and n not in RESUMABLE_CHANGES]:
        if name in saved and getattr(cfg, name) != saved[name]:
            raise LadderError(
                f"--{name} {getattr(cfg, name)!r} differs from the checkpoint's {saved[name]!r}; "
                f"a resumed run keeps its settings (drop the flag, or start a new run with another --name)"
            )
    merged = {k: v for k, v in saved.items() if k in names}
    merged.update({k: getattr(cfg, k) for k in given if k in RESUMABLE_CHANGES})
    cfg = type(cfg)(**merged)
    if master:
        print(f"resuming {cfg.name} from {path} at step {checkpoint.get('step')}")
    return cfg, checkpoint, path


def restore_state(state: TrainState, checkpoint: dict, path, proc: Process) -> None:
    """Put a checkpoint read by `load_checkpoint_state` back into `state`, every RNG stream included."""
    require(checkpoint, RESUME, path)
    n_ranks = len(checkpoint["sampler_rng"])
    if n_ranks != proc.world:  # each rank continues its own batch stream
        raise LadderError(
            f"the checkpoint was written by {n_ranks} process(es), this run has {proc.world}; "
            f"resume with the same number (torchrun --nproc_per_node={n_ranks})"
        )
    load_weights(state.model, checkpoint["model"], path)
    saved = checkpoint["optimizer"]
    saved = saved if isinstance(saved, list) else [saved]  # one AdamW before models brought their own
    if len(saved) != len(state.optimizers):
        raise LadderError(
            f"checkpoint {path} holds {len(saved)} optimizer state(s), the model has {len(state.optimizers)}"
        )
    for opt, opt_state in zip(state.optimizers, saved, strict=True):
        try:
            opt.load_state_dict(opt_state)
        except (ValueError, KeyError, TypeError) as e:
            raise LadderError(f"checkpoint {path}: its optimizer state does not fit this model ({e})") from None
    state.step, state.elapsed = checkpoint["step"], checkpoint["elapsed"]
    state.tokens, state.bytes = checkpoint["tokens"], checkpoint["bytes"]
    state.best_val_bpb, state.wandb_id = checkpoint["best_val_bpb"], checkpoint.get("wandb_id")
    state.batcher.generator.set_state(checkpoint["sampler_rng"][proc.rank])
    torch.set_rng_state(checkpoint["torch_rng"])
    cuda_rng = checkpoint.get("cuda_rng")  # dropout's stream on GPUs; absent from older checkpoints
    if proc.device.type == "cuda" and cuda_rng and cuda_rng[proc.rank] is not None:
        torch.cuda.set_rng_state(cuda_rng[proc.rank], proc.device)


# -----------------------------------------------------------------------------
# reading checkpoints: one clear line for anything wrong, shared by --resume, sample.py, visualize.py


def load_checkpoint_state(path, rung: str | None = None, mmap: bool = False) -> dict:
    """Load a checkpoint dict; one clear error if it is missing, unreadable, corrupt, incomplete
    or of another rung. With `mmap`, tensors stay on disk until used (cheap for a quick look)."""
    path = Path(path)
    if not path.is_file():
        raise LadderError(
            f"checkpoint {path} does not exist; pass the path of an existing checkpoint (checkpoints/<run>/ckpt.pt)"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except PermissionError as e:
        raise LadderError(f"cannot read checkpoint {path}: {e.strerror}; fix its permissions") from None
    except Exception as e:
        text = str(e).strip()
        if "Weights only load failed" in text:  # torch's long advice: it is not a tensors-only file
            reason = "not a tensors-only PyTorch file"
        else:
            reason = text.splitlines()[0][:100] if text else type(e).__name__
        raise LadderError(
            f"checkpoint {path} is truncated or corrupt ({reason}); use an earlier one or start fresh"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise LadderError(f"{path} is not a ladder checkpoint (format {FORMAT}); pass a checkpoint written by a rung")
    require(state, NEEDED, path)
    if not isinstance(state["rung"], str) or not state["rung"].isidentifier():
        raise LadderError(f"checkpoint {path} names no rung (rung: {state['rung']!r}); it was not written by a rung")
    if not isinstance(state["config"], dict) or not isinstance(state["model"], dict):
        raise LadderError(f"checkpoint {path} has no readable config or weights; it was not written by a rung")
    if rung is not None and state["rung"] != rung:
        raise LadderError(
            f"checkpoint {path} is from {state['rung']}, not {rung}; "
            f"resume it with `python {state['rung']}.py --resume {path}`"
        )
    return state


def require(state: dict, keys, path) -> None:
    missing = [k for k in keys if k not in state]
    if missing:
        raise LadderError(
            f"checkpoint {path} lacks {', '.join(missing)}: it is incomplete or not written by a rung; "
            "use another checkpoint or start fresh"
        )


def checkpoint_tokenizer(state: dict, path):
    """The tokenizer stored in a checkpoint (JSON: nothing executes)."""
    try:
        return tokenizer_from_json(state["tokenizer"])
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise LadderError(f"checkpoint {path}: its tokenizer cannot be read ({str(e).splitlines()[0]})") from None


def load_weights(model: torch.nn.Module, weights: dict, path) -> None:
    """`model.load_state_dict(weights)`, with one line for renamed, missing, reshaped or non-finite weights."""
    try:
        model.load_state_dict(weights)
    except (RuntimeError, TypeError, AttributeError) as e:
        first = str(e).splitlines()
        detail = " ".join(line.strip() for line in first[1:3]) if len(first) > 1 else first[0] if first else ""
        raise LadderError(
            f"checkpoint {path} does not fit {type(model).__module__}.py's model "
            f"(written by other code or other settings): {detail[:200]}"
        ) from None
    bad = [name for name, p in model.named_parameters() if not p.isfinite().all()]
    if bad:
        raise LadderError(f"checkpoint {path} holds NaN or inf weights ({bad[0]}, ...); use an earlier checkpoint")


def last_good(*paths) -> str:
    """Names the first of `paths` that holds a readable checkpoint, or says there is none. Every
    checkpoint there is good: none is written with non-finite weights, none is resumed from with them."""
    for path in paths:
        if path and Path(path).is_file():
            try:
                state = load_checkpoint_state(path, mmap=True)
            except LadderError:
                continue
            return f"the last good checkpoint is {path} (step {state.get('step', '?')})"
    return "no checkpoint was saved yet"


def find_resumable(ckpt_dir: str, rung: str, name: str = "") -> Path | None:
    """`--resume auto`: this run's checkpoint (with --name), else the newest unfinished one of the rung."""
    root = Path(ckpt_dir)
    if name:
        path = root / name / "ckpt.pt"
        return path if path.is_file() else None
    best = None
    for ckpt in root.glob("*/ckpt.pt"):
        try:
            state = load_checkpoint_state(ckpt, rung, mmap=True)
        except LadderError:
            continue  # another rung's, or unreadable: not a candidate
        if not state.get("finished") and (best is None or ckpt.stat().st_mtime > best.stat().st_mtime):
            best = ckpt
    return best
