"""Generation: the key/value cache, and sampling (greedy, temperature, top-k, top-p/nucleus)."""

import torch

from common.errors import LadderError


class LayerCache:
    """One attention layer's keys and values during generation, in a preallocated buffer.

    `update(k, v)` writes the new positions' keys and values (B, H, T, D) after the earlier ones
    and returns everything the new queries may attend to, as views of the buffer: no per-step
    torch.cat, which copies the whole cache for every token.
    With a `window`, only the last `window` positions stay visible (the rolling window of models
    with relative positions); the buffer then holds 2 x window positions and, when it fills, the
    visible ones move to the front: one copy every ~window tokens instead of one per token.
    `pos` counts every position ever written: the absolute position of the next one.
    """

    def __init__(self, window: int | None = None):
        self.window, self.pos, self.end = window, 0, 0
        self.k = self.v = None

    def update(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        T = k.size(2)
        if self.k is None or self.end + T > self.k.size(2):
            self._make_room(k, T)
        self.k[:, :, self.end : self.end + T], self.v[:, :, self.end : self.end + T] = k, v
        self.end, self.pos = self.end + T, self.pos + T
        begin = 0 if self.window is None else max(0, self.end - max(self.window, T))
        return self.k[:, :, begin : self.end], self.v[:, :, begin : self.end]  # (B, H, S, D)

    def _make_room(self, k: torch.Tensor, T: int):
        keep = self.end if self.window is None else min(self.end, max(self.window - T, 0))  # still visible
        size = max(2 * (keep + T), 2 * (self.window or 0), 64)
        B, H, _, D = k.shape
        new_k, new_v = k.new_empty(B, H, size, D), k.new_empty(B, H, size, D)
        if keep:
            new_k[:, :, :keep], new_v[:, :, :keep] = (
                self.k[:, :, self.end - keep : self.end],
                self.v[:, :, self.end - keep : self.end],
            )
        self.k, self.v, self.end = new_k, new_v, keep


class KVCache:
    """The key/value caches of all layers of a model: pass one to `model(idx, cache)`."""

    def __init__(self, window: int | None = None):
        self.window, self.layers = window, {}

    def layer(self, i: int) -> LayerCache:
        if i not in self.layers:
            self.layers[i] = LayerCache(self.window)
        return self.layers[i]

    @property
    def pos(self) -> int:
        """Positions seen so far: the absolute position of the next token."""
        return self.layers[0].pos if self.layers else 0


def sample_next(logits: torch.Tensor, temperature=1.0, top_k=None, top_p=None, generator=None) -> torch.Tensor:
    """Next token ids (B, 1) from last-position logits (B, V)."""
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits.float() / temperature
    if top_k is not None and top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)  # (B, V)
        cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        # drop a token when the tokens before it already reach top_p (the first always stays)
        drop = cum - sorted_logits.softmax(dim=-1) >= top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    probs = logits.softmax(dim=-1).cpu()
    if not probs.isfinite().all():  # torch.multinomial would fail with an internal error
        raise LadderError(
            "cannot sample: the next-token probabilities are NaN or inf (weights that blew up in "
            "training, or a --temperature too close to 0; use 0 for greedy)"
        )
    return torch.multinomial(probs, 1, generator=generator).to(logits.device)


@torch.no_grad()  # not inference_mode: tables built here (RoPE, ALiBi) are reused by training
def generate(
    model,
    idx: torch.Tensor,
    max_new_tokens: int,
    context: int,
    temperature=1.0,
    top_k=None,
    top_p=None,
    generator=None,
    use_cache=True,
):
    """Extend idx (B, T) by max_new_tokens, conditioning on at most the last `context` tokens.

    With the key/value cache each step runs the model on the one new token only. Models with
    relative positions (`context_length is None`) attend to a rolling window of the last `context`
    positions; with learned absolute positions the window cannot slide (positions would have to
    restart at 0), so once it is full the cache is rebuilt from the last `context` tokens.
    """
    was_training = model.training
    model.eval()
    cache, rolling = None, model.context_length is None
    for _ in range(max_new_tokens):
        if not use_cache:
            logits = model(idx[:, -context:])
        elif cache is None or (not rolling and cache.pos >= context):
            cache = KVCache(window=context if rolling else None)
            logits = model(idx[:, -context:], cache)
        else:
            logits = model(idx[:, -1:], cache)
        idx = torch.cat([idx, sample_next(logits[:, -1, :], temperature, top_k, top_p, generator)], dim=1)
    model.train(was_training)
    return idx
