"""Settings: one dataclass per rung, parsed from `--name value` / `--name=value`.

One spelling everywhere: the flag, the dataclass field, the wandb config key and the JSON key
are the same word. A rung extends `TrainConfig` with its model fields:

    @dataclass
    class Config(TrainConfig):
        n_layer: int = setting(4, "transformer blocks")

Floats must be finite (`--lr nan` is refused by the parser), `validate` refuses values that make no
sense, and `build_model` turns a model's own complaint about its settings (an assert such as
"n_embd must be divisible by n_head") into one line naming the model flags.
"""

import argparse
import difflib
import math
import sys
from dataclasses import MISSING, dataclass, field, fields

from bpe_tokenizer import KINDS, takes_vocab
from common.errors import LadderError

EXTRAPOLATION = (1, 2, 4, 8)  # the final val bpb is measured at these multiples of --block_size


# --target_bpb: the full validation split is evaluated once the prefix reads within this of the
# target. The prefix is a biased estimate of the split: in the record runs (results/runs/record_*,
# val/bpb minus val/full_bpb in metrics.jsonl) it read 0.012 to 0.028 bpb above the full split, so
# gating on the prefix alone reported crossings late, and one run (record_v4 seed 1337, before this
# margin) never at all. 0.05 leaves room for other corpora.
TARGET_MARGIN = 0.05


def setting(
    default, help: str, choices=None, group: str | None = None, above=None, at_least=None, below=None, at_most=None
):
    """A config field with its one-line help (and allowed values) for --help. `above` / `at_least`
    and `below` / `at_most`: the bounds a number must respect, strict or not (checked by validate(),
    so every setting, a rung's own included, gets a one-line error without common/ knowing what it
    means)."""
    meta = {"help": help, "choices": choices, "group": group}
    meta |= {"above": above, "at_least": at_least, "below": below, "at_most": at_most}
    return field(default=default, metadata=meta)


