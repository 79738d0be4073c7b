"""v7's shortcuts: off they are v6 exactly; each one at its neutral setting is the model without
it; on, the model stays causal and cached generation equals uncached. Run: pytest tests/test_v7.py"""

import pytest
import torch

from common.generate import KVCache, generate
from tests.conftest import rung_module
from tests.test_rungs import V, tiny_model

v6, v7 = rung_module("v6_muon"), rung_module("v7_shortcuts")
ALL_ON = dict(n_layer=4, x0=True, value_residual=True, value_embeds=2, unet=True, softcap=15.0)
OFF = dict(value_embeds=0)  # every path off (the default has one value table)
PIECES = [
    OFF | dict(x0=True),
    OFF | dict(value_residual=True),
    dict(value_embeds=1),
    OFF | dict(unet=True),
    OFF | dict(softcap=15.0),
]


def test_all_off_is_v6_exactly():
    a, _ = tiny_model(v6, n_layer=2)
    b, _ = tiny_model(v7, n_layer=2, value_embeds=0)  # the default has one table (ablation_v7.yaml's winner)
    assert list(a.state_dict()) == list(b.state_dict())  # same weights, same names, same order
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name  # the same random numbers: v7's parameters are drawn after v6's
    idx = torch.randint(V, (2, 16))
    assert torch.equal(a(idx), b(idx))


@pytest.mark.parametrize("piece", ["x0", "value_residual", "value_embeds", "unet"])
def test_each_path_at_its_neutral_setting_is_the_model_without_it(piece):
    base, _ = tiny_model(v7, n_layer=4, value_embeds=0)
    model, _ = tiny_model(v7, n_layer=4, **{"value_embeds": 0, piece: 1 if piece == "value_embeds" else True})
    model.load_state_dict(base.state_dict(), strict=False)  # v6's weights, the new ones as created
    with torch.no_grad():
        if piece == "x0":  # created neutral: lambda_r 1, lambda_0 0
            pass
        elif piece == "unet":
            model.skip_w.zero_()
        else:  # a = 0: no value residual; gate 0: no value embedding
            for block in model.blocks:
                block.attn.v_mix.zero_()
    idx = torch.randint(V, (2, 16))
    torch.testing.assert_close(model(idx), base(idx), rtol=0, atol=1e-6)


@pytest.mark.parametrize("pieces", [*PIECES, ALL_ON], ids=lambda p: ",".join(p))
def test_with_the_paths_on_no_position_sees_the_future(pieces):
    model, cfg = tiny_model(v7, **pieces)
    model.eval()
    a = torch.randint(V, (1, cfg.block_size))
    b = a.clone()
    b[0, 9:] = (b[0, 9:] + 1) % V
    torch.testing.assert_close(model(a)[:, :9], model(b)[:, :9])


@pytest.mark.parametrize("pieces", [*PIECES, ALL_ON], ids=lambda p: ",".join(p))
def test_with_the_paths_on_cached_generation_equals_uncached(pieces):
    model, cfg = tiny_model(v7, **pieces)
    model.eval()
    prompt = torch.randint(V, (2, 5))
    a = generate(model, prompt, 12, cfg.block_size, temperature=0, use_cache=True)
    b = generate(model, prompt, 12, cfg.block_size, temperature=0, use_cache=False)
    assert torch.equal(a, b)
    cache = KVCache()
    model(prompt, cache)
    step = model(a[:, 5:6], cache)[:, -1]
    torch.testing.assert_close(step, model(a[:, :6])[:, -1], atol=1e-5, rtol=1e-4)


def test_softcap_bounds_the_logits():
    model, cfg = tiny_model(v7, softcap=2.0)
    with torch.no_grad():
        model.head.weight.mul_(1e3)
    logits = model(torch.randint(V, (2, cfg.block_size)))
    assert logits.abs().max() <= 2.0 and logits.abs().max() > 1.9


def test_the_new_parameters_have_their_own_learning_rates():
    model, cfg = tiny_model(v7, **ALL_ON, scalar_lr=0.123, ve_lr=0.0456)
    adamw, muon = model.configure_optimizers(cfg, torch.device("cpu"))
    lr_of = {id(p): g["lr"] for g in adamw.param_groups for p in g["params"]}
    scalars = [model.x0_mix, model.skip_w, *(b.attn.v_mix for b in model.blocks)]
    assert all(lr_of[id(p)] == 0.123 for p in scalars)
    assert all(lr_of[id(p)] == 0.0456 for p in model.ve.parameters())
    in_muon = {id(p) for g in muon.param_groups for p in g["params"]}
    assert not in_muon & {id(p) for p in scalars}
    every = {id(p) for p in model.parameters()}
    assert set(lr_of) | in_muon == every and not set(lr_of) & in_muon  # each parameter exactly once


def test_value_embeds_beyond_the_mirror_is_one_line():
    with pytest.raises(ValueError, match="value_embeds 3 > "):
        tiny_model(v7, n_layer=4, value_embeds=3)
