"""Scaffold-BPE (v4): plain BPE (bpe_tokenizer.py) that also marks merge intermediates as scaffold
tokens, and an encoder that splits them back up. `--tokenizer bpe-scaffold` selects it.

Scaffold-BPE (Lian et al. 2024, arXiv:2404.17808). Plain BPE keeps every token it ever made, even
those that survive almost only inside longer tokens ("scaffold tokens": WikiText-2's " @" lives in
" @-@", " @,@" and " @.@"); they take vocabulary slots and the model rarely sees them. Unlike
plain BPE (bpe_tokenizer.py, part 1):
- Training (the paper's Algorithm 1): after each merge (a, b) -> ab, a child whose remaining count
  is below the count of the new head of the queue, f(Q_head), becomes a scaffold token. The queue
  holds scaffold tokens too, with their counts, so a scaffold token that outranks every pair later
  (pair counts keep falling) is popped and becomes a normal token again, at no merge. Scaffold
  tokens stay in the training words and keep merging; `vocab_size` counts only the normal tokens,
  so training runs until that many merged tokens are normal. The pairs merge in the same order as
  in plain BPE: Scaffold-BPE only merges more of them and labels some results.
- Encoding: all merges apply as usual, then each remaining scaffold token is demolished into its
  shortest sequence of normal tokens: undo the merge that made it, and again for each half that
  is scaffold too (every token is made by one merge, so this split is unique and follows BPE's own
  structure; it is not a search over all ways to spell the bytes with normal tokens).
- Ids: base symbols, normal merged tokens in learned order, then the scaffold tokens. So ids
  0..vocab_size-1 are exactly the model's tokens (an embedding of vocab_size rows, no row for a
  scaffold token), and encode never outputs an id >= vocab_size. A file with scaffold
  tokens is format version 2 (version 1 plus "scaffold_tokens").

Worked example (byte-level, "aaabdaaabac", vocab_size=258: 2 normal merged tokens), counts after
each merge, f(Q_head) being the best count left in the queue:

    1. (a, a)    -> aa      a:3 aa:2         pairs (aa,a):2 (a,b):2 ... f(Q_head)=2; a is a byte
    2. (aa, a)   -> aaa     aa:0 < 2         -> aa is scaffold          (normal merged: aaa)
    3. (aaa, b)  -> aaab    aaa:0 < 1        -> aaa is scaffold         (normal merged: aaab)
    4. (d, aaab) -> daaab   aaab:1, not < 1  -> stays                   (normal: aaab, daaab)
    ids: 256 = aaab, 257 = daaab, then scaffold 258 = aa, 259 = aaa; vocab_size = 258
    encode("aaabdaaabac") == [256, 257, 97, 99]; encode("aaa") -> [259] -> demolished: [97, 97, 97]

Deviations from the paper, and choices it leaves open:
- Base symbols (bytes, alphabet characters, unk) are never scaffold, so every text stays encodable
  and demolishing always ends.
- At equal counts a scaffold token in the queue beats a pair (the marking test is strict,
  f < f(Q_head), so a token with the head's count counts as frequent enough); with an empty
  queue f(Q_head) = 0.
- Only the two children of the latest merge are tested, as in Algorithm 1. No other token needs
  it: a count changes only when a merge consumes the token, and f(Q_head) never grows.
- A pair whose bytes equal an existing token's still makes a new id, as in plain BPE here.
- Written from the abstract, the issue, and two public reproductions that follow Algorithm 1
  (TkTkT's ScaffoldBPE, yerinNam/h-scaffold-bpe); the paper's full text was not at hand.
"""

from collections import defaultdict
from heapq import heappop, heappush

from bpe_extras import TokenizerError
from bpe_tokenizer import (
    FILE_VERSIONS,
    GPT2_SPLIT_PATTERN,
    PairCounts,
    Tokenizer,
    merge_bar,
    plan_vocab,
    training_words,
)


def learn_scaffold_merges(words, freqs, num_merges: int, token_bytes, progress: bool = False):
    """Scaffold-BPE's Algorithm 1: merge until `num_merges` merged tokens are *not* scaffold.

    Arguments as bpe_tokenizer.learn_merges. Returns (merges, scaffold ids), the ids numbered as there
    (merge k made len(token_bytes) + k); base symbols (ids below len(token_bytes)) are never scaffold.
    """
    pairs = PairCounts(words, freqs, token_bytes)
    n_base = len(token_bytes)
    count = defaultdict(int)  # token -> how often it occurs in the (merged) words
    for word, freq in zip(words, freqs):
        for t in word:
            count[t] += freq
    scaffold = set()
    # The queue's second kind of entry: scaffold tokens with their counts, in their own heap
    # (-count, key, t); outdated entries are dropped when they reach the top, as for pairs.
    waiting = []

    def best_waiting() -> tuple[int, int] | None:
        while waiting:
            neg_count, _, t = waiting[0]
            if t in scaffold and count[t] == -neg_count:
                return -neg_count, t
            heappop(waiting)
        return None

    def wait(t):
        if count[t] > 0:  # a token that no longer occurs can never come back
            heappush(waiting, (-count[t], pairs.key[t], t))

    merges = []
    with merge_bar(num_merges, words, progress) as bar:
        while len(merges) - len(scaffold) < num_merges:
            pair, token = pairs.best(), best_waiting()
            if token is not None and (pair is None or token[0] >= pair[0]):
                # a scaffold token at the head of the queue (it wins a tie with a pair): frequent
                # enough to be a normal token again
                heappop(waiting)
                scaffold.discard(token[1])
            elif pair is None:
                break  # the text has no more pairs to merge
            else:
                _, a, b = pair
                made = pairs.merge(a, b)
                new = len(pairs.token_bytes) - 1
                merges.append((a, b))
                # The merge consumed `made` a's and b's. A child whose remaining count is below
                # the head of the queue now occurs mostly inside longer tokens: it becomes a
                # scaffold token, and waits in the queue in case it outranks the pairs later on.
                count[a] -= made
                count[b] -= made  # subtle: for a == b this takes two a's per merge, right
                count[new] = made
                children = (a,) if a == b else (a, b)
                for x in children:  # a child that is scaffold already: its queue entry is outdated now
                    if x in scaffold:
                        wait(x)
                head = max((pairs.best() or (0,))[0], (best_waiting() or (0,))[0])  # f(Q_head)
                for x in children:
                    if x >= n_base and x not in scaffold and count[x] < head:
                        scaffold.add(x)
                        wait(x)
            bar.update(len(merges) - len(scaffold) - bar.n)
    return merges, scaffold


