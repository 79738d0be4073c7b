"""The ladder's own promises, checked on every rung file on disk (v*_*.py):
- a rung is read top to bottom in minutes: at most 250 lines (STYLE.md);
- rungs never import each other (DESIGN.md, "The rung contract"), and `common/` never imports a rung;
- `diff vN-1 vN` shows one idea: the code below the docstrings differs by at most DIFF_BUDGET lines;
- a rung commits to its parent's winners: its settings are its parent's, less the parent's ablation
  flags, plus its own idea's (STYLE.md; docs/adding_a_rung.md).
Run: pytest tests/test_ladder_shape.py"""

import ast
import difflib
from dataclasses import dataclass, field, fields

import pytest
import yaml

from common.config import TrainConfig
from tests.conftest import ROOT, RUNGS, SIDE_RUNGS, rung_module

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
# Committing to a parent's winners removes each flag's field and branches: v6 hard-coding v5's five
# flags took 44 changed lines (v5->v6: 56 before, 101 after). Each flag a rung commits to widens its
# budget by COMMIT_BUDGET, so the diff shows the rung's idea plus the block it committed to.
COMMIT_BUDGET = 10


@dataclass
class Idea:
    adds: set[str] = field(default_factory=set)  # the Config fields this rung's idea adds to its parent's
    ablation: set[str] = field(default_factory=set)  # those that switch the idea, or a piece of it, off
    replaces: set[str] = field(default_factory=set)  # the parent's fields that go with the code it replaces


# Every rung's settings, declared: a new rung gets its entry here, or its tests fail. Ablation flags
# live in the rung that introduces the idea and back its table (an experiments/*.yaml sweep); the next
# rung hard-codes what won, so it never carries its ancestors' flags. An idea's knobs (v6's learning
# rates) are not ablation flags: they stay.
V5_BLOCK = {"norm", "qk_norm", "mlp", "zero_init", "tie_head"}
V7_PATHS = {"x0", "value_residual", "value_embeds", "unet", "softcap"}
IDEAS = {
    "v0_bigram": Idea(),
    "v1_transformer": Idea(adds={"n_layer", "n_head", "n_embd", "fused", "pos"}),  # pos: learned or sinusoidal
    "v2_bpe_rope": Idea(adds={"rope_theta"}, replaces={"pos"}),  # RoPE replaces the absolute positions
    "v3_alibi": Idea(replaces={"rope_theta"}),  # ALiBi replaces RoPE, and RoPE's base with it
    "v4_scaffold_bpe": Idea(),
    "v5_modern": Idea(adds=V5_BLOCK, ablation=V5_BLOCK),
    "v6_muon": Idea(adds={"muon", "muon_lr", "emb_lr"}, ablation={"muon"}),
    "v7_shortcuts": Idea(adds=V7_PATHS | {"scalar_lr", "ve_lr"}, ablation=V7_PATHS),
}


def code_lines(name: str) -> list[str]:
    src = (ROOT / f"{name}.py").read_text()
    doc_end = ast.parse(src).body[0].end_lineno  # the module docstring is the rung's first statement
    return src.splitlines()[doc_end:]


def settings(name: str | None) -> set[str]:
    """The Config fields of rung `name`; None: the shared training config every rung starts from."""
    return {f.name for f in fields(TrainConfig if name is None else rung_module(name).Config)}


def idea(name: str) -> Idea:
    if name not in IDEAS:
        pytest.fail(f"{name}.py is not in IDEAS (tests/test_ladder_shape.py): declare the settings its idea adds")
    return IDEAS[name]


def swept_settings(name: str) -> set[str]:
    """The settings that experiments/*.yaml sweeps set on rung `name` (parameters, and variants' name=value)."""
    out = set()
    for path in (ROOT / "experiments").glob("*.yaml"):
        params = yaml.safe_load(path.read_text())["parameters"]
        rung = params.get("rung", {})
        if name not in [rung.get("value"), *rung.get("values", [])]:
            continue
        out |= set(params) - {"rung", "variant"}
        for variant in params.get("variant", {}).get("values", []):
            out |= {pair.split("=")[0].strip() for pair in str(variant).split(",") if "=" in pair}
    return out


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
    budget += COMMIT_BUDGET * len(idea(before).ablation)
    assert len(changed) <= budget, (
        f"diff {before}.py {after}.py changes {len(changed)} code lines (budget {budget}): one idea per rung"
    )


@pytest.mark.parametrize("parent, name", list(zip([None, *RUNGS], RUNGS)))
def test_rung_settings_are_its_parents_plus_its_own_ideas(parent, name):
    own, inherited = idea(name), settings(parent)
    flags = idea(parent).ablation if parent else set()  # the parent's flags: this rung commits to their winners
    assert own.ablation <= own.adds and own.replaces <= inherited, f"IDEAS[{name!r}]: flags it adds, fields it had"
    carried = sorted(settings(name) & flags)
    assert not carried, f"{name}.py keeps its parent's ablation flags {carried}: hard-code the winners"
    want, got = (inherited - flags - own.replaces) | own.adds, settings(name)
    assert got == want, (
        f"{name}.py's settings are not its parent's plus its idea's: extra {sorted(got - want)}, "
        f"missing {sorted(want - got)} (declare the idea's settings in IDEAS, tests/test_ladder_shape.py)"
    )


@pytest.mark.parametrize("name", RUNGS)
def test_ablation_flags_back_a_sweep(name):
    unswept = sorted(idea(name).ablation - swept_settings(name))
    assert not unswept, f"{name}'s ablation flags {unswept} are set by no experiments/*.yaml: a flag backs a table"
