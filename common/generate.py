"""Sampling: greedy (temperature 0), temperature, top-k and top-p (nucleus)."""

import torch


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
    probs = logits.softmax(dim=-1)
    return torch.multinomial(probs.cpu(), 1, generator=generator).to(logits.device)


@torch.no_grad()
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
    relative positions (`context_length is None`) keep a rolling window of `context` cached
    positions; with learned absolute positions the window cannot slide (positions would have to
    restart at 0), so once it is full the cache is rebuilt from the last `context` tokens.
    """
    was_training = model.training
    model.eval()
    cache, rolling = None, model.context_length is None
    for _ in range(max_new_tokens):
        if not use_cache:
            logits = model(idx[:, -context:])
        elif cache is None or (not rolling and cache.get("pos", 0) >= context):
            cache = {}
            logits = model(idx[:, -context:], cache)
        else:
            if rolling:  # keep context - 1 earlier positions: with the new one it sees `context`
                for layer in (v for k, v in cache.items() if k != "pos"):
                    layer["k"], layer["v"] = layer["k"][:, :, -(context - 1) :], layer["v"][:, :, -(context - 1) :]
            logits = model(idx[:, -1:], cache)
        idx = torch.cat([idx, sample_next(logits[:, -1, :], temperature, top_k, top_p, generator)], dim=1)
    model.train(was_training)
    return idx
