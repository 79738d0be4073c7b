"""Pictures of what a model learned, for any rung's checkpoint.

    python visualize.py checkpoints/<run>/ckpt.pt                  # PNGs in results/plots/<run>/
    python visualize.py CKPT --tokens "␣the,␣city,1" --top 100     # ␣ = space, ⏎ = newline, ⇥ = tab
    python visualize.py CKPT --prompt " The castle was built in 1890 ." --out /tmp/plots

Writes:
- embeddings_pca.png: every token's embedding projected on the two principal components of the
  embedding matrix (PCA by SVD); the --top most frequent training tokens are labelled;
- neighbours.png: the nearest tokens of a few chosen ones by cosine similarity (also printed);
- attention_L{i}.png: block i's attention probabilities on the prompt, one panel per head.
v0 (bigram) has neither an embedding nor attention. Its table row i holds the logits of the token
after i, so its rows stand in for embeddings (tokens are "close" when they predict alike) and the
attention maps are skipped.
"""

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from common.config import parse_config, setting
from common.corpus import load_corpus
from common.errors import LadderError, run_cli
from common.files import atomic_write, writable_folder
from common.tracking import PROJECT
from sample import load_checkpoint

DEFAULT_PROMPT = " The song was released in 1994 and reached number one ."  # WikiText spacing
DEFAULT_TOKENS = (" the", " of", "1", " he", " city")  # used where they are single tokens
FREQ_CHARS = 1_000_000  # token frequencies come from this much of the training split
MAX_PROMPT_TOKENS = 64  # more and the attention maps' axis labels become unreadable
VISIBLE = {" ": "␣", "\n": "⏎", "\t": "⇥"}  # whitespace drawn so a label shows it


GROUP = "visualize"  # the --help section


@dataclass
class VisualizeConfig:
    checkpoint: str = setting(
        "", "checkpoint file written by a rung (also accepted as the first argument)", group=GROUP
    )
    out: str = setting("", "folder for the PNGs; empty = results/plots/<run name>/", group=GROUP)
    prompt: str = setting(DEFAULT_PROMPT, "text whose attention maps are drawn", group=GROUP)
    tokens: str = setting(
        "",
        "comma-separated tokens whose neighbours are shown, e.g. '␣the,␣city,1' (␣ space, ⏎ newline, ⇥ tab); "
        "empty = ␣the ␣of 1 ␣he ␣city where they are tokens, else the most frequent",
        group=GROUP,
    )
    top: int = setting(60, "label this many of the most frequent tokens in the PCA plot", group=GROUP)
    neighbours: int = setting(8, "nearest neighbours shown per token", group=GROUP)
    wandb: str = setting(
        "disabled",
        f"online | offline: also log the images to a new wandb run (project {PROJECT}, job_type visualize); "
        "disabled: no new run, but a wandb run already active in this process still gets them",
        choices=("online", "offline", "disabled"),
        group=GROUP,
    )


# -----------------------------------------------------------------------------
# tokens: readable labels, lookup, frequencies


def token_label(tok, i: int) -> str:
    """' the' -> '␣the', '\\n' -> '⏎'; bytes that are not whole UTF-8 characters as \\xNN."""
    if i == tok.unk_id:
        return "<unk>"
    text = tok.token_bytes(i).decode("utf-8", errors="backslashreplace")
    text = "".join(VISIBLE.get(c, c if c.isprintable() else c.encode("unicode_escape").decode()) for c in text)
    return text or f"<{i}>"


def find_tokens(tok, entries: list[str]) -> list[int]:
    """Ids of tokens given as text (with ␣ ⏎ ⇥ for whitespace); one error naming a missing one."""
    unvisible = {v: k for k, v in VISIBLE.items()}
    by_bytes = {tok.token_bytes(i): i for i in range(tok.vocab_size) if i != tok.unk_id}
    ids = []
    for entry in entries:
        text = "".join(unvisible.get(c, c) for c in entry)
        if text.encode() not in by_bytes:
            raise LadderError(
                f"--tokens: {entry!r} is not a token of this checkpoint's {tok.vocab_size}-token vocabulary "
                "(write a leading space as ␣, e.g. '␣the'; neighbours.png lists real tokens)"
            )
        ids.append(by_bytes[text.encode()])
    return ids


