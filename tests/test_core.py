"""The shared core: metrics, config parsing, the batch sampler, resume, tracking, generation,
and every bad input named in the issue (one line, non-zero exit, nothing saved is lost).
Run: pytest tests/test_core.py"""

import contextlib
import json
import math
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import common.train
from common.config import parse_config
from common.corpus import load_corpus, split_text
from common.data import Batcher, CharTokenizer
from common.errors import LadderError
from common.evaluate import metrics, nll_sums
from common.generate import LayerCache, generate, sample_next
from common.resume import load_checkpoint_state
from tests.conftest import ROOT, one_line_error, rung_module, tiny_argv

v0 = rung_module("v0_bigram")
v1 = rung_module("v1_transformer")


# --- metrics -----------------------------------------------------------------------------------


def test_bits_per_byte_by_hand():
    # 3 predicted tokens covering 1 + 2 + 3 = 6 bytes with total NLL 6 ln 2 nats: 6 bits / 6 bytes
    m = metrics(nll=6 * math.log(2), n_tokens=3, n_bytes=6, n_words=2)
    assert m["bpb"] == pytest.approx(1.0)
    assert m["loss"] == pytest.approx(2 * math.log(2)) and m["ppl"] == pytest.approx(4.0)
    assert m["word_ppl"] == pytest.approx(math.exp(3 * math.log(2)))  # 6 ln2 nats over 2 words


class Uniform(torch.nn.Module):
    context_length = None

    def __init__(self, vocab):
        super().__init__()
        self.vocab = vocab

    def forward(self, idx):
        return torch.zeros(*idx.shape, self.vocab)


def test_uniform_model_scores_log2_vocab_bits_per_token():
    # a uniform model pays log2(V) bits per token; with 2-byte tokens that is log2(V)/2 bits per byte
    ids = np.arange(11) % 4
    lut = np.full(4, 2.0)
    for context in (3, 4, 10):  # windows may or may not divide the 10 predictions evenly
        nll, n, nb, ub = nll_sums(Uniform(4), ids, lut, None, context, 2, "cpu", contextlib.nullcontext)
        assert n == 10 and nb == 20
        assert metrics(nll, n, nb)["bpb"] == pytest.approx(math.log2(4) / 2)


def test_unknown_bytes_and_rate():
    tok = CharTokenizer.train("abc\n")
    ids = tok.encode("ab€c")  # € (3 bytes) is unknown
    assert ids[2] == tok.unk_id and tok.decode(ids) == "ab\ufffdc"
    lut = np.array([1.0, 1, 1, 1, 3.0])  # unk stands for 3 bytes here
    nll, n, nb, ub = nll_sums(Uniform(5), np.array(ids), lut, tok.unk_id, 8, 1, "cpu", contextlib.nullcontext)
    assert nb == 5 and metrics(nll, n, nb, ub)["unk_rate"] == pytest.approx(3 / 5)


# --- config ----------------------------------------------------------------------------------------


def test_config_parses_both_spellings_and_types():
    cfg, given = parse_config(v1.Config, ["--lr=3e-4", "--n_layer", "2", "--compile", "--fused", "false"])
    assert (cfg.lr, cfg.n_layer, cfg.compile, cfg.fused) == (3e-4, 2, True, False)
    assert given == {"lr", "n_layer", "compile", "fused"}


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--lrr", "1"], "did you mean --lr"),
        (["--n_layers", "2"], "did you mean --n_layer"),
        (["--lr", "fast"], "invalid float value"),
        (["--max_steps", "1.5"], "invalid int value"),
        (["--wandb", "maybe"], "invalid choice"),
        (["--compile", "perhaps"], "--compile"),
    ],
)
def test_config_errors_are_one_line(argv, needle):
    with pytest.raises(LadderError, match=needle) as e:
        parse_config(v1.Config, argv)
    assert "\n" not in str(e.value)


