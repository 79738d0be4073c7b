"""Properties of the positional schemes: sinusoids (v1 --pos sinusoidal), RoPE (v2) and ALiBi (v3),
and length extrapolation.
Run: pytest tests/test_positions.py"""

import math

import pytest
import torch

from tests.conftest import rung_module, tiny_argv

v1 = rung_module("v1_transformer")
v2 = rung_module("v2_bpe_rope")
v3 = rung_module("v3_alibi")


def test_rope_keeps_norms_and_is_identity_at_position_0():
    rot = v2.Rotary(head_dim=16, theta=10000.0)
    x = torch.randn(2, 3, 50, 16)  # (B, H, T, D)
    y = rot(x)
    torch.testing.assert_close(y.norm(dim=-1), x.norm(dim=-1))
    torch.testing.assert_close(y[:, :, 0], x[:, :, 0])


def test_rope_dot_products_depend_only_on_the_offset():
    rot = v2.Rotary(head_dim=8, theta=10000.0)
    q, k = torch.randn(8), torch.randn(8)

    def score(m, n):  # q placed at position m, k at position n
        qm = rot(q.expand(1, 1, m + 1, 8).clone())[0, 0, m]
        kn = rot(k.expand(1, 1, n + 1, 8).clone())[0, 0, n]
        return (qm @ kn).item()

    assert score(10, 7) == pytest.approx(score(3, 0), abs=1e-4)
    assert score(40, 30) == pytest.approx(score(12, 2), abs=1e-4)
    assert score(5, 5) == pytest.approx((q @ k).item(), abs=1e-4)
    assert score(10, 7) != pytest.approx(score(10, 3), abs=1e-3)


def test_rope_start_offset_matches_a_longer_sequence():
    rot = v2.Rotary(head_dim=8, theta=100.0)
    x = torch.randn(1, 2, 12, 8)
    torch.testing.assert_close(rot(x)[:, :, 5:], rot(x[:, :, 5:], start=5))


def test_alibi_slopes_follow_the_paper():
    assert v3.alibi_slopes(8).tolist() == [2.0**-i for i in range(1, 9)]
    assert v3.alibi_slopes(6).tolist() == [1 / 4, 1 / 16, 1 / 64, 1 / 256, 1 / 2, 1 / 8]
    assert v3.alibi_slopes(16).tolist() == pytest.approx([2 ** (-0.5 * i) for i in range(1, 17)])
    assert len(v3.alibi_slopes(12)) == 12


def test_alibi_bias_is_zero_on_the_diagonal_and_linear_in_distance():
    attn = v3.Attention(v3.Config(n_head=4, n_embd=16))
    bias = attn.bias(6, 6, torch.device("cpu"))  # (H, T, S)
    slopes = v3.alibi_slopes(4)
    for h in range(4):
        assert torch.all(bias[h].diagonal() == 0)
        for i in range(6):
            for j in range(6):
                expected = -slopes[h] * (i - j) if j <= i else -math.inf
                assert bias[h, i, j].item() == pytest.approx(expected)
    # with 2 cached positions, query i of 3 new ones sits at position 2 + i
    cached = attn.bias(3, 5, torch.device("cpu"))
    torch.testing.assert_close(cached, attn.bias(5, 5, torch.device("cpu"))[:, 2:, :])


@pytest.mark.parametrize("fused", [True, False])
def test_alibi_with_zero_slopes_is_plain_causal_attention(fused):
    cfg3 = v3.Config(n_head=4, n_embd=32, fused=fused)
    cfg1 = v1.Config(n_head=4, n_embd=32, fused=fused)
    a3, a1 = v3.Attention(cfg3), v1.Attention(cfg1)
    a1.load_state_dict(a3.state_dict())  # same projections
    a3.slopes.zero_()
    a3._bias_key = None
    x = torch.randn(2, 10, 32)
    torch.testing.assert_close(a3(x), a1(x), atol=1e-5, rtol=1e-4)


def test_sinusoids_follow_the_paper():
    """Vaswani et al. 2017, section 3.5: PE[p, 2i] = sin(p / 10000^(2i/C)), PE[p, 2i+1] = cos(the same);
    every pair is a rotation, so the table's rows all have norm sqrt(C / 2)."""
    C, pos = 16, torch.arange(300)
    pe = v1.sinusoids(pos, C, torch.float64)
    for p, i in ((0, 0), (7, 3), (299, 7)):
        angle = p / 10000 ** (2 * i / C)
        assert pe[p, 2 * i].item() == pytest.approx(math.sin(angle)) and pe[p, 2 * i + 1].item() == pytest.approx(
            math.cos(angle)
        )
    torch.testing.assert_close(pe.norm(dim=1), torch.full((300,), math.sqrt(C / 2), dtype=torch.float64))
    assert v1.sinusoids(pos, 15).shape == (300, 15)  # an odd width drops the last cosine


def test_sinusoidal_v1_has_no_position_weights_and_any_length():
    learned = v1.Model(v1.Config(n_layer=1, n_head=2, n_embd=16, block_size=8), 20)
    fixed = v1.Model(v1.Config(n_layer=1, n_head=2, n_embd=16, block_size=8, pos="sinusoidal"), 20)
    assert learned.context_length == 8 and fixed.context_length is None
    assert {n for n, _ in learned.named_parameters()} - {n for n, _ in fixed.named_parameters()} == {"wpe.weight"}
    assert fixed(torch.randint(20, (2, 32))).shape == (2, 32, 20)  # 4x the training context


def test_extrapolation_is_evaluated_where_the_model_allows_it(tmp_path):
    s1 = v1.main(tiny_argv(v1, tmp_path, name="v1"))
    s1_sin = v1.main(tiny_argv(v1, tmp_path, name="v1s", pos="sinusoidal"))
    s3 = v3.main(tiny_argv(v3, tmp_path, name="v3"))
    assert s1["val/bpb@2x"] is None and s1["val/bpb@8x"] is None  # learned table: stops at 1x
    for mult in (2, 4, 8):
        assert 0 < s3[f"val/bpb@{mult}x"] < 20
        assert 0 < s1_sin[f"val/bpb@{mult}x"] < 20  # the fixed table has a row for any position
