"""The training loop shared by every rung.

A rung's `main` calls `run_rung(Config, Model, __file__, __doc__, argv)`: flags -> `train()`.
`Model(cfg, vocab_size)` maps token ids (B, T) to logits (B, T, V) and states `context_length`
(an int, or None when positions are relative). A model that trains differently brings its own
optimizers, `model.configure_optimizers(cfg, device)` (see common/optim.py; AdamW otherwise).

train(), in order:
  1. settings: validated, merged with the checkpoint on --resume; the model is built once on the
     meta device and every output folder is checked writable, so bad settings fail in seconds;
  2. data, then the TrainState (model, optimizers, batch stream, counters), restored on resume;
  3. the loop: a step (gradient accumulation, clipping), records, and every --eval_interval an
     evaluation on the validation prefix, a printed sample and a checkpoint; Ctrl-C stops after
     the current step with a checkpoint, and so does SIGTERM (a scheduler's or container's stop);
     a NaN/inf loss or weights stop without saving them;
  4. the summary on the full validation and test splits (and at longer contexts), a final checkpoint.
Beside it: common/device.py (device, precision, processes), common/optim.py (optimizers and the
schedule), common/checkpoint.py (the TrainState and its save), common/files.py; common/resume.py
only when a run resumes.
"""

import contextlib
import math
import signal
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from bpe_tokenizer import takes_vocab
from common.checkpoint import TrainState, save_state
from common.config import EXTRAPOLATION, TARGET_MARGIN, TrainConfig, build_model, validate
from common.data import Batcher, Dataset, load_dataset, rank_seed, tokenizer_json
from common.device import Process, setup_process
from common.errors import LadderError, Stopped
from common.evaluate import evaluate_split, full_evaluation
from common.files import writable_folder
from common.generate import generate
from common.lifecycle import own_folder, stop_signals
from common.optim import lr_at, make_optimizers, progress_of, set_lr
from common.tracking import Tracker, git_commit


@dataclass
class Run:
    """What one run is and where it writes: set up once, then only read."""

    cfg: TrainConfig
    rung: str
    proc: Process
    data: Dataset
    tracker: Tracker
    ckpt_path: Path
    resumed_from: Path | None  # the checkpoint this run started from, if any


def train(cfg, Model, rung: str, given: set = frozenset()) -> dict:
    """Train rung `rung` (Model) with `cfg` (`given`: the flags set explicitly); returns the summary."""
    cfg, checkpoint, resumed_from = settle(cfg, Model, rung, given)
    proc = setup_process(cfg.device)
    tok = None
    if checkpoint:  # a resumed run keeps its tokenizer
        from common.resume import checkpoint_tokenizer

        tok = checkpoint_tokenizer(checkpoint, resumed_from)
    data = load_dataset(cfg, tok)
    cfg.name = cfg.name or default_name(cfg, rung, data.tokenizer)
    run_dir, ckpt_path = Path(cfg.out_dir) / cfg.name, Path(cfg.ckpt_dir) / cfg.name / "ckpt.pt"
    with contextlib.ExitStack() as held:
        if proc.master:  # the run folder and the checkpoint folder belong to this process alone
            held.enter_context(own_folder(run_dir, cfg.name))
            held.enter_context(own_folder(ckpt_path.parent, cfg.name))
        if checkpoint is None and proc.master:
            claim_run_folder(run_dir, cfg)
        return train_in(cfg, Model, rung, proc, data, checkpoint, resumed_from)


