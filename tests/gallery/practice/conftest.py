"""Fixtures of the practice page tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn
from torch.nn import functional as F


def conv_weights_and_batch_norms(module: nn.Module) -> dict[str, torch.Tensor]:
    """Every convolution's weight and every batch norm's parameters and running statistics.

    A convolution wrapped by a low-rank adapter is named as the one it wraps, so that a
    network and its adapted copy give the same keys.
    """
    state = {}
    for name, layer in module.named_modules():
        if isinstance(layer, nn.Conv2d):
            state[name.removesuffix(".conv") + ".weight"] = layer.weight.detach()
        elif isinstance(layer, nn.BatchNorm2d):
            for key, value in layer.state_dict().items():
                state[f"{name}.{key}"] = value
    return state


@pytest.fixture
def body_state() -> Callable[[nn.Module], dict[str, torch.Tensor]]:
    """The function that reads the state a frozen body must keep while its head trains."""
    return conv_weights_and_batch_norms


def manual_relu_statistics(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor) -> tuple:
    """Per-ReLU activation RMS, gradient RMS, dead and one-sign fractions, by a pass written out.

    The one-sign fraction reads the ReLU's input; the others its output.
    """
    activations, pre_activations, h = [], [], x
    for module in model:
        if isinstance(module, nn.ReLU):
            pre_activations.append(h.detach())
        h = module(h)
        if isinstance(module, nn.ReLU):
            h.retain_grad()
            activations.append(h)
    F.cross_entropy(h, y).backward()
    rms = [a.detach().pow(2).mean().sqrt().item() for a in activations]
    grad_rms = [a.grad.pow(2).mean().sqrt().item() for a in activations]
    dead = [(a == 0).all(dim=0).float().mean().item() for a in activations]
    one_sign = [
        ((p > 0).all(dim=0) | (p <= 0).all(dim=0)).float().mean().item() for p in pre_activations
    ]
    return rms, grad_rms, dead, one_sign


@pytest.fixture
def relu_statistics() -> Callable[..., tuple]:
    """The hand-written pass the diagnostics pages' hooks are checked against."""
    return manual_relu_statistics


def second_batch_gradient(page) -> tuple[torch.Tensor, ...]:
    """The gradient of the second batch a diagnostics page draws, on its initial network."""
    data, batch_size = page["data"], page["BATCH_SIZE"]
    batches = torch.Generator().manual_seed(page["SEED"])
    for _ in range(2):  # one batch per step; the second is the last
        batch = torch.randint(len(data.train_y), (batch_size,), generator=batches)
    reference = page["make_mlp"]()
    loss = F.cross_entropy(reference(data.train_x[batch]), data.train_y[batch])
    return torch.autograd.grad(loss, list(reference.parameters()))


@pytest.fixture
def last_batch_gradient() -> Callable[..., tuple[torch.Tensor, ...]]:
    """What a two-step run at rate 0 must leave in its parameters' gradients."""
    return second_batch_gradient


@pytest.fixture(scope="module")
def range_test(gallery_page):
    """The range-test page's run, which chooses the rate the next pages read, and saves it."""
    return gallery_page("practice/plot_learning_rate_range_test.py")
