"""Fixtures of the practice page tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn


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
