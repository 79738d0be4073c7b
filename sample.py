"""Generate text from any rung's checkpoint.

    python sample.py checkpoints/<run>/ckpt.pt --prompt "The meaning of" --max_new_tokens 200
    python sample.py CKPT --temperature 0          # greedy
    python sample.py CKPT --top_k 50 --top_p 0.9   # truncated sampling

From Python: `model, tok, cfg = load_checkpoint(path)`, then `generate(...)` from common.generate.
"""

import importlib
import sys
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path

import torch

from common.config import build_model, parse_config, setting
from common.device import pick_device
from common.errors import LadderError, run_cli
from common.generate import generate
from common.resume import checkpoint_tokenizer, load_checkpoint_state, load_weights

__all__ = ["load_checkpoint", "generate", "main"]


@dataclass
class SampleConfig:
    checkpoint: str = setting("", "checkpoint file written by a rung (also accepted as the first argument)")
    prompt: str = setting("", "text to continue; empty: start from a newline")
    max_new_tokens: int = setting(200, "tokens to generate")
    temperature: float = setting(0.8, "softmax temperature; 0 = greedy")
    top_k: int = setting(0, "keep only the k most likely tokens; 0 = all")
    top_p: float = setting(1.0, "keep the smallest set of tokens whose probability reaches p; 1 = all")
    num_samples: int = setting(1, "independent samples to draw")
    seed: int = setting(1337, "sampling seed")
    device: str = setting("auto", "auto | cpu | cuda | mps")


def numpy_rung_state(path) -> dict | None:
    """A v1_numpy checkpoint (.npz) read as v1's: the same model with the same weight names
    (tests/test_numpy_rung.py), so everything here works on it. None for any other file."""
    if not zipfile.is_zipfile(path):
        return None
    with zipfile.ZipFile(path) as z:
        if "meta.npy" not in z.namelist():  # a PyTorch checkpoint is a zip too
            return None
    import v1_numpy  # numpy only

    meta, arrays = v1_numpy.load_checkpoint(Path(path))
    model = {n.removeprefix("model/"): torch.from_numpy(a) for n, a in arrays.items() if n.startswith("model/")}
    model["head.weight"] = model["wte.weight"]  # tied, as in v1
    return {"rung": "v1_transformer", "config": meta["config"], "tokenizer": meta["tokenizer"], "model": model}


def load_checkpoint(path, device="cpu"):
    """(model, tokenizer, config) from a checkpoint of any rung (v1_numpy's .npz: as v1's model);
    the model is in eval mode."""
    state = numpy_rung_state(path) or load_checkpoint_state(path)
    rung = state["rung"]
    root = Path(__file__).resolve().parent
    if not (root / f"{rung}.py").is_file():  # only a rung file beside this one is ever imported
        raise LadderError(f"checkpoint {path} is from rung {rung!r}, but {rung}.py is not in {root}")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    module = importlib.import_module(rung)
    names = {f.name for f in fields(module.Config)}
    cfg = module.Config(**{k: v for k, v in state["config"].items() if k in names})
    tok = checkpoint_tokenizer(state, path)
    model = build_model(module.Model, cfg, tok.vocab_size, rung)
    load_weights(model, state["model"], path)
    return model.to(device).eval(), tok, cfg


def main(argv=None):
    cfg, _ = parse_config(SampleConfig, argv, prog="python sample.py", description=__doc__, positional="checkpoint")
    if not cfg.checkpoint:
        raise LadderError("no checkpoint given: python sample.py checkpoints/<run>/ckpt.pt")
    if cfg.temperature < 0 or not 0 < cfg.top_p <= 1 or cfg.max_new_tokens < 0 or cfg.top_k < 0:
        raise LadderError("need --temperature >= 0, 0 < --top_p <= 1, --top_k >= 0 and --max_new_tokens >= 0")
    if cfg.num_samples < 1:
        raise LadderError(f"--num_samples must be at least 1, got {cfg.num_samples}")
    device = pick_device(cfg.device)
    model, tok, mcfg = load_checkpoint(cfg.checkpoint, device)
    ids = tok.encode(cfg.prompt) if cfg.prompt else tok.encode("\n")
    if model.context_length is not None and len(ids) > model.context_length:
        print(
            f"(the prompt is {len(ids)} tokens; the model sees only its last {model.context_length})", file=sys.stderr
        )
    g = torch.Generator().manual_seed(cfg.seed)
    start = torch.tensor([ids] * cfg.num_samples, dtype=torch.long, device=device)
    out = generate(model, start, cfg.max_new_tokens, mcfg.block_size, cfg.temperature, cfg.top_k or None, cfg.top_p, g)
    for i, row in enumerate(out.tolist()):
        if cfg.num_samples > 1:
            print(f"--- sample {i + 1}")
        print(cfg.prompt + tok.decode(row[len(ids) :]))


if __name__ == "__main__":
    run_cli(main)
