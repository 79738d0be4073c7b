"""Run any rung by name, so one sweep file can compare rungs: `--rung v2_bpe_rope` picks the
script and every other flag goes to it unchanged.

    python experiments/rung.py --rung v3_alibi --seed 1338
"""

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.errors import LadderError, run_cli  # noqa: E402


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    rungs = sorted(p.stem for p in ROOT.glob("v[0-9]*_*.py"))
    rung, rest = None, []
    it = iter(argv)
    for arg in it:
        if arg == "--rung":
            rung = next(it, None)
        elif arg.startswith("--rung="):
            rung = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    if rung is None and any(a in ("-h", "--help") for a in rest):
        print(
            __doc__.strip() + "\n\nrungs: " + ", ".join(rungs) + "\n(add --rung NAME --help for that rung's settings)"
        )
        return None
    if rung not in rungs:
        raise LadderError(f"--rung must be one of {', '.join(rungs)} (got {rung!r})")
    return importlib.import_module(rung).main(rest)


if __name__ == "__main__":
    run_cli(main)
