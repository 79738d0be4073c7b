"""Where repetition starts to hurt: a run's validation loss against passes over the training split.

Reads a committed run folder (metrics.jsonl) and prints, at every periodic evaluation, how many
passes over the training split the run had read (bytes seen / UTF-8 bytes of the split), the
validation-prefix loss, the mean training loss over the 100 steps before it, and the gap between
them. The gap's level in the first pass is not zero (the training loss is averaged over 100 steps
in which the model still improves, and the validation prefix is one fixed stretch of text); its
trend is the signal: once the model has read its batches several times the training loss keeps
falling while the validation loss slows, and the widening gap is progress that is memorised.

    python experiments/passes.py results/runs/long_v6-v6_muon              # the 60-minute v6 run
    python experiments/passes.py results/runs/long_v6-v6_muon --out results/passes/long_v6.md
"""

import argparse
import json
import sys
from pathlib import Path
from statistics import mean

# run as a file (`python experiments/x.py`), Python puts only experiments/ on sys.path: add the repo root
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.config import ArgParser
from common.corpus import load_corpus
from common.errors import LadderError, run_cli
from common.files import atomic_write, writable_file

WINDOW = 100  # steps of training loss averaged before each evaluation


def rows_of(records: list[dict], split_bytes: int) -> list[tuple]:
    """(step, passes, val loss, val bpb, train loss, gap) at every periodic evaluation."""
    train = [(r["step"], r["train/loss"], r["bytes"]) for r in records if "train/loss" in r and "bytes" in r]
    rows = []
    for r in records:
        key = "val_prefix/loss" if "val_prefix/loss" in r else "val/loss"  # runs before 2026-12-04: val/
        if key not in r or not train:
            continue
        near = [(loss, b) for s, loss, b in train if r["step"] - WINDOW < s <= r["step"]]
        if not near:
            continue
        passes = near[-1][1] / split_bytes
        tl = mean(loss for loss, _ in near)
        bpb = r.get(key.replace("loss", "bpb"), float("nan"))
        rows.append((r["step"], passes, r[key], bpb, tl, r[key] - tl))
    return rows


def main(argv=None):
    ap = ArgParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path, help="a run folder (results/runs/<name>) with metrics.jsonl and config.json")
    ap.add_argument("--out", type=Path, help="also write the table to this markdown file")
    args = ap.parse_args(argv)
    if args.out:
        writable_file(args.out, "--out")
    try:
        cfg = json.loads((args.run / "config.json").read_text())
        records = [json.loads(line) for line in (args.run / "metrics.jsonl").read_text().splitlines() if line]
    except (OSError, ValueError):
        raise LadderError(
            f"{args.run} is not a run folder (config.json and metrics.jsonl); see results/runs/"
        ) from None
    corpus = load_corpus(cfg.get("data", "wikitext-2"), cfg.get("data_dir") or None)
    split_bytes = corpus.text("train").n_bytes()
    rows = rows_of(records, split_bytes)
    if not rows:
        raise LadderError(f"{args.run} has no periodic evaluation with training losses before it")
    lines = [
        f"# Passes over the training split: {args.run.name}",
        "",
        f"Command: `python experiments/passes.py {args.run}`  ",
        f"Training split: {cfg.get('data', 'wikitext-2')}, {split_bytes:,} bytes. Validation: the periodic "
        f"prefix evaluation ({cfg.get('eval_tokens', '?')} tokens), not the full split. Train loss: mean of the "
        f"logged losses over the {WINDOW} steps before the evaluation.",
        "",
        "| step | passes | val loss | val bpb (prefix) | train loss | val - train |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {s} | {p:.2f} | {v:.3f} | {b:.4f} | {t:.3f} | {g:+.3f} |" for s, p, v, b, t, g in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        atomic_write(args.out, text, "--out")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    run_cli(main)