@dataclass
class TrainConfig:
    # --- data
    data: str = setting(
        "wikitext-2",
        "corpus name (wikitext-2, wikitext-103, wikitext-103-wt2, tinyshakespeare, the-verdict), hf:OWNER/NAME[:CONFIG] "
        "(a Hugging Face dataset), or a .txt/.jsonl/.parquet file or a folder of them",
        group="data",
    )
    data_dir: str = setting(
        "", "folder holding the named corpora (default: $LADDER_DATA_DIR, then Hugging Face)", group="data"
    )
    tokenizer: str = setting(  # the kinds are bpe_tokenizer.py's; a rung's Config names its own
        "char", "; ".join(f"{name}: {what}" for name, (what, _) in KINDS.items()), choices=tuple(KINDS), group="data"
    )
    vocab: int = setting(0, "BPE vocabulary size (ignored for char, whose alphabet comes from the data)", group="data")
    text_column: str = setting("text", "the text column of a dataset, .jsonl or .parquet --data", group="data")
    tokenizer_sample_mb: float = setting(
        0.0,
        "train the tokenizer on about this many MB of the training split, every k-th ~1 MB piece "
        "spread over it; 0 = all of it",
        group="data",
        at_least=0,
    )
    cache_dir: str = setting(".cache", "where trained tokenizers and token ids are cached", group="data")
    # --- training (identical defaults on every rung: they are the ladder's reference run)
    seed: int = setting(1337, "seeds model init, batch order and sampling", group="training")
    max_steps: int = setting(3000, "optimizer steps (the cosine schedule ends here)", group="training", at_least=1)
    max_minutes: float = setting(
        0.0, "wall-clock budget in minutes; 0 = none (the schedule then follows time)", group="training", at_least=0
    )
    batch_size: int = setting(32, "sequences per micro-batch", group="training", at_least=1)
    grad_accum: int = setting(1, "micro-batches per optimizer step", group="training", at_least=1)
    block_size: int = setting(128, "training context length in tokens", group="training", at_least=1)
    lr: float = setting(
        3e-3, "peak learning rate (3e-3: experiments/lr.yaml, results/LOG.md)", group="training", above=0
    )
    min_lr_ratio: float = setting(
        0.1, "final learning rate as a fraction of --lr", group="training", at_least=0, at_most=1
    )
    warmup_steps: int = setting(100, "linear warmup steps", group="training", at_least=0)
    weight_decay: float = setting(0.1, "AdamW decay, applied to matrices only", group="training", at_least=0)
    beta2: float = setting(
        0.99, "AdamW beta2 (0.99: small batches make gradients noisy)", group="training", at_least=0, below=1
    )
    grad_clip: float = setting(1.0, "clip the global gradient norm to this; 0 = off", group="training", at_least=0)
    dropout: float = setting(
        0.0, "dropout rate (0: one pass over the data never overfits)", group="training", at_least=0, below=1
    )
    dropout_from: float = setting(
        0.0,
        "switch --dropout on only from this fraction of the run on (0: from the start): a regulariser for "
        "runs that repeat their data, kept out of the early steps where it only slows learning",
        group="training",
        at_least=0,
        below=1,
    )
    eval_interval: int = setting(
        250, "steps between evaluations, printed samples and checkpoints", group="training", at_least=1
    )
    log_interval: int = setting(
        10, "steps between train/loss records (metrics.jsonl, wandb)", group="training", at_least=1
    )
    target_bpb: float = setting(
        0.0,
        "stop at the first eval where the full validation split is at or below this bpb (checked once the validation prefix is within "
        f"{TARGET_MARGIN} of it); 0 = off",
        group="training",
        at_least=0,
    )
    eval_tokens: int = setting(
        32768, "validation-prefix tokens used by periodic evaluations", group="training", at_least=1
    )
    sample_tokens: int = setting(
        200, "tokens generated for the sample printed at each evaluation", group="training", at_least=0
    )
    eval_sliding: bool = setting(
        True,
        "also score the full validation split with sliding windows at the end (val/bpb_sliding; 2x a plain pass)",
        group="training",
    )
    # --- system and tracking
    device: str = setting("auto", "auto (cuda, then mps, then cpu) | cpu | cuda | mps", group="system")
    compile: bool = setting(False, "torch.compile the model", group="system")
    resume: str = setting("", "checkpoint path, or 'auto' for this run's latest checkpoint", group="system")
    name: str = setting("", "run name (default: rung, tokenizer, seed and time)", group="system")
    out_dir: str = setting("results/runs", "run folders (config, metrics, summary, samples)", group="system")
    ckpt_dir: str = setting("checkpoints", "checkpoint folders (not committed)", group="system")
    wandb: str = setting(
        "auto",
        "online | offline | disabled; auto = online with credentials, else offline",
        choices=("auto", "online", "offline", "disabled"),
        group="system",
    )


def _parse_bool(s: str) -> bool:
    low = s.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError(s)


def _parse_float(s: str) -> float:
    try:
        x = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {s!r}") from None
    if not math.isfinite(x):  # nan compares False with everything, so no range check would catch it
        raise argparse.ArgumentTypeError(f"{s!r} is not a finite number")
    return x


# a field's type by name: a rung's annotations may be strings (from __future__ import annotations)
_TYPES = {"int": int, "float": _parse_float, "str": str, "bool": _parse_bool}


class ArgParser(argparse.ArgumentParser):
    """argparse that reports a bad command line as one LadderError line, not usage + exit."""

    def error(self, message):  # argparse would print usage and exit; we want one line
        raise LadderError(f"{message} (see --help)")


def metadata(f) -> dict:
    """A setting's help, choices, group and bounds; a rung that overrides only a default
    (`lr: float = 0.1`) keeps TrainConfig's."""
    if f.metadata:
        return f.metadata
    return next((g.metadata for g in fields(TrainConfig) if g.name == f.name), {})


