"""Optimizers and the learning-rate schedule.

The extension point for a rung that trains differently (DESIGN.md, "The rung contract"): a model
may define `configure_optimizers(cfg, device)` returning one optimizer or a list of them (v6: Muon
for the hidden matrices and AdamW for the rest); without it the rung trains with AdamW, weight
decay on matrices only. Each param group's `lr` at creation is its peak (kept as `peak_lr`, saved
with the optimizer state); the schedule below scales every group of every optimizer by the same
factor lr_at(step) / cfg.lr. Checkpoints store the optimizers' states as a list, in this order.
"""

import math


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
    import torch  # here, not at the top: lr_at and progress_of serve v1_numpy.py, which has no torch

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


def set_lr(optimizers: list, cfg, lr: float) -> None:
    """Scale every param group's own peak by the schedule's lr / cfg.lr."""
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = group["peak_lr"] * lr / cfg.lr
