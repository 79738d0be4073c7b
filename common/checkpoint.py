"""Checkpoints: written atomically, read with weights_only=True (nothing read can run code).

A checkpoint is one dict of tensors and plain values: format, rung, config, tokenizer (JSON
text), model and optimizer state, step counters, and every RNG state needed for exact resume.
A small meta.json beside it lets `--resume auto` find runs without loading them.
"""

import json
from pathlib import Path

import torch

from common.errors import LadderError
from common.files import atomic_write

FORMAT = 1


def save_checkpoint(path: Path, state: dict) -> None:
    path = Path(path)
    # atomic and durable: a crash or power loss leaves the old checkpoint or the new one, never half
    atomic_write(path, lambda f: torch.save({"format": FORMAT, **state}, f), flag="--ckpt_dir")
    meta = {k: state[k] for k in ("rung", "step", "finished") if k in state}
    meta["max_steps"] = state["config"]["max_steps"]
    atomic_write(path.with_name("meta.json"), json.dumps(meta), flag="--ckpt_dir")


def load_checkpoint_state(path, rung: str | None = None) -> dict:
    """Load a checkpoint dict; one clear error if it is missing, corrupt or of another rung."""
    path = Path(path)
    if not path.is_file():
        raise LadderError(f"checkpoint {path} does not exist; pass an existing .pt file or --resume auto")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        text = str(e).strip()
        if "Weights only load failed" in text:  # torch's long advice: it is not a tensors-only file
            reason = "not a tensors-only PyTorch file"
        else:
            reason = text.splitlines()[0][:100] if text else type(e).__name__
        raise LadderError(
            f"checkpoint {path} is truncated or corrupt ({reason}); use an earlier one or start fresh"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT or "model" not in state:
        raise LadderError(f"{path} is not a ladder checkpoint (format {FORMAT}); pass a checkpoint written by a rung")
    if rung is not None and state.get("rung") != rung:
        raise LadderError(
            f"checkpoint {path} is from {state.get('rung')}, not {rung}; resume it with `python {state.get('rung')}.py --resume {path}`"
        )
    return state


def find_resumable(ckpt_dir: str, rung: str, name: str = "") -> Path | None:
    """`--resume auto`: this run's checkpoint (with --name), else the newest unfinished one of the rung."""
    root = Path(ckpt_dir)
    if name:
        path = root / name / "ckpt.pt"
        return path if path.is_file() else None
    best = None
    for meta_path in root.glob("*/meta.json"):
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            continue
        ckpt = meta_path.with_name("ckpt.pt")
        if meta.get("rung") == rung and not meta.get("finished") and ckpt.is_file():
            if best is None or ckpt.stat().st_mtime > best.stat().st_mtime:
                best = ckpt
    return best
