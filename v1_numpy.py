"""v1: the same transformer without PyTorch, its forward, backward and AdamW written out in numpy.

A side rung: v1_transformer.py exactly, with no machine-learning library. Each layer's `forward` keeps what its `backward` needs,
and `backward` turns the gradient of the layer's output into the gradients of its weights
(accumulated in `.grad`) and of its input (returned): the chain rule, layer by layer, in reverse.
That is all `loss.backward()` does in the other rungs: autograd records the forward and runs these
steps for you. The optimizer (AdamW, weight decay on matrices only, warmup + cosine, clipping by
global norm) is written out too. Same model, initialisation scheme, settings, data, metrics and run
folder as v1; checkpoints are numpy .npz files. tests/test_numpy_rung.py checks every gradient
against PyTorch autograd on v1 (float64, relative error <= 1e-8) and the first 50 training steps.
Subtle: init and batches come from numpy's generator, so a seed draws other numbers than in v1.
Paper: as v1; `--pos sinusoidal` is Vaswani et al. 2017, section 3.5 (runs past block_size).

Run: python v1_numpy.py
"""

import json
import math
import signal
import time
import zipfile
from contextlib import nullcontext
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from common.config import TrainConfig, build_model, parse_config, setting, validate
from common.data import load_dataset, tokenizer_from_json, tokenizer_json
from common.errors import LadderError, Stopped, run_cli
from common.evaluate import evaluate_split, full_evaluation
from common.files import atomic_write, writable_folder
from common.lifecycle import own_folder, stop_signals
from common.optim import lr_at, progress_of
from common.tracking import Tracker, git_commit


@dataclass
class Config(TrainConfig):
    n_layer: int = setting(4, "transformer blocks", at_least=1)
    n_head: int = setting(4, "attention heads per block", at_least=1)
    n_embd: int = setting(128, "residual stream width (divisible by n_head)", at_least=1)
    pos: str = setting(
        "learned", "positions: a learned table, or Vaswani et al.'s fixed sin/cos", choices=("learned", "sinusoidal")
    )
    sample: str = setting("", "print --sample_tokens tokens from this .npz checkpoint and exit", group="system")


class Param:
    """A weight and the gradient that backward accumulates into it (what nn.Parameter and .grad are)."""

    def __init__(self, data: np.ndarray):
        self.data, self.grad = data, np.zeros_like(data)


class Module:
    """Walks its attributes for Params (named as nn.Module names them, so state dicts match v1's)."""

    def named_parameters(self, prefix=""):
        for name, v in vars(self).items():
            if isinstance(v, Param):
                yield prefix + name, v
            elif isinstance(v, Module):
                yield from v.named_parameters(f"{prefix}{name}.")
            elif isinstance(v, list):
                for i, m in enumerate(v):
                    yield from m.named_parameters(f"{prefix}{name}.{i}.")


class Linear(Module):
    """y = x W^T (no bias), W (out, in) as in nn.Linear."""

    def __init__(self, n_in, n_out, rng, std=0.02):
        self.weight = Param(rng.normal(0.0, std, (n_out, n_in)).astype(np.float32))

    def forward(self, x):  # (..., in) -> (..., out)
        self.x = x
        return x @ self.weight.data.T

    def backward(self, dy):  # dL/dW = dy^T x summed over every position; dL/dx = dy W
        self.weight.grad += dy.reshape(-1, dy.shape[-1]).T @ self.x.reshape(-1, self.x.shape[-1])
        return dy @ self.weight.data


class Embedding(Module):
    """A table of rows; forward looks rows up, backward adds each position's gradient to its row."""

    def __init__(self, n, C, rng):
        self.weight = Param(rng.normal(0.0, 0.02, (n, C)).astype(np.float32))

    def forward(self, idx):  # (B, T) ints -> (B, T, C)
        self.idx = idx
        return self.weight.data[idx]

    def backward(self, dy):  # scatter-add: a token used twice gets both gradients (plain += would keep one)
        np.add.at(self.weight.grad, self.idx, dy)


