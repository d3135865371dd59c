"""Low-rank adapters (LoRA) for convolutions: add them, and merge them back.

:doc:`/auto_examples/practice/plot_low_rank_adapters` writes this code out and derives
its scale; :doc:`/auto_examples/practice/plot_lora_rank_and_rate` imports it from here
to train adapters and choose their rank. A test keeps the page's copy and this one equal.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["LoRAConv2d", "add_lora", "merge_lora"]


class LoRAConv2d(nn.Module):
    """A frozen convolution plus a trainable change of low rank, scaled by alpha / sqrt(rank).

    Taught on :doc:`/auto_examples/practice/plot_low_rank_adapters`.

    Parameters
    ----------
    conv : torch.nn.Conv2d
        The layer to adapt; its parameters are frozen (``requires_grad_(False)``).
    rank : int
        The rank ``r`` of the change: ``B`` has shape ``(out_channels, r)``, ``A`` shape
        ``(r, fan_in)``, where ``fan_in`` is the number of weights one output reads.
    alpha : float
        The change is ``alpha / sqrt(rank) * B @ A``, reshaped to the weight's shape.

    Raises
    ------
    ValueError
        If ``conv`` pads with anything but zeros, which this forward does not reproduce.
    """

    def __init__(self, conv: nn.Conv2d, rank: int, alpha: float) -> None:
        super().__init__()
        if conv.padding_mode != "zeros":
            raise ValueError(f"padding_mode must be 'zeros', not {conv.padding_mode!r}")
        self.conv = conv.requires_grad_(False)
        fan_in = conv.weight[0].numel()
        self.A = nn.Parameter(torch.randn(rank, fan_in) / math.sqrt(fan_in))
        self.B = nn.Parameter(torch.zeros(conv.out_channels, rank))
        self.scale = alpha / math.sqrt(rank)

    def merged_weight(self) -> torch.Tensor:
        """Return the frozen weight plus the scaled change, in the weight's shape."""
        return self.conv.weight + self.scale * (self.B @ self.A).view_as(self.conv.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convolve with the merged weight and the wrapped layer's settings."""
        c = self.conv
        return F.conv2d(x, self.merged_weight(), c.bias, c.stride, c.padding, c.dilation, c.groups)


def add_lora(module: nn.Module, rank: int, alpha: float) -> nn.Module:
    """Replace every convolution inside ``module``, in place, by a frozen one with an adapter.

    Taught on :doc:`/auto_examples/practice/plot_low_rank_adapters`.

    Parameters
    ----------
    module : torch.nn.Module
        Searched recursively; each :class:`torch.nn.Conv2d` becomes a :class:`LoRAConv2d`.
    rank, alpha : int, float
        As for :class:`LoRAConv2d`.

    Returns
    -------
    torch.nn.Module
        ``module`` itself.
    """
    for name, child in module.named_children():
        if isinstance(child, nn.Conv2d):
            setattr(module, name, LoRAConv2d(child, rank, alpha))
        else:
            add_lora(child, rank, alpha)
    return module


def merge_lora(module: nn.Module) -> nn.Module:
    """Return a copy of ``module`` with each adapter turned into a plain convolution.

    Taught on :doc:`/auto_examples/practice/plot_low_rank_adapters`.

    Parameters
    ----------
    module : torch.nn.Module
        A network holding :class:`LoRAConv2d` layers; it is not changed. Each adapter
        becomes its wrapped :class:`torch.nn.Conv2d`, holding the merged weight.

    Returns
    -------
    torch.nn.Module
        The copy, with no adapters left and the parameter count of the unadapted network.
    """
    merged = copy.deepcopy(module)
    for parent in list(merged.modules()):
        for name, child in parent.named_children():
            if isinstance(child, LoRAConv2d):
                child.conv.weight = nn.Parameter(child.merged_weight().detach())
                setattr(parent, name, child.conv)
    return merged
