"""v1_numpy.py is v1 without PyTorch, exactly: its hand-written gradients equal autograd's on v1 with
the same weights (float64, relative error <= 1e-8) and finite differences; float32 training follows
v1's loss curve for 50 steps; it trains with torch unimportable; its checkpoints resume exactly and
its bad inputs are one line.
Run: pytest tests/test_numpy_rung.py"""

import json
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import v1_numpy
import v1_transformer
from tests.conftest import ROOT, tiny_argv

V = 37
SMALL = dict(n_layer=2, n_head=2, n_embd=16, block_size=12, seed=0)


def pair(dtype=np.float64, **overrides):
    """A v1_numpy model and a v1 model holding the same weights (numpy's init, copied into torch)."""
    settings = SMALL | overrides
    np_model = v1_numpy.Model(v1_numpy.Config(**settings), V).astype(dtype)
    pos = settings.get("pos", "learned")
    torch_model = v1_transformer.Model(v1_transformer.Config(fused=False, pos=pos, **SMALL), V)
    weights = {k: torch.from_numpy(a.copy()) for k, a in np_model.state_dict().items()}
    torch_model.load_state_dict(weights | {"head.weight": weights["wte.weight"]})
    return np_model, torch_model.to(torch.float64 if dtype == np.float64 else torch.float32)


def batch(seed=1, B=3, T=12):
    xy = np.random.default_rng(seed).integers(V, size=(B, T + 1))
    return xy[:, :-1], xy[:, 1:]


@pytest.mark.parametrize("pos", ["learned", "sinusoidal"])
def test_every_gradient_equals_autograd_in_float64(pos):
    np_model, torch_model = pair(pos=pos)
    x, y = batch()
    loss = np_model.loss_and_backward(x, y)
    logits = torch_model(torch.from_numpy(x))
    ref = F.cross_entropy(logits.flatten(0, 1), torch.from_numpy(y).flatten())
    ref.backward()
    assert abs(loss - ref.item()) <= 1e-12 * abs(ref.item())
    torch_grads = dict(torch_model.named_parameters())
    names = [n for n, _ in np_model.named_parameters()]
    assert set(names) == set(torch_grads) - {"head.weight"}  # tied: one matrix, one name
    for name, p in np_model.named_parameters():
        g = torch_grads[name].grad.numpy()
        err = np.abs(p.grad - g).max() / np.abs(g).max()
        assert err <= 1e-8, f"{name}: relative error {err:.1e}"


def test_gradients_match_finite_differences():
    model, _ = pair()
    x, y = batch(2)
    model.loss_and_backward(x, y)
    rng = np.random.default_rng(0)
    for name, p in model.named_parameters():
        for _ in range(3):
            i = tuple(rng.integers(s) for s in p.data.shape)
            if name == "wte.weight":  # the tied matrix: a row that is looked up, read by the head too
                i = (int(x[0, 0]), i[1])
            old, h = p.data[i], 1e-6
            p.data[i] = old + h
            up = model.token_nll(x, y).sum() / y.size
            p.data[i] = old - h
            down = model.token_nll(x, y).sum() / y.size
            p.data[i] = old
            numeric = (up - down) / (2 * h)
            assert abs(numeric - p.grad[i]) <= 1e-6 * max(1.0, abs(numeric)), name


def test_float32_training_follows_v1_for_50_steps():
    """Same weights, same batches, same AdamW, schedule and clipping: the loss curves agree."""
    cfg = v1_numpy.Config(**SMALL, lr=3e-3, warmup_steps=10, max_steps=50)
    np_model, torch_model = pair(np.float32)
    params = dict(np_model.named_parameters())
    opt = v1_numpy.AdamW(params, cfg)
    decay = [p for p in torch_model.parameters() if p.dim() >= 2]
    rest = [p for p in torch_model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    topt = torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, cfg.beta2))
    worst = 0.0
    for step in range(50):
        lr = v1_numpy.lr_at(cfg, step, step / cfg.max_steps)
        x, y = batch(100 + step, B=4)
        loss = np_model.loss_and_backward(x, y)
        v1_numpy.clip_grad_norm(params, cfg.grad_clip)
        opt.step(lr)
        opt.zero_grad()
        for g in topt.param_groups:
            g["lr"] = lr
        ref = F.cross_entropy(torch_model(torch.from_numpy(x)).flatten(0, 1), torch.from_numpy(y).flatten())
        topt.zero_grad()
        ref.backward()
        torch.nn.utils.clip_grad_norm_(torch_model.parameters(), cfg.grad_clip)
        topt.step()
        worst = max(worst, abs(loss - ref.item()))
    assert worst <= 1e-3, f"the losses drifted apart by {worst:.2e}"


