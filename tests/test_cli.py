"""Every command-line script in the repository: `--help` prints its usage and exits 0; a flag it does
not know is one line on stderr and exit status 2 (never argparse's usage block, never a traceback).
Scripts run in this process (runpy), so the check costs an import each, not a Python start."""

import runpy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(
    str(p.relative_to(ROOT))
    for folder in (ROOT, ROOT / "experiments", ROOT / "benchmarks")
    for p in folder.glob("*.py")
    if 'if __name__ == "__main__":' in p.read_text()
)


def run(script: str, argv: list[str], monkeypatch) -> int:
    monkeypatch.setattr(sys, "argv", [script, *argv])
    monkeypatch.setattr(sys, "path", [str(ROOT / Path(script).parent), *sys.path])
    try:
        runpy.run_path(str(ROOT / script), run_name="__main__")
    except SystemExit as e:
        return e.code or 0
    return 0


def test_the_list_is_complete():
    assert len(SCRIPTS) >= 20 and "v6_muon.py" in SCRIPTS and "benchmarks/gpu_smoke.py" in SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_and_a_bad_flag(script, monkeypatch, capsys):
    assert run(script, ["--help"], monkeypatch) == 0
    assert "usage:" in capsys.readouterr().out
    assert run(script, ["--no-such-flag"], monkeypatch) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