def test_help_lists_every_setting_with_its_default():
    from common.config import build_parser

    text = build_parser(v1.Config).format_help()
    for name in (
        "data",
        "data_dir",
        "seed",
        "max_steps",
        "max_minutes",
        "batch_size",
        "block_size",
        "lr",
        "eval_interval",
        "wandb",
        "device",
        "resume",
        "compile",
        "n_layer",
    ):
        assert f"--{name}" in text
    assert "(default: 0.003)" in text


# --- data -----------------------------------------------------------------------------------------


def test_batches_depend_on_seed_not_on_the_model():
    ids = np.arange(1000, dtype=np.uint16)
    a = Batcher(ids, 8, 4, seed=7, device=torch.device("cpu"))
    torch.manual_seed(0)
    v1.Model(v1.Config(n_layer=2), 100)  # building a model draws from the global RNG
    b = Batcher(ids, 8, 4, seed=7, device=torch.device("cpu"))
    for _ in range(3):
        (xa, ya), (xb, yb) = a.next(), b.next()
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
        assert torch.equal(xa[:, 1:], ya[:, :-1])  # targets are inputs shifted by one
    c = Batcher(ids, 8, 4, seed=8, device=torch.device("cpu"))
    assert not torch.equal(c.next()[0], Batcher(ids, 8, 4, seed=7, device=torch.device("cpu")).next()[0])


def test_split_is_deterministic_and_at_line_starts():
    text = "".join(f"line {i}\n" for i in range(1000))
    train, valid, test = split_text(text)
    assert train + valid + test == text and split_text(text) == (train, valid, test)
    assert valid.startswith("line ") and test.startswith("line ")


def test_named_corpus_from_data_dir():
    c = load_corpus("wikitext-2")
    assert c.valid.startswith(" \n = Homarus gammarus = \n") and len(c.train) == 10_780_437


# --- resume ------------------------------------------------------------------------------------------


def losses(run_dir):
    out = {}
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        r = json.loads(line)
        if "train/loss" in r:
            out[r["step"]] = r["train/loss"]
    return out


@pytest.mark.parametrize("how", ["crash", "ctrl-c", "sigterm"])
def test_resume_equals_an_uninterrupted_run(tmp_path, monkeypatch, how):
    argv = tiny_argv(v1, tmp_path, max_steps=12, eval_interval=4, log_interval=1)
    v1.main([*argv, "--name", "straight"])
    real_lr_at = common.train.lr_at

    def interrupt_at_step_7(cfg, step, progress):
        if step == 7:
            if how == "crash":  # like kill -9: nothing is saved after the step-4 checkpoint
                raise RuntimeError("killed")
            # Ctrl-C, or a scheduler's SIGTERM: finish this step, checkpoint, exit
            signal.raise_signal(signal.SIGTERM if how == "sigterm" else signal.SIGINT)
        return real_lr_at(cfg, step, progress)

    monkeypatch.setattr(common.train, "lr_at", interrupt_at_step_7)
    if how == "crash":
        with pytest.raises(RuntimeError):
            v1.main([*argv, "--name", "cut"])
    else:
        with pytest.raises(KeyboardInterrupt) as e:
            v1.main([*argv, "--name", "cut"])
        assert e.value.signum == (signal.SIGTERM if how == "sigterm" else signal.SIGINT)
    monkeypatch.setattr(common.train, "lr_at", real_lr_at)
    summary = v1.main([*argv, "--name", "cut", "--resume", "auto"])
    a, b = losses(tmp_path / "runs" / "straight"), losses(tmp_path / "runs" / "cut")
    assert sorted(a) == sorted(b) == list(range(1, 13))
    assert a == b  # bit-for-bit on CPU: model, optimizer, schedule, sampler and RNG restored
    assert summary["steps"] == 12


def test_resume_auto_with_nothing_starts_fresh(tmp_path, capsys):
    v0.main(tiny_argv(v0, tmp_path, resume="auto"))
    assert "starting fresh" in capsys.readouterr().out


def test_resume_rejects_a_changed_model_setting(tmp_path):
    v1.main(tiny_argv(v1, tmp_path, name="r"))
    with pytest.raises(LadderError, match="--n_embd 32 differs from the checkpoint"):
        v1.main(tiny_argv(v1, tmp_path, name="r", resume=tmp_path / "ckpt" / "r" / "ckpt.pt", n_embd=32))