def train_in(cfg, Model, rung: str, proc: Process, data: Dataset, checkpoint, resumed_from) -> dict:
    """train() once the run's folders are claimed: state, loop, summary."""
    run_dir, ckpt_path = Path(cfg.out_dir) / cfg.name, Path(cfg.ckpt_dir) / cfg.name / "ckpt.pt"
    state = new_state(cfg, Model, rung, data, proc)
    if checkpoint:
        from common.resume import restore_state

        restore_state(state, checkpoint, resumed_from, proc)
    model = torch.compile(state.model) if cfg.compile else state.model
    model = proc.wrap(model)  # in a torchrun group, DDP wraps the single-device model from outside
    n_params = sum(p.numel() for p in state.model.parameters())
    tok = data.tokenizer
    config = asdict(cfg) | {
        "rung": rung,
        "params": n_params,
        "vocab_size": tok.vocab_size,
        "git_commit": git_commit(),
        "world_size": proc.world,
    }
    tracker = Tracker(run_dir, config, rung, cfg.wandb, resume_id=state.wandb_id, enabled=proc.master)
    state.wandb_id = tracker.wandb_id
    if checkpoint and proc.master:
        tracker.truncate_after(state.step)  # records written after the checkpoint are redone
    run = Run(cfg, rung, proc, data, tracker, ckpt_path, resumed_from)
    if proc.master:
        print(
            f"{rung}: {n_params:,} parameters, {cfg.tokenizer} tokenizer with {tok.vocab_size} ids, "
            f"{len(data.train.ids):,} training tokens, device {proc.device}, run {run_dir}"
        )

    with stop_signals(proc.master) as stop, proc.watch_peers(ckpt_path, resumed_from):
        last_loss, evaluated_at = loop(run, state, model, stop)
        if stop.requested:
            save(run, state)
            if proc.master:
                name = signal.Signals(stop.signum).name
                print(
                    f"{name}: stopped at step {state.step}, checkpoint {ckpt_path}; continue with: python {rung}.py --resume {ckpt_path}"
                )
            raise Stopped(stop.signum)  # exit status 128 + signal (130, 143): stopped, resumable

    summary = {}
    if proc.master:
        if state.step != evaluated_at:  # a time budget can run out exactly on an eval step
            evaluate(run, state)
        summary = final_summary(run, state) | {"train/loss": last_loss}
        tracker.summary(summary)
        print(format_summary(summary))
    save(run, state, finished=True)
    tracker.finish()
    proc.barrier()
    return summary


# -----------------------------------------------------------------------------
# the loop


def loop(run: Run, state: TrainState, model, stop) -> tuple[float, int | None]:
    """Steps until the budget or Ctrl-C; returns (the last train loss, the step of the last eval)."""
    cfg, proc = run.cfg, run.proc
    # Under a wall-clock budget the step cap is only a safety net: a bar towards it would show an
    # ETA of days. The bar then counts steps and the postfix says how many minutes are left.
    total = None if cfg.max_minutes else cfg.max_steps
    pbar = tqdm(total=total, initial=state.step, disable=not proc.master, dynamic_ncols=True, unit="step")
    t_start = time.time() - state.elapsed
    t_window, tok_window = time.time(), 0
    last_loss, evaluated_at = float("nan"), None
    try:
        state.model.train()
        while state.step < cfg.max_steps:
            state.elapsed = time.time() - t_start
            out_of_time = bool(cfg.max_minutes) and state.elapsed >= cfg.max_minutes * 60
            reached = state.target_step is not None  # --target_bpb, confirmed on the full validation split
            if proc.any(stop.requested or out_of_time or reached):  # every rank must stop at the same step
                break
            progress = progress_of(cfg, state.step, state.elapsed)
            lr = lr_at(cfg, state.step, progress)
            set_lr(state.optimizers, cfg, lr)
            if cfg.dropout_from:  # late dropout: off until this fraction of the run, then --dropout
                set_dropout(model, cfg.dropout if progress >= cfg.dropout_from else 0.0)
            last_loss = train_step(run, state, model)
            state.step += 1
            n_tok = cfg.batch_size * cfg.block_size * cfg.grad_accum * proc.world
            state.tokens += n_tok
            tok_window += n_tok
            if state.step % cfg.log_interval == 0 or state.step == cfg.max_steps:
                now = time.time()
                tps = tok_window / max(now - t_window, 1e-9)
                t_window, tok_window = now, 0
                record = {"train/loss": last_loss, "lr": lr, "tokens": state.tokens, "bytes": state.bytes}
                run.tracker.log(record | {"tokens_per_s": tps}, state.step)
                post = dict(loss=f"{last_loss:.3f}", lr=f"{lr:.2e}", tok_s=f"{tps:,.0f}")
                if cfg.max_minutes:  # the step total is only a cap: say how much time is left
                    post["left"] = f"{max(0.0, cfg.max_minutes * 60 - (now - t_start)) / 60:.1f}min"
                pbar.set_postfix(**post, refresh=False)
            pbar.update(1)
            if state.step % cfg.eval_interval == 0 and state.step < cfg.max_steps:
                if proc.master:
                    evaluate(run, state)
                    evaluated_at = state.step
                save(run, state)
        state.elapsed = time.time() - t_start
    finally:
        pbar.close()
    return last_loss, evaluated_at


