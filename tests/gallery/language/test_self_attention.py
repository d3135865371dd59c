"""The self-attention page: its written-out heads against PyTorch's attention."""

from __future__ import annotations

import pytest
import torch
from torch import nn


@pytest.fixture(scope="module")
def self_attention(gallery_page):
    return gallery_page("language/plot_self_attention.py")


def causal_mask(length):
    return torch.ones(length, length, dtype=torch.bool).tril()


@pytest.mark.parametrize(("width", "n_heads", "length"), [(8, 2, 5), (12, 3, 7), (6, 1, 4)])
def test_the_written_out_heads_match_multihead_attention(self_attention, width, n_heads, length):
    layer = nn.MultiheadAttention(width, n_heads, batch_first=True)
    to_qkv = nn.Linear(width, 3 * width)
    with torch.no_grad():
        to_qkv.weight.copy_(layer.in_proj_weight)
        to_qkv.bias.copy_(layer.in_proj_bias)
        x = torch.randn(length, width)
        ours, weights = self_attention["multi_head_attention"](
            x, to_qkv, layer.out_proj, n_heads, causal_mask(length)
        )
        theirs, their_weights = layer(
            x[None], x[None], x[None], attn_mask=~causal_mask(length), average_attn_weights=False
        )
    torch.testing.assert_close(ours, theirs[0])
    torch.testing.assert_close(weights, their_weights[0])
    assert weights.shape == (n_heads, length, length)
    torch.testing.assert_close(weights.sum(dim=-1), torch.ones(n_heads, length))


def test_written_out_attention_never_looks_ahead(self_attention):
    width, n_heads, length = 8, 2, 6
    to_qkv, mix = nn.Linear(width, 3 * width), nn.Linear(width, width)
    x = torch.randn(length, width)
    changed = x.clone()
    changed[4:] = torch.randn(2, width)
    with torch.no_grad():
        before, _ = self_attention["multi_head_attention"](x, to_qkv, mix, n_heads, causal_mask(6))
        after, _ = self_attention["multi_head_attention"](
            changed, to_qkv, mix, n_heads, causal_mask(6)
        )
    assert torch.equal(before[:4], after[:4]) and not torch.equal(before[4:], after[4:])
