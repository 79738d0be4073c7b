"""The training loop shared by every rung.

AdamW (decay on matrices only), linear warmup then cosine decay, gradient clipping and
accumulation, a step or wall-clock budget, periodic evaluation with a printed sample,
checkpoints (periodic, final, on Ctrl-C) and exact resume, DDP through torchrun.
A rung calls `train(cfg, Model, rung, given)`; `Model(cfg, vocab_size)` maps (B, T) ids to
(B, T, V) logits and has `context_length` (int, or None when positions are relative).
"""

import contextlib
import math
import os
import signal
import time
from dataclasses import asdict, fields
from datetime import datetime
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from tqdm import tqdm

from common.checkpoint import find_resumable, load_checkpoint_state, save_checkpoint
from common.config import validate
from common.data import Batcher, load_dataset, tokenizer_from_json, tokenizer_json
from common.errors import LadderError
from common.evaluate import evaluate_split
from common.generate import generate
from common.tracking import Tracker, git_commit

# settings that may change when a run is resumed; any other explicit flag must match the checkpoint
RESUMABLE_CHANGES = {
    "max_steps",
    "max_minutes",
    "eval_interval",
    "wandb",
    "device",
    "compile",
    "resume",
    "sample_tokens",
    "log_interval",
}
EXTRAPOLATION = (1, 2, 4, 8)  # final val bpb at these multiples of the training context


# -----------------------------------------------------------------------------
# device, precision and processes


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise LadderError("--device cuda but no CUDA GPU is visible; use --device cpu or auto")
    if name == "mps" and not torch.backends.mps.is_available():
        raise LadderError("--device mps but MPS is not available; use --device cpu or auto")
    return torch.device(name)


def autocast_for(device: torch.device):
    """bf16 autocast on CUDA GPUs that support it; full precision elsewhere."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext


def setup_distributed(cfg):
    """(rank, world_size, device). torchrun sets RANK/WORLD_SIZE; one process otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, pick_device(cfg.device)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(cfg.device)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return rank, world, device


# -----------------------------------------------------------------------------
# optimizer and schedule


def make_optimizers(model, cfg, device) -> list:
    """The rung's optimizers: `model.configure_optimizers(cfg, device)` when the model has one (a
    rung that trains differently says so there, e.g. v6's Muon), else AdamW. Each param group's
    `lr` at creation is its peak; the schedule scales every group by the same factor."""
    if hasattr(model, "configure_optimizers"):
        optimizers = model.configure_optimizers(cfg, device)
        optimizers = list(optimizers) if isinstance(optimizers, (list, tuple)) else [optimizers]
    else:
        optimizers = [adamw(model, cfg, device)]
    for opt in optimizers:
        for group in opt.param_groups:
            group.setdefault("peak_lr", group["lr"])  # saved in the optimizer state, so resume keeps it
    return optimizers


def adamw(model, cfg, device):
    """AdamW; weight decay on matrices (dim >= 2) only, never on biases, gains or scalars."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    fused = device.type == "cuda"  # one kernel for the whole update on GPUs
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, cfg.beta2), fused=fused)


def lr_at(cfg, step: int, progress: float) -> float:
    """Linear warmup for warmup_steps, then cosine from lr to lr * min_lr_ratio as progress -> 1."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    ratio = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * ratio)


def progress_of(cfg, step: int, elapsed: float) -> float:
    """Fraction of the budget used: steps, or wall-clock time when --max_minutes is set."""
    p = step / cfg.max_steps
    if cfg.max_minutes:
        p = max(p, elapsed / (cfg.max_minutes * 60))
    return p


# -----------------------------------------------------------------------------
# resume


def resolve_resume(cfg, given: set, rung: str):
    """Returns (cfg, checkpoint state or None). The checkpoint's config wins, except for the
    settings in RESUMABLE_CHANGES given on the command line."""
    if not cfg.resume:
        return cfg, None
    if cfg.resume == "auto":
        path = find_resumable(cfg.ckpt_dir, rung, cfg.name)
        if path is None:
            if int(os.environ.get("RANK", "0")) == 0:
                print(f"--resume auto: no unfinished {rung} checkpoint under {cfg.ckpt_dir}/; starting fresh")
            return cfg, None
    else:
        path = Path(cfg.resume)
    state = load_checkpoint_state(path, rung)
    saved = state["config"]
    for f in fields(cfg):
        if (
            f.name in given
            and f.name not in RESUMABLE_CHANGES
            and f.name in saved
            and getattr(cfg, f.name) != saved[f.name]
        ):
            raise LadderError(
                f"--{f.name} {getattr(cfg, f.name)!r} differs from the checkpoint's {saved[f.name]!r}; "
                f"a resumed run keeps its settings (drop the flag, or start a new run with another --name)"
            )
    merged = {k: v for k, v in saved.items() if k in {f.name for f in fields(cfg)}}
    merged.update({k: getattr(cfg, k) for k in given if k in RESUMABLE_CHANGES})
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"resuming {saved['name']} from {path} at step {state['step']}")
    return type(cfg)(**merged), state