def token_counts(tok, cfg, prompt: str) -> tuple[torch.Tensor, str]:
    """(V,) token counts over the start of the training split, and where they came from."""
    try:
        text = load_corpus(cfg.data, cfg.data_dir or None).text("train").head(FREQ_CHARS)  # not the whole split
        source = f"the first {len(text):,} characters of {cfg.data}"
    except LadderError as e:  # the pictures are still worth having: count the prompt instead
        print(f"note: {e}; counting the prompt's tokens instead", file=sys.stderr)
        text, source = prompt, "the prompt"
    counts = torch.zeros(tok.vocab_size, dtype=torch.long)
    bar = tqdm(total=len(text), unit="char", unit_scale=True, desc="counting tokens", leave=False)
    start = 0
    while start < len(text):  # chunks cut at line ends: counts are exact up to a split whitespace run
        end = text.find("\n", start + 100_000) + 1 or len(text)
        counts += torch.bincount(torch.tensor(tok.encode(text[start:end]), dtype=torch.long), minlength=len(counts))
        bar.update(end - start)
        start = end
    bar.close()
    return counts, source


# -----------------------------------------------------------------------------
# what the model holds: embeddings and attention


def embedding_matrix(model) -> tuple[torch.Tensor, str]:
    """(V, C) rows to project and compare, and what they are."""
    if hasattr(model, "wte"):
        return model.wte.weight.detach().float(), "token embeddings"
    if hasattr(model, "table"):  # v0
        return model.table.weight.detach().float(), "bigram table rows (next-token logits; v0 has no embedding)"
    raise LadderError(f"{type(model).__module__}'s model has neither `wte` nor `table`: no embedding to draw")


