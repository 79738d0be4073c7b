"""visualize.py: for every rung, a tiny checkpoint gives valid PNGs (embedding PCA, neighbours, and
one attention map per block where the rung has attention, none for v0); images go to an active
wandb run; bad input is one line on stderr and exit status 2.
Run: pytest tests/test_visualize.py"""

import sys
from dataclasses import fields
from types import SimpleNamespace

import pytest

import visualize
from common.errors import LadderError, run_cli
from tests.conftest import RUNGS, rung_module, tiny_argv

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module", params=RUNGS)
def checkpoint(request, tmp_path_factory, shared_cache):
    """(rung, n_layer, path): one tiny checkpoint per rung, trained once for this file."""
    module = rung_module(request.param)
    tmp = tmp_path_factory.mktemp(request.param)
    has_layers = "n_layer" in {f.name for f in fields(module.Config)}
    extra = {"n_layer": 2} if has_layers else {}  # two blocks: two attention pictures
    module.main(tiny_argv(module, tmp, name="tiny", cache_dir=shared_cache, **extra))
    return request.param, 2 if has_layers else 0, tmp / "ckpt" / "tiny" / "ckpt.pt"


def assert_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path.name} is not a PNG"
    assert len(data) > 5000, f"{path.name} is only {len(data)} bytes"


@pytest.mark.slow  # about 4 s a rung (a tiny training run, then every picture); `.ci/run` runs it
def test_pictures_for_every_rung(checkpoint, tmp_path, capsys):
    rung, n_layer, ckpt = checkpoint
    paths = visualize.main([str(ckpt), "--out", str(tmp_path), "--top", "20", "--tokens", "␣,e"])
    for name in ("embeddings_pca.png", "neighbours.png"):
        assert_png(tmp_path / name)
    attention = sorted(p.name for p in tmp_path.glob("attention_L*.png"))
    assert attention == [f"attention_L{i}.png" for i in range(n_layer)]
    for name in attention:
        assert_png(tmp_path / name)
    assert sorted(p.name for p in paths) == sorted(p.name for p in tmp_path.glob("*.png"))
    out = capsys.readouterr().out
    assert "nearest neighbours" in out and "␣ ->" in out  # the space token's neighbours are listed
    if n_layer == 0:
        assert "no attention" in out
    with pytest.raises(LadderError, match="not a token"):
        visualize.main([str(ckpt), "--out", str(tmp_path), "--tokens", "␣the,zzqqxxj"])


def test_attention_maps_are_causal_distributions(checkpoint):
    rung, n_layer, ckpt = checkpoint
    if n_layer == 0:
        pytest.skip(f"{rung} has no attention")
    from sample import load_checkpoint

    model, tok, _ = load_checkpoint(ckpt)
    fused = [block.attn.fused for block in model.blocks]
    ids = tok.encode(" the tree was old")[:10]
    maps = visualize.attention_maps(model, ids)
    assert len(maps) == n_layer and [block.attn.fused for block in model.blocks] == fused  # flags restored
    for att in maps:  # (H, T, T): rows sum to one, nothing above the diagonal
        assert att.shape[1:] == (len(ids), len(ids))
        assert att.sum(-1).sub(1).abs().max() < 1e-5
        assert att.triu(1).abs().max() == 0


@pytest.mark.slow  # wandb's offline service starts (about 8 s); `.ci/run` runs it
@pytest.mark.parametrize("checkpoint", RUNGS[-1:], indirect=True)  # one rung is enough
def test_images_go_to_an_active_wandb_run(checkpoint, tmp_path, monkeypatch):
    rung, _, ckpt = checkpoint
    logged = []
    run = SimpleNamespace(name="active", log=logged.append)
    fake = SimpleNamespace(run=run, Image=lambda path: ("image", path))  # no wandb process, no network
    monkeypatch.setitem(sys.modules, "wandb", fake)
    paths = visualize.main([str(ckpt), "--out", str(tmp_path)])
    assert len(logged) == 1 and set(logged[0]) == {f"visualize/{p.stem}" for p in paths}
    logged.clear()
    visualize.main([str(ckpt), "--out", str(tmp_path), "--wandb", "disabled"])  # said explicitly: no logging
    assert logged == []


def test_token_labels_show_whitespace():
    tok = SimpleNamespace(unk_id=3, vocab_size=4, token_bytes=lambda i: [b" the", b"\n", b"\xe2", b""][i])
    assert [visualize.token_label(tok, i) for i in range(4)] == ["␣the", "⏎", "\\xe2", "<unk>"]
    assert visualize.find_tokens(tok, ["⏎", "␣the"]) == [1, 0]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["missing.pt"], "does not exist"),
        (["corrupt.pt"], "corrupt"),
        (["--checkpoint"], "expected one argument"),
        (["x.pt", "--tokn", "a"], "did you mean --tokens"),
        ([], "no checkpoint given"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corrupt.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(SystemExit) as exit_info:
        run_cli(visualize.main, argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
