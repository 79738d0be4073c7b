# %% [markdown]
# # 5. Read the ladder, then test an idea of your own
#
# Every run of a rung leaves a folder in `results/runs/` (config, metrics, summary, samples); the
# committed ones are the ladder's evidence. This notebook reads them with the report's own code
# (`experiments/report_runs.py`, `experiments/report_plots.py`): bits per byte against the bytes of
# text each rung saw, and the paired differences between rungs with their spread over seeds. Then it
# walks through the workflow for testing an idea: copy a rung, change one thing, run it against its
# parent at the same steps and seeds, and read whether the difference is more than noise.

# %%
# --- setup: the project's modules, imported here only (the rest of the notebook uses these names)
import difflib
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path.cwd().resolve().parent if Path.cwd().name == "notebooks" else Path.cwd().resolve()
sys.path[:0] = [str(ROOT), str(ROOT / "experiments")]  # the report's modules import each other by name

import matplotlib.pyplot as plt
from report_plots import bpb_curve
from report_runs import load_runs, mean_sd, paired_diffs
from rung import PARENT  # (side rungs, like v1_numpy, and the rung each reproduces)
from scipy import stats

from common.corpus import load_corpus
from common.errors import LadderError

FAST = os.environ.get("LADDER_NOTEBOOK_FAST") == "1"
runs = [r for r in load_runs(ROOT / "results" / "runs") if r.summary is not None]  # finished runs only
print(f"{len(runs)} finished runs in results/runs")

# %% [markdown]
# ## The ladder at equal time
# The `ladder_steps` sweep (`experiments/ladder_steps.yaml`) trains every rung for the number of
# steps that took 10 minutes on a 2-core CPU in one calibration (`results/bench/calibration.md`),
# at 3 seeds each. Rungs differ in how much text a step reads (a BPE token is about 3 bytes, a
# character 1), so the x axis is bytes of training text seen, not steps.

# %%
ladder = [r for r in runs if r.name.startswith("ladder_steps-") and r.rung not in PARENT]  # the rungs, not side rungs
rungs = sorted({r.rung for r in ladder}, key=lambda name: int(name[1:].split("_")[0]))
by_rung = {rung: [r for r in ladder if r.rung == rung] for rung in rungs}
fig, ax = plt.subplots(figsize=(8, 4.5))
for k, rung in enumerate(rungs):
    for j, r in enumerate(by_rung[rung]):
        curve = [(b, y) for _, b, y in bpb_curve(r) if b > 0]  # (bytes seen, val bpb) at each evaluation
        ax.plot(*zip(*curve), color=f"C{k}", lw=1, alpha=0.7, label=rung if j == 0 else None)
ax.set_xscale("log")
ax.set_ylim(1.4, 3.6)
ax.set_xlabel("bytes of training text seen (log scale)")
ax.set_ylabel("val bits per byte (lower is better)")
ax.set_title("Each rung, 3 seeds, 10 minutes of 2-core CPU each")
ax.legend(fontsize=8)
plt.show()
for rung in rungs:
    xs = [r.summary["val/bpb"] for r in by_rung[rung]]
    m, sd = mean_sd(xs)
    print(f"{rung:<16} {by_rung[rung][0].summary['steps']:>7,} steps  val bpb {m:.4f} ± {sd:.4f} (n={len(xs)})")

# %% [markdown]
# ## What each rung buys: paired differences
# Compare each rung with the one below **seed by seed**: the same seed gives the same
# initialisation stream and batch order, so much of the run-to-run noise cancels in the difference.
# The spread of the paired differences over seeds is the noise the gain must beat. A negative
# difference is a gain (fewer bits per byte).

# %%
fig, ax = plt.subplots(figsize=(8, 3.5))
for k, (lower, upper) in enumerate(zip(rungs, rungs[1:])):
    diffs = paired_diffs(by_rung[upper], by_rung[lower])
    m, sd = mean_sd(diffs)
    p = stats.ttest_1samp(diffs, 0.0).pvalue
    print(f"{upper:<16} - {lower:<16}: {m:+.4f} ± {sd:.4f} bpb over {len(diffs)} seeds (t-test p = {p:.1e})")
    ax.errorbar(k, m, yerr=sd, fmt="o", color="black", capsize=4)
    ax.plot([k] * len(diffs), diffs, "x", color="C3")
ax.axhline(0, color="gray", lw=0.8)
ax.set_xticks(range(len(rungs) - 1), [f"{u.split('_')[0]} - {lo.split('_')[0]}" for lo, u in zip(rungs, rungs[1:])])
ax.set_yscale("symlog", linthresh=0.05)
ax.set_ylabel("val bpb difference (symlog)")
ax.set_title("Each rung minus the rung below, per seed (x) and mean ± sd")
plt.show()