def set_dropout(model, p: float) -> None:
    """Every dropout rate of `model` to `p`: its nn.Dropout modules, and the float `dropout` a rung's
    attention passes to F.scaled_dot_product_attention (every rung keeps it there)."""
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = p
        elif isinstance(getattr(m, "dropout", None), float):
            m.dropout = p


def train_step(run: Run, state: TrainState, model) -> float:
    """One optimizer step over --grad_accum micro-batches; returns the step's mean loss."""
    cfg, proc = run.cfg, run.proc
    loss_sum, step_bytes = 0.0, 0.0
    for micro in range(cfg.grad_accum):
        x, y = state.batcher.next()  # (B, T), (B, T)
        step_bytes += float(run.data.byte_lut["train"][y.cpu().numpy()].sum())  # the text these targets stand for
        # subtle: DDP all-reduces on every backward unless told not to; only the last
        # micro-batch of a step needs it
        sync = proc.world == 1 or micro == cfg.grad_accum - 1
        with contextlib.nullcontext() if sync else model.no_sync():
            with proc.autocast():
                logits = model(x)  # (B, T, V)
            loss = F.cross_entropy(logits.float().flatten(0, 1), y.flatten()) / cfg.grad_accum
            loss.backward()
        loss_sum += loss.item()
    state.bytes += proc.sum(step_bytes)  # every rank read different text: count all of it
    if not math.isfinite(loss_sum):
        raise diverged(run, f"the loss became {loss_sum} at step {state.step + 1}")
    if cfg.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(state.model.parameters(), cfg.grad_clip)
    for opt in state.optimizers:
        opt.step()
        opt.zero_grad(set_to_none=True)
    return loss_sum


def evaluate(run: Run, state: TrainState) -> None:
    """The periodic evaluation on the validation prefix, with a sample; rank 0 only."""
    cfg, proc, model = run.cfg, run.proc, state.model
    if not state.finite():  # an update on this very step can have blown up the weights
        raise diverged(run, f"the weights became NaN or inf by step {state.step}")
    m = evaluate_split(
        model, run.data, "valid", cfg.block_size, cfg.batch_size, proc.device, proc.autocast, cfg.eval_tokens
    )
    if not math.isfinite(m["loss"]):
        raise diverged(run, f"the validation loss became {m['loss']} at step {state.step}")
    state.best_val_bpb = min(state.best_val_bpb, m["bpb"])
    # val_prefix/*: an estimate on the first --eval_tokens of the split; val/* is the full split,
    # measured once at the end (final_summary), so the two never share a key (issue 32)
    record = {f"val_prefix/{k}": v for k, v in m.items()} | {"val_prefix/best_bpb": state.best_val_bpb}
    record |= {"tokens": state.tokens, "bytes": state.bytes}  # the curves' x-axes (Tracker declares them)
    if cfg.target_bpb and m["bpb"] <= cfg.target_bpb + TARGET_MARGIN:  # near enough: the full split decides
        full = evaluate_split(model, run.data, "valid", cfg.block_size, cfg.batch_size, proc.device, proc.autocast)
        record["val/full_bpb"] = full["bpb"]
        if full["bpb"] <= cfg.target_bpb:
            state.target_step = state.step
            tqdm.write(f"step {state.step}: full validation split at {full['bpb']:.4f} <= --target_bpb; stopping")
    run.tracker.log(record, state.step)
    g = torch.Generator().manual_seed(cfg.seed)  # the same sample for the same weights
    tok = run.data.tokenizer
    start = torch.tensor([[tok.encode("\n")[0]]], device=proc.device)
    out = generate(model, start, cfg.sample_tokens, cfg.block_size, temperature=0.8, top_k=50, generator=g)
    text = tok.decode(out[0, 1:].tolist())
    run.tracker.sample(state.step, text)
    tqdm.write(
        f"step {state.step}: val loss {m['loss']:.4f}, val bpb {m['bpb']:.4f}\n--- sample ---\n{text}\n--------------"
    )


