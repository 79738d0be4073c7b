"""Tracking: a run folder under results/ (always) and wandb (online, offline or disabled).

Call sites never branch on "is wandb on": `Tracker` takes the same calls either way.
Run folder: config.json (resolved config), metrics.jsonl (one JSON object per log call),
samples.jsonl, summary.json (written at the end; its presence marks a finished run).

Metric names (the same in metrics.jsonl, summary.json and wandb): `train/loss`, `lr`, `tokens`,
`bytes`; `val_prefix/{loss,ppl,bpb,unk_rate,best_bpb}` for the periodic estimate on the first
--eval_tokens of the validation split; `val/*` and `test/*` for the full splits, measured once at the
end and found only in the summary. wandb plots the history against `bytes` (text seen), so rungs with
different tokenizers overlay; `tokens` and `step` stay available as x-axes.
"""

import json
import math
import netrc
import os
import subprocess
from pathlib import Path

from common.errors import LadderError
from common.files import atomic_write, disk_errors

PROJECT = "llm-ladder"


def git_commit() -> str:
    """The commit the code ran from, with '-dirty' if tracked files were modified."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "-uno"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if rev.returncode != 0:
        return "unknown"
    return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def wandb_mode(requested: str) -> str:
    """auto -> $WANDB_MODE if set, else online when credentials exist, else offline."""
    if requested != "auto":
        return requested
    env = os.environ.get("WANDB_MODE")
    if env in ("online", "offline", "disabled"):
        return env
    if os.environ.get("WANDB_API_KEY"):
        return "online"
    try:
        if netrc.netrc().authenticators("api.wandb.ai"):
            return "online"
    except (OSError, netrc.NetrcParseError):
        pass
    return "offline"


def _step(line: str) -> float:
    """The step of one JSON-lines record; infinite for a line torn by a kill in mid-write."""
    try:
        return json.loads(line)["step"]
    except (ValueError, KeyError, TypeError):
        return math.inf


def declare_metrics(run):
    """The dashboard's x-axes: bytes of text seen (comparable across tokenizers), and tokens."""
    run.define_metric("bytes")
    run.define_metric("tokens")
    for pattern in ("train/*", "val_prefix/*", "val/full_bpb", "lr"):
        run.define_metric(pattern, step_metric="bytes")
    return run


class Tracker:
    def __init__(self, run_dir: Path, config: dict, rung: str, mode: str, resume_id: str | None = None, enabled=True):
        self.run_dir, self.enabled = Path(run_dir), enabled
        self.wandb_run = None
        self.wandb_id = resume_id
        self.samples = []  # (step, text) rows of the wandb samples table
        if not enabled:  # non-zero DDP ranks track nothing
            return
        atomic_write(self.run_dir / "config.json", json.dumps(config, indent=2) + "\n", flag="--out_dir")
        mode = wandb_mode(mode)
        if mode != "disabled":
            self.wandb_run = self._start_wandb(config, rung, mode, resume_id)
            self.wandb_id = self.wandb_run.id if self.wandb_run else None

    def _start_wandb(self, config, rung, mode, resume_id):
        try:
            import wandb
        except ImportError:
            raise LadderError(
                "wandb is not installed: pip install -r requirements.txt, or use --wandb disabled"
            ) from None
        kwargs = dict(
            project=PROJECT,
            group=rung,
            name=config.get("name"),
            config=config,
            mode=mode,
            id=resume_id,
            resume="allow" if resume_id else None,
        )
        try:
            return declare_metrics(wandb.init(**kwargs, settings=wandb.Settings(init_timeout=30, silent=True)))
        except Exception as e:  # never lose a run to the network: fall back to offline
            if mode == "online":
                print(
                    f"wandb online failed ({str(e).splitlines()[0]}); logging offline instead (upload later with `wandb sync`)"
                )
                kwargs["mode"] = "offline"
                return declare_metrics(wandb.init(**kwargs, settings=wandb.Settings(silent=True)))
            raise

    def _append(self, name: str, record: dict):
        with disk_errors(self.run_dir, name, "--out_dir"), open(self.run_dir / name, "a") as f:
            f.write(json.dumps(record) + "\n")

    def truncate_after(self, step: int):
        """On resume, drop records from after the checkpoint: the resumed run writes them again."""
        for name in ("metrics.jsonl", "samples.jsonl"):
            path = self.run_dir / name
            if path.is_file():
                keep = [line for line in path.read_text().splitlines() if _step(line) <= step]
                atomic_write(path, "".join(line + "\n" for line in keep), flag="--out_dir")

    def log(self, metrics: dict, step: int):
        if not self.enabled:
            return
        self._append("metrics.jsonl", {"step": step, **metrics})
        if self.wandb_run:
            self.wandb_run.log(metrics, step=step)

    def sample(self, step: int, text: str):
        if not self.enabled:
            return
        self._append("samples.jsonl", {"step": step, "text": text})
        if self.wandb_run:
            import wandb

            self.samples.append([step, text])
            self.wandb_run.log({"samples": wandb.Table(columns=["step", "text"], data=self.samples)}, step=step)

    def summary(self, summary: dict):
        if not self.enabled:
            return
        atomic_write(self.run_dir / "summary.json", json.dumps(summary, indent=2) + "\n", flag="--out_dir")
        if self.wandb_run:
            self.wandb_run.summary.update(summary)

    def finish(self):
        if self.wandb_run:
            self.wandb_run.finish()
            self.wandb_run = None