class LayerNorm(Module):
    def __init__(self, C, eps=1e-5):
        self.weight, self.bias, self.eps = Param(np.ones(C, np.float32)), Param(np.zeros(C, np.float32)), eps

    def forward(self, x):  # (B, T, C), normalised over C
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)  # biased variance, as PyTorch
        self.rstd = 1.0 / np.sqrt(var + self.eps)  # (B, T, 1)
        self.xhat = (x - mu) * self.rstd
        return self.xhat * self.weight.data + self.bias.data

    def backward(self, dy):
        # xhat = (x - mean x) / std: moving one x_j moves the mean and the std that every xhat_i
        # uses, so dx is not just dxhat / std. Two terms come off: the mean of dxhat (the shift)
        # and xhat times the mean of dxhat * xhat (the rescale):
        #   dx = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / std
        C = dy.shape[-1]
        self.weight.grad += (dy * self.xhat).reshape(-1, C).sum(0)
        self.bias.grad += dy.reshape(-1, C).sum(0)
        dxhat = dy * self.weight.data
        proj = (dxhat * self.xhat).mean(-1, keepdims=True)
        return self.rstd * (dxhat - dxhat.mean(-1, keepdims=True) - self.xhat * proj)


def softmax(x):  # over the last axis; subtracting the max changes nothing but avoids overflow
    e = x - x.max(-1, keepdims=True)
    np.exp(e, out=e)  # in place, here and below: the (B, H, T, T) arrays are the big ones
    e /= e.sum(-1, keepdims=True)
    return e


class Attention(Module):
    """Causal multi-head self-attention (v1's written-out path), forward and backward."""

    def __init__(self, cfg: Config, rng):
        if cfg.n_embd % cfg.n_head:
            raise ValueError("n_embd must be divisible by n_head")
        self.n_head = cfg.n_head
        self.qkv = Linear(cfg.n_embd, 3 * cfg.n_embd, rng)
        self.proj = Linear(cfg.n_embd, cfg.n_embd, rng, std=0.02 / math.sqrt(2 * cfg.n_layer))  # GPT-2

    def forward(self, x):
        B, T, C = x.shape
        H, D = self.n_head, C // self.n_head
        q, k, v = np.split(self.qkv.forward(x), 3, axis=2)  # 3 x (B, T, C)
        q, k, v = (t.reshape(B, T, H, D).transpose(0, 2, 1, 3) for t in (q, k, v))  # (B, H, T, D)
        att = q @ k.transpose(0, 1, 3, 2)  # (B, H, T, T)
        att /= math.sqrt(D)
        att += np.triu(np.full((T, T), -np.inf, att.dtype), k=1)  # query i sees keys 0..i
        att = softmax(att)  # masked entries become exactly 0
        self.q, self.k, self.v, self.att = q, k, v, att
        y = (att @ v).transpose(0, 2, 1, 3).reshape(B, T, C)  # (B, H, T, D) -> (B, T, C): heads merged
        return self.proj.forward(y)

    def backward(self, dout):
        B, T, C = dout.shape
        H, D = self.n_head, C // self.n_head
        q, k, v, att = self.q, self.k, self.v, self.att
        dy = self.proj.backward(dout).reshape(B, T, H, D).transpose(0, 2, 1, 3)  # (B, H, T, D): heads split
        datt = dy @ v.transpose(0, 1, 3, 2)  # (B, H, T, T)
        dv = att.transpose(0, 1, 3, 2) @ dy  # (B, H, T, D)
        # softmax: p = e^s / sum e^s, so dp_i/ds_j = p_i (δ_ij - p_j) and ds = p * (dp - sum(dp * p));
        # masked entries have p = 0, so they get no gradient
        ds = datt - (datt * att).sum(-1, keepdims=True)  # (B, H, T, T)
        ds *= att
        ds /= math.sqrt(D)
        dq, dk = ds @ k, ds.transpose(0, 1, 3, 2) @ q  # (B, H, T, D) each
        merged = (t.transpose(0, 2, 1, 3).reshape(B, T, C) for t in (dq, dk, dv))  # 3 x (B, T, C)
        return self.qkv.backward(np.concatenate(list(merged), axis=2))  # (B, T, 3C) -> (B, T, C)


class MLP(Module):
    def __init__(self, cfg: Config, rng):
        self.fc = Linear(cfg.n_embd, 4 * cfg.n_embd, rng)
        self.proj = Linear(4 * cfg.n_embd, cfg.n_embd, rng, std=0.02 / math.sqrt(2 * cfg.n_layer))  # GPT-2

    def forward(self, x):
        self.h = np.maximum(self.fc.forward(x), 0)  # ReLU, (B, T, 4C)
        return self.proj.forward(self.h)

    def backward(self, dy):
        return self.fc.backward(self.proj.backward(dy) * (self.h > 0))  # ReLU passes gradient where it passed x


