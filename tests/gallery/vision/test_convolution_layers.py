"""The layers page: receptive fields against their formula, and the CNN page's layer order."""

from __future__ import annotations

import pytest
import torch

PAGE = "vision/plot_convolution_layers.py"


def receptive_field_by_formula(kinds: list[str]) -> int:
    """Each layer of window k widens the field by (k - 1) steps of the input it sees."""
    field, step = 1, 1
    for kind in kinds:
        window = 3 if kind == "conv" else 2
        field += (window - 1) * step
        step *= 1 if kind == "conv" else 2
    return field


@pytest.mark.parametrize(
    "kinds",
    [["conv"], ["conv", "conv", "conv"], ["pool", "conv"], ["conv", "pool", "pool", "conv"]],
)
def test_the_measured_receptive_fields_follow_the_formula(gallery_page, kinds):
    page = gallery_page(PAGE)
    layers = torch.nn.Sequential(
        *(page["all_ones_conv"]() if kind == "conv" else torch.nn.AvgPool2d(2) for kind in kinds)
    )
    assert page["receptive_field"](layers) == receptive_field_by_formula(kinds)
    assert page["fields"] == [
        receptive_field_by_formula(list(page["LAYER_ORDER"][: n + 1]))
        for n in range(len(page["LAYER_ORDER"]))
    ]


def test_the_layer_order_is_the_cnn_pages(gallery_page):
    model = gallery_page("vision/plot_cifar10_cnn.py")["model"]
    kinds = [
        "conv" if isinstance(layer, torch.nn.Conv2d) else "pool"
        for layer in model
        if isinstance(layer, torch.nn.Conv2d | torch.nn.MaxPool2d)
    ]
    assert tuple(kinds) == gallery_page(PAGE)["LAYER_ORDER"]
