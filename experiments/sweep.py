"""Run a wandb sweep file locally, with no wandb server.

The files in experiments/ are wandb sweep YAML (program, method, metric, parameters), so online
`wandb sweep experiments/FILE.yaml` then `wandb agent ID` runs them on wandb's side. This runner
executes the same file here: it expands the grid (or draws `--count` random configurations with a
fixed seed), then runs each configuration in turn with offline wandb and the usual run folder.

Every configuration gets a stable name (sweep name + its settings), so the runner can be stopped
and rerun at any time: finished runs (results/runs/<name>/summary.json exists) are skipped and an
interrupted one continues from its checkpoint.

    python experiments/sweep.py experiments/positions.yaml            # run (or continue) it
    python experiments/sweep.py experiments/positions.yaml --dry-run  # print the commands only
    python experiments/sweep.py experiments/lr.yaml --count 6          # random search: 6 draws

`--shard K/N` runs every N-th configuration starting at the K-th, so N runners (one per core or
machine, sharing results/runs) split a sweep without overlap. On one machine give each runner its
share of the cores (e.g. 2 cores: `OMP_NUM_THREADS=1` each) and shard only sweeps budgeted in
steps: with a minutes budget, runners side by side each train on a fraction of the machine.
"""

import argparse
import itertools
import math
import random
import subprocess
import sys
import time
from pathlib import Path

import yaml

# run as a file (`python experiments/x.py`), Python puts only experiments/ on sys.path: add the repo root
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.config import ArgParser
from common.errors import LadderError, run_cli

ROOT = Path(__file__).resolve().parents[1]

SHORT = {"tokenizer": "", "rung": "", "vocab": "v", "seed": "s", "variant": ""}  # how settings read in run names


def read_yaml(path: Path, missing: str):
    """The YAML in `path`; a missing file or bad YAML is one line (`missing`: what to say then)."""
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise LadderError(missing) from None
    except yaml.YAMLError as e:
        raise LadderError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None


def load_sweep(path: Path) -> dict:
    spec = read_yaml(path, f"sweep file {path} does not exist; see experiments/*.yaml")
    if not isinstance(spec, dict) or "program" not in spec or "parameters" not in spec:
        raise LadderError(f"{path} is not a wandb sweep file: it needs `program` and `parameters`")
    params = spec["parameters"]
    if not isinstance(spec["program"], str) or not isinstance(params, dict) or not params:
        raise LadderError(f"{path}: `program` must be a file name and `parameters` a mapping of settings")
    for name, p in params.items():
        if not isinstance(p, dict) or not ({"value", "values"} & set(p) or {"min", "max"} <= set(p)):
            raise LadderError(f"{path}: parameter {name!r} needs `value`, `values`, or `min` and `max`")
    if spec.get("method", "grid") not in ("grid", "random"):
        raise LadderError(f"{path}: method {spec.get('method')!r} is not supported here (grid or random)")
    return spec


def sample_value(p: dict, rng: random.Random):
    """One draw from a wandb parameter spec (values, value, or a distribution)."""
    if "value" in p:
        return p["value"]
    if "values" in p:
        return rng.choice(p["values"])
    dist, lo, hi = p.get("distribution", "uniform"), p["min"], p["max"]
    if dist == "log_uniform_values":
        return math.exp(rng.uniform(math.log(lo), math.log(hi)))
    if dist == "int_uniform":
        return rng.randint(lo, hi)
    if dist == "uniform":
        return rng.uniform(lo, hi)
    raise LadderError(f"parameter distribution {dist!r} is not supported here")


def expand(spec: dict, count: int | None, seed: int) -> list[dict]:
    params = spec["parameters"]
    if spec.get("method", "grid") == "grid":
        for name, p in params.items():
            if "values" not in p and "value" not in p:
                raise LadderError(f"grid parameter {name!r} needs `values` or `value`")
        names = list(params)
        choices = [params[n]["values"] if "values" in params[n] else [params[n]["value"]] for n in names]
        return [dict(zip(names, combo)) for combo in itertools.product(*choices)]
    if not count:
        raise LadderError("a random sweep needs --count N")
    rng = random.Random(seed)  # the same draws every time, so reruns find their finished runs
    return [{n: sample_value(p, rng) for n, p in params.items()} for _ in range(count)]


