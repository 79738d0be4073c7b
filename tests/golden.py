"""Golden losses: the first training losses of every rung at a tiny fixed config.

A change to `common/` (or to a rung) that alters training moves these numbers, and
tests/test_golden.py fails. When the change is meant to alter training, regenerate them on purpose
and say why in the commit:

    LADDER_DATA_DIR=../shared/data python -m tests.golden            # rewrite tests/golden_losses.json
    LADDER_DATA_DIR=../shared/data python -m tests.golden v5_modern  # only the rungs named
"""

import json
import sys
import tempfile
from dataclasses import fields
from pathlib import Path

from tests.conftest import ROOT, RUNGS, rung_module

GOLDEN_FILE = ROOT / "tests" / "golden_losses.json"
STEPS = 8
# the conftest TINY model, with a wider batch so the losses carry signal; evals at steps 4 and 8
GOLDEN = dict(
    data="the-verdict",
    n_layer=1,
    n_head=2,
    n_embd=16,
    block_size=16,
    batch_size=8,
    max_steps=STEPS,
    eval_interval=4,
    eval_tokens=256,
    sample_tokens=4,
    warmup_steps=2,
    log_interval=1,
    lr=1e-2,
    vocab=300,
    seed=1337,
    wandb="disabled",
)


def golden_run(name: str, tmp: Path) -> dict:
    """Train rung `name` for STEPS steps; returns its per-step train losses and final val loss."""
    module = rung_module(name)
    names = {f.name for f in fields(module.Config)}
    settings = {k: v for k, v in GOLDEN.items() if k in names}
    settings.update(cache_dir=tmp / "cache", out_dir=tmp / "runs", ckpt_dir=tmp / "ckpt", name="golden")
    summary = module.main([f"--{k}={v}" for k, v in settings.items()])
    records = [json.loads(line) for line in (tmp / "runs" / "golden" / "metrics.jsonl").read_text().splitlines()]
    losses = [r["train/loss"] for r in records if "train/loss" in r]
    return {"train/loss": losses, "val/loss": summary["val/loss"]}


def main(names: list[str]) -> None:
    goldens = json.loads(GOLDEN_FILE.read_text()) if GOLDEN_FILE.is_file() else {}
    for name in names or RUNGS:
        with tempfile.TemporaryDirectory() as tmp:
            goldens[name] = golden_run(name, Path(tmp))
        print(f"{name}: {goldens[name]}")
    GOLDEN_FILE.write_text(json.dumps(dict(sorted(goldens.items())), indent=1) + "\n")
    print(f"wrote {GOLDEN_FILE.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