def pca_2d(E: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Coordinates (V, 2) on the top two principal components, and their shares of the variance."""
    X = E - E.mean(dim=0)  # (V, C), centred
    _, S, Vh = torch.linalg.svd(X, full_matrices=False)  # rows of Vh: principal directions
    share = S**2 / (S**2).sum().clamp_min(1e-12)
    return X @ Vh[:2].T, share[:2]  # (V, 2), (2,)


def nearest(E: torch.Tensor, ids: list[int], k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine similarities (Q, k) and ids (Q, k) of each query's k nearest other tokens."""
    En = F.normalize(E, dim=1)  # (V, C), unit rows
    sims = En[ids] @ En.T  # (Q, V)
    sims[torch.arange(len(ids)), ids] = -math.inf  # a token is not its own neighbour
    return sims.topk(min(k, E.size(0) - 1), dim=1)


def attention_maps(model, ids: list[int]) -> list[torch.Tensor] | None:
    """Each block's attention probabilities (H, T, T) on `ids`; None for a model without attention.

    How: the fused kernel (F.scaled_dot_product_attention) never materialises the probabilities,
    so every block is switched to its written-out path (`fused = False`), which in every rung is
    `attn_drop(softmax(scores + mask/bias)) @ v`. The input of the `attn_drop` Dropout is then
    exactly the probabilities (B, H, T, S), and a forward hook on it records them. In eval mode
    the Dropout is the identity, so the logits are unchanged. The `fused` flags are restored."""
    attns = [getattr(block, "attn", None) for block in getattr(model, "blocks", [])]
    if not attns or not all(hasattr(a, "attn_drop") for a in attns):
        return None
    maps, hooks, fused = {}, [], [getattr(a, "fused", None) for a in attns]

    def record(layer):
        return lambda module, inputs, output: maps.__setitem__(layer, inputs[0][0].detach().float())  # (H, T, S)

    try:
        for layer, attn in enumerate(attns):
            if hasattr(attn, "fused"):
                attn.fused = False
            hooks.append(attn.attn_drop.register_forward_hook(record(layer)))
        with torch.no_grad():
            model(torch.tensor([ids], dtype=torch.long))
    finally:
        for attn, flag in zip(attns, fused):
            if flag is not None:
                attn.fused = flag
        for hook in hooks:
            hook.remove()
    return [maps[layer] for layer in sorted(maps)]


# -----------------------------------------------------------------------------
# drawing (matplotlib, Agg: no display needed)


def plot_pca(plt, xy, share, counts, top, labels, title, path):
    fig, ax = plt.subplots(figsize=(11, 9))
    ax.scatter(xy[:, 0], xy[:, 1], s=5, c="0.7", alpha=0.5, linewidths=0)
    order = [i for i in counts.argsort(descending=True)[:top].tolist() if counts[i] > 0]
    cmap = plt.get_cmap("viridis")
    for rank, i in enumerate(order):  # darker = more frequent
        ax.text(
            xy[i, 0], xy[i, 1], labels[i], fontsize=8, ha="center", va="center", color=cmap(0.85 * rank / max(top, 1))
        )
    ax.set_xlabel(f"PC1 ({share[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 ({share[1]:.0%} of variance)")
    ax.set_title(title, fontsize=10)
    save_figure(plt, fig, path)


def plot_neighbours(plt, queries, sims, ids, labels, title, path):
    Q, k = sims.shape
    fig, ax = plt.subplots(figsize=(1.3 * k + 1.5, 0.55 * Q + 1.5))
    low = float(sims.min())
    ax.imshow(sims, cmap="Blues", vmin=low, vmax=1.0, aspect="auto")
    for r in range(Q):
        for c in range(k):
            color = "white" if sims[r, c] > (low + 1.0) / 2 else "black"
            ax.text(c, r, f"{labels[ids[r, c]]}\n{sims[r, c]:.2f}", ha="center", va="center", fontsize=8, color=color)
    ax.set_yticks(range(Q), [labels[q] for q in queries], fontsize=9)
    ax.set_xticks(range(k), [f"#{c + 1}" for c in range(k)], fontsize=8)
    ax.set_title(title, fontsize=10)
    save_figure(plt, fig, path)


def plot_attention(plt, att, prompt_labels, title, path):
    H, T, _ = att.shape
    cols = min(H, 4)
    rows = math.ceil(H / cols)
    side = max(3.5, 0.18 * T)  # inches per head panel: room for one label per token
    fig, axes = plt.subplots(
        rows, cols, figsize=(side * cols + 1, side * rows + 0.6), squeeze=False, layout="constrained"
    )
    fontsize = 8 if T <= 32 else 6
    for h, ax in enumerate(axes.flat):
        if h >= H:
            ax.axis("off")
            continue
        image = ax.imshow(att[h], cmap="viridis", vmin=0.0, vmax=1.0)
        ax.set_xticks(range(T), prompt_labels, rotation=90, fontsize=fontsize)
        ax.set_yticks(range(T), prompt_labels, fontsize=fontsize)
        ax.set_title(f"head {h}", fontsize=9)
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.6, label="attention probability")
    fig.suptitle(title, fontsize=10)
    save_figure(plt, fig, path)


def save_figure(plt, fig, path: Path) -> None:
    """A PNG written atomically: an interrupted run never leaves half a picture."""
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110, bbox_inches="tight"), flag="--out")
    plt.close(fig)


# -----------------------------------------------------------------------------
# wandb: only when asked for, or when this process already has a run


def log_images(paths: list[Path], mode: str, mode_given: bool, run_name: str, rung: str, config: dict) -> None:
    wandb = sys.modules.get("wandb")  # a run can only be active if wandb was imported already
    active = wandb is not None and wandb.run is not None and not (mode_given and mode == "disabled")
    if not active and mode == "disabled":
        return
    try:
        import wandb
    except ImportError:
        raise LadderError("wandb is not installed: pip install -r requirements.txt, or use --wandb disabled") from None
    run = wandb.run if active else None
    if run is None:
        kwargs = dict(project=PROJECT, job_type="visualize", group=rung, name=f"{run_name}-visualize", config=config)
        try:
            run = wandb.init(**kwargs, mode=mode, settings=wandb.Settings(init_timeout=30, silent=True))
        except Exception as e:  # never lose the pictures to the network: log offline instead
            if mode != "online":
                raise
            print(f"wandb online failed ({str(e).splitlines()[0]}); logging offline (upload later with `wandb sync`)")
            run = wandb.init(**kwargs, mode="offline", settings=wandb.Settings(silent=True))
    run.log({f"visualize/{p.stem}": wandb.Image(str(p)) for p in paths})
    print(f"logged {len(paths)} images to wandb run {run.name}")
    if not active:
        run.finish()