class ScaffoldTokenizer(Tokenizer):
    """A BPE tokenizer whose scaffold tokens (the last ids, from vocab_size on) are merge
    intermediates that encode splits back up; everything else is as in Tokenizer."""

    VERSION = 2  # of the saved file: version 1 + "scaffold_tokens"; "vocab" also holds the scaffold ids

    def __init__(self, vocab, merges, pattern=GPT2_SPLIT_PATTERN, alphabet=None, unk_id=None, scaffold_tokens=()):
        super().__init__(vocab, merges, pattern, alphabet, unk_id)
        self._scaffold = frozenset(int(i) for i in scaffold_tokens)
        n = len(self._vocab)
        if self._scaffold != set(range(n - len(self._scaffold), n)):
            raise TokenizerError(f"scaffold tokens must be the last ids {n - len(self._scaffold)}..{n - 1}")
        made_by = {c: (a, b) for a, b, c in reversed(self._merges)}  # id -> the first merge that makes it
        if not self._scaffold <= made_by.keys() - {self.unk_id}:
            raise TokenizerError("a scaffold token must be made by a merge")
        # Demolishing: each scaffold token -> the normal tokens it splits into, by undoing its merge,
        # and again for each half that is scaffold too. Halves are shorter, so shortest first.
        self._demolish = {}
        for t in sorted(self._scaffold, key=lambda t: len(self._vocab[t])):
            a, b = made_by[t]
            self._demolish[t] = self._demolish.get(a, (a,)) + self._demolish.get(b, (b,))

    @property
    def vocab_size(self) -> int:
        """The ids a model sees, without the scaffold tokens (they have the ids vocab_size and up)."""
        return len(self._vocab) - len(self._scaffold)

    @property
    def scaffold_tokens(self) -> list[int]:
        """Ids of the scaffold tokens, vocab_size and up; `token_bytes(i)` gives their bytes."""
        return sorted(self._scaffold)

    @classmethod
    def train(
        cls,
        text,
        vocab_size: int,
        alphabet: str | None = None,
        pattern: str = GPT2_SPLIT_PATTERN,
        progress: bool = True,
        num_workers: int | None = None,
    ) -> "Tokenizer":
        """As Tokenizer.train, but `vocab_size` counts only the tokens a model sees; the scaffold
        tokens come on top, with ids from vocab_size on."""
        base, num_merges = plan_vocab(vocab_size, alphabet)
        words, freqs = training_words(text, alphabet, pattern, num_workers)
        merges, scaffold = learn_scaffold_merges(words, freqs, num_merges, base, progress)
        # learn_scaffold_merges numbers merge k as len(base) + k ("learned" ids); the ids here are
        # base, the merges that are not scaffold, then the scaffold tokens: `new_id` renumbers.
        learned = list(base)
        for a, b in merges:
            learned.append(learned[a] + learned[b])
        order = [i for i in range(len(learned)) if i not in scaffold] + sorted(scaffold)
        new_id = {old: new for new, old in enumerate(order)}
        triples = [(new_id[a], new_id[b], new_id[len(base) + k]) for k, (a, b) in enumerate(merges)]
        unk_id = None if alphabet is None else len(base) - 1
        vocab = [learned[i] for i in order]
        return cls(vocab, triples, pattern, alphabet, unk_id, [new_id[i] for i in sorted(scaffold)])

    def _encode_word(self, word: str) -> list[int]:
        ids = super()._encode_word(word)  # all merges, as in plain BPE
        if self._scaffold.isdisjoint(ids):
            return ids
        return [x for t in ids for x in self._demolish.get(t, (t,))]  # then split each scaffold token

    def to_dict(self) -> dict:
        d = super().to_dict()
        if self._scaffold:  # only then: a file without scaffold tokens is a plain BPE file, unchanged
            d.update(version=self.VERSION, scaffold_tokens=self.scaffold_tokens)
        return d

    @classmethod
    def fields_from_dict(cls, d: dict) -> dict:
        return {"scaffold_tokens": [int(i) for i in d["scaffold_tokens"]]}

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", scaffold_tokens={len(self._scaffold)})"


FILE_VERSIONS[ScaffoldTokenizer.VERSION] = ScaffoldTokenizer