def test_resume_rejects_another_tokenizer(tmp_path):
    v1.main(tiny_argv(v1, tmp_path, name="r"))
    with pytest.raises(LadderError, match="--tokenizer 'bpe' differs"):
        v1.main(tiny_argv(v1, tmp_path, name="r", resume=tmp_path / "ckpt" / "r" / "ckpt.pt", tokenizer="bpe"))


def test_checkpoint_of_another_rung_is_refused(tmp_path):
    v0.main(tiny_argv(v0, tmp_path, name="r"))
    with pytest.raises(LadderError, match="is from v0_bigram, not v1_transformer"):
        v1.main(tiny_argv(v1, tmp_path, name="r2", resume=tmp_path / "ckpt" / "r" / "ckpt.pt"))


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_checkpoint_is_refused_and_kept(tmp_path, damage):
    v0.main(tiny_argv(v0, tmp_path, name="r"))
    path = tmp_path / "ckpt" / "r" / "ckpt.pt"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"not a checkpoint" * 10)
    before = path.read_bytes()
    with pytest.raises(LadderError, match="truncated or corrupt"):
        v0.main(tiny_argv(v0, tmp_path, name="r", resume=path))
    assert path.read_bytes() == before


def test_resume_auto_without_a_checkpoint_reruns_the_run(tmp_path, capsys):
    v0.main(tiny_argv(v0, tmp_path, name="r"))
    (tmp_path / "ckpt" / "r" / "ckpt.pt").unlink()  # e.g. a fresh machine: run folders committed, checkpoints not
    (tmp_path / "runs" / "r" / "summary.json").unlink()
    summary = v0.main(tiny_argv(v0, tmp_path, name="r", resume="auto"))
    assert "running it again from step 0" in capsys.readouterr().out and summary["steps"] == 6
    steps = [json.loads(line)["step"] for line in (tmp_path / "runs" / "r" / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps)  # the old records were replaced, not appended to


def test_existing_run_folder_is_not_overwritten(tmp_path):
    v0.main(tiny_argv(v0, tmp_path, name="r"))
    before = (tmp_path / "runs" / "r" / "metrics.jsonl").read_text()
    with pytest.raises(LadderError, match="already exists"):
        v0.main(tiny_argv(v0, tmp_path, name="r"))
    assert (tmp_path / "runs" / "r" / "metrics.jsonl").read_text() == before


def test_a_clock_that_runs_out_on_an_eval_step_evaluates_once(tmp_path, monkeypatch):
    # the budget expires right after the step-4 periodic eval: the end of the run must not repeat it
    real_eval, real_time = common.train.evaluate_split, time.time
    expired = {"yes": False}

    def eval_then_expire(*args, **kwargs):
        expired["yes"] = True
        return real_eval(*args, **kwargs)

    class Clock:
        @staticmethod
        def time():
            return real_time() + (3600.0 if expired["yes"] else 0.0)

    monkeypatch.setattr(common.train, "evaluate_split", eval_then_expire)
    monkeypatch.setattr(common.train, "time", Clock)
    summary = v0.main(tiny_argv(v0, tmp_path, name="r", max_steps=100, max_minutes=5, eval_interval=4))
    run = tmp_path / "runs" / "r"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [r["step"] for r in records if "val_prefix/bpb" in r]
    samples = [json.loads(line)["step"] for line in (run / "samples.jsonl").read_text().splitlines()]
    assert summary["steps"] == 4 and evals == [4] and samples == [4]


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    real = torch.nn.functional.cross_entropy
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        calls["n"] += 1
        out = real(*args, **kwargs)
        return out * float("nan") if calls["n"] > 5 and out.requires_grad else out

    monkeypatch.setattr(common.train.F, "cross_entropy", poisoned)
    with pytest.raises(LadderError, match="loss became nan at step 5.*last good checkpoint"):
        v0.main(tiny_argv(v0, tmp_path, name="r", max_steps=10, eval_interval=3))
    state = torch.load(tmp_path / "ckpt" / "r" / "ckpt.pt", weights_only=True)
    assert state["step"] == 3 and all(torch.isfinite(t).all() for t in state["model"].values())


# --- bad input at the command line: one line on stderr, non-zero exit, no traceback ------------


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd or ROOT, timeout=120)


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda p: p.write_text(""), "empty"),
        (lambda p: p.write_text("tiny\n"), "too short to split"),
        (lambda p: p.write_text("a few words\n" * 200), "fewer than one context window"),
        (lambda p: p.write_bytes(b"hello\nwor\xffld\n" * 100), "not UTF-8 text: byte 9 (line 2)"),
        (None, "neither a corpus name"),
    ],
)
def test_bad_data_gets_one_line(tmp_path, capsys, make, needle):
    path = tmp_path / "corpus.txt"
    if make:
        make(path)
    argv = [f"--data={path}", f"--cache_dir={tmp_path}/c", f"--out_dir={tmp_path}/r", "--wandb=disabled"]
    assert needle in one_line_error(v0.main, [*argv, "--block_size=4096"], capsys)


