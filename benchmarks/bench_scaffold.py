"""Benchmark Scaffold-BPE against plain BPE in bpe_tokenizer.py, side by side in one run.

For each vocabulary size, trains plain BPE and Scaffold-BPE on the training split (English alphabet
by default, as the rungs use it) and reports training time (best of --repeats), the number of
scaffold tokens (merge intermediates that the vocabulary size does not count), bytes per token on
the validation split, how many of the model's token ids never occur in the encoded validation split,
and a few scaffold tokens as examples.

Run:  python benchmarks/bench_scaffold.py --data wikitext-2 --out results/bench/scaffold.md
"""

import os
import sys
from pathlib import Path

# run as a file (`python benchmarks/x.py`), Python puts only benchmarks/ on sys.path: add the repo root
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_tokenizer import best_of
from benchmarks.reports import header, machine
from bpe_scaffold import ScaffoldTokenizer
from bpe_tokenizer import ENGLISH_ALPHABET, Tokenizer
from common.config import ArgParser
from common.corpus import load_corpus
from common.errors import run_cli
from common.files import atomic_write, writable_file


def show(tok: Tokenizer, i: int) -> str:
    return repr(tok.token_bytes(i).decode("utf-8", errors="replace"))


def measure(corpus, vocab, alphabet, scaffold, repeats) -> dict:
    seconds, tok = best_of(
        repeats,
        lambda: (ScaffoldTokenizer if scaffold else Tokenizer).train(corpus.train, vocab, alphabet, progress=False),
    )
    ids = tok.encode(corpus.valid)
    assert max(ids) < tok.vocab_size, "encode output an id outside the model's vocabulary"
    n_bytes = len(corpus.valid.encode())
    return {
        "seconds": seconds,
        "tok": tok,
        "merges": len(tok.merges),
        "scaffold": len(getattr(tok, "scaffold_tokens", [])),
        "bytes_per_token": n_bytes / len(ids),
        "tokens": len(ids),
        "unused": tok.vocab_size - len(set(ids)),
    }


def main(argv=None) -> None:
    parser = ArgParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--data", default="wikitext-2", help="corpus name or UTF-8 file")
    parser.add_argument("--data_dir", default=None, help="folder with the corpora (default: $LADDER_DATA_DIR)")
    parser.add_argument("--vocabs", default="1000,2000,4000,8000", help="comma-separated vocabulary sizes")
    parser.add_argument("--alphabet", choices=("english", "bytes"), default="english")
    parser.add_argument("--repeats", type=int, default=2, help="training runs per setting; the best time counts")
    parser.add_argument("--examples", type=int, default=12, help="scaffold tokens to show per vocabulary size")
    parser.add_argument("--out", default=None, help="also write the report (markdown) here")
    args = parser.parse_args(argv)
    if args.out:
        writable_file(args.out, "--out")  # before the work: a bad --out must not lose it

    corpus = load_corpus(args.data, args.data_dir)
    alphabet = {"english": ENGLISH_ALPHABET, "bytes": None}[args.alphabet]
    vocabs = [int(v) for v in args.vocabs.split(",")]
    load = os.getloadavg()[0]

    rows, examples = [], []
    for vocab in vocabs:
        plain = measure(corpus, vocab, alphabet, False, args.repeats)
        scaf = measure(corpus, vocab, alphabet, True, args.repeats)
        rows.append((vocab, plain, scaf))
        tok = scaf["tok"]
        shown = ", ".join(show(tok, i) for i in tok.scaffold_tokens[: args.examples])
        examples.append(f"- vocab {vocab}: {shown}")
        print(
            f"vocab {vocab}: plain {plain['seconds']:.2f} s, {plain['bytes_per_token']:.3f} B/tok | scaffold "
            f"{scaf['seconds']:.2f} s, {scaf['scaffold']} scaffold tokens, {scaf['bytes_per_token']:.3f} B/tok",
            flush=True,
        )

    lines = [
        *header("Scaffold-BPE benchmark", __file__, argv, machine(), load),
        f"The machine is shared with training runs, so times are the best of {args.repeats} and still noisy.",
        f"Data: {corpus.name} train {len(corpus.train.encode()) / 1e6:.2f} MB, valid "
        f"{len(corpus.valid.encode()) / 1e6:.2f} MB; alphabet: {args.alphabet}.",
        "",
        "| vocab | train plain | train scaffold | scaffold / plain | merges plain | merges scaffold | scaffold tokens "
        "| valid bytes/token plain | valid bytes/token scaffold | ids unused on valid plain | unused scaffold |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for vocab, p, s in rows:
        lines.append(
            f"| {vocab} | {p['seconds']:.2f} s | {s['seconds']:.2f} s | {s['seconds'] / p['seconds']:.2f}x "
            f"| {p['merges']} | {s['merges']} | {s['scaffold']} ({s['scaffold'] / vocab:.1%} of vocab) "
            f"| {p['bytes_per_token']:.3f} | {s['bytes_per_token']:.3f} | {p['unused']} | {s['unused']} |"
        )
    lines += [
        "",
        "Columns: `merges` counts every merge, so for Scaffold-BPE it is the normal merged tokens plus the",
        "scaffold tokens; `vocab` (the model's ids) is the same for both. `ids unused on valid`: ids below",
        "vocab_size that never occur in the encoded validation split.",
        "",
        f"Scaffold tokens, the first {args.examples} in learned order (the most frequent intermediates):",
        "",
        *examples,
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.out:
        atomic_write(args.out, report, "--out")


if __name__ == "__main__":
    run_cli(main)
