"""Plotting helpers shared by the gallery pages.

Each helper draws on an :class:`matplotlib.axes.Axes` the caller passes in, so a page
keeps control of its figure layout and only the repetitive drawing lives here.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.colorbar import Colorbar


def plot_curves_by_epoch(
    ax: Axes,
    grid: torch.Tensor,
    curves: Sequence[torch.Tensor],
    *,
    cmap: str = "viridis",
    label: str = "epoch",
) -> Colorbar:
    """Draw one curve per epoch, coloured from the first epoch to the last.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    grid : torch.Tensor
        The shared x values, shape ``(n,)``.
    curves : sequence of torch.Tensor
        ``curves[k]`` holds the y values after epoch ``k + 1``, each of shape ``(n,)``.
    cmap : str
        A Matplotlib colormap name.
    label : str
        The colorbar's label.

    Returns
    -------
    matplotlib.colorbar.Colorbar
        The colorbar that maps colour to epoch.

    Raises
    ------
    ValueError
        If ``curves`` is empty or a curve does not match ``grid`` in length.
    """
    if len(curves) == 0:
        raise ValueError("curves is empty: pass at least one epoch's curve")
    grid_np = grid.detach().cpu().numpy()
    colormap = plt.get_cmap(cmap)
    norm = mpl.colors.Normalize(vmin=1, vmax=max(len(curves), 2))
    for epoch, curve in enumerate(curves, start=1):
        if curve.shape != grid.shape:
            raise ValueError(
                f"curve {epoch} has shape {tuple(curve.shape)}, expected {tuple(grid.shape)}"
            )
        ax.plot(grid_np, curve.detach().cpu().numpy(), color=colormap(norm(epoch)), lw=1)
    mappable = mpl.cm.ScalarMappable(norm=norm, cmap=colormap)
    return ax.figure.colorbar(mappable, ax=ax, label=label)


def plot_loss_curve(
    ax: Axes,
    losses: Sequence[float],
    *,
    xlabel: str = "step",
    ylabel: str = "loss",
    log_scale: bool = True,
    label: str | None = None,
) -> None:
    """Plot a sequence of loss values against their index.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    losses : sequence of float
        One value per step (or per epoch).
    xlabel, ylabel : str
        Axis labels.
    log_scale : bool
        Use a logarithmic y axis, which shows both the fast start and the slow tail
        of gradient descent.
    label : str, optional
        Legend label for the line.
    """
    if len(losses) == 0:
        raise ValueError("losses is empty: nothing to plot")
    ax.plot(range(1, len(losses) + 1), list(losses), label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log_scale:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