# -----------------------------------------------------------------------------


def main(argv=None) -> list[Path]:
    cfg, given = parse_config(
        VisualizeConfig, argv, prog="python visualize.py", description=__doc__, positional="checkpoint"
    )
    if not cfg.checkpoint:
        raise LadderError("no checkpoint given: python visualize.py checkpoints/<run>/ckpt.pt")
    if cfg.top < 0 or cfg.neighbours < 1:
        raise LadderError("need --top >= 0 and --neighbours >= 1")
    if not cfg.prompt:
        raise LadderError("--prompt is empty; give some text whose attention to draw")
    try:
        model, tok, mcfg = load_checkpoint(cfg.checkpoint, device="cpu")
    except ValueError as e:  # e.g. a tokenizer stored in an older format
        raise LadderError(f"cannot read checkpoint {cfg.checkpoint}: {str(e).splitlines()[0]}") from None
    rung = type(model).__module__
    run_name = mcfg.name or Path(cfg.checkpoint).parent.name
    queries = find_tokens(tok, [t for t in cfg.tokens.split(",") if t]) if cfg.tokens else None
    out = writable_folder(cfg.out or Path("results") / "plots" / run_name, "--out")  # before the slow part

    import matplotlib  # here, not at import: importing this module stays cheap and side-effect free

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["text.parse_math"] = False  # a token like "$" must not start LaTeX math
    labels = [token_label(tok, i) for i in range(tok.vocab_size)]
    counts, source = token_counts(tok, mcfg, cfg.prompt)
    E, what = embedding_matrix(model)  # (V, C)
    paths = []

    # --- embeddings on their two principal components
    xy, share = pca_2d(E)
    paths.append(out / "embeddings_pca.png")
    title = (
        f"{run_name}: {what}, PCA\nlabelled: the {cfg.top} most frequent tokens in {source} (darker = more frequent)"
    )
    plot_pca(plt, xy, share, counts, cfg.top, labels, title, paths[-1])

    # --- nearest neighbours
    if queries is None:
        by_text = [tok.token_bytes(i) for i in range(tok.vocab_size)]
        queries = [by_text.index(t.encode()) for t in DEFAULT_TOKENS if t.encode() in by_text]
        frequent = [i for i in counts.argsort(descending=True).tolist() if counts[i] > 0 and i not in queries]
        queries += frequent[: max(0, len(DEFAULT_TOKENS) - len(queries))]
    sims, ids = nearest(E, queries, cfg.neighbours)
    print(f"nearest neighbours by cosine similarity of the {what}:")
    width = max(len(labels[q]) for q in queries)
    for r, q in enumerate(queries):
        row = ", ".join(f"{labels[i]} {s:.2f}" for i, s in zip(ids[r].tolist(), sims[r].tolist()))
        print(f"  {labels[q]:>{width}} -> {row}")
    paths.append(out / "neighbours.png")
    plot_neighbours(plt, queries, sims, ids, labels, f"{run_name}: nearest tokens by cosine similarity", paths[-1])

    # --- attention maps on the prompt
    ids_prompt = tok.encode(cfg.prompt)
    limit = min(MAX_PROMPT_TOKENS, model.context_length or MAX_PROMPT_TOKENS)
    if len(ids_prompt) > limit:
        print(f"(the prompt is {len(ids_prompt)} tokens; drawing attention over its first {limit})")
        ids_prompt = ids_prompt[:limit]
    maps = attention_maps(model, ids_prompt)
    if maps is None:
        print(f"{rung} has no attention: no attention maps")
    else:
        prompt_labels = [labels[i] for i in ids_prompt]
        for layer, att in enumerate(tqdm(maps, desc="attention maps", unit="layer", leave=False)):
            paths.append(out / f"attention_L{layer}.png")
            title = f"{run_name}: block {layer} attention (row: query token, column: the key token it reads)"
            plot_attention(plt, att, prompt_labels, title, paths[-1])

    for path in paths:
        print(f"wrote {path}")
    config = {"checkpoint": str(cfg.checkpoint), "run": run_name, "rung": rung, "prompt": cfg.prompt}
    log_images(paths, cfg.wandb, "wandb" in given, run_name, rung, config)
    return paths


if __name__ == "__main__":
    run_cli(main)
