"""The notebooks: every percent script in notebooks/ and its .ipynb hold the same cells, the .ipynb
was executed top to bottom (its outputs are what GitHub shows), and, marked slow, every notebook
runs without an error in fast mode.

    python -m pytest -q tests/test_notebooks.py                  # the pairs (fast; in the default suite)
    python -m pytest -q -m slow tests/test_notebooks.py          # execute every notebook (~2-3 min; .ci/run)

A failing pair is fixed by rebuilding it: `python notebooks/build.py NAME` (executes it) or, to
check cells only, `python notebooks/build.py --sync NAME` (drops the outputs: rebuild before committing).
"""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "notebooks"))

jupytext = pytest.importorskip("jupytext")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
import build  # noqa: E402  (notebooks/build.py)

SOURCES = build.sources()
NAMES = [p.stem for p in SOURCES]


def cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_there_are_notebooks_and_each_has_its_pair():
    assert len(SOURCES) >= 5, SOURCES
    ipynbs = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert ipynbs == set(NAMES), f"unpaired: {sorted(ipynbs ^ set(NAMES))}; run python notebooks/build.py"


@pytest.mark.parametrize("name", NAMES)
def test_pair_in_sync(name):
    """The .py is the source; the .ipynb must hold the same cells (outputs and metadata aside)."""
    py, ipynb = ROOT / "notebooks" / f"{name}.py", ROOT / "notebooks" / f"{name}.ipynb"
    source, executed = cells(jupytext.read(py)), cells(nbformat.read(ipynb, as_version=4))
    assert source == executed, f"{ipynb.name} is out of sync with {py.name}: run python notebooks/build.py {name}"


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_was_executed_in_order(name):
    """Every code cell ran once, top to bottom, in one kernel, with no error in its outputs."""
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), (
        f"{name}.ipynb was not executed top to bottom: run python notebooks/build.py {name}"
    )
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{name}.ipynb holds an error output: {errors[0].ename}: {errors[0].evalue}"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_uses_the_project_and_the_fast_switch(name):
    """Notebooks teach with the project's code and honour the one fast-mode variable."""
    text = (ROOT / "notebooks" / f"{name}.py").read_text()
    assert "sys.path.insert(0, str(ROOT))" in text or "sys.path[:0] = [str(ROOT)" in text
    assert build.FAST_ENV in text


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_in_fast_mode(name):
    """Top to bottom in a fresh kernel with LADDER_NOTEBOOK_FAST=1; any failing cell fails the test."""
    pytest.importorskip("ipykernel")
    if not os.environ.get("LADDER_DATA_DIR"):
        pytest.skip("set LADDER_DATA_DIR to the corpora folder (e.g. ../shared/data)")
    build.execute(ROOT / "notebooks" / f"{name}.py", fast=True, timeout=300)