def test_missing_named_corpus_names_both_ways(monkeypatch):
    monkeypatch.delenv("LADDER_DATA_DIR")
    with pytest.raises(LadderError, match="LADDER_DATA_DIR"):
        load_corpus("tinyshakespeare")  # not on the Hugging Face path: fails at once, no network


def test_wikitext_without_data_or_network_fails_at_once(tmp_path):
    code = (
        "import common.corpus as c, common.corpus_scale as s; from common.errors import run_cli; "
        "s._hub_reachable = lambda timeout=3.0: False; run_cli(c.load_corpus, 'wikitext-2')"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HF_HOME": str(tmp_path / "hf")},
        timeout=60,
    )
    assert r.returncode == 2 and "LADDER_DATA_DIR" in r.stderr and "go online once" in r.stderr
    assert "Retrying" not in r.stderr and "Traceback" not in r.stderr  # datasets' offline mode: no retries


def test_unknown_flag_from_the_command_line():
    """The one real command line of this file: a rung run as a script answers in one line."""
    r = cli("v1_transformer.py", "--n_heads", "4")
    assert r.returncode == 2 and r.stderr.strip() == "error: unknown flag --n_heads; did you mean --n_head?"


# --- tracking -----------------------------------------------------------------------------------


def test_wandb_offline_writes_a_run_and_disabled_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb"))
    (tmp_path / "wb").mkdir()
    v0.main(tiny_argv(v0, tmp_path, name="off", wandb="offline"))
    runs = list((tmp_path / "wb" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and any(runs[0].rglob("*.wandb"))
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb2"))
    (tmp_path / "wb2").mkdir()
    v0.main(tiny_argv(v0, tmp_path, name="dis", wandb="disabled"))
    assert not any((tmp_path / "wb2").iterdir())


# --- generation -------------------------------------------------------------------------------------


def test_top_k_1_and_tiny_top_p_equal_greedy():
    torch.manual_seed(0)
    logits = torch.randn(5, 30)
    greedy = sample_next(logits, temperature=0)
    g = torch.Generator().manual_seed(0)
    assert torch.equal(sample_next(logits, 1.0, top_k=1, generator=g), greedy)
    assert torch.equal(sample_next(logits, 1.0, top_p=1e-6, generator=g), greedy)


@pytest.mark.parametrize("window", [None, 5])
def test_layer_cache_returns_the_last_window_of_everything_written(window):
    torch.manual_seed(0)
    cache, written = LayerCache(window), []
    for T in [3, 1, 1, 4, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]:  # crosses the refills
        k, v = torch.randn(2, 3, T, 4), torch.randn(2, 3, T, 4)
        written.append((k, v))
        got_k, got_v = cache.update(k, v)
        all_k, all_v = (torch.cat([w[j] for w in written], dim=2) for j in (0, 1))
        keep = all_k.size(2) if window is None else max(window, T)  # new positions are always visible
        assert torch.equal(got_k, all_k[:, :, -keep:]) and torch.equal(got_v, all_v[:, :, -keep:])
        assert cache.pos == all_k.size(2)


def test_sampling_keeps_the_nucleus_only():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    g = torch.Generator().manual_seed(0)
    draws = {sample_next(logits, 1.0, top_p=0.75, generator=g).item() for _ in range(200)}
    assert draws == {0, 1}  # 0.5 + 0.3 reaches 0.75; tokens 2 and 3 are cut


def test_sample_cli_and_importable_api(tmp_path, capsys):
    v1.main(tiny_argv(v1, tmp_path, name="r"))
    ckpt = tmp_path / "ckpt" / "r" / "ckpt.pt"
    from sample import load_checkpoint

    model, tok, cfg = load_checkpoint(ckpt)
    idx = torch.tensor([tok.encode("I had")])
    out = generate(model, idx, 5, cfg.block_size, temperature=0)
    import sample

    capsys.readouterr()
    sample.main([str(ckpt), "--prompt", "I had", "--max_new_tokens", "5", "--temperature", "0"])
    assert capsys.readouterr().out.rstrip("\n") == "I had" + tok.decode(out[0, 5:].tolist())
    assert "does not exist" in one_line_error(sample.main, [str(tmp_path / "missing.pt")], capsys)


@pytest.mark.parametrize("tokenizer, vocab, minimum", [("bpe", 100, 256), ("bpe-english", 50, 98)])
def test_vocab_smaller_than_the_alphabet(tmp_path, tokenizer, vocab, minimum):
    v2 = rung_module("v2_bpe_rope")
    with pytest.raises(
        LadderError, match=f"--vocab {vocab} is smaller than the {tokenizer} alphabet; use at least {minimum}"
    ):
        v2.main(tiny_argv(v2, tmp_path, tokenizer=tokenizer, vocab=vocab))


def test_huggingface_rows_join_back_into_the_files_text():
    from common.corpus_scale import join_rows

    text = load_corpus("wikitext-2").valid
    # what the `datasets` loader yields: one row per line, blank lines as ""
    rows = [line if line.strip() else "" for line in text.splitlines(keepends=True)]
    assert join_rows(rows) == text


@pytest.mark.slow
def test_kill_9_then_resume_auto_equals_an_uninterrupted_run(tmp_path):
    """A real SIGKILL mid-run (outside CI: `pytest -m slow`)."""
    import os
    import time

    argv = tiny_argv(v1, tmp_path, max_steps=400, eval_interval=100)
    v1.main([*argv, "--name", "straight"])
    proc = subprocess.Popen(
        [sys.executable, "v1_transformer.py", *argv, "--name", "cut"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ckpt = tmp_path / "ckpt" / "cut" / "ckpt.pt"
    while not (ckpt.exists() and load_checkpoint_state(ckpt, mmap=True)["step"] >= 100):
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    v1.main([*argv, "--name", "cut", "--resume", "auto"])
    a, b = losses(tmp_path / "runs" / "straight"), losses(tmp_path / "runs" / "cut")
    assert a == b and max(a) == 400


def test_batcher_draws_every_window_including_the_last():
    """Issue 16.12: starts run 0..len-T-1, so the last window (and last token as a target) is drawn."""
    b = Batcher(np.arange(10), 3, 10000, seed=0, device=torch.device("cpu"))
    x, y = b.next()
    starts = set(x[:, 0].tolist())
    assert starts == set(range(7))  # 0..6: x=[6,7,8], y=[7,8,9] is the last valid window
    assert y.max().item() == 9


def test_batcher_on_a_split_of_exactly_one_window():
    b = Batcher(np.arange(4), 3, 5, seed=0, device=torch.device("cpu"))
    x, y = b.next()
    assert x.tolist() == [[0, 1, 2]] * 5 and y.tolist() == [[1, 2, 3]] * 5


def test_target_bpb_stops_at_the_first_eval_where_the_full_split_confirms_it(tmp_path):
    summary = v1.main(tiny_argv(v1, tmp_path, name="hit", target_bpb=100.0))
    assert summary["target_step"] == 3 and summary["steps"] == 3  # eval_interval 3: the first check stops it
    assert summary["val/bpb"] <= 100.0
    records = [json.loads(x) for x in (tmp_path / "runs" / "hit" / "metrics.jsonl").read_text().splitlines()]
    assert any("val/full_bpb" in r for r in records)  # the full split was evaluated, not only the prefix


def test_target_bpb_checks_the_full_split_once_the_prefix_is_near_the_target(tmp_path, monkeypatch):
    # the prefix is a biased estimate: a prefix just above the target must not hide a full split below
    # it. With the margin as wide as any loss, every evaluation checks the full split; none reaches 0.01.
    monkeypatch.setattr(common.train, "TARGET_MARGIN", 1000.0)
    summary = v1.main(tiny_argv(v1, tmp_path, name="near", target_bpb=0.01))
    assert summary["target_step"] is None and summary["steps"] == 6
    records = [json.loads(x) for x in (tmp_path / "runs" / "near" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "val/full_bpb" in r] == [3, 6]


def test_target_bpb_out_of_reach_runs_the_whole_budget(tmp_path):
    summary = v1.main(tiny_argv(v1, tmp_path, name="miss", target_bpb=0.01))
    assert summary["target_step"] is None and summary["steps"] == 6
    assert "target_step" not in v1.main(tiny_argv(v1, tmp_path, name="off"))


# --- the sliding-window evaluation (val/bpb_sliding) ------------------------------------------------


@pytest.mark.parametrize("n, context, stride, batch", [(100, 16, 8, 4), (101, 16, 5, 3), (10, 16, 8, 2), (64, 8, 8, 1)])
def test_sliding_windows_score_every_target_once(n, context, stride, batch):
    from common.evaluate import sliding_nll

    ids = np.random.default_rng(0).integers(0, 7, n)
    nll = sliding_nll(Uniform(7), ids, context, stride, batch, torch.device("cpu"), contextlib.nullcontext)
    assert nll == pytest.approx((n - 1) * math.log(7))


def test_sliding_with_the_stride_of_the_window_is_the_plain_evaluation():
    from common.evaluate import sliding_nll

    v2 = rung_module("v2_bpe_rope")
    torch.manual_seed(0)
    model = v2.Model(v2.Config(n_layer=1, n_head=2, n_embd=16, block_size=16), 50)
    ids = np.random.default_rng(1).integers(0, 50, 16 * 6 + 1)
    plain = nll_sums(model, ids, np.ones(50), None, 16, 4, torch.device("cpu"), contextlib.nullcontext)[0]
    assert sliding_nll(model, ids, 16, 16, 4, torch.device("cpu"), contextlib.nullcontext) == pytest.approx(plain)
    # with overlap every window after the first scores only tokens that have at least 8 before them
    assert sliding_nll(model, ids, 16, 8, 4, torch.device("cpu"), contextlib.nullcontext) != pytest.approx(plain)


def test_late_dropout_switches_on_at_its_fraction_of_the_run(tmp_path, monkeypatch):
    """--dropout_from F: every dropout rate of the model (nn.Dropout and the rate attention passes to
    scaled_dot_product_attention) is 0 before F of the run and --dropout from then on."""
    v6 = rung_module("v6_muon")
    seen, real_step = [], common.train.train_step

    def record(run, state, model):
        rates = {m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)}
        rates |= {m.dropout for m in model.modules() if isinstance(getattr(m, "dropout", None), float)}
        seen.append(rates)
        return real_step(run, state, model)

    monkeypatch.setattr(common.train, "train_step", record)
    v6.main(tiny_argv(v6, tmp_path, name="late", max_steps=6, dropout=0.25, dropout_from=0.5))
    assert seen == [{0.0}] * 3 + [{0.25}] * 3
    with pytest.raises(LadderError, match="--dropout_from switches --dropout on late: give the rate too"):
        v6.main(tiny_argv(v6, tmp_path, name="no-rate", dropout_from=0.5))
