"""Execute the notebooks and write their paired .ipynb files (with outputs, so they render on GitHub).

The percent scripts `notebooks/NN_*.py` are the source: edit those (or open the .ipynb in Jupyter,
where jupytext keeps both in step), then rebuild:

    python notebooks/build.py                  # every notebook at its committed settings (~10 min on 2 cores)
    python notebooks/build.py 02_attention     # one notebook
    python notebooks/build.py --fast           # run them in fast mode (LADDER_NOTEBOOK_FAST=1), write nothing
    python notebooks/build.py --sync           # rewrite the .ipynb cells from the .py, keeping no outputs

Each notebook runs in a fresh kernel with `notebooks/` as its working folder and reads its corpus
from LADDER_DATA_DIR, as the rung scripts do. tests/test_notebooks.py checks that every pair holds
the same cells, and (marked slow, run by .ci/run) executes every notebook in fast mode.
"""

import argparse
import os
import re
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

HERE = Path(__file__).resolve().parent
FAST_ENV = "LADDER_NOTEBOOK_FAST"  # "1": each notebook takes its small settings (a few steps, a slice of data)
CELL_TIMEOUT = 1800  # seconds one cell may take before the build gives up (a loaded machine is slow)
FORMATS = "ipynb,py:percent"  # the pairing jupytext keeps when a notebook is opened in Jupyter


def sources() -> list[Path]:
    """The notebooks' percent scripts, in reading order (01_..., 02_..., ...)."""
    return sorted(HERE.glob("[0-9][0-9]_*.py"))


def read_source(py: Path) -> nbformat.NotebookNode:
    nb = jupytext.read(py)
    nb.metadata.setdefault("jupytext", {})["formats"] = FORMATS
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return nb


def execute(py: Path, fast: bool, timeout: int = CELL_TIMEOUT) -> nbformat.NotebookNode:
    """The notebook of `py`, run top to bottom in a fresh kernel; CellExecutionError on a failing cell."""
    nb = read_source(py)
    # the kernel inherits this process' environment; progress bars would fill the saved outputs
    env = {FAST_ENV: "1" if fast else "0", "TQDM_DISABLE": "1"}
    previous = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}
        ).execute()
    finally:
        for k, v in previous.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


BAR = re.compile(r"^\s*\d+%\|")  # a tqdm progress bar frame: " 40%|████      | 4/10 [...]"


def settle(text: str) -> str:
    """Stream text as a terminal leaves it: a progress bar redraws its line after each carriage
    return, so only the last drawing of each line stays (else the saved output keeps every frame)."""
    lines = [line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n")]
    return "\n".join(line for line in lines if line.strip() or not line)


def tidy(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Saved outputs without progress-bar frames: the kernel sends each redraw as its own stream
    output, so of consecutive bar frames only the last is kept."""
    for cell in nb.cells:
        outputs = cell.get("outputs", [])
        for output in outputs:
            if output.get("output_type") == "stream":
                output["text"] = settle(output["text"])

        def frame(o) -> bool:
            return o.get("output_type") == "stream" and bool(BAR.match(o["text"].strip("\n")))

        kept = [o for o, after in zip(outputs, [*outputs[1:], None]) if not (frame(o) and after and frame(after))]
        if "outputs" in cell:
            cell["outputs"] = [o for o in kept if o.get("output_type") != "stream" or o["text"].strip()]
    return nb


def write(nb: nbformat.NotebookNode, py: Path) -> Path:
    tidy(nb)
    out = py.with_suffix(".ipynb")
    jupytext.write(nb, out, fmt="ipynb")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="notebooks to build (e.g. 02_attention); default: all")
    ap.add_argument("--fast", action="store_true", help=f"run in fast mode ({FAST_ENV}=1), as CI does; writes nothing")
    ap.add_argument("--sync", action="store_true", help="only rewrite the .ipynb cells from the .py (no outputs)")
    args = ap.parse_args(argv)
    chosen = [p for p in sources() if not args.names or p.stem in args.names or p.name in args.names]
    if not chosen:
        print(f"no notebook named {' '.join(args.names)} in {HERE} (see ls notebooks/*.py)", file=sys.stderr)
        return 2
    for py in chosen:
        if args.sync:
            print(f"{py.name}: synced to {write(read_source(py), py).name}")
            continue
        start = time.perf_counter()
        try:
            nb = execute(py, args.fast)
        except (CellExecutionError, CellTimeoutError) as e:
            print(f"{py.name} failed: {str(e).strip().splitlines()[-1]}", file=sys.stderr)
            return 1
        took = time.perf_counter() - start
        if args.fast:  # a check: fast-mode outputs are never written over the committed ones
            print(f"{py.name}: ran in fast mode in {took:.0f} s", flush=True)
        else:
            print(f"{py.name}: executed in {took:.0f} s -> {write(nb, py).name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