# -----------------------------------------------------------------------------
# the loop


def train(cfg, Model, rung: str, given: set = frozenset()) -> dict:
    validate(cfg)
    cfg, state = resolve_resume(cfg, given, rung)
    rank, world, device = setup_distributed(cfg)
    master = rank == 0
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    autocast = autocast_for(device)

    tokenizer = tokenizer_from_json(state["tokenizer"]) if state else None
    data = load_dataset(cfg, tokenizer)
    tok = data.tokenizer
    if not cfg.name:
        vocab = f"{tok.vocab_size}" if cfg.tokenizer != "char" else ""
        cfg.name = f"{rung}-{cfg.tokenizer}{vocab}-s{cfg.seed}-{datetime.now():%Y%m%d-%H%M%S}"
    run_dir, ckpt_path = Path(cfg.out_dir) / cfg.name, Path(cfg.ckpt_dir) / cfg.name / "ckpt.pt"
    if state is None and master and (run_dir / "metrics.jsonl").exists():
        if cfg.resume != "auto":
            raise LadderError(
                f"run folder {run_dir} already exists; continue it with --resume auto --name {cfg.name}, "
                "or pick another --name"
            )
        # asked to continue, but no checkpoint survived (killed before the first one, or a new
        # machine): its records cannot be continued, so the run starts again and replaces them
        print(f"no checkpoint of {cfg.name} to continue from; running it again from step 0")
        for stale in ("metrics.jsonl", "samples.jsonl", "summary.json"):
            (run_dir / stale).unlink(missing_ok=True)

    torch.manual_seed(cfg.seed)  # model init depends on the seed only, not on the data
    raw_model = Model(cfg, tok.vocab_size).to(device)
    ctx_limit = raw_model.context_length
    if ctx_limit is not None and cfg.block_size > ctx_limit:
        raise LadderError(f"--block_size {cfg.block_size} is longer than the model supports ({ctx_limit})")
    n_params = sum(p.numel() for p in raw_model.parameters())
    optimizers = make_optimizers(raw_model, cfg, device)
    batcher = Batcher(data.train.ids, cfg.block_size, cfg.batch_size, cfg.seed + 1_000_003 * rank, device)
    train_lut = data.byte_lut["train"]
    step, elapsed, tokens_seen, bytes_seen, best_bpb, wandb_id = 0, 0.0, 0, 0.0, float("inf"), None
    if state:
        raw_model.load_state_dict(state["model"])
        saved_opt = state["optimizer"]
        saved_opt = saved_opt if isinstance(saved_opt, list) else [saved_opt]  # one AdamW before v6
        for opt, opt_state in zip(optimizers, saved_opt, strict=True):
            opt.load_state_dict(opt_state)
        step, elapsed = state["step"], state["elapsed"]
        tokens_seen, bytes_seen, best_bpb, wandb_id = (
            state["tokens"],
            state["bytes"],
            state["best_val_bpb"],
            state["wandb_id"],
        )
        if len(state["sampler_rng"]) != world:  # each rank continues its own batch stream
            raise LadderError(
                f"the checkpoint was written by {len(state['sampler_rng'])} process(es), this run has {world}; "
                f"resume with the same number (torchrun --nproc_per_node={len(state['sampler_rng'])})"
            )
        batcher.generator.set_state(state["sampler_rng"][rank])
        torch.set_rng_state(state["torch_rng"])
        cuda_rng = state.get("cuda_rng")  # dropout's stream on GPUs; absent from older checkpoints
        if device.type == "cuda" and cuda_rng and cuda_rng[rank] is not None:
            torch.cuda.set_rng_state(cuda_rng[rank], device)
    model = torch.compile(raw_model) if cfg.compile else raw_model
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )

    config = asdict(cfg) | {
        "rung": rung,
        "params": n_params,
        "vocab_size": tok.vocab_size,
        "git_commit": git_commit(),
        "world_size": world,
    }
    tracker = Tracker(run_dir, config, rung, cfg.wandb, resume_id=wandb_id, enabled=master)
    if state and master:
        tracker.truncate_after(step)  # records written after the checkpoint are redone
    if master:
        print(
            f"{rung}: {n_params:,} parameters, {cfg.tokenizer} tokenizer with {tok.vocab_size} ids, "
            f"{len(data.train.ids):,} training tokens, device {device}, run {run_dir}"
        )

    def checkpoint(finished=False):
        mine = (batcher.generator.get_state(), torch.cuda.get_rng_state(device) if device.type == "cuda" else None)
        rng = [mine]
        if world > 1:  # every rank's streams, so each continues its own
            rng = [None] * world
            dist.all_gather_object(rng, mine)
        if not master:
            return
        save_checkpoint(
            ckpt_path,
            {
                "rung": rung,
                "config": asdict(cfg),
                "tokenizer": tokenizer_json(tok),
                "model": raw_model.state_dict(),
                "optimizer": [opt.state_dict() for opt in optimizers],
                "step": step,
                "elapsed": elapsed,
                "tokens": tokens_seen,
                "bytes": bytes_seen,
                "best_val_bpb": best_bpb,
                "wandb_id": tracker.wandb_id,
                "finished": finished,
                "sampler_rng": [r[0] for r in rng],
                "cuda_rng": [r[1] for r in rng],
                "torch_rng": torch.get_rng_state(),
            },
        )

    def sample_text(n_tokens: int) -> str:
        g = torch.Generator().manual_seed(cfg.seed)  # the same sample for the same weights
        start = torch.tensor([[tok.encode("\n")[0]]], device=device)
        out = generate(raw_model, start, n_tokens, cfg.block_size, temperature=0.8, top_k=50, generator=g)
        return tok.decode(out[0, 1:].tolist())

    def periodic_eval():
        nonlocal best_bpb
        m = evaluate_split(
            raw_model, data, "valid", cfg.block_size, cfg.batch_size, device, autocast, max_tokens=cfg.eval_tokens
        )
        best_bpb = min(best_bpb, m["bpb"])
        tracker.log({f"val/{k}": v for k, v in m.items()} | {"val/best_bpb": best_bpb}, step)
        text = sample_text(cfg.sample_tokens)
        tracker.sample(step, text)
        tqdm.write(
            f"step {step}: val loss {m['loss']:.4f}, val bpb {m['bpb']:.4f}\n--- sample ---\n{text}\n--------------"
        )

    # Ctrl-C finishes the current step, checkpoints and exits; a second Ctrl-C aborts at once
    stop = {"requested": False}

    def on_sigint(signum, frame):
        if stop["requested"]:
            raise KeyboardInterrupt
        stop["requested"] = True
        if master:
            tqdm.write("Ctrl-C: stopping after this step and saving a checkpoint (Ctrl-C again to abort)")

    old_handler = signal.signal(signal.SIGINT, on_sigint)
    # Under a wall-clock budget the step cap is only a safety net: a bar towards it would show an
    # ETA of days. The bar then counts steps and the postfix says how many minutes are left.
    total = None if cfg.max_minutes else cfg.max_steps
    pbar = tqdm(total=total, initial=step, disable=not master, dynamic_ncols=True, unit="step")
    t_start = time.time() - elapsed
    t_window, tok_window = time.time(), 0
    last_loss = float("nan")
    evaluated_at = None  # the step of the last periodic eval, so the end of a run does not repeat it
    try:
        raw_model.train()
        while step < cfg.max_steps:
            elapsed = time.time() - t_start
            out_of_time = bool(cfg.max_minutes) and elapsed >= cfg.max_minutes * 60
            halt = torch.tensor([float(stop["requested"] or out_of_time)])
            if world > 1:  # every rank must stop at the same step
                dist.all_reduce(halt, op=dist.ReduceOp.MAX)
            if halt.item():
                break
            lr = lr_at(cfg, step, progress_of(cfg, step, elapsed))
            for opt in optimizers:
                for group in opt.param_groups:
                    group["lr"] = group["peak_lr"] * lr / cfg.lr
            loss_sum, step_bytes = 0.0, 0.0
            for micro in range(cfg.grad_accum):
                x, y = batcher.next()  # (B, T), (B, T)
                step_bytes += float(train_lut[y.cpu().numpy()].sum())  # bytes of text these targets stand for
                # subtle: DDP all-reduces on every backward unless told not to; only the last
                # micro-batch of a step needs it
                sync = world == 1 or micro == cfg.grad_accum - 1
                with contextlib.nullcontext() if sync else model.no_sync():
                    with autocast():
                        logits = model(x)  # (B, T, V)
                    loss = F.cross_entropy(logits.float().flatten(0, 1), y.flatten()) / cfg.grad_accum
                    loss.backward()
                loss_sum += loss.item()
            if world > 1:  # every rank read different text: count all of it
                step_bytes = torch.tensor([step_bytes], dtype=torch.float64)
                dist.all_reduce(step_bytes)
                step_bytes = step_bytes.item()
            bytes_seen += step_bytes
            if not math.isfinite(loss_sum):
                raise LadderError(
                    f"the loss became {loss_sum} at step {step + 1}; stopped without saving it "
                    f"(the last good checkpoint is {ckpt_path}); try a lower --lr"
                )
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(raw_model.parameters(), cfg.grad_clip)
            for opt in optimizers:
                opt.step()
                opt.zero_grad(set_to_none=True)
            step += 1
            n_tok = cfg.batch_size * cfg.block_size * cfg.grad_accum * world
            tokens_seen += n_tok
            tok_window += n_tok
            last_loss = loss_sum
            if step % cfg.log_interval == 0 or step == cfg.max_steps:
                now = time.time()
                tps = tok_window / max(now - t_window, 1e-9)
                t_window, tok_window = now, 0
                tracker.log(
                    {"train/loss": loss_sum, "lr": lr, "tokens": tokens_seen, "bytes": bytes_seen, "tokens_per_s": tps},
                    step,
                )
                post = dict(loss=f"{loss_sum:.3f}", lr=f"{lr:.2e}", tok_s=f"{tps:,.0f}")
                if cfg.max_minutes:  # the step total is only a cap: say how much time is left
                    post["left"] = f"{max(0.0, cfg.max_minutes * 60 - (now - t_start)) / 60:.1f}min"
                pbar.set_postfix(**post, refresh=False)
            pbar.update(1)
            if step % cfg.eval_interval == 0 and step < cfg.max_steps:
                if master:
                    periodic_eval()
                    evaluated_at = step
                checkpoint()
        elapsed = time.time() - t_start
        pbar.close()
        if stop["requested"]:
            checkpoint()
            if master:
                print(f"stopped at step {step}; continue with: --resume {ckpt_path}")
            raise KeyboardInterrupt  # exit status 130, so a sweep runner knows it was stopped
    finally:
        signal.signal(signal.SIGINT, old_handler)
        pbar.close()

    # --- final evaluation on the full validation and test splits (rank 0 only)
    summary = {}
    if master:
        if step != evaluated_at:  # a time budget can run out exactly on an eval step
            periodic_eval()
        summary = final_summary(
            cfg, raw_model, data, device, autocast, rung, n_params, step, tokens_seen, bytes_seen, elapsed, best_bpb
        )
        summary["train/loss"] = last_loss
        tracker.summary(summary)
        print(format_summary(summary))
    checkpoint(finished=True)
    tracker.finish()
    if world > 1:
        dist.barrier()
    return summary


