"""The ladder's own promises, checked on every rung file on disk (v*_*.py):
- a rung is read top to bottom in minutes: at most 250 lines (STYLE.md);
- rungs never import each other (DESIGN.md, "The rung contract"), and `common/` never imports a rung;
- `diff vN-1 vN` shows one idea: the code below the docstrings differs by at most DIFF_BUDGET lines.
Run: pytest tests/test_ladder_shape.py"""

import ast
import difflib

import pytest

from tests.conftest import ROOT, RUNGS, SIDE_RUNGS

MAX_LINES = 250
# A side rung writes out what a library does for the others (v1_numpy.py: every layer's backward and
# AdamW beside v1's forward), so it may run to about 2.4 times a rung's length; it stays out of the diff chain.
SIDE_MAX_LINES = 600
# Changed lines (added + removed, module docstring excluded) between consecutive rungs. Set from the
# diffs as they stood when the test was written (v1->v2 45, v2->v3 76, v3->v4 4, v4->v5 64, v5->v6
# 56) and STYLE.md's "20-80 lines is healthy": a rung that needs more is probably two ideas.
# v0 -> v1 is the one exception: it introduces the whole transformer (108 lines then).
DIFF_BUDGET = 80
FIRST_DIFF_BUDGET = 120


def code_lines(name: str) -> list[str]:
    src = (ROOT / f"{name}.py").read_text()
    doc_end = ast.parse(src).body[0].end_lineno  # the module docstring is the rung's first statement
    return src.splitlines()[doc_end:]


def imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("name", RUNGS)
def test_rung_fits_in_250_lines(name):
    n = len((ROOT / f"{name}.py").read_text().splitlines())
    assert n <= MAX_LINES, f"{name}.py has {n} lines; a rung of more than {MAX_LINES} is doing someone else's job"


@pytest.mark.parametrize("name", SIDE_RUNGS)
def test_side_rung_fits_in_its_limit(name):
    n = len((ROOT / f"{name}.py").read_text().splitlines())
    assert n <= SIDE_MAX_LINES, f"{name}.py has {n} lines; a side rung stays under {SIDE_MAX_LINES}"


@pytest.mark.parametrize("name", RUNGS + SIDE_RUNGS)
def test_rung_imports_no_other_rung(name):
    others = imported_modules(ROOT / f"{name}.py") & (set(RUNGS + SIDE_RUNGS) - {name})
    assert not others, f"{name}.py imports {sorted(others)}: rungs never import each other"


def test_common_imports_no_rung():
    for path in (ROOT / "common").glob("*.py"):
        rungs = imported_modules(path) & set(RUNGS + SIDE_RUNGS)
        assert not rungs, f"common/{path.name} imports {sorted(rungs)}: common/ knows no rung"


@pytest.mark.parametrize("before, after", list(zip(RUNGS, RUNGS[1:])))
def test_consecutive_rungs_differ_by_one_idea(before, after):
    diff = difflib.unified_diff(code_lines(before), code_lines(after), lineterm="", n=0)
    changed = [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    budget = FIRST_DIFF_BUDGET if before == RUNGS[0] else DIFF_BUDGET
    assert len(changed) <= budget, (
        f"diff {before}.py {after}.py changes {len(changed)} code lines (budget {budget}): one idea per rung"
    )
