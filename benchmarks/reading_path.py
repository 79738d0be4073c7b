"""The lines a reader follows for a rung: the rung file and every file of this repository it imports
at module level, followed transitively (STYLE.md: "Count the lines a reader follows for one rung").

Static: the files are parsed, never imported (only the tokenizer's table of kinds is read, to
follow a rung's `tokenizer` to its own file, such as bpe_scaffold.py for v4 on). An import at module level counts (also one inside a
module-level `if`, `try` or `with`); one inside a function does not, since it runs only when that
function does (common/corpus_scale.py, for a corpus at scale). Importing `common.data` also reads
`common/__init__.py`. Every line of a file counts: its docstrings and comments are read too.

Run:  python benchmarks/reading_path.py v2_bpe_rope.py   (one rung, file by file)
      python benchmarks/reading_path.py                  (every rung, its total)
"""

import ast
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a file: add the repo root
from common.config import ArgParser
from common.errors import LadderError, run_cli

ROOT = Path(sys.path[0])


def module_file(name: str) -> Path | None:
    """The repository file of module `name` (a package: its __init__.py), or None (not ours)."""
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def module_level(body):
    """The statements that run when the module is imported (the bodies of if / try / with too)."""
    for node in body:
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            if isinstance(node, (ast.If, ast.Try, ast.With, ast.ExceptHandler)) and hasattr(node, field):
                yield from module_level(getattr(node, field))


def imported_files(path: Path) -> list[Path]:
    """The repository files that importing `path` reads, in the order its imports name them."""
    names = []
    for node in module_level(ast.parse(path.read_text(), str(path)).body):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # `from common import data` imports the module common.data; `from common.data import X` a name
            names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    files = []
    for name in names:
        parts = name.split(".")
        for k in range(1, len(parts) + 1):  # a package's __init__.py runs before its modules
            file = module_file(".".join(parts[:k]))
            if file and file not in files:
                files.append(file)
    return files


def tokenizer_file(rung: Path) -> Path | None:
    """The file of the rung's tokenizer kind when that kind lives in a file of its own (bpe_tokenizer's
    table names it "module.Class" and imports it on use): part of the rung's path though no import names it."""
    from bpe_tokenizer import KINDS  # no side effects: a table of names

    found = re.search(r'^\s+tokenizer: str = "([\w-]+)"', rung.read_text(), re.MULTILINE)
    trainer = KINDS.get(found[1], ("", (None,)))[1][0] if found else None
    return module_file(trainer.rpartition(".")[0]) if isinstance(trainer, str) else None


def reading_path(rung: Path) -> dict[Path, int]:
    """Every file a reader follows from `rung`, with its line count, in the order they are met."""
    seen, todo = {}, [rung.resolve()]
    if (kind_file := tokenizer_file(rung)) is not None:
        todo.append(kind_file)
    while todo:
        path = todo.pop(0)
        if path in seen:
            continue
        seen[path] = len(path.read_text().splitlines())
        todo += imported_files(path)
    return seen


def main(argv: list[str] | None = None) -> None:
    p = ArgParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    p.add_argument("rungs", nargs="*", help="rung files (default: every rung, totals only)")
    args = p.parse_args(argv)
    for arg in args.rungs:
        rung = Path(arg) if Path(arg).is_file() else ROOT / arg
        if not rung.is_file() or rung.suffix != ".py":
            raise LadderError(f"{arg} is not a Python file; pass a rung such as v2_bpe_rope.py")
        lines = reading_path(rung)
        for path, n in lines.items():
            print(f"{path.relative_to(ROOT).as_posix():<28} {n:>6,}")
        print(f"{'total':<28} {sum(lines.values()):>6,}  ({len(lines)} files)")
    if not args.rungs:
        for rung in sorted(ROOT.glob("v[0-9]*_*.py")):
            lines = reading_path(rung)
            print(f"{rung.name:<28} {sum(lines.values()):>6,}  ({len(lines)} files)")


if __name__ == "__main__":
    run_cli(main)
