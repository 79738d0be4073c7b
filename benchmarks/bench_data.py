"""Streaming data at scale: token-cache build speed and peak memory at 100 MB and 1 GB of text,
and tokenizer training time (ours against Hugging Face `tokenizers`) on the same corpora.

The corpora are WikiText-2's training text repeated to the size asked, written to --tmp (never
committed, never in the repo). Every measurement runs in a fresh process and reads its peak RSS
from /proc/self/status (VmHWM); the processes it starts (pre-tokenizing, encoding) are reported
separately (RUSAGE_CHILDREN: the largest of them).

- build: `common.data.load_dataset` on the corpus with a byte-level BPE tokenizer of --vocab ids
  trained on WikiText-2 (given, so only the cache build is timed): split the text, encode it in
  pieces across processes, write the memory-mapped ids.
- train: the tokenizer training `--data FILE` runs (streamed pieces, pre-token counts gathered in
  parallel processes, then the merges), on the corpus' training split; `tokenizers`' BpeTrainer
  on the same text (read whole: it has no streaming input here beyond an iterator of lines).

Run:  nice -n 5 python benchmarks/bench_data.py --sizes 100 1000 --train_sizes 100 1000 --out results/bench/data.md
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

# run as a file (`python benchmarks/x.py`), Python puts only benchmarks/ on sys.path: add the repo root
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.reports import Rows, header, machine
from common.config import ArgParser
from common.errors import run_cli
from common.files import atomic_write, writable_file

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import resource, sys, time
sys.path.insert(0, {root!r})
def status(key):
    return int(next(x for x in open("/proc/self/status") if x.startswith(key)).split()[1]) / 1024
"""

BUILD = """
from types import SimpleNamespace
from bpe_tokenizer import load_tokenizer
from common.data import load_dataset
cfg = SimpleNamespace(data=sys.argv[1], data_dir="", tokenizer="bpe", vocab=0, cache_dir=sys.argv[2],
                      block_size=128, text_column="text", tokenizer_sample_mb=0.0)
tok = load_tokenizer(sys.argv[3])
t0 = time.perf_counter()
data = load_dataset(cfg, tok)
seconds = time.perf_counter() - t0
n_bytes = sum(data.split(s).n_bytes for s in ("train", "valid", "test"))
n_tokens = sum(len(data.split(s).ids) for s in ("train", "valid", "test"))
print(seconds, n_bytes, n_tokens, status("VmHWM"), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""

TRAIN_OURS = """
from common.corpus import load_corpus
from common.data import get_tokenizer
corpus = load_corpus(sys.argv[1])
t0 = time.perf_counter()
tok = get_tokenizer("bpe", int(sys.argv[3]), corpus, sys.argv[2])
seconds = time.perf_counter() - t0
print(seconds, corpus.text("train").n_bytes(), len(tok.merges), status("VmHWM"),
      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""

TRAIN_HF = """
from common.corpus import load_corpus
from benchmarks.bench_tokenizer import hf_train
text = load_corpus(sys.argv[1]).train
t0 = time.perf_counter()
tok = hf_train(text, int(sys.argv[3]))
seconds = time.perf_counter() - t0
print(seconds, len(text.encode()), tok.get_vocab_size(), status("VmHWM"),
      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""


def make_corpus(mb: int, folder: Path, data_dir: Path) -> Path:
    """WikiText-2's training text repeated to about `mb` MB, written in pieces (never held whole)."""
    path = folder / f"wikitext2-x{mb}MB.txt"
    if path.is_file() and path.stat().st_size >= mb * 1_000_000:
        return path
    base = (data_dir / "wikitext-2" / "train.txt").read_bytes()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        written = 0
        while written < mb * 1_000_000:
            f.write(base)
            written += len(base)
    os.replace(tmp, path)
    return path


def probe(body: str, *args) -> list[float]:
    code = PROBE.format(root=str(ROOT)) + textwrap.dedent(body)
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"probe failed:\n{out.stderr[-3000:]}")
    return [float(x) for x in out.stdout.split()[-5:]]


def measure_build(rows: Rows, corpus: Path, cache: Path, tok_path: Path) -> None:
    """The token cache of `corpus` built from nothing with a given tokenizer: speed and peak memory."""
    subprocess.run(["rm", "-rf", str(cache)], check=True)
    load = os.getloadavg()[0]
    seconds, n_bytes, n_tokens, peak, kids = probe(BUILD, corpus, cache, tok_path)
    rows.add(
        f"cache build, {n_bytes / 1e6:,.0f} MB",
        f"{n_bytes / 1e6 / seconds:.2f} MB/s",
        f"{seconds:.1f} s, {n_tokens:,.0f} tokens; load {load:.2f}",
    )
    rows.add(f"peak RSS cache build, {n_bytes / 1e6:,.0f} MB: main", f"{peak:.0f} MB", "split, encode, write")
    rows.add(f"peak RSS cache build, {n_bytes / 1e6:,.0f} MB: workers", f"{kids:.0f} MB", "largest encoding process")
    subprocess.run(["rm", "-rf", str(cache)], check=True)


