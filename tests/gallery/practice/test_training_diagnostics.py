"""The page on statistics at initialisation: its hooks, their removal, the derived scale."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F


@pytest.fixture(scope="module")
def page(gallery_page):
    return gallery_page("practice/plot_training_diagnostics.py")


@pytest.mark.parametrize("init", ["default", "He"])
def test_the_hooks_record_what_a_manual_pass_computes(page, init, relu_statistics):
    data = page["data"]
    x, y = data.train_x[:64], data.train_y[:64]
    torch.manual_seed(3)
    model = page["make_mlp"](init)
    statistics = page["LayerStatistics"](model)
    F.cross_entropy(model(x), y).backward()
    statistics.remove()
    rms, grad_rms, dead, one_sign = relu_statistics(model, x, y)
    assert len(rms) == page["DEPTH"]
    assert [layer[0] for layer in statistics.activation_rms] == pytest.approx(rms, rel=1e-5)
    assert [layer[0] for layer in statistics.gradient_rms] == pytest.approx(grad_rms, rel=1e-4)
    assert [layer[0] for layer in statistics.dead_fraction] == pytest.approx(dead)
    assert [layer[0] for layer in statistics.one_sign_fraction] == pytest.approx(one_sign)
    assert all(len(layer) == 1 for layer in statistics.gradient_rms)  # one pass, one record


def test_removing_the_hooks_leaves_no_hook_on_any_module(page):
    model = page["make_mlp"]("He")
    statistics = page["LayerStatistics"](model)
    hooked = [m for m in model.modules() if m._forward_hooks or m._backward_hooks]
    assert len(hooked) == page["DEPTH"]
    statistics.remove()
    assert not [m for m in model.modules() if m._forward_hooks or m._backward_hooks]
    F.cross_entropy(model(page["data"].val_x), page["data"].val_y).backward()
    assert all(layer == [] for layer in statistics.activation_rms + statistics.gradient_rms)


@pytest.mark.parametrize("init", ["default", "He", "2 x He"])
def test_the_derived_scale_is_the_average_over_many_networks(page, init):
    # The recursion is exact for the mean square averaged over random weights (the
    # weights are symmetric and independent of each layer's input), so the average over
    # many draws converges to it, layer by layer; a missing 1/2 would be off by 2**layer.
    x = page["data"].train_x[:256]
    n_draws, depth = 300, page["DEPTH"]
    torch.manual_seed(0)
    mean_square = torch.zeros(depth, dtype=torch.float64)
    with torch.no_grad():
        for _ in range(n_draws):
            model, layer, h = page["make_mlp"](init), 0, x
            for module in model:
                h = module(h)
                if isinstance(module, nn.ReLU):
                    mean_square[layer] += h.pow(2).mean().item() / n_draws
                    layer += 1
    derived = torch.tensor(page["derived_rms"](init), dtype=torch.float64) ** 2
    torch.testing.assert_close(mean_square, derived, rtol=0.15, atol=0)


def test_the_mean_cosine_is_the_mean_over_pairs_of_different_rows(page):
    x = torch.rand(7, 5, generator=torch.Generator().manual_seed(1)) - 0.3
    pairs = [
        F.cosine_similarity(x[i], x[j], dim=0).item()
        for i in range(len(x))
        for j in range(len(x))
        if i != j
    ]
    assert page["mean_cosine"](x) == pytest.approx(sum(pairs) / len(pairs), rel=1e-5)
    assert page["mean_cosine"](torch.ones(4, 3)) == pytest.approx(1.0)