def final_summary(
    cfg, model, data, device, autocast, rung, n_params, step, tokens, bytes_seen, elapsed, best_bpb
) -> dict:
    s = {
        "rung": rung,
        "name": cfg.name,
        "tokenizer": cfg.tokenizer,
        "vocab_size": data.tokenizer.vocab_size,
        "params": n_params,
        "steps": step,
        "tokens": tokens,
        "bytes": bytes_seen,
        "wall_time_s": elapsed,
        "tokens_per_s": tokens / max(elapsed, 1e-9),
        "val/best_bpb": best_bpb,
    }
    T, limit = cfg.block_size, model.context_length
    for split in ("valid", "test"):
        key = "val" if split == "valid" else "test"
        m = evaluate_split(model, data, split, T, cfg.batch_size, device, autocast)
        s.update({f"{key}/{k}": v for k, v in m.items()})
    for mult in EXTRAPOLATION[1:]:
        if limit is not None and mult * T > limit:
            s[f"val/bpb@{mult}x"] = None  # learned positions stop at the table's end
            continue
        batch = max(1, cfg.batch_size // mult)
        s[f"val/bpb@{mult}x"] = evaluate_split(model, data, "valid", mult * T, batch, device, autocast)["bpb"]
    s["val/bpb@1x"] = s["val/bpb"]
    return s


def format_summary(s: dict) -> str:
    ext = ", ".join(f"{m}x {s[f'val/bpb@{m}x']:.4f}" for m in EXTRAPOLATION if s.get(f"val/bpb@{m}x") is not None)
    missing = [f"{m}x" for m in EXTRAPOLATION if s.get(f"val/bpb@{m}x") is None]
    if missing:
        ext += f" ({', '.join(missing)}: n/a, the model has no positions past its training context)"
    return (
        f"final: val loss {s['val/loss']:.4f} | val ppl {s['val/ppl']:.2f} | val bpb {s['val/bpb']:.4f} | "
        f"word ppl {s['val/word_ppl']:.1f} | test bpb {s['test/bpb']:.4f} | unk rate {s['val/unk_rate']:.4%} | "
        f"params {s['params']:,} | tokens {s['tokens']:,} | bytes {s['bytes']:,.0f} | wall {s['wall_time_s']:.0f}s "
        f"({s['tokens_per_s']:,.0f} tok/s)\n       val bpb by context: {ext}"
    )


def run_rung(Config, Model, rung_file: str, doc: str, argv=None) -> dict:
    """The body of every rung's main(): parse flags, train, return the summary."""
    from common.config import parse_config

    rung = Path(rung_file).stem
    cfg, given = parse_config(Config, argv, prog=f"python {rung}.py", description=doc)
    return train(cfg, Model, rung, given)
