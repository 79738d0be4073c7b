"""benchmarks/gpu_smoke.py: bad input is one line before any work; on a CPU the same code runs end
to end (slow: it trains a rung on WikiText-2 and evaluates the full splits). Run:
pytest tests/test_gpu_smoke.py  (and -m slow for the dry run)"""

import pytest
import torch

from benchmarks import gpu_smoke
from common.errors import LadderError


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_no_gpu_is_one_line():
    with pytest.raises(LadderError, match="no CUDA GPU is visible"):
        gpu_smoke.main(["--device", "cuda"])


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--steps", "5", "--log_interval", "10"], "--steps must be larger than --log_interval"),
        (["--batch_size", "0"], "--batch_size and --log_interval must be at least 1"),
    ],
)
def test_bad_numbers_are_one_line(argv, needle):
    with pytest.raises(LadderError, match=needle):
        gpu_smoke.main(["--device", "cpu", *argv])


@pytest.mark.slow
def test_the_cpu_dry_run_writes_the_table(tmp_path, capsys):
    out = tmp_path / "smoke.md"
    argv = ["--device", "cpu", "--rung", "v1_transformer", "--steps", "12", "--batch_size", "4"]
    gpu_smoke.main([*argv, "--log_interval", "4", "--compile", "off", "--out", str(out)])
    rows = [line for line in out.read_text().splitlines() if line.startswith("| False")]
    assert len(rows) == 1 and "n/a (not a GPU)" in rows[0]
    tokens_per_s, mfu, bpb = (cell.strip() for cell in rows[0].split("|")[2:5])
    assert float(tokens_per_s.replace(",", "")) > 0 and mfu.endswith("%") and 0 < float(bpb) < 10