# %% [markdown]
# The big steps (v0 to v1: attention; v1 to v2: BPE) are far beyond the seed spread. v2 to v3 is
# *positive*: at the training context, ALiBi and the English-only alphabet together cost a little
# here (v3's gain shows at longer contexts: `val/bpb@2x` in the summaries). The later rungs buy a
# few hundredths each, still many times their spread.
#
# ## Ablations: is a piece worth keeping?
# The same paired reading answers "does this piece of v5's block help?": `experiments/ablation_v5.yaml`
# removes one piece at a time, 3 seeds, 1000 steps. Its `base` is the block as first built, with a
# ReLU² MLP; that SwiGLU beat it here is why v5 now uses SwiGLU.

# %%
ablation = [r for r in runs if r.name.startswith("ablation_v5-")]
variant = {r.name: r.name.split("-")[-1] for r in ablation}
base = [r for r in ablation if variant[r.name] == "base"]
for v in sorted({variant[r.name] for r in ablation} - {"base"}):
    diffs = paired_diffs([r for r in ablation if variant[r.name] == v], base)
    m, sd = mean_sd(diffs)
    p = stats.ttest_1samp(diffs, 0.0).pvalue
    verdict = "more than noise" if p < 0.05 else "within the noise"
    print(f"{v:<16} vs base: {m:+.4f} ± {sd:.4f} bpb (n={len(diffs)}, p = {p:.3f}): {verdict}")

# %% [markdown]
# ## Your idea: copy a rung, change one thing
# The workflow for testing an idea of your own:
#
# 1. copy the rung the idea builds on (its *parent*) to a new file, and change one thing;
# 2. run the copy and the parent with the same settings, the same steps and the same seeds;
# 3. read the paired difference and its spread; a gain that is not several times its spread over
#    seeds is not yet a gain.
#
# Here the idea is "GELU instead of ReLU in v1's MLP". The copy goes to a scratch folder; for real,
# put it next to the rungs (`v1_gelu.py`) so `experiments/rung.py --rung v1_gelu` and a sweep file
# (copy `experiments/ablation_v5.yaml`; run it with `python experiments/sweep.py FILE`) can run it at
# the ladder's budgets.

# %%
work = Path(tempfile.mkdtemp(prefix="ladder-notebook-"))
parent_file, child_file = ROOT / "v1_transformer.py", work / "v1_gelu.py"
shutil.copy(parent_file, child_file)
source = child_file.read_text()
assert source.count("self.act = nn.ReLU()") == 1
child_file.write_text(source.replace("self.act = nn.ReLU()", "self.act = nn.GELU()  # the idea"))
print(
    "".join(
        difflib.unified_diff(
            parent_file.read_text().splitlines(True),
            child_file.read_text().splitlines(True),
            "v1_transformer.py",
            "v1_gelu.py",
        )
    )
)


def import_file(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # importing a rung has no side effects: nothing trains yet
    return module


rungs_to_compare = {"v1_transformer": import_file(parent_file), "v1_gelu": import_file(child_file)}

# %% [markdown]
# Run both with the same small settings and 3 seeds. To keep this notebook to a minute or two on a
# laptop, it trains on the tiny `the-verdict` corpus (one short story; its validation split is a
# few hundred characters), 40 steps each (5 in fast mode): enough to see that the copy runs and how
# the comparison reads, not to decide anything.

# %%
data = "the-verdict"
try:
    load_corpus(data)
except LadderError as e:
    raise SystemExit(f"{data} not found. {e}; then restart the kernel") from None
seeds = (1337, 1338, 1339)
settings = {
    "data": data,
    "max_steps": 5 if FAST else 40,
    "warmup_steps": 2 if FAST else 10,
    "eval_interval": 10_000,  # no periodic evaluation: only the final one matters here
    "batch_size": 16,
    "block_size": 64,
    "cache_dir": ROOT / ".cache",
    "out_dir": work / "runs",
    "ckpt_dir": work / "checkpoints",
    "wandb": "disabled",
}
for seed in seeds:
    for name, rung in rungs_to_compare.items():
        summary = rung.main([f"--{k}={v}" for k, v in settings.items()] + [f"--seed={seed}", f"--name={name}-s{seed}"])
        print(f"{name:<15} seed {seed}: val bpb {summary['val/bpb']:.4f}")

# %%
mine = load_runs(work / "runs")
parent_runs = [r for r in mine if r.name.startswith("v1_transformer-")]
child_runs = [r for r in mine if r.name.startswith("v1_gelu-")]
diffs = paired_diffs(child_runs, parent_runs)
m, sd = mean_sd(diffs)
p = stats.ttest_1samp(diffs, 0.0).pvalue
print("per seed (child - parent):", [f"{d:+.4f}" for d in diffs])
print(f"mean {m:+.4f} ± {sd:.4f} bpb, one-sample t-test against 0: p = {p:.3f}")
print(
    "more than noise"
    if p < 0.05
    else "not distinguishable from noise at these settings: more steps or seeds, or no effect"
)

# %% [markdown]
# At a few seconds of training the answer is usually "noise": small settings are for checking
# that the copy runs, not for deciding. Decide at the ladder's budget (`experiments/ladder_steps.yaml`
# gives each rung its calibrated steps), with at least 3 seeds, and write the result, negative or
# not, in `results/LOG.md`.
