"""Run any rung by name, so one sweep file can compare rungs: `--rung v2_bpe_rope` picks the
script and every other flag goes to it unchanged.

    python experiments/rung.py --rung v3_alibi --seed 1338

`--variant` names a set of settings as one sweep value, so an ablation (one change at a time, not
a grid) is a plain wandb sweep parameter: `--variant base` adds nothing, `--variant
qk_norm=false,mlp=gelu` adds `--qk_norm=false --mlp=gelu`.

    python experiments/rung.py --rung v5_modern --variant mlp=swiglu

`--rung NAME+K=V[,K=V]` is NAME with that variant, so a sweep's list of rungs can hold one rung
twice (experiments/positions.yaml: v1_transformer+pos=sinusoidal beside v1_transformer).

`--calibration FILE` sets `--max_steps` to the rung's step count in a calibration file written by
benchmarks/calibrate.py (a budget of minutes turned into steps on one machine, then the same steps
everywhere). Several files, comma-separated: the first that has the rung gives its steps (a rung
timed in a later sitting, scaled to the first one's time: calibrate.py --reference):

    python experiments/rung.py --rung v6_muon --calibration results/bench/calibration.json
"""

import importlib
import json
import sys
from pathlib import Path

# run as a file (`python experiments/x.py`), Python puts only experiments/ on sys.path: add the repo root
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.errors import LadderError, run_cli

ROOT = Path(__file__).resolve().parents[1]


def variant_flags(variant: str | None) -> list[str]:
    """'base' -> []; 'qk_norm=false,mlp=gelu' -> ['--qk_norm=false', '--mlp=gelu']."""
    if variant in (None, "", "base"):
        return []
    pairs = [p.strip() for p in variant.split(",")]
    if not all("=" in p and p.split("=", 1)[0] for p in pairs):
        raise LadderError(f"--variant {variant!r}: expected 'base' or name=value[,name=value...]")
    return [f"--{p}" for p in pairs]


# a side rung reproduces its parent exactly (DESIGN.md), so it trains for its parent's calibrated steps
PARENT = {"v1_numpy": "v1_transformer"}


def calibrated_steps(paths: str, rung: str | None) -> int:
    """The step count of `rung` in calibration files (benchmarks/calibrate.py --out), comma-separated:
    the first file that has the rung (or its side rung's parent) gives it."""
    for path in paths.split(","):
        try:
            rows = json.loads((ROOT / path).read_text())["rungs"]
        except FileNotFoundError:
            raise LadderError(f"--calibration {path} does not exist; run benchmarks/calibrate.py --out first") from None
        except (OSError, ValueError, KeyError, TypeError):  # a folder, unreadable, not JSON, not a calibration
            raise LadderError(
                f"--calibration {path} is not a calibration file (benchmarks/calibrate.py --out)"
            ) from None
        name = rung if rung in rows else PARENT.get(rung, rung)
        if name in rows:
            return rows[name]["steps"]
    raise LadderError(f"--calibration {paths} has no figure for {rung}; time it with benchmarks/calibrate.py --only")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    rungs = sorted(p.stem for p in ROOT.glob("v[0-9]*_*.py"))
    picked, rest = {"rung": None, "variant": "base", "calibration": None}, []
    it = iter(argv)
    for arg in it:
        name = arg[2:].split("=", 1)[0] if arg.startswith("--") else None
        if name in picked:
            picked[name] = arg.split("=", 1)[1] if "=" in arg else next(it, None)
        else:
            rest.append(arg)
    rung, _, own = (picked["rung"] or "").partition("+")  # NAME+K=V: a variant of one rung in a rung list
    rung = rung or None
    rest += variant_flags(own or None) + variant_flags(picked["variant"])
    if rung is None and any(a in ("-h", "--help") for a in rest):
        usage = "usage: rung.py --rung NAME [--variant K=V[,K=V]] [--calibration FILE[,FILE]] [the rung's flags]"
        print(
            f"{usage}\n\n{__doc__.strip()}\n\nrungs: {', '.join(rungs)}\n(add --rung NAME --help for that rung's settings)"
        )
        return None
    if rung not in rungs:
        raise LadderError(f"--rung must be one of {', '.join(rungs)} (got {rung!r})")
    if picked["calibration"] and not any(a in ("-h", "--help") for a in rest):  # help needs no budget
        rest.append(f"--max_steps={calibrated_steps(picked['calibration'], rung)}")
    return importlib.import_module(rung).main(rest)


if __name__ == "__main__":
    run_cli(main)
