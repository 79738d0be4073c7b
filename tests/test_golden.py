"""Golden losses: each rung's first training losses at a tiny fixed config must match the stored
ones (tests/golden_losses.json). A refactor of `common/` that silently changes training fails
here; a change meant to alter training regenerates them with `python -m tests.golden` (see
tests/golden.py). Run: pytest tests/test_golden.py"""

import json

import pytest

from tests.conftest import RUNGS
from tests.golden import GOLDEN_FILE, STEPS, golden_run

# CPU float sums differ in the last bits between thread counts and CPUs; a real change to the
# data, the init or the update moves the losses by far more than this
TOLERANCE = 1e-4


@pytest.mark.parametrize("name", RUNGS)
def test_golden_losses(name, tmp_path):
    goldens = json.loads(GOLDEN_FILE.read_text())
    if name not in goldens:
        pytest.fail(f"no golden losses for {name}; run `python -m tests.golden {name}` and commit the file")
    got, want = golden_run(name, tmp_path), goldens[name]
    assert len(got["train/loss"]) == STEPS
    assert got["train/loss"] == pytest.approx(want["train/loss"], abs=TOLERANCE), (
        "training changed; if on purpose, regenerate with `python -m tests.golden` and say why in the commit"
    )
    assert got["val/loss"] == pytest.approx(want["val/loss"], abs=TOLERANCE)