def measure_training(rows: Rows, corpus: Path, cache: Path, vocab: int, hf: bool) -> None:
    """Our tokenizer trained on `corpus` (streamed); with `hf`, tokenizers' BpeTrainer on the same text."""
    load = os.getloadavg()[0]
    seconds, n_bytes, merges, peak, kids = probe(TRAIN_OURS, corpus, cache, vocab)
    rows.add(
        f"tokenizer training, ours, {n_bytes / 1e6:,.0f} MB",
        f"{seconds:.1f} s",
        f"{merges:.0f} merges; load {load:.2f}",
    )
    rows.add(f"peak RSS tokenizer training, ours, {n_bytes / 1e6:,.0f} MB", f"{peak:.0f} MB", f"workers: {kids:.0f} MB")
    subprocess.run(["rm", "-rf", str(cache)], check=True)
    if not hf:
        return
    load = os.getloadavg()[0]
    hf_seconds, n_bytes, vocab_size, peak, _ = probe(TRAIN_HF, corpus, cache, vocab)
    rows.add(
        f"tokenizer training, tokenizers, {n_bytes / 1e6:,.0f} MB",
        f"{hf_seconds:.1f} s",
        f"vocab {vocab_size:.0f}; load {load:.2f}",
    )
    rows.add(f"peak RSS tokenizer training, tokenizers, {n_bytes / 1e6:,.0f} MB", f"{peak:.0f} MB", "holds the text")
    rows.add(
        f"tokenizer training, ours / tokenizers, {n_bytes / 1e6:,.0f} MB", f"{seconds / hf_seconds:.2f}x", "goal <= 1x"
    )


def report(argv, vocab: int, rows: Rows, load_before: tuple, load_after: tuple) -> str:
    title = "Data benchmark: streaming token cache and tokenizer training at scale"
    return "\n".join(
        [
            *header(title, __file__, argv, machine(), load_before[0]),
            f"Load average before the run {load_before[1]:.2f} (5 min); after it {load_after[0]:.2f} (1 min) / "
            f"{load_after[1]:.2f} (5 min): the machine is shared",
            "with training runs, so every figure is one run under that load, not a best case.",
            f"Corpora: WikiText-2's training text repeated to the size named, split 90/5/5; byte-level BPE, vocab {vocab}.",
            "",
            *rows.table(),
            "",
            "Peak RSS: VmHWM of the process that builds or trains; `workers` is the largest process it",
            "started (ru_maxrss of its children; forked, so it counts what it shares with its parent).",
            "",
        ]
    )


def main(argv=None):
    p = ArgParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    p.add_argument("--sizes", type=int, nargs="+", default=[100, 1000], help="corpus sizes in MB")
    p.add_argument("--vocab", type=int, default=8000, help="BPE vocabulary size")
    p.add_argument(
        "--train_sizes",
        type=int,
        nargs="*",
        default=None,
        help="sizes to time tokenizer training at (default: the smallest)",
    )
    p.add_argument(
        "--hf_sizes",
        type=int,
        nargs="*",
        default=None,
        help="sizes to time tokenizers' trainer at (default: the smallest)",
    )
    p.add_argument("--tmp", default="/tmp/ladder-bench-data", help="where the corpora and caches go (not the repo)")
    p.add_argument("--data_dir", default=os.environ.get("LADDER_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    p.add_argument("--out", default=None, help="also write the results as markdown here")
    args = p.parse_args(argv)
    if args.out:
        writable_file(args.out, "--out")  # before the work: a bad --out must not lose it
    tmp, data_dir = Path(args.tmp), Path(args.data_dir)
    train_sizes = args.sizes[:1] if args.train_sizes is None else args.train_sizes
    hf_sizes = args.sizes[:1] if args.hf_sizes is None else args.hf_sizes

    load_before = os.getloadavg()
    print(
        f"machine: {machine()}; load average {load_before[0]:.2f} (1 min), {load_before[1]:.2f} (5 min) before the run"
    )
    rows = Rows(width=50)
    # the tokenizer the builds use: trained once on WikiText-2 (cached in --tmp)
    tok_cache = tmp / "cache-wikitext2"
    probe(TRAIN_OURS, data_dir / "wikitext-2" / "train.txt", tok_cache, args.vocab)
    tok_path = next((tok_cache / "tokenizers").glob(f"*-bpe-{args.vocab}.json"))
    for mb in args.sizes:
        corpus, cache = make_corpus(mb, tmp, data_dir), tmp / f"cache-{mb}"
        measure_build(rows, corpus, cache, tok_path)
        if mb in train_sizes:
            measure_training(rows, corpus, cache, args.vocab, hf=mb in hf_sizes)
    load_after = os.getloadavg()
    print(f"load average after the run: {load_after[0]:.2f} (1 min), {load_after[1]:.2f} (5 min)")
    if args.out:
        atomic_write(args.out, report(argv, args.vocab, rows, load_before, load_after), "--out")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    run_cli(main)
