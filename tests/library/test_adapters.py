"""Low-rank adapters: the layer, adding it to a network, and merging it back."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torchvision.models import resnet18

from pytorch_examples.adapters import LoRAConv2d, add_lora, merge_lora


@pytest.mark.parametrize(
    ("stride", "padding", "dilation", "groups", "bias"),
    [(1, 1, 1, 1, False), (2, 0, 1, 1, True), (1, "same", 2, 1, False), (1, 2, 1, 3, True)],
)
def test_a_lora_convolution_starts_as_its_layer_and_adds_the_scaled_low_rank_change(
    stride, padding, dilation, groups, bias
):
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 9, 3, stride, padding, dilation, groups, bias)
    weight, x = conv.weight.detach().clone(), torch.randn(2, 6, 9, 9)
    layer = LoRAConv2d(conv, rank=3, alpha=6.0)
    torch.testing.assert_close(layer(x), conv(x), rtol=0, atol=0)  # nn.Conv2d's own forward
    assert [name for name, p in layer.named_parameters() if p.requires_grad] == ["A", "B"]
    fan_in = 6 // groups * 9
    assert sum(p.numel() for p in layer.parameters() if p.requires_grad) == 3 * (9 + fan_in)

    with torch.no_grad():
        layer.B.normal_()  # as if trained
    change = torch.einsum("or,ri->oi", layer.B.detach(), layer.A.detach()).reshape(weight.shape)
    merged = weight + 6.0 / math.sqrt(3) * change  # rank-stabilized: alpha / sqrt(rank)
    torch.testing.assert_close(layer.merged_weight(), merged)
    plain = nn.Conv2d(6, 9, 3, stride, padding, dilation, groups, bias)
    with torch.no_grad():
        plain.weight.copy_(merged)
        if bias:
            plain.bias.copy_(conv.bias)
    torch.testing.assert_close(layer(x), plain(x))
    assert not torch.allclose(layer(x), conv(x))


def test_the_adapters_output_is_the_layers_plus_the_scaled_path_through_a_then_b():
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 10, 3, stride=2, padding=1, bias=True)
    layer = LoRAConv2d(conv, rank=3, alpha=5.0)
    with torch.no_grad():
        layer.B.normal_()
    x = torch.randn(2, 6, 11, 11)
    # A as a convolution of 3 output channels with conv's geometry, then B as a 1 x 1 one.
    through_a = nn.functional.conv2d(x, layer.A.view(3, 6, 3, 3), stride=2, padding=1)
    path = nn.functional.conv2d(through_a, layer.B.view(10, 3, 1, 1))
    expected = conv(x) + 5.0 / math.sqrt(3) * path
    torch.testing.assert_close(layer(x), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("padding_mode", ["reflect", "replicate", "circular"])
def test_a_lora_convolution_refuses_a_padding_mode_other_than_zeros(padding_mode):
    conv = nn.Conv2d(2, 3, 3, padding=1, padding_mode=padding_mode)
    with pytest.raises(ValueError, match=padding_mode):
        LoRAConv2d(conv, rank=2, alpha=2.0)
    LoRAConv2d(nn.Conv2d(2, 3, 3, padding=1), rank=2, alpha=2.0)  # zeros: accepted


def test_add_lora_wraps_every_convolution_of_a_torchvision_resnet_in_place():
    torch.manual_seed(0)
    model = resnet18(weights=None).eval()
    n_convs = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        before = model(x)
        returned = add_lora(model, 2, alpha=3.0)
        after = model(x)
    assert returned is model
    wrapped = [m for m in model.modules() if isinstance(m, LoRAConv2d)]
    assert len(wrapped) == n_convs == 20
    assert all(isinstance(m.conv, nn.Conv2d) and m.scale == 3.0 / math.sqrt(2) for m in wrapped)
    torch.testing.assert_close(after, before, rtol=0, atol=0)


def test_merge_lora_replaces_each_adapter_by_its_merged_weight_and_leaves_the_model_alone():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Sequential(nn.Conv2d(8, 4, 1, bias=False))
    )
    n_plain = sum(p.numel() for p in model.parameters())
    add_lora(model, 2, alpha=4.0)
    with torch.no_grad():
        for adapter in (m for m in model.modules() if isinstance(m, LoRAConv2d)):
            adapter.B.normal_()
    expected = {
        name: m.merged_weight().detach()
        for name, m in model.named_modules()
        if isinstance(m, LoRAConv2d)
    }
    merged = merge_lora(model)
    assert sum(isinstance(m, LoRAConv2d) for m in model.modules()) == 2  # unchanged
    merged_layers = dict(merged.named_modules())
    for name, weight in expected.items():
        assert type(merged_layers[name]) is nn.Conv2d
        assert torch.equal(merged_layers[name].weight, weight)
    assert sum(p.numel() for p in merged.parameters()) == n_plain
    x = torch.randn(2, 3, 6, 6)
    with torch.no_grad():
        torch.testing.assert_close(merged(x), model(x), rtol=0, atol=0)