def run_name(sweep: str, config: dict, params: dict) -> str:
    """Sweep name + the settings that vary across the sweep (and the rung), e.g. positions-v2_bpe_rope-s1338."""

    def show(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)

    fixed = {k for k, p in params.items() if "value" in p or len(p.get("values", [0, 1])) == 1}
    keys = sorted(config, key=lambda k: k != "rung")  # the rung first, then the YAML's order
    varying = [f"{SHORT.get(k, k + '=')}{show(config[k])}" for k in keys if k == "rung" or k not in fixed]
    return "-".join([sweep, *varying]).replace("/", "_")


def parse_shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        k = n = 0
    if not 1 <= k <= n:
        raise LadderError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. --shard 1/2")
    return k, n


def main(argv=None):
    ap = ArgParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    ap.add_argument("sweep", type=Path, help="a wandb sweep YAML file")
    ap.add_argument("--count", type=int, default=None, help="random search: configurations to draw")
    ap.add_argument("--seed", type=int, default=0, help="random search: seed for the draws")
    ap.add_argument("--dry-run", action="store_true", help="print the commands and exit")
    ap.add_argument(
        "--wandb", default="offline", choices=("online", "offline", "disabled"), help="wandb mode for each run"
    )
    ap.add_argument("--out_dir", default="results/runs", help="where run folders go")
    ap.add_argument("--shard", default="1/1", help="K/N: run only every N-th configuration, from the K-th")
    args = ap.parse_args(argv)
    shard, shards = parse_shard(args.shard)
    spec = load_sweep(args.sweep)
    program = ROOT / spec["program"]
    if not program.is_file():
        raise LadderError(f"{args.sweep}: program {spec['program']} does not exist")
    configs = expand(spec, args.count, args.seed)
    name = spec.get("name", args.sweep.stem)
    plan = []
    for config in configs[shard - 1 :: shards]:
        rname = run_name(name, config, spec["parameters"])
        flags = [f"--{k}={v}" for k, v in config.items()]
        cmd = [
            sys.executable,
            str(program.relative_to(ROOT)),
            *flags,
            f"--name={rname}",
            f"--wandb={args.wandb}",
            f"--out_dir={args.out_dir}",
        ]
        done = (ROOT / args.out_dir / rname / "summary.json").is_file()
        started = (ROOT / args.out_dir / rname / "metrics.jsonl").is_file()  # continued, or rerun if no checkpoint
        plan.append((rname, cmd + (["--resume=auto"] if started and not done else []), done))
    todo = [p for p in plan if not p[2]]
    part = f" (shard {shard}/{shards} of {len(configs)})" if shards > 1 else ""
    print(f"{name}: {len(plan)} runs{part}, {len(plan) - len(todo)} finished, {len(todo)} to run")
    if args.dry_run:
        for _rname, cmd, done in plan:
            print(("# done: " if done else "") + " ".join(cmd[1:]).replace(str(ROOT) + "/", ""))
        return
    t0 = time.time()
    for k, (rname, cmd, _) in enumerate(todo, 1):
        if (ROOT / args.out_dir / rname / "summary.json").is_file():  # finished meanwhile by another runner
            print(f"\n=== [{k}/{len(todo)}] {rname}: finished meanwhile, skipped", flush=True)
            continue
        print(f"\n=== [{k}/{len(todo)}] {rname}  (sweep time so far {(time.time() - t0) / 60:.1f} min)", flush=True)
        code = subprocess.call(cmd, cwd=ROOT)
        if code in (130, 143):  # the run saved a checkpoint and stopped (Ctrl-C, SIGTERM)
            print("sweep interrupted; rerun the same command to continue")
            sys.exit(code)
        if code != 0:
            print(f"run {rname} failed with exit code {code}; continuing with the next one")
    print(f"\n{name}: done in {(time.time() - t0) / 60:.1f} min")


if __name__ == "__main__":
    run_cli(main)
