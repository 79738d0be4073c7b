"""Generate text from any rung's checkpoint.

    python sample.py checkpoints/<run>/ckpt.pt --prompt "The meaning of" --max_new_tokens 200
    python sample.py CKPT --temperature 0          # greedy
    python sample.py CKPT --top_k 50 --top_p 0.9   # truncated sampling

From Python: `model, tok, cfg = load_checkpoint(path)`, then `generate(...)` from common.generate.
"""

import importlib
import sys
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


def load_checkpoint(path, device="cpu"):
    """(model, tokenizer, config) from a checkpoint of any rung; the model is in eval mode."""
    state = load_checkpoint_state(path)
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
