"""What every benchmark report shares: its head (title, the command that wrote it, the machine and
how busy it was, the date), so a figure can be traced and rerun, and the `measure | value | note`
table that the tokenizer and data benchmarks print row by row as they measure."""

import os
import platform
import subprocess
import sys
import time
from pathlib import Path


def machine() -> str:
    """CPU model, cores, Python: what a timing depends on besides the code."""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def command(script: str, argv: list[str] | None) -> str:
    """The command that reruns a benchmark: `python benchmarks/<script> <its arguments>`."""
    return " ".join(["python", f"benchmarks/{Path(script).name}", *(sys.argv[1:] if argv is None else argv)])


def header(title: str, script: str, argv: list[str] | None, machine: str, load: float | None = None) -> list[str]:
    """A report's first lines. `load`: the 1-minute load average before the work (timings on a shared
    machine mean little without it); leave it out where `machine` already says it. The two spaces
    that end a line are a Markdown line break."""
    busy = "" if load is None else f"; load average before the run {load:.2f}"
    return [
        f"# {title}",
        "",
        f"Command: `{command(script, argv)}`  ",
        f"Machine: {machine}{busy}  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  ",
    ]


class Rows:
    """(measure, value, note) rows: each printed as it is measured, all of them a table at the end."""

    def __init__(self, width: int):
        self.width, self.rows = width, []

    def add(self, measure: str, value: str, note: str = "") -> None:
        self.rows.append((measure, value, note))
        print(f"{measure:<{self.width}} {value:>14}  {note}", flush=True)

    def table(self) -> list[str]:
        return [
            "| measure | value | note |",
            "| --- | ---: | --- |",
            *[f"| {m} | {v} | {n} |" for m, v, n in self.rows],
        ]


def rungs(root: Path) -> list[str]:
    """The ladder's rung files in `root` in ladder order (v2 before v10), without the side rung."""
    stems = [p.stem for p in root.glob("v[0-9]*_*.py") if p.stem != "v1_numpy"]
    return sorted(stems, key=lambda stem: int(stem[1:].split("_")[0]))
