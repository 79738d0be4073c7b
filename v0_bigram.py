"""v0: a character bigram, a table of next-character logits.

The ladder's floor: the model sees only the current character and reads the logits of the next
one from a (V, V) table. There is no context, no attention, nothing to extrapolate. It is trained
by the same loop, data, budget and metrics as every other rung, so its bits per byte is the
baseline each idea above it must beat. Counting bigrams directly gives 3.385 val bits per byte
on WikiText-2; gradient descent on the table should land within 0.02 of that.

Run: python v0_bigram.py
"""

from dataclasses import dataclass

import torch
import torch.nn as nn

from common.config import TrainConfig
from common.errors import run_cli
from common.train import run_rung


@dataclass
class Config(TrainConfig):
    # The table's shape comes from the vocabulary, so there are no model fields. Two training
    # defaults differ from the ladder's, because a lookup table is not a network: each row gets a
    # gradient only from its own character, so it needs a far larger step to reach the counts in
    # the same budget, and weight decay would only pull the counts toward uniform.
    lr: float = 0.1
    weight_decay: float = 0.0


class Model(nn.Module):
    """logits[b, t] = table[idx[b, t]]: the next character depends on this one only."""

    def __init__(self, cfg: Config, vocab_size: int):
        super().__init__()
        self.context_length = None  # one token of context, at any length
        self.table = nn.Embedding(vocab_size, vocab_size)  # row i: logits for the character after i
        nn.init.zeros_(self.table.weight)  # uniform start: the first loss is exactly ln(V)

    def forward(self, idx: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        return self.table(idx)  # (B, T) -> (B, T, V); a cache has nothing to keep: one token is all it reads


def main(argv=None):
    return run_rung(Config, Model, __file__, __doc__, argv)


if __name__ == "__main__":
    run_cli(main)
