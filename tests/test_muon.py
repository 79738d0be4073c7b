"""v6's Muon, written out in the rung, against PyTorch's own (torch.optim.Muon), and v6 with Muon
and the separate embedding learning rate switched off against v5 (the new idea at its limit equals
the old rung). Run: pytest tests/test_muon.py"""

import torch
import torch.nn.functional as F

import v5_modern
import v6_muon
from common.train import make_optimizers
from tests.conftest import TINY

# torch.optim.Muon runs Newton-Schulz in bfloat16; v6 does in float32 on CPUs (bf16 only on GPUs),
# so the two agree to bf16's precision (8 bits of mantissa), not bit for bit
BF16_TOL = dict(atol=2e-2, rtol=2e-2)


def test_orthogonalize_pushes_singular_values_towards_one():
    torch.manual_seed(0)
    G = torch.randn(96, 32) @ torch.diag(torch.logspace(-1, 0, 32))  # singular values spread 10x or more
    s = torch.linalg.svdvals(v6_muon.orthogonalize(G))
    assert s.min() > 0.5 and s.max() < 1.5  # the quintic's band (about 0.7-1.2 after 5 steps)
    U, _, Vh = torch.linalg.svd(G, full_matrices=False)
    X = v6_muon.orthogonalize(G)
    assert torch.allclose(U.T @ X @ Vh.T, torch.diag(torch.diagonal(U.T @ X @ Vh.T)), atol=1e-4)  # same vectors


def test_orthogonalize_matches_torch_newton_schulz():
    from torch.optim._muon import _zeropower_via_newtonschulz

    torch.manual_seed(1)
    for shape in [(64, 16), (16, 64), (32, 32)]:
        G = torch.randn(shape)
        theirs = _zeropower_via_newtonschulz(G, (3.4445, -4.7750, 2.0315), 5, 1e-7).float()
        torch.testing.assert_close(v6_muon.orthogonalize(G), theirs, **BF16_TOL)


def test_muon_steps_match_torch_optim_muon():
    torch.manual_seed(2)
    weights = [torch.randn(48, 16), torch.randn(16, 48), torch.randn(24, 24)]
    ours = [w.clone().requires_grad_() for w in weights]
    theirs = [w.clone().requires_grad_() for w in weights]
    opt_ours = v6_muon.Muon(ours, lr=0.02, momentum=0.95, weight_decay=0.1)
    opt_theirs = torch.optim.Muon(theirs, lr=0.02, momentum=0.95, weight_decay=0.1, nesterov=True)
    for _ in range(4):
        grads = [torch.randn_like(w) for w in weights]
        for params, opt in ((ours, opt_ours), (theirs, opt_theirs)):
            for p, g in zip(params, grads):
                p.grad = g.clone()
            opt.step()
    for a, b, w in zip(ours, theirs, weights):
        assert (a - w).abs().mean() > 1e-3  # the weights moved, so the comparison is not vacuous
        torch.testing.assert_close(a.detach(), b.detach(), **BF16_TOL)


def test_v6_without_muon_and_embedding_lr_trains_as_v5():
    names = set(v5_modern.Config.__dataclass_fields__)
    settings = {k: v for k, v in TINY.items() if k in names}
    idx = torch.randint(300, (4, settings["block_size"] + 1), generator=torch.Generator().manual_seed(3))
    losses = {}
    for rung, extra in ((v5_modern, {}), (v6_muon, {"muon": False, "emb_lr": 0.0})):
        cfg = rung.Config(**settings, **extra)
        torch.manual_seed(0)
        model = rung.Model(cfg, 300)
        optimizers = make_optimizers(model, cfg, torch.device("cpu"))
        out = []
        for _ in range(5):
            loss = F.cross_entropy(model(idx[:, :-1]).flatten(0, 1), idx[:, 1:].flatten())
            loss.backward()
            for opt in optimizers:
                opt.step()
                opt.zero_grad()
            out.append(loss.item())
        losses[rung.__name__] = out
    assert losses["v6_muon"] == losses["v5_modern"]


def test_v6_puts_only_the_blocks_matrices_on_muon():
    cfg = v6_muon.Config(**{k: v for k, v in TINY.items() if k in set(v6_muon.Config.__dataclass_fields__)})
    model = v6_muon.Model(cfg, 300)
    adamw, muon = model.configure_optimizers(cfg, torch.device("cpu"))
    on_muon = {id(p) for g in muon.param_groups for p in g["params"]}
    for name, p in model.named_parameters():
        assert (id(p) in on_muon) == (name.startswith("blocks.") and p.dim() == 2), name
    assert adamw.param_groups[0]["params"] == [model.wte.weight] and adamw.param_groups[0]["lr"] == cfg.emb_lr
