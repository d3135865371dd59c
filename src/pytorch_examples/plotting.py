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

    First used on :doc:`/auto_examples/classification/plot_logistic_regression`.

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

    First used on :doc:`/auto_examples/language/plot_softmax_bigram`.

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


def plot_char_matrix(
    ax: Axes,
    matrix: torch.Tensor,
    symbols: Sequence[str],
    *,
    cmap: str = "Blues",
    colorbar_label: str = "",
    annotate: bool = False,
    value_range: tuple[float, float] | None = None,
) -> None:
    """Draw a square matrix indexed by characters as a labelled heatmap.

    First used on :doc:`/auto_examples/language/plot_bigram_counts`.

    Rows are the previous character, columns the next one.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    matrix : torch.Tensor
        Shape ``(len(symbols), len(symbols))``.
    symbols : sequence of str
        Row and column labels.
    cmap : str
        A Matplotlib colormap name.
    colorbar_label : str
        Label of the colorbar.
    annotate : bool
        Write each cell's value (rounded to an integer) in the cell.
    value_range : tuple of two floats, optional
        The values at the two ends of the colour scale; by default the matrix's own
        smallest and largest. Give two heatmaps the same range to compare them by eye.
    """
    n = len(symbols)
    if tuple(matrix.shape) != (n, n):
        raise ValueError(f"matrix must have shape ({n}, {n}), got {tuple(matrix.shape)}")
    values = matrix.detach().cpu().float().numpy()
    low, high = value_range if value_range is not None else (None, None)
    image = ax.imshow(values, cmap=cmap, vmin=low, vmax=high)
    ax.set_xticks(range(n), list(symbols))
    ax.set_yticks(range(n), list(symbols))
    ax.set_xlabel("next character")
    ax.set_ylabel("previous character")
    ax.tick_params(length=0, labelsize=8)
    if annotate:
        threshold = values.max() / 2
        for i in range(n):
            for j in range(n):
                ax.text(
                    j,
                    i,
                    f"{values[i, j]:.0f}",
                    ha="center",
                    va="center",
                    fontsize=4.5,
                    color="white" if values[i, j] > threshold else "black",
                )
    ax.figure.colorbar(image, ax=ax, label=colorbar_label, shrink=0.8)


def plot_embedding_2d(ax: Axes, vectors: torch.Tensor, labels: Sequence[str]) -> float:
    """Scatter vectors in the plane of their first two principal components.

    First used on :doc:`/auto_examples/language/plot_mlp_language_model`.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    vectors : torch.Tensor
        One row per label, shape ``(len(labels), dim)`` with ``dim >= 2``.
    labels : sequence of str
        Text drawn at each point.

    Returns
    -------
    float
        The share of the variance the two components show, between 0 and 1.
    """
    if vectors.ndim != 2 or vectors.shape[0] != len(labels) or vectors.shape[1] < 2:
        raise ValueError(
            f"vectors must have shape ({len(labels)}, dim >= 2), got {tuple(vectors.shape)}"
        )
    centred = vectors.detach().cpu().double()
    centred = centred - centred.mean(dim=0)
    _, singular_values, right = torch.linalg.svd(centred, full_matrices=False)
    points = (centred @ right[:2].T).numpy()
    ax.scatter(points[:, 0], points[:, 1], s=180, color="C0", alpha=0.25)
    for (x, y), label in zip(points, labels, strict=True):
        ax.text(x, y, label, ha="center", va="center", fontsize=10)
    ax.set_xlabel("principal component 1")
    ax.set_ylabel("principal component 2")
    ax.grid(True, alpha=0.3)
    variance = singular_values**2
    return (variance[:2].sum() / variance.sum()).item()


def plot_confusion_matrix(ax: Axes, matrix: torch.Tensor, class_names: Sequence[str]) -> None:
    """Draw a confusion matrix with counts in the cells, rows normalized for colour.

    First used on :doc:`/auto_examples/classification/plot_digits_mlp`.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    matrix : torch.Tensor
        ``matrix[true, predicted]`` counts, shape ``(k, k)``.
    class_names : sequence of str
        The ``k`` class names.
    """
    k = len(class_names)
    if tuple(matrix.shape) != (k, k):
        raise ValueError(f"matrix must have shape ({k}, {k}), got {tuple(matrix.shape)}")
    counts = matrix.detach().cpu()
    shares = (counts / counts.sum(dim=1, keepdim=True).clamp(min=1)).numpy()
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            ink = "white" if shares[i, j] > 0.5 else "black"  # readable on the dark cells
            ax.text(j, i, str(int(counts[i, j])), ha="center", va="center", fontsize=7, color=ink)
    ax.set_xticks(range(k), list(class_names), rotation=45, ha="right")
    ax.set_yticks(range(k), list(class_names))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.figure.colorbar(image, ax=ax, label="share of the true class", shrink=0.8)


def plot_image_grid(
    images: torch.Tensor, titles: Sequence[str], *, n_columns: int = 8, scale: float = 1.3
) -> plt.Figure:
    """Show images ``(n, channels, h, w)`` in a grid, each with a title.

    First used on :doc:`/auto_examples/classification/plot_digits_mlp`.

    Parameters
    ----------
    images : torch.Tensor
        RGB images (3 channels, ``uint8``) or grey images (1 channel, any dtype; drawn
        with dark ink on white).
    titles : sequence of str
        One title per image (may hold a newline).
    n_columns : int
        Images per row.
    scale : float
        Inches per image.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure.
    """
    if images.ndim != 4 or images.shape[1] not in (1, 3) or len(titles) != len(images):
        raise ValueError(
            f"need images (n, 1 or 3, h, w) and n titles, got {tuple(images.shape)} and "
            f"{len(titles)} titles"
        )
    n_rows = -(-len(images) // n_columns)
    fig, axes = plt.subplots(
        n_rows, n_columns, figsize=(scale * n_columns, 1.25 * scale * n_rows), squeeze=False
    )
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title in zip(axes.flat, images.cpu(), titles, strict=False):
        if image.shape[0] == 1:
            ax.imshow(image[0].numpy(), cmap="gray_r")
        else:
            ax.imshow(image.permute(1, 2, 0).numpy())
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return fig


def plot_line_fit_progress(
    x: torch.Tensor,
    y: torch.Tensor,
    true_line: tuple[float, float],
    params_per_epoch: Sequence[tuple[float, float]],
    losses: Sequence[float],
    *,
    loss_title: str = "loss per step",
) -> plt.Figure:
    """Show a line fit as it trains: the data with the line after each epoch, and the loss.

    First used on :doc:`/auto_examples/regression/plot_linear_regression_autograd`.

    Parameters
    ----------
    x, y : torch.Tensor
        The data points, shape ``(n,)``.
    true_line : tuple of float
        ``(slope, intercept)`` of the line that generated the data.
    params_per_epoch : sequence of (float, float)
        ``(slope, intercept)`` after each epoch.
    losses : sequence of float
        The loss of every step.
    loss_title : str
        Title of the loss panel.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure, two panels side by side.
    """
    fig, (ax_fit, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
    ax_fit.scatter(x, y, s=10, color="0.6")
    ax_fit.plot(x, true_line[0] * x + true_line[1], "k--", label="true line")
    plot_curves_by_epoch(
        ax_fit, x, [slope * x + intercept for slope, intercept in params_per_epoch]
    )
    ax_fit.set(xlabel="x", ylabel="y", title="fitted line after each epoch")
    ax_fit.legend(loc="upper left")
    plot_loss_curve(ax_loss, losses)
    ax_loss.set_title(loss_title)
    fig.tight_layout()
    return fig