def build_parser(cls, prog: str | None = None, description: str | None = None) -> argparse.ArgumentParser:
    parser = ArgParser(
        prog=prog,
        usage=f"{prog or '%(prog)s'} [--setting value ...]  (every setting is listed below)",
        description=description,
        allow_abbrev=False,  # --lr must never silently mean --lr_something
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    groups = {}
    for f in fields(cls):
        meta = metadata(f)
        group_name = meta.get("group") or "model"
        if group_name not in groups:
            groups[group_name] = parser.add_argument_group(group_name)
        typ = _TYPES[getattr(f.type, "__name__", f.type)]
        default = f.default if f.default is not MISSING else None
        kwargs = dict(type=typ, default=argparse.SUPPRESS, help=f"{meta.get('help', '')} (default: {default!r})")
        if typ is _parse_bool:
            kwargs.update(nargs="?", const=True, metavar="true|false")
        if meta.get("choices"):
            kwargs["choices"] = meta["choices"]
        groups[group_name].add_argument(f"--{f.name}", **kwargs)
    return parser


def parse_config(cls, argv=None, prog: str | None = None, description: str | None = None, positional: str = ""):
    """Parse argv into `cls`. Returns (config, the set of field names given explicitly).
    With `positional`, a first argument that is not a flag sets that field (`sample.py CKPT`)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if positional and argv and not argv[0].startswith("-"):
        argv = [f"--{positional}", argv[0], *argv[1:]]
    parser = build_parser(cls, prog, description)
    names = [f.name for f in fields(cls)]
    for arg in argv:  # catch misspellings before argparse, to suggest the nearest name
        if arg.startswith("--") and arg not in ("--help",):
            name = arg[2:].split("=", 1)[0]
            if name not in names:
                close = difflib.get_close_matches(name.replace("-", "_"), names, n=1)
                hint = f"; did you mean --{close[0]}?" if close else "; see --help"
                raise LadderError(f"unknown flag --{name}{hint}")
    given = vars(parser.parse_args(argv))
    return cls(**given), set(given)


def out_of_bounds(value, meta) -> str | None:
    """What is wrong with `value` under a setting's bounds ("must be in [0, 1)"), or None."""
    lo, lo_strict = (meta.get("above"), True) if meta.get("above") is not None else (meta.get("at_least"), False)
    hi, hi_strict = (meta.get("below"), True) if meta.get("below") is not None else (meta.get("at_most"), False)
    low_ok = lo is None or (value > lo if lo_strict else value >= lo)
    high_ok = hi is None or (value < hi if hi_strict else value <= hi)
    if low_ok and high_ok:
        return None
    if lo is not None and hi is not None:
        return f"must be in {'(' if lo_strict else '['}{lo}, {hi}{')' if hi_strict else ']'}"
    if lo is not None:
        return f"must be {'greater than' if lo_strict else 'at least'} {lo}"
    return f"must be {'less than' if hi_strict else 'at most'} {hi}"


def validate(cfg: TrainConfig) -> None:
    """Reject values that are the right type but make no sense, one line each."""
    for f in fields(cfg):  # also for configs built in Python, which never pass the parser
        value = getattr(cfg, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise LadderError(f"--{f.name} must be a finite number, got {value}")
        if (problem := out_of_bounds(value, metadata(f))) is not None:
            raise LadderError(f"--{f.name} {problem}, got {value}")
    if cfg.dropout_from and not cfg.dropout:
        raise LadderError("--dropout_from switches --dropout on late: give the rate too, e.g. --dropout 0.1")
    if not cfg.text_column.strip():
        raise LadderError("--text_column must name a column, e.g. --text_column text")
    if takes_vocab(cfg.tokenizer) and cfg.vocab <= 0:
        raise LadderError(f"--tokenizer {cfg.tokenizer} needs --vocab N (e.g. --vocab 500)")
    if cfg.name in (".", "..") or "/" in cfg.name or "\\" in cfg.name:
        raise LadderError(f"--name {cfg.name!r} must be a plain folder name (no / or \\)")


def build_model(Model, cfg, vocab_size: int, rung: str):
    """`Model(cfg, vocab_size)`, with one line when the model's settings do not fit together."""
    try:
        model = Model(cfg, vocab_size)
    except (AssertionError, ValueError, RuntimeError, ZeroDivisionError) as e:  # the model's own checks
        train_fields = {f.name for f in fields(TrainConfig)}
        flags = " ".join(f"--{f.name} {getattr(cfg, f.name)}" for f in fields(cfg) if f.name not in train_fields)
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise LadderError(f"{rung}'s model cannot be built with {flags}: {reason}") from None
    limit = model.context_length
    if limit is not None and cfg.block_size > limit:
        raise LadderError(f"--block_size {cfg.block_size} is longer than the model supports ({limit})")
    return model