class Block(Module):
    """Pre-LayerNorm. A residual `x + f(x)` sends the gradient both ways: on unchanged, and through f."""

    def __init__(self, cfg: Config, rng):
        self.ln1, self.attn = LayerNorm(cfg.n_embd), Attention(cfg, rng)
        self.ln2, self.mlp = LayerNorm(cfg.n_embd), MLP(cfg, rng)

    def forward(self, x):
        x = x + self.attn.forward(self.ln1.forward(x))
        return x + self.mlp.forward(self.ln2.forward(x))

    def backward(self, dx):
        dx = dx + self.ln2.backward(self.mlp.backward(dx))
        return dx + self.ln1.backward(self.attn.backward(dx))


def sinusoids(T: int, C: int, dtype) -> np.ndarray:
    """Vaswani et al. 2017, section 3.5: PE[p, 2i] = sin(p / 10000^(2i/C)), PE[p, 2i+1] = cos(same)."""
    angle = np.arange(T, dtype=np.float64)[:, None] * 10000.0 ** (-np.arange(0, C, 2) / C)  # (T, ceil(C/2))
    return np.stack((np.sin(angle), np.cos(angle)), axis=-1).reshape(T, -1)[:, :C].astype(dtype)  # (T, C)


class Model(Module):
    def __init__(self, cfg: Config, vocab_size: int, rng: np.random.Generator | None = None):
        rng = np.random.default_rng(cfg.seed) if rng is None else rng
        self.learned = cfg.pos == "learned"
        self.context_length = cfg.block_size if self.learned else None  # sinusoids have a row for any position
        self.wte = Embedding(vocab_size, cfg.n_embd, rng)
        if self.learned:
            self.wpe = Embedding(cfg.block_size, cfg.n_embd, rng)
        self.scale = 1.0 if self.learned else math.sqrt(cfg.n_embd)  # Vaswani et al. 3.4, as in v1
        self.blocks = [Block(cfg, rng) for _ in range(cfg.n_layer)]
        self.ln_f = LayerNorm(cfg.n_embd)
        self.training = True  # common/evaluate.py flips it like nn.Module's; nothing here depends on it

    def forward(self, idx: np.ndarray) -> np.ndarray:
        """idx (B, T) -> logits (B, T, V); every layer keeps what its backward needs."""
        B, T = idx.shape
        W = self.wte.weight.data  # (V, C): read by the lookup and, tied, by the head
        pos = self.wpe.forward(np.arange(T)[None]) if self.learned else sinusoids(T, W.shape[1], W.dtype)
        x = self.wte.forward(idx) * self.scale + pos  # (B, T, C); pos (1, T, C) or (T, C) broadcasts over B
        for block in self.blocks:
            x = block.forward(x)
        self.h = self.ln_f.forward(x)  # (B, T, C)
        return self.h @ W.T  # (B, T, V)

    def backward(self, dlogits: np.ndarray) -> None:
        """Accumulate every weight's gradient from dL/dlogits (B, T, V), the forward in reverse."""
        B, T, V = dlogits.shape
        W = self.wte.weight
        W.grad += dlogits.reshape(-1, V).T @ self.h.reshape(B * T, -1)  # the head's use of the tied matrix
        dx = self.ln_f.backward(dlogits @ W.data)  # (B, T, C)
        for block in reversed(self.blocks):
            dx = block.backward(dx)
        self.wte.backward(dx * self.scale)  # the lookup's use of the same matrix adds to the same .grad
        if self.learned:
            self.wpe.backward(dx.sum(0, keepdims=True))  # (1, T, C): every sequence used rows 0..T-1

    def loss_and_backward(self, x: np.ndarray, y: np.ndarray, scale: float = 1.0) -> float:
        """Mean cross-entropy of targets y (B, T); adds scale * its gradient to every .grad."""
        logits = self.forward(x)  # (B, T, V)
        B, T, V = logits.shape
        p = softmax(logits.reshape(B * T, V).astype(np.float64))  # (N, V); float64: the loss sums 4096 terms
        rows = np.arange(B * T)
        loss = -np.log(p[rows, y.reshape(-1)]).mean()
        # softmax + cross-entropy: L = -log p_y, p = softmax(z)  =>  dL/dz = p - onehot(y). The
        # exponentials and the log cancel; per token, divided by N for the mean.
        p[rows, y.reshape(-1)] -= 1.0
        self.backward((p * (scale / (B * T))).astype(logits.dtype).reshape(B, T, V))
        return float(loss)

    def token_nll(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Cross-entropy of each target in nats, (B, T); what common/evaluate.py asks of a model that is not a torch module."""
        logits = self.forward(x).astype(np.float64)  # (B, T, V)
        z = logits - logits.max(-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
        return -np.take_along_axis(logp, y[..., None], -1)[..., 0]

    def eval(self):
        self.training = False
        return self

    def train(self, mode=True):
        self.training = mode
        return self

    def state_dict(self) -> dict:
        return {name: p.data for name, p in self.named_parameters()}

    def astype(self, dtype):
        for _, p in self.named_parameters():
            p.data, p.grad = p.data.astype(dtype), p.grad.astype(dtype)
        return self


# -----------------------------------------------------------------------------
# the optimizer: what torch.optim.AdamW and clip_grad_norm_ do


class AdamW:
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019), PyTorch's arithmetic, decay on matrices only."""

    def __init__(self, params: dict, cfg: Config):
        self.params, self.beta1, self.beta2, self.eps, self.wd = params, 0.9, cfg.beta2, 1e-8, cfg.weight_decay
        self.m = {n: np.zeros_like(p.data) for n, p in params.items()}  # running mean of gradients
        self.v = {n: np.zeros_like(p.data) for n, p in params.items()}  # running mean of squared gradients
        self.t = 0

    def step(self, lr: float) -> None:
        self.t += 1
        bc1, bc2 = 1 - self.beta1**self.t, 1 - self.beta2**self.t  # the means start at 0: unbias them
        for n, p in self.params.items():
            if p.data.ndim >= 2:  # never on LayerNorm gains and biases
                p.data *= 1 - lr * self.wd
            self.m[n] = self.beta1 * self.m[n] + (1 - self.beta1) * p.grad
            self.v[n] = self.beta2 * self.v[n] + (1 - self.beta2) * p.grad * p.grad
            p.data -= (lr / bc1) * self.m[n] / (np.sqrt(self.v[n]) / math.sqrt(bc2) + self.eps)

    def zero_grad(self) -> None:
        for p in self.params.values():
            p.grad[...] = 0


def clip_grad_norm(params: dict, max_norm: float) -> float:
    """Scale all gradients by max_norm / their global norm when that norm is larger; returns the norm."""
    norm = math.sqrt(sum(float((p.grad.astype(np.float64) ** 2).sum()) for p in params.values()))
    scale = min(1.0, max_norm / (norm + 1e-6))
    for p in params.values():
        p.grad *= np.asarray(scale, p.grad.dtype)
    return norm


# -----------------------------------------------------------------------------
# sampling, checkpoints


def generate(model: Model, ids: list, n: int, block_size: int, rng, temperature=0.8, top_k=50) -> list:
    """Append n tokens drawn one at a time from the model's last-position distribution (no key/value cache)."""
    for _ in range(n):
        logits = model.forward(np.array([ids[-block_size:]]))[0, -1].astype(np.float64) / temperature  # (V,)
        if top_k < len(logits):
            logits[logits < np.partition(logits, -top_k)[-top_k]] = -np.inf
        ids.append(int(rng.choice(len(logits), p=softmax(logits))))
    return ids


def save_checkpoint(path: Path, model: Model, opt: AdamW, meta: dict) -> None:
    """Weights, AdamW's moments and every counter in one .npz, written atomically (nothing pickled)."""
    arrays = {f"model/{n}": a for n, a in model.state_dict().items()}
    arrays |= {f"adam_m/{n}": a for n, a in opt.m.items()} | {f"adam_v/{n}": a for n, a in opt.v.items()}
    arrays["meta"] = np.array(json.dumps(meta | {"format": 1, "adam_t": opt.t}))
    atomic_write(path, lambda f: np.savez(f, **arrays), flag="--ckpt_dir")


def load_checkpoint(path: Path) -> tuple[dict, dict]:
    """(meta, arrays) of a v1_numpy checkpoint; one line for anything else."""
    if not path.is_file():
        raise LadderError(f"checkpoint {path} does not exist; pass a v1_numpy checkpoint (checkpoints/<run>/ckpt.npz)")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise LadderError(f"checkpoint {path} is not a readable .npz ({str(e)[:80]}); use another one") from None
    if "meta" not in arrays:  # e.g. a PyTorch rung's ckpt.pt, which is a zip too
        raise LadderError(
            f"{path} is not a v1_numpy checkpoint; a PyTorch rung's checkpoint resumes with its own script"
        )
    meta = json.loads(str(arrays.pop("meta")))
    if meta.get("rung") != "v1_numpy":
        raise LadderError(f"checkpoint {path} is from {meta.get('rung')}, not v1_numpy")
    return meta, arrays


def find_resumable(root: Path, name: str) -> Path | None:
    """--resume auto: this run's checkpoint (with --name), else the newest unfinished v1_numpy one."""
    if name:
        return root / name / "ckpt.npz" if (root / name / "ckpt.npz").is_file() else None
    for path in sorted(root.glob("*/ckpt.npz"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            if not load_checkpoint(path)[0].get("finished"):
                return path
        except LadderError:
            continue
    return None


def restore(model: Model, opt: AdamW | None, arrays: dict, path) -> None:
    for prefix, table in (("model", {n: p.data for n, p in model.named_parameters()}),) + (
        (("adam_m", opt.m), ("adam_v", opt.v)) if opt else ()
    ):
        for n, a in table.items():
            got = arrays.get(f"{prefix}/{n}")
            if got is None or got.shape != a.shape:
                shape = None if got is None else got.shape
                raise LadderError(
                    f"checkpoint {path} does not fit this model ({prefix}/{n}: {shape}, expected {a.shape})"
                )
            a[...] = got
    if not all(np.isfinite(p.data).all() for _, p in model.named_parameters()):
        raise LadderError(f"checkpoint {path} holds NaN or inf weights; use an earlier checkpoint")


# -----------------------------------------------------------------------------
# the loop: what common/train.py does for the PyTorch rungs, in the same words and records

RESUMABLE = {"max_steps", "max_minutes", "eval_interval", "wandb", "resume", "sample_tokens", "log_interval"}


@dataclass
class State:
    step: int = 0
    elapsed: float = 0.0
    tokens: int = 0
    bytes: float = 0.0
    best_val_bpb: float = math.inf
    wandb_id: str | None = None
    finished: bool = False


def train(cfg: Config, given: set) -> dict:
    validate(cfg)
    if cfg.device not in ("auto", "cpu") or cfg.compile or cfg.dropout:
        raise LadderError("v1_numpy runs on the CPU with no dropout or compile; drop --device/--compile/--dropout")
    meta, arrays = None, None
    ckpt_root = Path(cfg.ckpt_dir)
    path = find_resumable(ckpt_root, cfg.name) if cfg.resume == "auto" else Path(cfg.resume) if cfg.resume else None
    if cfg.resume == "auto" and path is None:
        print(f"--resume auto: no unfinished v1_numpy checkpoint under {ckpt_root}/; starting fresh")
    if path is not None:
        meta, arrays = load_checkpoint(path)
        for k in given - RESUMABLE:
            if k in meta["config"] and getattr(cfg, k) != meta["config"][k]:
                raise LadderError(f"--{k} {getattr(cfg, k)!r} differs from the checkpoint's; drop the flag")
        cfg = Config(**(meta["config"] | {k: getattr(cfg, k) for k in given & RESUMABLE}))
        print(f"resuming {cfg.name} from {path} at step {meta['step']}")
    build_model(Model, cfg, 256, "v1_numpy")  # settings that do not fit: one line, before any work
    for folder, flag in ((cfg.out_dir, "--out_dir"), (cfg.ckpt_dir, "--ckpt_dir"), (cfg.cache_dir, "--cache_dir")):
        writable_folder(folder, flag)
    data = load_dataset(cfg, tokenizer_from_json(meta["tokenizer"]) if meta else None)
    cfg.name = cfg.name or f"v1_numpy-{cfg.tokenizer}-s{cfg.seed}-{datetime.now():%Y%m%d-%H%M%S}"
    run_dir, ckpt_path = Path(cfg.out_dir) / cfg.name, ckpt_root / cfg.name / "ckpt.npz"
    with own_folder(run_dir, cfg.name), own_folder(ckpt_path.parent, cfg.name):  # this process's alone
        return train_in(cfg, data, meta, arrays, path, run_dir, ckpt_path)


def train_in(cfg: Config, data, meta, arrays, path, run_dir: Path, ckpt_path: Path) -> dict:
    tok = data.tokenizer
    if meta is None and (run_dir / "metrics.jsonl").exists():
        if cfg.resume != "auto":
            raise LadderError(f"run folder {run_dir} already exists; continue it with --resume auto --name {cfg.name}")
        for stale in ("metrics.jsonl", "samples.jsonl", "summary.json"):  # no checkpoint survived: run it again
            (run_dir / stale).unlink(missing_ok=True)

    model = build_model(Model, cfg, tok.vocab_size, "v1_numpy")
    params = dict(model.named_parameters())
    opt = AdamW(params, cfg)
    rng = np.random.default_rng(cfg.seed + 1)  # the batch stream: its own generator, never init's
    st = State()
    if meta:
        restore(model, opt, arrays, path)
        opt.t, rng.bit_generator.state = meta["adam_t"], meta["sampler_rng"]
        st = State(**{f.name: meta[f.name] for f in fields(State)})
    n_params = sum(p.data.size for p in params.values())
    config = asdict(cfg) | {"rung": "v1_numpy", "params": n_params, "vocab_size": tok.vocab_size}
    tracker = Tracker(
        run_dir, config | {"git_commit": git_commit(), "world_size": 1}, "v1_numpy", cfg.wandb, st.wandb_id
    )
    st.wandb_id = tracker.wandb_id
    if meta:
        tracker.truncate_after(st.step)
    print(f"v1_numpy: {n_params:,} parameters, {cfg.tokenizer} tokenizer with {tok.vocab_size} ids, "
          f"{len(data.train.ids):,} training tokens, numpy on the CPU, run {run_dir}")  # fmt: skip

    def save(finished=False):
        if not all(np.isfinite(a).all() for a in [*model.state_dict().values(), *opt.m.values(), *opt.v.values()]):
            raise diverged(f"the weights became NaN or inf by step {st.step}")
        header = {"rung": "v1_numpy", "config": asdict(cfg), "tokenizer": tokenizer_json(tok)}
        save_checkpoint(
            ckpt_path, model, opt, header | asdict(st) | {"finished": finished, "sampler_rng": rng.bit_generator.state}
        )

    def diverged(what):
        saved = f"the last good checkpoint is {ckpt_path}" if ckpt_path.is_file() else "no checkpoint was saved yet"
        return LadderError(f"{what}; stopped without saving ({saved}); try a lower --lr")

    def evaluate():
        m = evaluate_split(model, data, "valid", cfg.block_size, cfg.batch_size, None, nullcontext, cfg.eval_tokens)
        if not math.isfinite(m["loss"]):
            raise diverged(f"the validation loss became {m['loss']} at step {st.step}")
        st.best_val_bpb = min(st.best_val_bpb, m["bpb"])
        tracker.log({f"val/{k}": v for k, v in m.items()} | {"val/best_bpb": st.best_val_bpb}, st.step)
        start = tok.encode("\n")[:1]
        text = tok.decode(
            generate(model, start, cfg.sample_tokens, cfg.block_size, np.random.default_rng(cfg.seed))[1:]
        )
        tracker.sample(st.step, text)
        tqdm.write(
            f"step {st.step}: val loss {m['loss']:.4f}, val bpb {m['bpb']:.4f}\n--- sample ---\n{text}\n--------------"
        )

    with stop_signals(master=True) as stop:  # Ctrl-C or SIGTERM: finish this step, checkpoint, exit 128 + signal
        pbar = tqdm(total=None if cfg.max_minutes else cfg.max_steps, initial=st.step, dynamic_ncols=True, unit="step")
        t_start, t_window, tok_window, loss, evaluated_at = time.time() - st.elapsed, time.time(), 0, float("nan"), None
        try:
            while st.step < cfg.max_steps and not stop.requested:
                st.elapsed = time.time() - t_start
                if cfg.max_minutes and st.elapsed >= cfg.max_minutes * 60:
                    break
                lr = lr_at(cfg, st.step, progress_of(cfg, st.step, st.elapsed))
                loss = 0.0
                for _ in range(cfg.grad_accum):
                    ix = rng.integers(len(data.train.ids) - cfg.block_size, size=cfg.batch_size)
                    xy = np.stack([data.train.ids[i : i + cfg.block_size + 1] for i in ix]).astype(np.int64)  # (B, T+1)
                    st.bytes += float(data.byte_lut["train"][xy[:, 1:]].sum())
                    loss += model.loss_and_backward(xy[:, :-1], xy[:, 1:], 1 / cfg.grad_accum) / cfg.grad_accum
                if not math.isfinite(loss):
                    raise diverged(f"the loss became {loss} at step {st.step + 1}")
                if cfg.grad_clip > 0:
                    clip_grad_norm(params, cfg.grad_clip)
                opt.step(lr)
                opt.zero_grad()
                st.step += 1
                st.tokens += cfg.batch_size * cfg.block_size * cfg.grad_accum
                tok_window += cfg.batch_size * cfg.block_size * cfg.grad_accum
                if st.step % cfg.log_interval == 0 or st.step == cfg.max_steps:
                    now = time.time()
                    tps, t_window, tok_window = tok_window / max(now - t_window, 1e-9), now, 0
                    tracker.log(
                        {"train/loss": loss, "lr": lr, "tokens": st.tokens, "bytes": st.bytes, "tokens_per_s": tps},
                        st.step,
                    )
                    pbar.set_postfix(loss=f"{loss:.3f}", lr=f"{lr:.2e}", tok_s=f"{tps:,.0f}", refresh=False)
                pbar.update(1)
                if st.step % cfg.eval_interval == 0 and st.step < cfg.max_steps:
                    evaluate()
                    evaluated_at = st.step
                    st.elapsed = time.time() - t_start
                    save()
            st.elapsed = time.time() - t_start
        finally:
            pbar.close()
    if stop.requested:
        save()
        name = signal.Signals(stop.signum).name
        print(
            f"{name}: stopped at step {st.step}, checkpoint {ckpt_path}; continue with: python v1_numpy.py --resume {ckpt_path}"
        )
        raise Stopped(stop.signum)
    if st.step != evaluated_at:
        evaluate()
    summary = {"rung": "v1_numpy", "name": cfg.name, "tokenizer": cfg.tokenizer, "vocab_size": tok.vocab_size}
    summary |= {"params": n_params, "steps": st.step, "tokens": st.tokens, "bytes": st.bytes, "wall_time_s": st.elapsed}
    summary |= {"tokens_per_s": st.tokens / max(st.elapsed, 1e-9), "val/best_bpb": st.best_val_bpb}
    summary |= full_evaluation(model, data, cfg.block_size, cfg.batch_size, None, nullcontext, cfg.eval_sliding)
    summary["train/loss"] = loss
    tracker.summary(summary)
    ext = ", ".join(f"{k[-2:]} {v:.4f}" for k, v in summary.items() if k.startswith("val/bpb@") and v is not None)
    print(f"final: val loss {summary['val/loss']:.4f} | val bpb {summary['val/bpb']:.4f} | word ppl "
          f"{summary['val/word_ppl']:.1f} | test bpb {summary['test/bpb']:.4f} | wall {st.elapsed:.0f}s "
          f"({summary['tokens_per_s']:,.0f} tok/s)\n       val bpb by context: {ext}")  # fmt: skip
    save(finished=True)
    tracker.finish()
    return summary


def sample(cfg: Config) -> str:
    """--sample CKPT: generate from a checkpoint (what sample.py does for the PyTorch rungs)."""
    meta, arrays = load_checkpoint(Path(cfg.sample))
    mcfg = Config(**meta["config"])
    tok = tokenizer_from_json(meta["tokenizer"])
    model = Model(mcfg, tok.vocab_size)
    restore(model, None, arrays, cfg.sample)
    ids = generate(model, tok.encode("\n")[:1], cfg.sample_tokens, mcfg.block_size, np.random.default_rng(cfg.seed))
    text = tok.decode(ids[1:])
    print(text)
    return text


def main(argv=None):
    cfg, given = parse_config(Config, argv, prog="python v1_numpy.py", description=__doc__)
    return sample(cfg) if cfg.sample else train(cfg, given)


if __name__ == "__main__":
    run_cli(main)