def save(run: Run, state: TrainState, finished: bool = False) -> None:
    """Checkpoint, never over a good one with non-finite weights (every rank calls this)."""
    if not state.finite():
        raise diverged(run, f"the weights became NaN or inf by step {state.step}")
    save_state(run.ckpt_path, state, run.proc, finished)


def diverged(run: Run, what: str) -> LadderError:
    from common.resume import last_good  # reads checkpoints back: only on this way out

    where = last_good(run.ckpt_path, run.resumed_from)
    return LadderError(f"{what}; stopped without saving ({where}); try a lower --lr")


# -----------------------------------------------------------------------------
# settings, outputs, state


def settle(cfg, Model, rung: str, given: set):
    """Everything that can fail fast, before data and training: returns (cfg, checkpoint, its path)."""
    validate(cfg)
    checkpoint = path = None
    if cfg.resume:  # only a resumed run reads a checkpoint back: common/resume.py
        from common.resume import resolve_resume

        cfg, checkpoint, path = resolve_resume(cfg, given, rung)
    with torch.device("meta"):  # no memory, no RNG draws: only whether the settings fit together
        build_model(Model, cfg, 256, rung)
    for folder, flag in ((cfg.out_dir, "--out_dir"), (cfg.ckpt_dir, "--ckpt_dir"), (cfg.cache_dir, "--cache_dir")):
        writable_folder(folder, flag)
    return cfg, checkpoint, path


def new_state(cfg, Model, rung: str, data: Dataset, proc: Process) -> TrainState:
    """A fresh TrainState: the seeded model, its optimizers, this rank's batch stream."""
    torch.manual_seed(cfg.seed)  # model init depends on the seed only, not on the data
    model = build_model(Model, cfg, data.tokenizer.vocab_size, rung).to(proc.device)
    optimizers = make_optimizers(model, cfg, proc.device)
    batcher = Batcher(data.train.ids, cfg.block_size, cfg.batch_size, rank_seed(cfg.seed, proc.rank), proc.device)
    header = {"rung": rung, "config": asdict(cfg), "tokenizer": tokenizer_json(data.tokenizer)}
    return TrainState(model, optimizers, batcher, header=header)


def default_name(cfg, rung: str, tok) -> str:
    vocab = f"{tok.vocab_size}" if takes_vocab(cfg.tokenizer) else ""
    return f"{rung}-{cfg.tokenizer}{vocab}-s{cfg.seed}-{datetime.now():%Y%m%d-%H%M%S}"


def claim_run_folder(run_dir: Path, cfg) -> None:
    """A fresh run never writes over another run's records."""
    if not (run_dir / "metrics.jsonl").exists():
        return
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


# -----------------------------------------------------------------------------
# the final summary


def final_summary(run: Run, state: TrainState) -> dict:
    """The run's counters, and the full validation and test splits (common/evaluate.py)."""
    cfg, proc, model, data = run.cfg, run.proc, state.model, run.data
    if not state.finite():
        raise diverged(run, f"the weights became NaN or inf by step {state.step}")
    s = {
        "rung": run.rung,
        "name": cfg.name,
        "tokenizer": cfg.tokenizer,
        "vocab_size": data.tokenizer.vocab_size,
        "params": sum(p.numel() for p in model.parameters()),
        "steps": state.step,
        "tokens": state.tokens,
        "bytes": state.bytes,
        "wall_time_s": state.elapsed,
        "tokens_per_s": state.tokens / max(state.elapsed, 1e-9),
        "val_prefix/best_bpb": state.best_val_bpb,
    }
    if cfg.target_bpb:
        s["target_step"] = state.target_step  # None: the budget ran out first
    return s | full_evaluation(
        model, data, cfg.block_size, cfg.batch_size, proc.device, proc.autocast, sliding=cfg.eval_sliding
    )


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
        + (f"; sliding windows (stride 1/2): {s['val/bpb_sliding']:.4f}" if "val/bpb_sliding" in s else "")
    )


def run_rung(Config, Model, rung_file: str, doc: str, argv=None) -> dict:
    """The body of every rung's main(): parse flags, train, return the summary."""
    from common.config import parse_config

    rung = Path(rung_file).stem
    cfg, given = parse_config(Config, argv, prog=f"python {rung}.py", description=doc)
    return train(cfg, Model, rung, given)
