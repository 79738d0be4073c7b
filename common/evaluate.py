"""Evaluation with the same definitions on every rung (DESIGN.md, "Metrics").

- loss: mean next-token cross-entropy in nats; ppl = exp(loss), per token (not comparable
  across tokenizers);
- bpb: summed NLL / ln 2 / UTF-8 bytes of the predicted tokens' text (comparable across them);
- word_ppl: exp(summed NLL / words), words = whitespace-separated tokens + one per line end;
- unk_rate: share of the evaluated bytes that fell into an unknown-symbol token.

Two ways to cut a split into windows of the training context: non-overlapping (the ladder's
number, `val/bpb`: a token's context is 0 to T-1 tokens, T/2 on average), and sliding
(`val/bpb_sliding`: windows every T/2 tokens, each scoring only its last T/2 targets, so every
token after the first window sees at least T/2 tokens of context; twice the cost). Sliding is
always the lower number; it is a second column beside the plain one, never a replacement.
"""

import math

import numpy as np

from common.config import EXTRAPOLATION

BYTE_CHUNK = 1 << 20  # target ids counted at a time (8 MB of float64 byte lengths)


def nll_sums(model, ids: np.ndarray, byte_lut: np.ndarray, unk_id, context: int, batch_size: int, device, autocast):
    """Non-overlapping windows of `context` tokens over `ids`: every token but the first is
    predicted exactly once (the last window may be shorter). Returns (nll, tokens, bytes, unk_bytes)."""
    was_training = model.training
    model.eval()
    n_pred = len(ids) - 1
    n_full = n_pred // context
    total_nll = 0.0
    windows = [(i * context, context) for i in range(n_full)]
    if n_pred % context:
        windows.append((n_full * context, n_pred % context))
    for b in range(0, len(windows), batch_size):
        group = windows[b : b + batch_size]
        length = group[0][1]
        same = [w for w in group if w[1] == length]  # only the final window can be shorter
        for chunk in (same, [w for w in group if w[1] != length]):
            if not chunk:
                continue
            T = chunk[0][1]
            xy = np.stack([ids[s : s + T + 1] for s, _ in chunk]).astype(np.int64)  # (B, T+1)
            total_nll += float(token_nll(model, xy, device, autocast).sum())
    model.train(was_training)
    return total_nll, n_pred, *target_bytes(ids, byte_lut, unk_id)


def target_bytes(ids: np.ndarray, byte_lut: np.ndarray, unk_id) -> tuple[float, float]:
    """UTF-8 bytes of the text that ids[1:] (every predicted token) stands for, and of its unknowns."""
    n_bytes, n_unk = 0.0, 0
    for start in range(1, len(ids), BYTE_CHUNK):  # in chunks: a large split's ids stay memory-mapped
        targets = np.asarray(ids[start : start + BYTE_CHUNK])
        n_bytes += float(byte_lut[targets].sum())
        n_unk += int((targets == unk_id).sum()) if unk_id is not None else 0
    return n_bytes, float(byte_lut[unk_id] * n_unk) if unk_id is not None else 0.0


def sliding_nll(model, ids: np.ndarray, context: int, stride: int, batch_size: int, device, autocast) -> float:
    """Summed NLL of every target of `ids` (each exactly once), windows of `context` tokens every
    `stride` tokens: the first window scores all its targets, each later one only its targets past
    the previous window's end, so each is scored with at least context - stride tokens before it."""
    was_training = model.training
    model.eval()
    n_pred, T = len(ids) - 1, min(context, len(ids) - 1)
    starts = list(range(0, n_pred - T + 1, stride))
    if starts[-1] != n_pred - T:  # the tail: one more window, flush with the end
        starts.append(n_pred - T)
    # window w scores its targets from the first one the window before it did not reach
    first_new = np.array([0] + [max(0, prev + T - s) for prev, s in zip(starts, starts[1:])])
    total = 0.0
    for b in range(0, len(starts), batch_size):
        chunk = starts[b : b + batch_size]
        xy = np.stack([ids[s : s + T + 1] for s in chunk]).astype(np.int64)  # (B, T+1)
        nll = token_nll(model, xy, device, autocast)  # (B, T)
        total += float(nll[np.arange(T)[None, :] >= first_new[b : b + batch_size, None]].sum())
    model.train(was_training)
    return total


def token_nll(model, xy: np.ndarray, device, autocast) -> np.ndarray:
    """Cross-entropy of each target of windows xy (B, T+1): (B, T), float64. A model that is not a
    torch module (v1_numpy.py) computes it itself, so this path imports torch only for the models
    that need it."""
    if hasattr(model, "token_nll"):
        return model.token_nll(xy[:, :-1], xy[:, 1:])
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        xy = torch.from_numpy(xy).to(device)
        with autocast():
            logits = model(xy[:, :-1])  # (B, T, V)
        nll = F.cross_entropy(logits.float().transpose(1, 2), xy[:, 1:], reduction="none")  # (B, T)
        return nll.double().cpu().numpy()


def metrics(nll: float, n_tokens: int, n_bytes: float, unk_bytes: float = 0.0, n_words: int | None = None) -> dict:
    loss = nll / n_tokens
    out = {
        "loss": loss,
        "ppl": math.exp(min(loss, 700.0)),
        "bpb": nll / math.log(2) / n_bytes,
        "unk_rate": unk_bytes / n_bytes,
    }
    if n_words:
        out["word_ppl"] = math.exp(min(nll / n_words, 700.0))
    return out


def evaluate_split(model, dataset, split: str, context: int, batch_size: int, device, autocast, max_tokens=None):
    """Metrics on a split (or its first `max_tokens` tokens, for the periodic evals)."""
    s = dataset.split(split)
    ids = s.ids if max_tokens is None else s.ids[: max_tokens + 1]
    lut = dataset.byte_lut[split]
    nll, n, nb, ub = nll_sums(model, ids, lut, dataset.tokenizer.unk_id, context, batch_size, device, autocast)
    # word ppl only on the whole split, where the word count is exact (the first token is
    # never predicted; its share of a word is negligible)
    return metrics(nll, n, nb, ub, s.n_words if max_tokens is None else None)


def full_evaluation(model, dataset, context: int, batch_size: int, device, autocast, sliding: bool = True) -> dict:
    """The end of a run: the whole validation and test splits at the training context, and val bpb
    at longer contexts (length extrapolation, val/bpb@Nx) where the model has positions for them."""
    out = {}
    for split, key in (("valid", "val"), ("test", "test")):
        m = evaluate_split(model, dataset, split, context, batch_size, device, autocast)
        out.update({f"{key}/{k}": v for k, v in m.items()})
    limit = model.context_length
    for mult in EXTRAPOLATION[1:]:
        if limit is not None and mult * context > limit:
            out[f"val/bpb@{mult}x"] = None  # learned positions stop at the table's end
            continue
        batch = max(1, batch_size // mult)
        out[f"val/bpb@{mult}x"] = evaluate_split(model, dataset, "valid", mult * context, batch, device, autocast)[
            "bpb"
        ]
    out["val/bpb@1x"] = out["val/bpb"]
    if not sliding:
        return out
    ids = dataset.split("valid").ids
    nll = sliding_nll(model, ids, context, max(1, context // 2), batch_size, device, autocast)
    out["val/bpb_sliding"] = nll / math.log(2) / target_bytes(ids, dataset.byte_lut["valid"], None)[0]
    return out
