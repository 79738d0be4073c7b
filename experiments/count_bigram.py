"""The count-based character bigram: the number v0 should reproduce by gradient descent.

Counts character pairs on the training split (the same character tokenizer as v0: the training
alphabet plus one unknown id), smooths them by adding `alpha` to every count, and reports bits
per byte on the full validation split, as common/evaluate.py defines it.

    python experiments/count_bigram.py            # WikiText-2, alpha 0.01
"""

import math
import sys
from pathlib import Path

import numpy as np

# run as a file (`python experiments/x.py`), Python puts only experiments/ on sys.path: add the repo root
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.config import ArgParser
from common.corpus import load_corpus
from common.data import CharTokenizer
from common.errors import run_cli


def main(argv=None):
    ap = ArgParser(description=__doc__, formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="wikitext-2", help="corpus name or UTF-8 file")
    ap.add_argument("--data_dir", default="", help="folder with the corpora (default: $LADDER_DATA_DIR)")
    ap.add_argument("--alpha", type=float, default=0.01, help="added to every pair count")
    args = ap.parse_args(argv)
    corpus = load_corpus(args.data, args.data_dir or None)
    tok = CharTokenizer.train(corpus.train)
    V = tok.vocab_size
    train, valid = np.array(tok.encode(corpus.train)), np.array(tok.encode(corpus.valid))
    counts = np.zeros((V, V))
    np.add.at(counts, (train[:-1], train[1:]), 1)
    probs = (counts + args.alpha) / (counts + args.alpha).sum(axis=1, keepdims=True)
    nll = -np.log(probs[valid[:-1], valid[1:]]).sum()
    n_bytes = len(corpus.valid.encode()) - len(corpus.valid[0].encode())  # the first character is not predicted
    print(f"count bigram ({args.data}, alpha {args.alpha}): val bpb {nll / math.log(2) / n_bytes:.4f}")


if __name__ == "__main__":
    run_cli(main)