def test_sinusoids_are_the_papers_table():
    pe = v1_numpy.sinusoids(50, 16, np.float64)
    p, i = 7, 3
    assert pe[p, 2 * i] == pytest.approx(np.sin(p / 10000 ** (2 * i / 16)))
    assert pe[p, 2 * i + 1] == pytest.approx(np.cos(p / 10000 ** (2 * i / 16)))
    pos = torch.arange(50)
    assert np.allclose(v1_transformer.sinusoids(pos, 16).double().numpy(), pe, atol=1e-6)


def test_a_short_run_with_torch_unimportable(tmp_path):
    code = (
        "import sys; sys.modules['torch'] = None\n"  # any `import torch` now raises ImportError
        "import v1_numpy\n"
        f"v1_numpy.main({tiny_argv(v1_numpy, tmp_path, name='t', pos='sinusoidal')!r})\n"
        "assert sys.modules['torch'] is None\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads((tmp_path / "runs" / "t" / "summary.json").read_text())
    assert summary["rung"] == "v1_numpy" and summary["steps"] == 6
    assert summary["val/bpb@2x"] is not None  # sinusoids run past the training context
    text = v1_numpy.main([f"--sample={tmp_path / 'ckpt' / 't' / 'ckpt.npz'}", "--sample_tokens=5"])
    assert isinstance(text, str)


@pytest.mark.parametrize("how", ["crash", "sigterm"])
def test_resume_continues_exactly(tmp_path, monkeypatch, how):
    whole = v1_numpy.main(tiny_argv(v1_numpy, tmp_path / "a", name="a"))
    calls, step = [], v1_numpy.Model.loss_and_backward

    def killed_in_step_4(self, *args):
        calls.append(1)
        if len(calls) == 4 and how == "crash":  # after the checkpoint of step 3 (eval_interval 3)
            raise KeyboardInterrupt
        if len(calls) == 4:  # a scheduler's SIGTERM: step 4 finishes, is checkpointed, the run exits 143
            signal.raise_signal(signal.SIGTERM)
        return step(self, *args)

    monkeypatch.setattr(v1_numpy.Model, "loss_and_backward", killed_in_step_4)
    with pytest.raises(KeyboardInterrupt) as e:
        v1_numpy.main(tiny_argv(v1_numpy, tmp_path / "b", name="b"))
    assert how == "crash" or e.value.signum == signal.SIGTERM
    monkeypatch.undo()
    resumed = v1_numpy.main(tiny_argv(v1_numpy, tmp_path / "b", name="b", resume="auto"))
    assert resumed["val/bpb"] == whole["val/bpb"] and resumed["train/loss"] == whole["train/loss"]
    records = [
        [{k: v for k, v in json.loads(line).items() if k != "tokens_per_s"} for line in path.read_text().splitlines()]
        for path in (tmp_path / "a" / "runs" / "a" / "metrics.jsonl", tmp_path / "b" / "runs" / "b" / "metrics.jsonl")
    ]
    assert records[0] == records[1]


def test_a_live_run_owns_its_folders(tmp_path):
    """The torch rungs' folder lock (common/lifecycle.py): a second run with a live --name stops at
    once with one line and touches nothing of the first's."""
    from common.errors import LadderError
    from common.lifecycle import own_folder

    for held in (tmp_path / "runs" / "twin", tmp_path / "ckpt" / "twin"):  # the run folder, then the checkpoints'
        with own_folder(held, "twin"):
            with pytest.raises(LadderError, match=r"run twin is in use by process \d+ on .*another --name"):
                v1_numpy.main(tiny_argv(v1_numpy, tmp_path, name="twin"))
        assert not (tmp_path / "runs" / "twin" / "metrics.jsonl").exists()
    assert v1_numpy.main(tiny_argv(v1_numpy, tmp_path, name="twin"))["steps"] == 6  # released: runs


def test_resume_auto_finds_the_unfinished_checkpoint_or_starts_fresh(tmp_path, capsys):
    argv = tiny_argv(v1_numpy, tmp_path, resume="auto")
    v1_numpy.main(argv + ["--name=x"])  # nothing to resume yet: a fresh run
    assert "starting fresh" in capsys.readouterr().out
    assert v1_numpy.find_resumable(tmp_path / "ckpt", "") is None  # its checkpoint is a finished one
    (tmp_path / "ckpt" / "x" / "ckpt.npz").unlink()
    v1_numpy.main(argv + ["--name=x"])  # records but no checkpoint: run again from step 0, not refused
    assert json.loads((tmp_path / "runs" / "x" / "summary.json").read_text())["steps"] == 6


def one_line_error(argv, capsys) -> str:
    with pytest.raises(SystemExit) as e:
        v1_numpy.run_cli(v1_numpy.main, argv)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()  # a progress bar may stand before it
    assert "Traceback" not in err and err.count("error:") == 1, err
    last = err.splitlines()[-1]
    assert last.startswith("error: "), err
    return last


def test_bad_input_is_one_line(tmp_path, capsys, monkeypatch):
    assert "divisible by n_head" in one_line_error(tiny_argv(v1_numpy, tmp_path, n_embd=15, n_head=2), capsys)
    torch_ckpt = tmp_path / "ckpt.pt"
    torch.save({"format": 1, "rung": "v1_transformer"}, torch_ckpt)
    assert "not a v1_numpy checkpoint" in one_line_error(tiny_argv(v1_numpy, tmp_path, resume=torch_ckpt), capsys)
    v1_numpy.main(tiny_argv(v1_numpy, tmp_path, name="w"))
    ckpt = tmp_path / "ckpt" / "w" / "ckpt.npz"
    wider = tiny_argv(v1_numpy, tmp_path, name="w2", resume=ckpt, n_embd=32)
    assert "differs from the checkpoint" in one_line_error(wider, capsys)
    monkeypatch.setattr(v1_numpy.Model, "loss_and_backward", lambda *a, **k: float("nan"))
    err = one_line_error(tiny_argv(v1_numpy, tmp_path, name="nan"), capsys)
    assert "loss became nan" in err and "no checkpoint was saved" in err
    assert not (tmp_path / "ckpt" / "nan" / "ckpt.npz").exists()


def test_sample_and_visualize_read_its_checkpoints_as_v1s(tmp_path, capsys):
    """sample.py (and visualize.py, through it) load a v1_numpy .npz as v1's model: same logits."""
    import sample

    v1_numpy.main(tiny_argv(v1_numpy, tmp_path, name="s", pos="sinusoidal"))
    path = tmp_path / "ckpt" / "s" / "ckpt.npz"
    model, tok, cfg = sample.load_checkpoint(path)
    assert isinstance(model, v1_transformer.Model) and cfg.pos == "sinusoidal"
    meta, arrays = v1_numpy.load_checkpoint(path)
    np_model = v1_numpy.Model(v1_numpy.Config(**meta["config"]), tok.vocab_size)
    v1_numpy.restore(np_model, None, arrays, path)
    ids = np.array([tok.encode("the model")])
    with torch.no_grad():
        theirs = model(torch.from_numpy(ids)).numpy()
    assert np.allclose(np_model.forward(ids), theirs, atol=1e-5)
    sample.main([str(path), "--max_new_tokens=5", "--top_p=0.9"])  # the command line too
    assert capsys.readouterr().out.strip()
