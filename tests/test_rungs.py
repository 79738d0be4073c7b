"""Every rung found on disk (v*_*.py) passes the same checks: shapes, initial loss, learning,
causality, a full tiny training run, and agreement of fused and written-out attention.
Run: pytest tests/test_rungs.py"""

import json
import math
from dataclasses import fields

import pytest
import torch
import torch.nn.functional as F

from tests.conftest import TINY, tiny_argv

V = 50


def tiny_model(module, **overrides):
    names = {f.name for f in fields(module.Config)}
    cfg = module.Config(**{k: v for k, v in (TINY | overrides).items() if k in names})
    torch.manual_seed(0)
    return module.Model(cfg, V), cfg


def test_rung_file_shape(rung):
    doc = rung.__doc__
    assert doc and doc.lstrip().startswith(rung.__name__.split("_")[0] + ":"), "docstring starts 'vN: <idea>'"
    # one run command, at the rung's defaults: the defaults are the ladder's reference run
    assert f"Run: python {rung.__name__}.py" in doc.splitlines(), "docstring has 'Run: python <file>' with no flags"
    assert hasattr(rung, "Config") and hasattr(rung, "Model") and hasattr(rung, "main")


def test_logits_shape(rung):
    model, cfg = tiny_model(rung)
    idx = torch.randint(V, (3, cfg.block_size))
    assert model(idx).shape == (3, cfg.block_size, V)


def test_initial_loss_near_uniform(rung):
    model, cfg = tiny_model(rung)
    idx = torch.randint(V, (8, cfg.block_size + 1))
    loss = F.cross_entropy(model(idx[:, :-1]).flatten(0, 1), idx[:, 1:].flatten())
    assert abs(loss.item() - math.log(V)) < 0.1 * math.log(V)


def test_a_few_steps_lower_the_loss(rung):
    model, cfg = tiny_model(rung)
    torch.manual_seed(1)
    idx = torch.randint(V, (4, cfg.block_size + 1))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        loss = F.cross_entropy(model(idx[:, :-1]).flatten(0, 1), idx[:, 1:].flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.2


def test_no_position_sees_the_future(rung):
    model, cfg = tiny_model(rung)
    with torch.no_grad():  # off the initial point: zeros there (v0's table, v5's output projections) would hide a leak
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    model.eval()
    T, t = cfg.block_size, cfg.block_size // 2
    a = torch.randint(V, (2, T))
    b = a.clone()
    b[:, t + 1 :] = torch.randint(V, (2, T - t - 1))  # change everything after position t
    with torch.no_grad():
        la, lb = model(a), model(b)
    torch.testing.assert_close(la[:, : t + 1], lb[:, : t + 1])
    assert not torch.allclose(la[:, t + 1 :], lb[:, t + 1 :])  # and later positions do read later tokens


def test_fused_attention_equals_written_out(rung):
    if "fused" not in {f.name for f in fields(rung.Config)}:
        pytest.skip(f"{rung.__name__} has no attention")
    fused, cfg = tiny_model(rung, fused=True)
    manual, _ = tiny_model(rung, fused=False)
    manual.load_state_dict(fused.state_dict())
    idx = torch.randint(V, (2, cfg.block_size))
    torch.testing.assert_close(fused.eval()(idx), manual.eval()(idx), atol=1e-5, rtol=1e-4)


def test_tiny_training_run_writes_a_valid_run_folder(rung, tmp_path, capsys):
    summary = rung.main(tiny_argv(rung, tmp_path, name="run"))
    run = tmp_path / "runs" / "run"
    config = json.loads((run / "config.json").read_text())
    assert config["rung"] == rung.__name__ and config["params"] == summary["params"]
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in records if "train/loss" in r]
    assert train and all({"train/loss", "lr", "tokens", "bytes", "tokens_per_s"} <= set(r) for r in train)
    assert any("val_prefix/bpb" in r for r in records)
    saved = json.loads((run / "summary.json").read_text())
    for key in (
        "val/loss",
        "val/ppl",
        "val/bpb",
        "val/word_ppl",
        "val/unk_rate",
        "test/bpb",
        "params",
        "tokens",
        "bytes",
        "wall_time_s",
    ):
        assert key in saved, key
    assert saved["val/ppl"] == pytest.approx(math.exp(saved["val/loss"]))
    assert 0 < saved["val/bpb"] < 20 and saved["steps"] == TINY["max_steps"]
    samples = [json.loads(line) for line in (run / "samples.jsonl").read_text().splitlines()]
    assert samples and all(isinstance(s["text"], str) for s in samples)
    assert (tmp_path / "ckpt" / "run" / "ckpt.pt").is_file()
    assert "final: val loss" in capsys.readouterr().out


@pytest.mark.parametrize("new_tokens", [5, 40])  # 40 > block_size: the window must slide or refill
def test_cached_generation_equals_uncached(rung, new_tokens):
    from common.generate import KVCache, generate

    model, cfg = tiny_model(rung)
    prompt = torch.randint(V, (2, 7))
    a = generate(model, prompt, new_tokens, cfg.block_size, temperature=0, use_cache=True)
    b = generate(model, prompt, new_tokens, cfg.block_size, temperature=0, use_cache=False)
    assert torch.equal(a, b)
    # and the logits themselves: one cached step against a full forward pass
    model.eval()
    cache = KVCache()
    with torch.no_grad():
        model(prompt[:, :-1], cache)
        step = model(prompt[:, -1:], cache)[:, -1]
        full = model(prompt)[:, -1]
    torch.testing.assert_close(step, full, atol=1e-5, rtol=1e-4)
